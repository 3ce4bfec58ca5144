"""Forms of the letters pages: list filters, the ad-hoc letter, delivery evidence, print batches."""

from django import forms
from django.utils.translation import gettext_lazy as _

from loan_collections.models import DeliveryEvidence, Letter, LetterType
from loanops.org.models import Branch
from loanops.org.scoping import for_user

_SELECT = {"class": "form-select form-select-sm"}
_INPUT = {"class": "form-control form-control-sm"}


class LetterFilterForm(forms.Form):
    branch = forms.CharField(
        label=_("Branch code"), required=False, max_length=20, widget=forms.TextInput(attrs=_INPUT)
    )
    letter_type = forms.ChoiceField(
        label=_("Type"), required=False, choices=[("", _("All types")), *LetterType.choices],
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("All")), *Letter.State.choices],
        widget=forms.Select(attrs=_SELECT),
    )
    date_from = forms.DateField(
        label=_("Requested from"), required=False, widget=forms.DateInput(attrs={**_INPUT, "type": "date"})
    )
    date_to = forms.DateField(
        label=_("Requested until"), required=False, widget=forms.DateInput(attrs={**_INPUT, "type": "date"})
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    @property
    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value}


class AdHocLetterForm(forms.Form):
    letter_type = forms.ChoiceField(
        label=_("Letter type"),
        choices=LetterType.choices,
        initial=LetterType.REMINDER,
        widget=forms.Select(attrs=_SELECT),
    )
    note = forms.CharField(
        label=_("Note printed on the letter (optional)"), required=False, max_length=500,
        widget=forms.Textarea(attrs={"class": "form-control form-control-sm", "rows": 2}),
    )  # fmt: skip


class DeliveryForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("Channel"), choices=DeliveryEvidence.Channel.choices, widget=forms.Select(attrs=_SELECT)
    )
    delivered_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={**_INPUT, "type": "date"}))
    recipient_name = forms.CharField(label=_("Received by"), max_length=200, widget=forms.TextInput(attrs=_INPUT))
    tracking_number = forms.CharField(
        label=_("Tracking number"), required=False, max_length=100, widget=forms.TextInput(attrs=_INPUT)
    )
    acknowledgement = forms.ChoiceField(
        label=_("Acknowledgement"), choices=DeliveryEvidence.Acknowledgement.choices, widget=forms.Select(attrs=_SELECT)
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500, widget=forms.TextInput(attrs=_INPUT))


class PrintBatchForm(forms.Form):
    branch = forms.ModelChoiceField(
        label=_("Branch"), queryset=Branch.objects.none(), widget=forms.Select(attrs=_SELECT),
        error_messages={"invalid_choice": _("Choose a branch from the list.")},
    )  # fmt: skip
    on_date = forms.DateField(label=_("Letters issued on"), widget=forms.DateInput(attrs={**_INPUT, "type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = for_user(Branch.objects.all(), user).filter(depth__gte=2).order_by("code")
