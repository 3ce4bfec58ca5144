from django import forms
from django.utils.translation import gettext_lazy as _

from loan_collections.models import CollectionCase, Stage
from loan_collections.selectors import collector_choices_for_user
from loanops.org.scoping import for_user


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
