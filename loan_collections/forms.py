from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from loan_collections.models import CollectionCase, ContactLog, Stage
from loan_collections.selectors import collector_choices_for_user
from loanops.org.scoping import for_user
from loans.models import Guarantor


class CaseFilterForm(forms.Form):
    stage = forms.ChoiceField(
        label=_("Stage"), required=False, choices=[("", _("All stages")), *Stage.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )  # fmt: skip
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *CollectionCase.Status.choices],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )  # fmt: skip
    collector = forms.CharField(
        label=_("Collector (username)"), required=False, max_length=150,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}),
    )  # fmt: skip

    @property
    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value}


class ReassignForm(forms.Form):
    cases = forms.ModelMultipleChoiceField(
        label=_("Cases"), queryset=CollectionCase.objects.none(), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Select at least one case."),
                        "invalid_choice": _("Some selected cases do not exist or are outside your branches."),
                        "invalid_pk_value": _("Some selected cases do not exist or are outside your branches.")},
    )  # fmt: skip
    collector = forms.ModelChoiceField(
        label=_("New collector"), queryset=CollectionCase.objects.none(),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
        error_messages={"invalid_choice": _("Choose a collector from the list.")},
    )  # fmt: skip

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = for_user(CollectionCase.objects.all(), user)
        self.fields["collector"].queryset = collector_choices_for_user(user=user)


class ReleaseForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )  # fmt: skip


class ContactForm(forms.Form):
    """Log a call, visit, SMS, letter or email with the borrower or one of the loan's guarantors."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=ContactLog.Channel.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    party = forms.ChoiceField(
        label=_("Contacted party"),
        choices=ContactLog.Party.choices,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    guarantor = forms.ModelChoiceField(
        label=_("Guarantor"), required=False, queryset=Guarantor.objects.none(),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": _("Only the loan's own guarantors may be contacted.")},
    )  # fmt: skip
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=ContactLog.Outcome.choices, widget=forms.Select(attrs={"class": "form-select"})
    )
    contacted_at = forms.DateTimeField(
        label=_("When"), input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"class": "form-control", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip
    follow_up_on = forms.DateField(
        label=_("Follow up on"), required=False,
        widget=forms.DateInput(attrs={"class": "form-control", "type": "date"}, format="%Y-%m-%d"),
    )  # fmt: skip
    notes = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 2}),
    )

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["guarantor"].queryset = case.loan.guarantors.all()


class PromiseForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"), min_value=Decimal("0.01"), max_digits=18, decimal_places=2,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "0.01"}),
    )  # fmt: skip
    promised_date = forms.DateField(
        label=_("Promised date"), widget=forms.DateInput(attrs={"class": "form-control", "type": "date"})
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.TextInput(attrs={"class": "form-control"})
    )


class QueueForm(forms.Form):
    collector = forms.ModelChoiceField(
        label=_("Collector"), required=False, queryset=CollectionCase.objects.none(),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}), to_field_name="username",
        error_messages={"invalid_choice": _("Choose a collector from the list.")},
    )  # fmt: skip

    def __init__(self, *args, collectors, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collector"].queryset = collectors
