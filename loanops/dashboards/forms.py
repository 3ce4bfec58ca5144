"""The dashboards' filter form (GET): institution, branch, officer, product, dealer, month.

Choices are scoped to what the user may see: a branch manager can pick only their branches, and
a code outside them is a form error (the page then shows nothing, never another branch)."""

from html import escape

from django import forms
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from loanops.core.forms import StyledFormMixin
from loanops.org.models import Branch, Role
from loanops.org.scoping import for_user
from loans.forms import OfficerChoiceField
from loans.models import Dealer, Product

FILTER_NAMES = ("institution", "branch", "officer", "product", "dealer")


class FastSelect(forms.Select):
    """A <select> rendered in one pass: Django renders each option through a template, which
    costs more than all the dashboard's queries when the lists are long (officers, dealers)."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        parts = [f'<select name="{escape(name)}"{flatatt(self.build_attrs(self.attrs, attrs))}>']
        for option_value, label in self.choices:
            key = "" if option_value is None else str(option_value)
            mark = " selected" if key in selected else ""
            parts.append(f'<option value="{escape(key)}"{mark}>{escape(str(label))}</option>')
        parts.append("</select>")
        return mark_safe("".join(parts))  # noqa: S308  (every text above is escaped)


class _Fields(forms.Form):
    institution = forms.ModelChoiceField(
        label=_("Institution"), queryset=Branch.objects.none(), to_field_name="code", required=False,
        empty_label=_("Any"),
    )  # fmt: skip
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), to_field_name="code", required=False, empty_label=_("Any")
    )
    officer = OfficerChoiceField(
        label=_("Credit officer"), queryset=get_user_model().objects.none(), to_field_name="username",
        required=False, empty_label=_("Any"),
    )  # fmt: skip
    product = forms.ModelChoiceField(
        label=_("Product"), queryset=Product.objects.none(), to_field_name="code", required=False, empty_label=_("Any")
    )
    dealer = forms.ModelChoiceField(
        label=_("Dealer"), queryset=Dealer.objects.none(), to_field_name="external_id", required=False,
        empty_label=_("Any"),
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget = FastSelect(attrs=field.widget.attrs)
            field.widget.choices = field.choices
        branches = for_user(Branch.objects.only("id", "code", "name", "path", "depth"), user).order_by("path")
        self.fields["institution"].queryset = branches.filter(depth=1)
        self.fields["branch"].queryset = branches.filter(depth__gte=2)
        self.fields["officer"].queryset = (
            for_user(get_user_model().objects.filter(is_active=True), user)
            .exclude(role=Role.API_CLIENT)
            .only("id", "username", "first_name", "last_name")
            .distinct()
            .order_by("username")
        )
        self.fields["product"].queryset = Product.objects.only("id", "code", "name").order_by("code")
        self.fields["dealer"].queryset = Dealer.objects.only("id", "external_id", "name").order_by("name", "id")


class DashboardFilterForm(StyledFormMixin, _Fields):
    def clean(self):
        data = super().clean()
        institution, branch = data.get("institution"), data.get("branch")
        if institution and branch and not branch.path.startswith(institution.path):
            self.add_error("branch", _("This branch is not part of the chosen institution."))
        return data

    def query_params(self) -> dict[str, str]:
        """The valid filters as query parameters (for links and exports)."""
        if not self.is_valid():
            return {}
        params = {}
        for name in FILTER_NAMES:
            value = self.cleaned_data.get(name)
            if value is not None:
                params[name] = _natural_key(name, value)
        return params


def _natural_key(name: str, value) -> str:
    return {
        "institution": lambda v: v.code,
        "branch": lambda v: v.code,
        "officer": lambda v: v.username,
        "product": lambda v: v.code,
        "dealer": lambda v: v.external_id,
    }[name](value)
