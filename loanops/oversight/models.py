"""NPL oversight (domain.md duty 1): the monthly 3/6 report per institution, the NPL ratio watch
with its restrictions, and the dealers' overdue rates.

Reports and their lines are immutable once generated (database triggers refuse UPDATE and
DELETE, migration 0002). Restrictions change only through a proposal that head-office risk
signs off (four-eyes), and every row is audited with pghistory.
"""

from decimal import Decimal

import pghistory
from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel

MONEY = {"max_digits": settings.MONEY_MAX_DIGITS, "decimal_places": settings.MONEY_DECIMAL_PLACES}
RATE = {"max_digits": settings.RATE_MAX_DIGITS, "decimal_places": settings.RATE_DECIMAL_PLACES}
ZERO = Decimal("0.00")


class BusinessType(models.TextChoices):
    """Business an institution may have suspended while restricted (domain-research.md §9.3)."""

    DEALER_AUTO_FLAGGED = "dealer_auto_flagged", _("New auto loans through dealers flagged for suspension")
    DEALER_AUTO = "dealer_auto", _("New auto loans through dealers")
    DIRECT_AUTO = "direct_auto", _("New direct auto loans")
    REFINANCING = "refinancing", _("Refinancing and restructuring of existing loans")


def default_suspended_business_types() -> list[str]:
    return [BusinessType.DEALER_AUTO_FLAGGED.value]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class OversightParameters(BaseModel):
    """A versioned set of oversight parameters (domain-research.md §3.3–3.4): the version in force
    on a date is the newest `valid_from <= date`. Every report records the version it used."""

    valid_from = models.DateField(_("valid from"), unique=True)
    npl_ratio_limit = models.DecimalField(_("NPL ratio limit"), default=Decimal("0.050000"), **RATE)
    lift_consecutive_reports = models.PositiveSmallIntegerField(
        _("reports at or below the limit to lift a restriction"), default=2
    )
    authority_factor = models.DecimalField(
        _("approval authority factor while restricted"), default=Decimal("0.500000"), **RATE
    )
    suspended_business_types = ArrayField(
        models.CharField(max_length=40, choices=BusinessType.choices),
        verbose_name=_("business types suspended while restricted"),
        default=default_suspended_business_types,
        blank=True,
    )
    dealer_overdue_rate_limit = models.DecimalField(_("dealer overdue rate limit"), default=Decimal("0.010000"), **RATE)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["-valid_from"]
        verbose_name = _("oversight parameter version")
        verbose_name_plural = _("oversight parameter versions")
        constraints = [
            models.CheckConstraint(
                condition=Q(npl_ratio_limit__gte=0, npl_ratio_limit__lte=1), name="oversight_npl_limit_fraction"
            ),
            models.CheckConstraint(
                condition=Q(authority_factor__gte=0, authority_factor__lte=1), name="oversight_factor_fraction"
            ),
            models.CheckConstraint(
                condition=Q(dealer_overdue_rate_limit__gte=0, dealer_overdue_rate_limit__lte=1),
                name="oversight_dealer_limit_fraction",
            ),
            models.CheckConstraint(condition=Q(lift_consecutive_reports__gte=1), name="oversight_lift_positive"),
        ]

    def __str__(self) -> str:
        return f"{_('Oversight parameters')} {self.valid_from}"


class MonthlyReport(models.Model):
    """One institution's month: the totals of its 3/6 report and its NPL ratio, both from the
    month-end snapshot. Immutable once generated."""

    BRANCH_FIELD = "institution"

    month = models.DateField(_("month"))  # the first day of the month
    as_of = models.DateField(_("month end"))
    institution = models.ForeignKey(
        "org.Branch", on_delete=models.PROTECT, related_name="oversight_reports", verbose_name=_("institution")
    )
    parameters = models.ForeignKey(OversightParameters, on_delete=models.PROTECT, related_name="+")
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)
    # 3/6 totals
    rule_loans = models.PositiveIntegerField(_("loans meeting the 3/6 rule"), default=0)
    rule_outstanding_principal = models.DecimalField(_("outstanding principal"), default=ZERO, **MONEY)
    rule_overdue_principal = models.DecimalField(_("overdue principal"), default=ZERO, **MONEY)
    rule_overdue_interest = models.DecimalField(_("overdue interest"), default=ZERO, **MONEY)
    rule_overdue_fees = models.DecimalField(_("overdue fees"), default=ZERO, **MONEY)
    rule_overdue_amount = models.DecimalField(_("overdue amount"), default=ZERO, **MONEY)
    # NPL ratio = principal of NPL loans / total principal outstanding (written-off loans excluded)
    portfolio_loans = models.PositiveIntegerField(_("loans in the portfolio"), default=0)
    total_principal = models.DecimalField(_("total principal outstanding"), default=ZERO, **MONEY)
    npl_principal = models.DecimalField(_("principal of NPL loans"), default=ZERO, **MONEY)
    npl_ratio = models.DecimalField(_("NPL ratio"), null=True, **RATE)  # null: no principal outstanding
    npl_ratio_limit = models.DecimalField(_("NPL ratio limit"), **RATE)
    above_limit = models.BooleanField(_("above the limit"), default=False)

    class Meta:
        ordering = ["-month", "institution__path"]
        verbose_name = _("monthly oversight report")
        verbose_name_plural = _("monthly oversight reports")
        constraints = [
            models.UniqueConstraint(fields=["month", "institution"], name="oversight_report_once_a_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="oversight_report_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.institution_id} {self.month:%Y-%m}"


class Rule36Line(models.Model):
    """One loan meeting the 3/6 rule at month end, with the fields of domain-research.md §9.1,
    as they stood then (names copied, so the report never changes). Immutable."""

    BRANCH_FIELD = "branch"

    report = models.ForeignKey(MonthlyReport, on_delete=models.PROTECT, related_name="lines")
    loan = models.ForeignKey("loans.Loan", on_delete=models.PROTECT, related_name="+")
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="+", verbose_name=_("branch"))
    branch_code = models.CharField(_("branch"), max_length=20)
    officer_name = models.CharField(_("credit officer"), max_length=300, blank=True)
    dealer_name = models.CharField(_("dealer"), max_length=200, blank=True)
    borrower_external_id = models.CharField(_("borrower id"), max_length=64)
    borrower_name = models.CharField(_("borrower"), max_length=200)
    loan_number = models.CharField(_("contract"), max_length=64)
    product_code = models.CharField(_("product"), max_length=20)
    disbursement_date = models.DateField(_("disbursement date"))
    outstanding_principal = models.DecimalField(_("outstanding principal"), **MONEY)
    overdue_principal = models.DecimalField(_("overdue principal"), **MONEY)
    overdue_interest = models.DecimalField(_("overdue interest"), **MONEY)
    overdue_fees = models.DecimalField(_("overdue fees"), **MONEY)
    overdue_amount = models.DecimalField(_("overdue amount"), **MONEY)
    days_past_due = models.IntegerField(_("days past due"))
    overdue_installments = models.IntegerField(_("consecutive missed (installments overdue)"))
    cumulative_missed_installments = models.IntegerField(_("cumulative missed"))
    max_consecutive_missed = models.IntegerField(_("longest run of missed"))
    classification = models.CharField(_("classification"), max_length=20)
    classification_floor = models.CharField(_("classification floor"), max_length=20)
    collection_stage = models.CharField(_("enforcement status"), max_length=30, blank=True)

    class Meta:
        ordering = ["report_id", "branch_code", "loan_number"]
        verbose_name = _("3/6 report line")
        verbose_name_plural = _("3/6 report lines")
        constraints = [models.UniqueConstraint(fields=["report", "loan"], name="oversight_line_once_per_report")]


class DealerMonthRate(models.Model):
    """A dealer's overdue rate at a month end (whole portfolio). Immutable.

    overdue rate = outstanding principal of the dealer's loans with days past due > 0
                   / outstanding principal of all the dealer's loans (written-off loans excluded).
    """

    month = models.DateField(_("month"))
    as_of = models.DateField(_("month end"))
    dealer = models.ForeignKey("loans.Dealer", on_delete=models.PROTECT, related_name="+", verbose_name=_("dealer"))
    parameters = models.ForeignKey(OversightParameters, on_delete=models.PROTECT, related_name="+")
    loans = models.PositiveIntegerField(_("loans"))
    overdue_loans = models.PositiveIntegerField(_("overdue loans"))
    guaranteed_principal = models.DecimalField(_("guaranteed principal"), **MONEY)
    overdue_principal = models.DecimalField(_("principal of overdue loans"), **MONEY)
    overdue_rate = models.DecimalField(_("overdue rate"), null=True, **RATE)
    rate_limit = models.DecimalField(_("limit"), **RATE)
    flagged = models.BooleanField(_("flagged for suspension of new business"))
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)

    class Meta:
        ordering = ["-month", "dealer__name"]
        verbose_name = _("dealer overdue rate")
        verbose_name_plural = _("dealer overdue rates")
        constraints = [
            models.UniqueConstraint(fields=["month", "dealer"], name="oversight_dealer_rate_once_a_month"),
        ]


class RestrictionState(models.TextChoices):
    NORMAL = "normal", _("Normal")
    RESTRICTED = "restricted", _("Restricted")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class InstitutionRestriction(BaseModel):
    """The institution's NPL restriction state, changed only by a signed proposal."""

    BRANCH_FIELD = "institution"

    institution = models.OneToOneField(
        "org.Branch", on_delete=models.PROTECT, related_name="npl_restriction", verbose_name=_("institution")
    )
    state = models.CharField(_("state"), max_length=20, choices=RestrictionState.choices)
    since = models.DateField(_("since"))
    authority_factor = models.DecimalField(_("approval authority factor"), default=Decimal("1.000000"), **RATE)
    suspended_business_types = ArrayField(
        models.CharField(max_length=40, choices=BusinessType.choices), default=list, blank=True
    )
    proposal = models.ForeignKey("RestrictionProposal", on_delete=models.PROTECT, null=True, related_name="+")
    signed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    signed_at = models.DateTimeField(_("signed at"), null=True)

    class Meta:
        verbose_name = _("institution restriction")
        verbose_name_plural = _("institution restrictions")


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class RestrictionProposal(BaseModel):
    """A change of restriction state proposed by a monthly report, signed off (or rejected) by
    head-office risk; the proposer never signs (a report's proposal has no human proposer)."""

    class Kind(models.TextChoices):
        RESTRICT = "restrict", _("Restrict")
        LIFT = "lift", _("Lift the restriction")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for sign-off")
        APPROVED = "approved", _("Signed off")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded by a later report")

    TRANSITIONS = {Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.SUPERSEDED}}

    BRANCH_FIELD = "institution"

    institution = models.ForeignKey(
        "org.Branch", on_delete=models.PROTECT, related_name="restriction_proposals", verbose_name=_("institution")
    )
    kind = models.CharField(_("change"), max_length=10, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    report = models.ForeignKey(MonthlyReport, on_delete=models.PROTECT, related_name="proposals")
    reason = models.CharField(_("reason"), max_length=500)
    authority_factor = models.DecimalField(_("approval authority factor"), **RATE)
    suspended_business_types = ArrayField(
        models.CharField(max_length=40, choices=BusinessType.choices), default=list, blank=True
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("restriction proposal")
        verbose_name_plural = _("restriction proposals")
        constraints = [
            models.UniqueConstraint(
                fields=["institution"], condition=Q(status="pending"), name="oversight_one_pending_proposal"
            ),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="oversight_proposal_four_eyes",
            ),
        ]
