from django import forms
from django.utils.translation import gettext_lazy as _

from archives.models import CONTRACT_ELEMENTS, CreditFile


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


class HandoffAcceptForm(forms.Form):
    vault_location = forms.CharField(
        label=_("Vault location (level 1)"), max_length=200, required=False,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "VAULT/ROOM1/CAB2/SHELF3/BOX4"}
        ),
    )  # fmt: skip
    archive_location = forms.CharField(
        label=_("Archive location (level 2)"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "placeholder": "ARCHIVE/ROOM2/SHELF1"}),
    )  # fmt: skip


class HandoffRejectForm(forms.Form):
    defects = forms.CharField(
        label=_("Defects found"), max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )  # fmt: skip
