"""The loan list's filter form (GET). Choices are scoped to what the user may see."""

from dataclasses import dataclass

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from loanops.core.forms import StyledFormMixin
from loanops.org.models import Branch, Role
from loanops.org.scoping import for_user
from loans import imports
from loans.models import Bucket, Classification, Dealer, Loan, Product
from loans.page_selectors import DEFAULT_SORT

MAX_DPD = 100_000
MAX_PAGE = 10_000  # deeper OFFSETs get slow; narrow the filters instead

ANY = [("", _("Any"))]
YES_NO = [*ANY, ("yes", _("Yes")), ("no", _("No"))]
# Every key of page_selectors.LOAN_SORTS, with its label (a test keeps the two in step).
SORT_CHOICES = [
    ("number", _("Loan number ↑")),
    ("-number", _("Loan number ↓")),
    ("dpd", _("Days past due ↑")),
    ("-dpd", _("Days past due ↓")),
    ("outstanding", _("Outstanding principal ↑")),
    ("-outstanding", _("Outstanding principal ↓")),
    ("disbursed", _("Disbursement date ↑")),
    ("-disbursed", _("Disbursement date ↓")),
]


class OfficerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        full_name = obj.get_full_name()
        return f"{full_name} ({obj.username})" if full_name else obj.username


@dataclass(frozen=True)
class SortHeader:
    """A sortable column header: the sort its link asks for, and its `aria-sort` value."""

    next: str
    aria_sort: str  # "ascending", "descending" or "" when the list is not sorted by it


class _LoanFilterFields(forms.Form):
    """The fields, with choices scoped to USER.

    A base class rather than LoanFilterForm's own __init__: StyledFormMixin validates a bound
    form inside its __init__, so the scoped querysets must be in place before it runs.
    """

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        strip=True,
        widget=forms.SearchInput,
        help_text=_("Loan number (beginning), borrower name or national ID"),
    )
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), to_field_name="code", required=False, empty_label=_("Any")
    )
    officer = OfficerChoiceField(
        label=_("Credit officer"),
        queryset=get_user_model().objects.none(),
        to_field_name="username",
        required=False,
        empty_label=_("Any"),
    )
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), to_field_name="code", required=False, empty_label=_("Any")
    )
    dealer = forms.ModelChoiceField(
        label=_("Dealer"),
        queryset=Dealer.objects.none(),
        to_field_name="external_id",
        required=False,
        empty_label=_("Any"),
    )
    bucket = forms.ChoiceField(label=_("Bucket"), choices=ANY + Bucket.choices, required=False)
    classification = forms.ChoiceField(label=_("Classification"), choices=ANY + Classification.choices, required=False)
    rule_3_6 = forms.TypedChoiceField(
        label=_("3/6 rule"),
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    npl = forms.TypedChoiceField(
        label=_("Non-performing"),
        choices=YES_NO,
        coerce=lambda value: value == "yes",
        empty_value=None,
        required=False,
    )
    disbursed_from = forms.DateField(
        label=_("Disbursed from"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    disbursed_to = forms.DateField(
        label=_("Disbursed to"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    dpd_min = forms.IntegerField(label=_("Days past due from"), min_value=0, max_value=MAX_DPD, required=False)
    dpd_max = forms.IntegerField(label=_("Days past due to"), min_value=0, max_value=MAX_DPD, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=ANY + Loan.Status.choices, required=False)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = for_user(Branch.objects.all(), user).order_by("path")
        self.fields["officer"].queryset = (
            for_user(get_user_model().objects.filter(is_active=True), user)
            .exclude(role=Role.API_CLIENT)
            .distinct()
            .order_by("username")
        )
        self.fields["product"].queryset = Product.objects.order_by("code")
        self.fields["dealer"].queryset = Dealer.objects.order_by("name", "id")


class LoanFilterForm(StyledFormMixin, _LoanFilterFields):
    def clean_sort(self) -> str:
        return self.cleaned_data.get("sort") or DEFAULT_SORT

    def clean(self):
        data = super().clean()
        low, high = data.get("dpd_min"), data.get("dpd_max")
        if low is not None and high is not None and low > high:
            self.add_error("dpd_max", _("This must not be lower than “Days past due from”."))
        start, end = data.get("disbursed_from"), data.get("disbursed_to")
        if start is not None and end is not None and start > end:
            self.add_error("disbursed_to", _("This must not be earlier than “Disbursed from”."))
        return data

    @property
    def filters(self) -> dict:
        """The cleaned filters for `loan_page_list` (call after `is_valid()`)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "sort"}

    def current_sort(self) -> str:
        return (self.cleaned_data.get("sort") if self.is_valid() else None) or DEFAULT_SORT

    def sort_headers(self) -> dict[str, SortHeader]:
        """For each sortable column: clicking sorts ascending, or flips an ascending sort."""
        current = self.current_sort()
        headers = {}
        for key in ("number", "dpd", "outstanding", "disbursed"):
            if current == key:
                headers[key] = SortHeader(next=f"-{key}", aria_sort="ascending")
            elif current == f"-{key}":
                headers[key] = SortHeader(next=key, aria_sort="descending")
            else:
                headers[key] = SortHeader(next=key, aria_sort="")
        return headers


def page_number(value: str | None) -> int:
    """The `page` query parameter: a number from 1 to MAX_PAGE; anything else is page 1."""
    try:
        number = int(value or 1)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


# --- imports and classification ------------------------------------------------------------

IMPORT_KINDS = [("loans", _("Loans")), ("payments", _("Payments"))]


class ImportForm(StyledFormMixin, forms.Form):
    """The uploaded file, read and checked here: a bad file is a form error, never a 500.

    `cleaned_data["rows"]` holds the rows (`loans.imports.read_rows`) of a valid form.
    """

    kind = forms.ChoiceField(label=_("What the file holds"), choices=IMPORT_KINDS)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8) or Excel .xlsx; at most 10 MB and 20,000 rows; the first row names the columns."),
        widget=forms.FileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if imports.file_extension(upload.name) not in imports.EXTENSIONS:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."), code="extension")
        if upload.size > imports.MAX_FILE_BYTES:
            raise forms.ValidationError(_("The file is larger than 10 MB."), code="size")
        return upload

    def clean(self):
        data = super().clean()
        upload, kind = data.get("file"), data.get("kind")
        if upload is None or kind is None:
            return data
        try:
            rows = imports.read_rows(upload, upload.name)
            imports.check_columns(kind, rows)
        except imports.ImportFileError as exc:
            self.add_error("file", exc.message)
            return data
        data["rows"] = rows
        return data


# Downgrade targets: every class but normal (the service refuses "normal" too).
DOWNGRADE_CHOICES = [(value, label) for value, label in Classification.choices if value != Classification.NORMAL]


class DowngradeForm(StyledFormMixin, forms.Form):
    """Posted from the loan page's classification panel (prefix "downgrade")."""

    classification = forms.ChoiceField(label=_("Classification"), choices=DOWNGRADE_CHOICES)
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    effective_from = forms.DateField(
        label=_("Effective from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )


class ReclassifyForm(StyledFormMixin, forms.Form):
    """Approval of an NPL loan's return to performing (prefix "reclassify")."""

    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
