"""Forms of the inspection pages (the services validate again; forms give field errors early)."""

from datetime import date

from django import forms
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from inspections.models import (
    SPOT_CHECK_RATE,
    AdverseEvent,
    CollateralCondition,
    EmploymentStatus,
    FollowUpTask,
    Inspection,
    InspectionAttachment,
)
from inspections.services.inspections import BOOL_FIELDS, MONEY_FIELDS, TEXT_FIELDS
from loans.models import Classification, Collateral

SELECT = {"class": "form-select"}
TEXT = {"class": "form-control"}
AREA = {"class": "form-control", "rows": 3}


class YesNoSelect(forms.NullBooleanSelect):
    """Yes / no / not checked, keeping the stored answer selected when the form is shown again."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", _("— not checked —")), ("true", _("Yes")), ("false", _("No"))]


def _bool_field(label) -> forms.NullBooleanField:
    return forms.NullBooleanField(label=label, required=False, widget=YesNoSelect(attrs=SELECT))


class ReportForm(forms.Form):
    """The structured report (domain-research.md §7.2); every field optional until submission."""

    def __init__(self, *args, inspection: Inspection, **kwargs):
        super().__init__(*args, **kwargs)
        model_fields = {f.name: f for f in Inspection._meta.get_fields() if hasattr(f, "verbose_name")}
        for name in BOOL_FIELDS:
            self.fields[name] = _bool_field(capfirst(model_fields[name].verbose_name))
        for name in MONEY_FIELDS:
            self.fields[name] = forms.DecimalField(
                label=capfirst(model_fields[name].verbose_name), required=False, min_value=0, max_digits=17,
                decimal_places=2,
                widget=forms.NumberInput(attrs={**TEXT, "step": "0.01", "min": "0"}),
            )  # fmt: skip
        for name in TEXT_FIELDS:
            widget = forms.TextInput(attrs=TEXT) if name == "collateral_location" else forms.Textarea(attrs=AREA)
            self.fields[name] = forms.CharField(
                label=capfirst(model_fields[name].verbose_name), required=False, widget=widget,
                max_length=200 if name == "collateral_location" else 20000,
            )  # fmt: skip
        self.fields["employment_status"] = forms.ChoiceField(
            label=_("Income and employment"), required=False,
            choices=[("", "—"), *EmploymentStatus.choices], widget=forms.Select(attrs=SELECT),
        )  # fmt: skip
        self.fields["collateral_condition"] = forms.ChoiceField(
            label=_("Collateral condition"), required=False,
            choices=[("", "—"), *CollateralCondition.choices], widget=forms.Select(attrs=SELECT),
        )  # fmt: skip
        self.fields["proposed_classification"] = forms.ChoiceField(
            label=_("Proposed classification"), required=False,
            choices=[("", "—"), *Classification.choices], widget=forms.Select(attrs=SELECT),
        )  # fmt: skip
        self.fields["collateral_mileage"] = forms.IntegerField(
            label=_("Mileage (km)"), required=False, min_value=0, max_value=2_000_000_000,
            widget=forms.NumberInput(attrs=TEXT),
        )  # fmt: skip
        self.fields["collateral"] = forms.ModelChoiceField(
            label=_("Collateral inspected"), required=False,
            queryset=Collateral.objects.filter(loan_id=inspection.loan_id).order_by("id"),
            widget=forms.Select(attrs=SELECT),
        )  # fmt: skip
        if not self.is_bound:
            self.initial = {name: getattr(inspection, name) for name in self.fields if name != "collateral"}
            self.initial["collateral"] = inspection.collateral_id

    SECTIONS = (
        (_("Contract compliance"), ("funds_use_ok", "covenants_ok", "insurance_in_force", "compliance_notes")),
        (_("Credit situation"), (
            "bureau_checked", "other_lenders_arrears", "other_lenders_arrears_amount", "credit_notes",
        )),
        (_("Income and employment"), ("employment_status", "income_notes")),
        (_("Collateral"), (
            "collateral", "collateral_location", "collateral_condition", "collateral_mileage",
            "collateral_registration_ok", "collateral_estimated_value",
        )),
        (_("Guarantor and dealer"), ("guarantor_solvent", "guarantor_notes", "dealer_notes")),
        (_("File materials and current account"), ("file_materials_ok", "account_flows_ok", "file_notes")),
        (_("Conclusion"), ("risk_signals", "proposed_classification", "analysis", "suggestions")),
    )  # fmt: skip

    def sections(self):
        return [(title, [self[name] for name in names]) for title, names in self.SECTIONS]


class CommentsForm(forms.Form):
    comments = forms.CharField(label=_("Comments"), required=False, max_length=5000, widget=forms.Textarea(attrs=AREA))


class AssignForm(forms.Form):
    officer = forms.ModelChoiceField(label=_("Officer"), queryset=None, widget=forms.Select(attrs=SELECT))

    def __init__(self, *args, officers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = officers


class AttachmentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=InspectionAttachment.Kind.choices, widget=forms.Select(attrs=SELECT)
    )
    file = forms.FileField(
        label=_("File"), help_text=_("JPEG or PNG photos, PDF statements; at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={**TEXT, "accept": ".jpg,.jpeg,.png,.pdf"}),
    )  # fmt: skip


class TaskForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=FollowUpTask.Kind.choices, widget=forms.Select(attrs=SELECT))
    description = forms.CharField(label=_("Description"), max_length=300, widget=forms.TextInput(attrs=TEXT))
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, widget=forms.Select(attrs=SELECT))
    due_date = forms.DateField(label=_("Due date"), widget=forms.DateInput(attrs={**TEXT, "type": "date"}))

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners


class AdverseEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AdverseEvent.Kind.choices, widget=forms.Select(attrs=SELECT))
    occurred_on = forms.DateField(label=_("Occurred on"), widget=forms.DateInput(attrs={**TEXT, "type": "date"}))
    description = forms.CharField(label=_("Description"), max_length=5000, widget=forms.Textarea(attrs=AREA))


class SampleDrawForm(forms.Form):
    rate = forms.DecimalField(
        label=_("Rate"), initial=SPOT_CHECK_RATE, min_value=0.0001, max_value=1, max_digits=5, decimal_places=4,
        help_text=_("Share of active loans to sample (0.05 = 5 %)."),
        widget=forms.NumberInput(attrs={**TEXT, "step": "0.0001"}),
    )  # fmt: skip
    seed = forms.IntegerField(
        label=_("Seed"), required=False, min_value=0, max_value=2**62 - 1,
        help_text=_("Leave empty for a new random seed; enter a stored seed to reproduce a draw."),
        widget=forms.NumberInput(attrs=TEXT),
    )  # fmt: skip


class CalendarForm(forms.Form):
    year = forms.IntegerField(required=False, min_value=2000, max_value=2100)
    month = forms.IntegerField(required=False, min_value=1, max_value=12)
    officer = forms.CharField(required=False, max_length=150)

    def month_of(self, today: date) -> tuple[int, int]:
        data = self.cleaned_data if self.is_valid() else {}
        return data.get("year") or today.year, data.get("month") or today.month
