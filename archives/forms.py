from django import forms
from django.utils.translation import gettext_lazy as _

from archives.models import (
    CONTRACT_ELEMENTS,
    Area,
    BorrowRequest,
    CreditFile,
    Incident,
    ReleaseSignature,
    StorageLocation,
)


class CreditFileFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *CreditFile.State.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )  # fmt: skip
    loan_number = forms.CharField(
        label=_("Loan number"), required=False, max_length=64,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )  # fmt: skip
    flagged_late = forms.BooleanField(
        label=_("Late only"), required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )

    @property
    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value}


class DocumentMarkForm(forms.Form):
    present = forms.BooleanField(label=_("Present"), required=False)
    pages = forms.IntegerField(label=_("Pages"), min_value=0, max_value=10000, required=False)


class ContractConfirmForm(forms.Form):
    def __init__(self, *args, file: CreditFile | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (field, label) in CONTRACT_ELEMENTS.items():
            self.fields[name] = forms.BooleanField(
                label=label,
                required=False,
                initial=getattr(file, field) if file else False,
                widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
            )


SELECT = {"class": "form-select form-select-sm"}
TEXT = {"class": "form-control form-control-sm"}


def location_choices(branch_id: int, area: str) -> list[tuple[str, str]]:
    paths = StorageLocation.objects.filter(branch_id=branch_id, area=area, active=True).values_list("path", flat=True)
    return [("", "—"), *((path, path) for path in paths.order_by("path"))]


class HandoffAcceptForm(forms.Form):
    """Where the received documents go: a vault box for level 1, an archive-room box for level 2."""

    vault_location = forms.ChoiceField(label=_("Vault location (level 1)"), required=False, widget=forms.Select(SELECT))
    archive_location = forms.ChoiceField(
        label=_("Archive location (level 2)"), required=False, widget=forms.Select(SELECT)
    )

    def __init__(self, *args, file: CreditFile, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vault_location"].choices = location_choices(file.loan.branch_id, Area.VAULT)
        self.fields["archive_location"].choices = location_choices(file.loan.branch_id, Area.ARCHIVE)


class HandoffRejectForm(forms.Form):
    defects = forms.CharField(
        label=_("Defects found"), max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )  # fmt: skip


def _document_choices(documents) -> list[tuple[str, str]]:
    return [(doc.code, f"{doc.name} (L{doc.level})") for doc in documents]


class BorrowRequestForm(forms.Form):
    documents = forms.MultipleChoiceField(label=_("Documents"), widget=forms.CheckboxSelectMultiple)
    purpose = forms.ChoiceField(
        label=_("Purpose"), choices=[("", "—"), *BorrowRequest.Purpose.choices], widget=forms.Select(SELECT)
    )
    reason = forms.CharField(
        label=_("Reason (required for level 1)"), required=False, max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )  # fmt: skip
    return_on = forms.DateField(label=_("Return date"), widget=forms.DateInput(attrs={**TEXT, "type": "date"}))

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = _document_choices(documents)


class DeclineForm(forms.Form):
    reason = forms.CharField(label=_("Reason for declining"), max_length=2000, widget=forms.TextInput(TEXT))


class ReturnForm(forms.Form):
    returned = forms.MultipleChoiceField(
        label=_("Documents returned"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["returned"].choices = _document_choices(documents)
        self.fields["returned"].initial = [doc.code for doc in documents]


class ConsultForm(forms.Form):
    reader = forms.CharField(label=_("Consulted by"), max_length=200, widget=forms.TextInput(TEXT))
    purpose = forms.CharField(label=_("Purpose"), max_length=500, widget=forms.TextInput(TEXT))
    documents = forms.MultipleChoiceField(
        label=_("Documents consulted"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["documents"].choices = _document_choices(documents)


class IncidentForm(forms.Form):
    document = forms.ChoiceField(label=_("Document"), widget=forms.Select(SELECT))
    kind = forms.ChoiceField(label=_("Kind"), choices=Incident.Kind.choices, widget=forms.Select(SELECT))
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2})
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = _document_choices(documents)


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(
        label=_("Resolution"), choices=Incident.Resolution.choices, widget=forms.Select(SELECT)
    )
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.TextInput(TEXT))


class ReleaseSignForm(forms.Form):
    party = forms.ChoiceField(
        label=_("Signing as"), choices=ReleaseSignature.Party.choices, widget=forms.Select(SELECT)
    )
    borrower_name = forms.CharField(
        label=_("Borrower's name (borrower's signature)"), required=False, max_length=200, widget=forms.TextInput(TEXT)
    )
    borrower_id_document = forms.CharField(
        label=_("Borrower's identity document"), required=False, max_length=60, widget=forms.TextInput(TEXT)
    )


class CloseForm(forms.Form):
    location = forms.ChoiceField(label=_("Closed-archive location"), required=False, widget=forms.Select(SELECT))

    def __init__(self, *args, file: CreditFile, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = location_choices(file.loan.branch_id, Area.CLOSED)


class LocationForm(forms.Form):
    branch = forms.ChoiceField(label=_("Branch"), widget=forms.Select(SELECT))
    area = forms.ChoiceField(label=_("Area"), choices=Area.choices, widget=forms.Select(SELECT))
    room = forms.CharField(label=_("Room"), max_length=40, widget=forms.TextInput(TEXT))
    cabinet = forms.CharField(label=_("Cabinet"), max_length=40, required=False, widget=forms.TextInput(TEXT))
    shelf = forms.CharField(label=_("Shelf"), max_length=40, required=False, widget=forms.TextInput(TEXT))
    box = forms.CharField(label=_("Box"), max_length=40, required=False, widget=forms.TextInput(TEXT))

    def __init__(self, *args, branches=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [(str(b.id), f"{b.code} · {b.name}") for b in branches]


class ScanForm(forms.Form):
    code = forms.CharField(
        label=_("Scan or type a label code"), max_length=100,
        widget=forms.TextInput(attrs={
            "class": "form-control form-control-lg", "autofocus": True, "autocomplete": "off",
            "placeholder": "CF-000123", "data-testid": "scan-input",
        }),
    )  # fmt: skip
