"""Post-loan inspections (domain.md "Inspections", domain-research.md §7): the inspection with its
structured report and sign-off chain, attachments, follow-up tasks, adverse events that trigger
event inspections, the quarterly spot-check sample and what the nightly scheduler remembers."""

from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel
from loans.models import Classification

MONEY = {"max_digits": settings.MONEY_MAX_DIGITS, "decimal_places": settings.MONEY_DECIMAL_PLACES}

# Parameters (domain-research.md §3.4).
FIRST_DAYS = 30
FREQ_DAYS = {
    Classification.NORMAL: 180,
    Classification.SPECIAL_MENTION: 90,
    Classification.SUBSTANDARD: 30,
    Classification.DOUBTFUL: 30,
    Classification.LOSS: 30,
}
EVENT_DAYS = 7
OVERDUE_LOAN_DAYS = 7
SPOT_CHECK_RATE = Decimal("0.05")
SPOT_CHECK_DAYS = 30  # a sampled loan's spot check is due this many days after the assignment
OFFICER_FLAG_OVERDUE = 2
# Loans disbursed longer ago than this when first seen by the scheduler get a routine
# inspection (from that date) instead of a first one.
FIRST_LOOKBACK_DAYS = 90


class InspectionType(models.TextChoices):
    FIRST = "first", _("First")
    ROUTINE = "routine", _("Routine")
    EVENT = "event", _("Event")
    OVERDUE_LOAN = "overdue_loan", _("Overdue loan")
    SPOT_CHECK = "spot_check", _("Spot check")


class InspectionState(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    REVIEWED = "reviewed", _("Reviewed")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


CLOSED_STATES = (InspectionState.COMPLETED, InspectionState.CANCELLED)
OPEN_STATES = tuple(s for s in InspectionState if s not in CLOSED_STATES)
# What a closed or written-off loan cancels (domain-research.md §7.3).
CANCELLABLE_STATES = (
    InspectionState.SCHEDULED,
    InspectionState.ASSIGNED,
    InspectionState.IN_PROGRESS,
    InspectionState.RETURNED,
)
EDITABLE_STATES = (InspectionState.IN_PROGRESS, InspectionState.RETURNED)


class CollateralCondition(models.TextChoices):
    GOOD = "good", _("Good")
    FAIR = "fair", _("Fair")
    POOR = "poor", _("Poor")
    NOT_FOUND = "not_found", _("Not found")


class EmploymentStatus(models.TextChoices):
    UNCHANGED = "unchanged", _("Unchanged")
    IMPROVED = "improved", _("Improved")
    WORSENED = "worsened", _("Worsened")
    LOST = "lost", _("Job or business lost")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class AdverseEvent(BaseModel):
    """A major adverse event recorded on a loan by an officer; it triggers an event inspection."""

    class Kind(models.TextChoices):
        BUSINESS_STOPPED = "business_stopped", _("Business stopped")
        LITIGATION = "litigation", _("Litigation")
        ACCIDENT = "accident", _("Accident")
        JOB_LOSS = "job_loss", _("Job loss")
        EARLY_WARNING = "early_warning", _("Early-warning signal")
        HEAD_OFFICE_REQUEST = "head_office_request", _("Head-office or supervisor request")
        OTHER = "other", _("Other")

    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="adverse_events")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    occurred_on = models.DateField(_("occurred on"))
    description = models.TextField(_("description"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-occurred_on", "-id"]
        verbose_name = _("adverse event")
        verbose_name_plural = _("adverse events")
        constraints = [models.CheckConstraint(condition=~Q(description=""), name="adverse_event_description")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class SpotCheckSample(BaseModel):
    """A quarter's random sample of active loans, stratified by branch, reproducible from `seed`."""

    class State(models.TextChoices):
        DRAWN = "drawn", _("Drawn")
        ASSIGNED = "assigned", _("Assigned")

    # Head-office object spanning every branch: no BRANCH_FIELD (only head-office roles see it);
    # its items carry their branch.

    quarter = models.CharField(_("quarter"), max_length=7, unique=True)  # "2026-Q1"
    seed = models.BigIntegerField(_("seed"))
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4, default=SPOT_CHECK_RATE)
    drawn_on = models.DateField(_("drawn on"))
    population_size = models.PositiveIntegerField(_("population"))
    # {branch code: {"population": n, "sample": k}} as allocated when drawn.
    strata = models.JSONField(_("strata"), default=dict)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAWN)
    drawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-quarter"]
        verbose_name = _("spot-check sample")
        verbose_name_plural = _("spot-check samples")
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0, rate__lte=1), name="spot_sample_rate_range"),
        ]

    def __str__(self) -> str:
        return self.quarter


class SpotCheckSampleItem(models.Model):
    """One sampled loan: the list is kept as drawn."""

    BRANCH_FIELD = "branch"

    sample = models.ForeignKey(SpotCheckSample, on_delete=models.CASCADE, related_name="items")
    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["sample_id", "position"]
        constraints = [models.UniqueConstraint(fields=["sample", "loan"], name="spot_item_loan_once")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Inspection(BaseModel):
    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="inspections", verbose_name=_("loan"))
    type = models.CharField(_("type"), max_length=20, choices=InspectionType.choices)
    state = models.CharField(_("state"), max_length=20, choices=InspectionState.choices, default="scheduled")
    due_date = models.DateField(_("due date"))
    scheduled_on = models.DateField(_("scheduled on"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="inspections",
        verbose_name=_("officer"),
    )  # fmt: skip
    # What triggered it (at most one of these).
    collection_case = models.ForeignKey(
        "collections.CollectionCase", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="inspections"
    )
    sample = models.ForeignKey(
        SpotCheckSample, on_delete=models.PROTECT, null=True, blank=True, related_name="inspections"
    )
    previous = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    # --- the report (domain-research.md §7.2) ---------------------------------------------
    # Contract compliance
    funds_use_ok = models.BooleanField(_("funds used as agreed"), null=True, blank=True)
    covenants_ok = models.BooleanField(_("covenants met"), null=True, blank=True)
    insurance_in_force = models.BooleanField(_("insurance in force"), null=True, blank=True)
    compliance_notes = models.TextField(_("contract compliance notes"), blank=True)
    # Credit situation
    bureau_checked = models.BooleanField(_("new bureau report pulled"), null=True, blank=True)
    other_lenders_arrears = models.BooleanField(_("arrears with other lenders"), null=True, blank=True)
    other_lenders_arrears_amount = models.DecimalField(
        _("arrears with other lenders (amount)"), null=True, blank=True, **MONEY
    )
    credit_notes = models.TextField(_("credit situation notes"), blank=True)
    # Income and employment
    employment_status = models.CharField(
        _("income and employment"), max_length=20, choices=EmploymentStatus.choices, blank=True
    )
    income_notes = models.TextField(_("income and employment notes"), blank=True)
    # Collateral
    collateral = models.ForeignKey(
        "loans.Collateral", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("collateral inspected"),
    )  # fmt: skip
    collateral_location = models.CharField(_("collateral location"), max_length=200, blank=True)
    collateral_condition = models.CharField(
        _("collateral condition"), max_length=20, choices=CollateralCondition.choices, blank=True
    )
    collateral_mileage = models.PositiveIntegerField(_("mileage (km)"), null=True, blank=True)
    collateral_registration_ok = models.BooleanField(_("registration/mortgage still recorded"), null=True, blank=True)
    collateral_estimated_value = models.DecimalField(_("estimated value"), null=True, blank=True, **MONEY)
    # Guarantor and dealer
    guarantor_solvent = models.BooleanField(_("guarantor solvent"), null=True, blank=True)
    guarantor_notes = models.TextField(_("guarantor state"), blank=True)
    dealer_notes = models.TextField(_("dealer state (margin, overdue rate)"), blank=True)
    # File materials and current account (spot checks)
    file_materials_ok = models.BooleanField(_("file materials complete"), null=True, blank=True)
    account_flows_ok = models.BooleanField(_("current-account flows verified"), null=True, blank=True)
    file_notes = models.TextField(_("file and account notes"), blank=True)
    # Conclusion
    risk_signals = models.TextField(_("risk signals"), blank=True)
    proposed_classification = models.CharField(
        _("proposed classification"), max_length=20, choices=Classification.choices, blank=True
    )
    analysis = models.TextField(_("analysis"), blank=True)
    suggestions = models.TextField(_("suggestions"), blank=True)

    # --- sign-off chain ---------------------------------------------------------------------
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    review_comments = models.TextField(_("review comments"), blank=True)
    return_count = models.PositiveSmallIntegerField(default=0)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=200, blank=True)
    document_id = models.BigIntegerField(null=True, blank=True)  # the archives FileDocument of the signed PDF

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            # One open inspection per loan and type: the nightly scheduler never duplicates.
            models.UniqueConstraint(
                fields=["loan", "type"],
                condition=~Q(state__in=["completed", "cancelled"]),
                name="inspection_one_open_per_loan_type",
            ),
            models.UniqueConstraint(fields=["loan"], condition=Q(type="first"), name="inspection_one_first_per_loan"),
            models.UniqueConstraint(
                fields=["collection_case"], condition=Q(collection_case__isnull=False), name="inspection_one_per_case"
            ),
            models.UniqueConstraint(
                fields=["sample", "loan"], condition=Q(sample__isnull=False), name="inspection_one_per_sample_loan"
            ),
            models.CheckConstraint(
                condition=Q(state="completed", completed_on__isnull=False) | ~Q(state="completed"),
                name="inspection_completed_on",
            ),
            models.CheckConstraint(
                condition=Q(collateral_estimated_value__isnull=True) | Q(collateral_estimated_value__gte=0),
                name="inspection_estimate_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(other_lenders_arrears_amount__isnull=True) | Q(other_lenders_arrears_amount__gte=0),
                name="inspection_arrears_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["officer", "state", "due_date"], name="inspection_officer_state"),
            models.Index(fields=["state", "due_date"], name="inspection_state_due"),
            models.Index(fields=["loan", "state"], name="inspection_loan_state"),
        ]

    def __str__(self) -> str:
        return f"#{self.id} {self.type} {self.loan_id}"

    @property
    def is_open(self) -> bool:
        return self.state not in CLOSED_STATES

    def is_overdue_on(self, today) -> bool:
        return self.is_open and today > self.due_date

    @property
    def document_code(self) -> str:
        return f"inspection-{self.id}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class SignOff(models.Model):
    """Append-only log of the report's sign-off chain: who did what, in which role, when, with
    which comment. The PDF prints the signatures from it."""

    class Step(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted by the officer")
        RETURNED = "returned", _("Returned by the credit head")
        REVIEWED = "reviewed", _("Reviewed and signed by the credit head")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged by the manager in charge")

    BRANCH_FIELD = "inspection__loan__branch"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="signoffs")
    step = models.CharField(max_length=20, choices=Step.choices)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=30)
    at = models.DateTimeField()
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    @property
    def role_label(self) -> str:
        from loanops.org.models import Role

        return Role(self.role).label if self.role in Role.values else self.role


def _attachment_path(instance, filename: str) -> str:
    return f"inspections/{instance.inspection_id}/{filename}"


@pghistory.track(pghistory.InsertEvent(), pghistory.DeleteEvent())
class InspectionAttachment(BaseModel):
    class Kind(models.TextChoices):
        PHOTO = "photo", _("Photo")
        STATEMENT = "statement", _("Statement")
        OTHER = "other", _("Other")

    BRANCH_FIELD = "inspection__loan__branch"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    file = models.FileField(_("file"), upload_to=_attachment_path)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["id"]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class FollowUpTask(BaseModel):
    """A follow-up action raised by a report: reclassification, revaluation, watch list, dealer
    inspection, … with its owner and due date."""

    class Kind(models.TextChoices):
        RECLASSIFICATION = "reclassification", _("Reclassification proposal")
        REVALUATION = "revaluation", _("Collateral revaluation")
        WATCH_LIST = "watch_list", _("Watch list")
        DEALER_INSPECTION = "dealer_inspection", _("Inspection of the dealer")
        OTHER = "other", _("Other")

    BRANCH_FIELD = "inspection__loan__branch"

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.OTHER)
    description = models.CharField(_("description"), max_length=300)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(_("due date"))
    done_on = models.DateField(_("done on"), null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [models.CheckConstraint(condition=~Q(description=""), name="followup_description")]


class LoanClassWatch(models.Model):
    """What the scheduler last saw of a loan's effective class (to detect a class change)."""

    BRANCH_FIELD = "loan__branch"

    loan = models.OneToOneField("loans.Loan", on_delete=models.CASCADE, primary_key=True, related_name="+")
    classification = models.CharField(max_length=20, choices=Classification.choices)
    since = models.DateField()
