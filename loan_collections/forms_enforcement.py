"""Forms of the enforcement, dealer advance and write-off pages."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from loan_collections.models import DealerAdvanceRequest, EnforcementTrack, TrackState, WriteOff

_SELECT = {"class": "form-select form-select-sm"}
_TEXT = {"class": "form-control form-control-sm"}


class TrackFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Track"), required=False, choices=[("", _("All tracks")), *EnforcementTrack.Kind.choices],
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *TrackState.choices],
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    branch = forms.CharField(
        label=_("Branch (code)"), required=False, max_length=30, widget=forms.TextInput(attrs=_TEXT)
    )
    open_only = forms.BooleanField(label=_("Open tracks only"), required=False)

    @property
    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value}


class TrackMoveForm(forms.Form):
    to_state = forms.ChoiceField(label=_("New state"), choices=TrackState.choices, widget=forms.Select(attrs=_SELECT))
    reference = forms.CharField(
        label=_("Reference (court file, claim number)"), required=False, max_length=100,
        widget=forms.TextInput(attrs=_TEXT),
    )  # fmt: skip
    amount = forms.DecimalField(
        label=_("Amount"), required=False, min_value=Decimal("0"), max_digits=18, decimal_places=2,
        widget=forms.NumberInput(attrs={**_TEXT, "step": "0.01"}),
    )  # fmt: skip
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={**_TEXT, "rows": 2})
    )

    def __init__(self, *args, states=None, **kwargs):
        super().__init__(*args, **kwargs)
        if states is not None:
            labels = dict(TrackState.choices)
            self.fields["to_state"].choices = [(state, labels[state]) for state in states]


class DealerAdvanceFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *DealerAdvanceRequest.State.choices],
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip
    branch = forms.CharField(
        label=_("Branch (code)"), required=False, max_length=30, widget=forms.TextInput(attrs=_TEXT)
    )
    overdue = forms.BooleanField(label=_("Past the deadline and not paid"), required=False)

    @property
    def filters(self) -> dict:
        return {key: value for key, value in self.cleaned_data.items() if value}


class WriteOffFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("All states")), *WriteOff.State.choices],
        widget=forms.Select(attrs=_SELECT),
    )  # fmt: skip


class WriteOffProposeForm(forms.Form):
    ground = forms.ChoiceField(label=_("Ground"), choices=WriteOff.Ground.choices, widget=forms.Select(attrs=_SELECT))
    evidence = forms.CharField(
        label=_("Evidence"), widget=forms.Textarea(attrs={**_TEXT, "rows": 4}),
        help_text=_("Legal rulings, death or bankruptcy certificates, collection history, collateral disposal, "
                    "guarantor and insurer outcomes."),
    )  # fmt: skip


class WriteOffActionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, max_length=2000, widget=forms.Textarea(attrs={**_TEXT, "rows": 2})
    )
    text = forms.CharField(
        label=_("Accountability review"), required=False, widget=forms.Textarea(attrs={**_TEXT, "rows": 3})
    )
