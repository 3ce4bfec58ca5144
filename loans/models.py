"""Loans, their schedules and payments, the allocation ledger and the stored arrears state."""

from decimal import Decimal

import pghistory
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loanops.core.models import BaseModel

MONEY = {"max_digits": settings.MONEY_MAX_DIGITS, "decimal_places": settings.MONEY_DECIMAL_PLACES}
RATE = {"max_digits": settings.RATE_MAX_DIGITS, "decimal_places": settings.RATE_DECIMAL_PLACES}
ZERO = Decimal("0.00")


class Payer(models.TextChoices):
    BORROWER = "borrower", _("Borrower")
    DEALER = "dealer", _("Dealer")
    INSURER = "insurer", _("Insurer")
    GUARANTOR = "guarantor", _("Guarantor")
    COLLATERAL_SALE = "collateral_sale", _("Collateral sale")


class Classification(models.TextChoices):
    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


CLASS_RANK = {c.value: rank for rank, c in enumerate(Classification)}
NPL_CLASSES = (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS)


class Bucket(models.TextChoices):
    CURRENT = "current", _("Current")
    B1_30 = "1-30", "1–30"
    B31_60 = "31-60", "31–60"
    B61_90 = "61-90", "61–90"
    B91_180 = "91-180", "91–180"
    B181_270 = "181-270", "181–270"
    B271_360 = "271-360", "271–360"
    B361 = "361+", "361+"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Product(BaseModel):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class ParameterSet(BaseModel):
    """A versioned set of arrears parameters: for one product, or the default (product empty).

    The version in force on a date is the newest `valid_from <= date`, the product's own
    before the default. Every stored result records the version it used.
    """

    class ExcessHandling(models.TextChoices):
        SUSPENSE = "suspense", _("Suspense until the next due date")
        PREPAY = "prepay", _("Prepay the next installments")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="parameter_sets")
    valid_from = models.DateField(_("valid from"))
    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=0)
    tolerance = models.DecimalField(_("tolerance"), default=ZERO, **MONEY)
    excess_handling = models.CharField(
        _("excess handling"), max_length=10, choices=ExcessHandling.choices, default=ExcessHandling.SUSPENSE
    )
    consecutive_trigger = models.PositiveSmallIntegerField(_("consecutive trigger"), default=3)
    cumulative_trigger = models.PositiveSmallIntegerField(_("cumulative trigger"), default=6)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        ordering = ["product_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["product", "valid_from"], name="param_one_version_per_day"),
            models.UniqueConstraint(
                fields=["valid_from"], condition=Q(product__isnull=True), name="param_default_one_per_day"
            ),
            models.CheckConstraint(condition=Q(tolerance__gte=0), name="param_tolerance_not_negative"),
            models.CheckConstraint(
                condition=Q(consecutive_trigger__gte=1, cumulative_trigger__gte=1), name="param_triggers_positive"
            ),
        ]
        verbose_name = _("parameter version")
        verbose_name_plural = _("parameter versions")

    def __str__(self) -> str:
        return f"{self.product.code if self.product else _('default')} from {self.valid_from}"


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Borrower(BaseModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    national_id = models.CharField(_("national id"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.TextField(_("address"), blank=True)
    language = models.CharField(_("language"), max_length=8, default="es")

    class Meta:
        verbose_name = _("borrower")
        indexes = [models.Index(fields=["national_id"], name="borrower_national_id")]

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Guarantor(BaseModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    national_id = models.CharField(_("national id"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("guarantor")

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Dealer(BaseModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    suspended_new_business = models.BooleanField(_("flagged for suspension of new business"), default=False)

    class Meta:
        verbose_name = _("dealer")

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Insurer(BaseModel):
    external_id = models.CharField(_("external id"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("insurer")

    def __str__(self) -> str:
        return self.name


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class InsurancePolicy(BaseModel):
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, related_name="policies")
    number = models.CharField(_("policy number"), max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["insurer", "number"], name="policy_unique_per_insurer")]
        verbose_name = _("insurance policy")
        verbose_name_plural = _("insurance policies")

    def __str__(self) -> str:
        return f"{self.insurer} {self.number}"


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(),
    exclude=[
        "ledger_version", "received_total", "last_value_date", "ledger_through", "ledger_grace_days",
        "ledger_tolerance", "ledger_prepay", "missed_run_from", "open_from", "updated_at",
    ],
)  # fmt: skip
class Loan(BaseModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        CLOSED = "closed", _("Closed")
        WRITTEN_OFF = "written_off", _("Written off")

    BRANCH_FIELD = "branch"

    number = models.CharField(_("loan number"), max_length=64, unique=True)
    branch = models.ForeignKey("org.Branch", on_delete=models.PROTECT, related_name="loans", verbose_name=_("branch"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="loans", verbose_name=_("product"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    principal = models.DecimalField(_("principal"), **MONEY)
    annual_rate = models.DecimalField(_("annual rate"), default=Decimal("0"), **RATE)
    disbursement_date = models.DateField(_("disbursement date"))
    term_months = models.PositiveSmallIntegerField(_("term (months)"), null=True, blank=True)
    amortization = models.CharField(_("amortization"), max_length=20, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loans",
        verbose_name=_("credit officer"),
    )
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="loans", verbose_name=_("borrower"))
    guarantors = models.ManyToManyField(Guarantor, blank=True, related_name="loans", verbose_name=_("guarantors"))
    dealer = models.ForeignKey(Dealer, on_delete=models.PROTECT, null=True, blank=True, related_name="loans")
    insurer = models.ForeignKey(Insurer, on_delete=models.PROTECT, null=True, blank=True, related_name="loans")
    insurance_policy = models.ForeignKey(
        InsurancePolicy, on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    # Bumped on every replay of the ledger (payment, reversal, schedule replacement).
    ledger_version = models.PositiveIntegerField(default=0)
    # Ledger summary kept by every replay, so the nightly sweep reads installments only (not the
    # allocation ledger) for loans whose money all took effect on or before the sweep date.
    received_total = models.DecimalField(default=ZERO, **MONEY)  # payments that count
    last_value_date = models.DateField(null=True, blank=True)
    ledger_through = models.DateField(null=True, blank=True)  # latest allocation effective date
    ledger_grace_days = models.SmallIntegerField(default=0)  # grace behind borrower_paid_by_deadline
    ledger_tolerance = models.DecimalField(default=ZERO, **MONEY)  # tolerance behind missed_streak
    # Excess handling the allocations were made with (prepay, else suspense); NULL: not known (a
    # ledger stored before it was kept, where the product's parameters ever differed on it).
    ledger_prepay = models.BooleanField(null=True)
    # The first installment of the schedule's last run of missed ones (missed once their deadline
    # passes, as missed_streak counts them): from it on, the streak is `number - missed_run_from
    # + 1` and the installments store none (see Installment.missed_streak). One past the last
    # installment when the last is not missed.
    missed_run_from = models.PositiveSmallIntegerField(default=1)
    # No installment before this one owes anything: every replay sets it to the first that does
    # (one past the last when none does), and appending money (here or in the database function
    # `loans_payment_append`) moves it on. Appending money reads the schedule from it, and is
    # right as long as it is at most that installment: money pays installments off in order and
    # only a replay takes money back. So 1 (the schedule's start), the database's default, is
    # always safe.
    open_from = models.PositiveSmallIntegerField(default=1, db_default=1)

    class Meta:
        ordering = ["number"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(condition=Q(annual_rate__gte=0), name="loan_rate_not_negative"),
        ]
        indexes = [
            models.Index(fields=["branch", "status"], name="loan_branch_status"),
            models.Index(fields=["officer"], name="loan_officer"),
            models.Index(fields=["dealer"], name="loan_dealer"),
        ]

    def __str__(self) -> str:
        return self.number


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())
class Collateral(BaseModel):
    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="collateral")
    kind = models.CharField(_("kind"), max_length=40)
    description = models.CharField(_("description"), max_length=300)
    value = models.DecimalField(_("value"), **MONEY)
    valued_on = models.DateField(_("valuation date"), null=True, blank=True)

    class Meta:
        verbose_name = _("collateral")
        verbose_name_plural = _("collateral")
        constraints = [models.CheckConstraint(condition=Q(value__gte=0), name="collateral_value_not_negative")]


@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent(),
    exclude=[
        "paid_principal", "paid_interest", "paid_fees", "borrower_paid_by_deadline", "missed_streak", "paid_through",
    ],
)  # fmt: skip
class Installment(models.Model):
    """One line of the schedule. Due dates strictly increase with the number (a deferred
    constraint trigger checks it across rows, see migration 0002)."""

    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments", db_index=False)
    number = models.PositiveIntegerField(_("number"))
    due_date = models.DateField(_("due date"))
    principal = models.DecimalField(_("principal"), **MONEY)
    interest = models.DecimalField(_("interest"), **MONEY)
    fees = models.DecimalField(_("fees"), default=ZERO, **MONEY)
    # Kept by every replay (full horizon); see Loan.ledger_through.
    paid_principal = models.DecimalField(default=ZERO, **MONEY)
    paid_interest = models.DecimalField(default=ZERO, **MONEY)
    paid_fees = models.DecimalField(default=ZERO, **MONEY)
    borrower_paid_by_deadline = models.DecimalField(default=ZERO, **MONEY)
    # Length of the run of installments, ending at this one, that are missed once their deadline
    # passes (with the loan's ledger grace and tolerance). NULL in the schedule's last run of
    # missed installments, whose streaks the loan keeps (Loan.missed_run_from): an unpaid
    # schedule is one such run, and paying its first installment on time would otherwise shift
    # the streak of every later one.
    missed_streak = models.PositiveSmallIntegerField(null=True)
    paid_through = models.DateField(null=True)  # latest effective date of its allocations

    class Meta:
        ordering = ["loan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="installment_unique_number"),
            models.UniqueConstraint(fields=["loan", "due_date"], name="installment_unique_due_date"),
            models.CheckConstraint(
                condition=Q(principal__gte=0, interest__gte=0, fees__gte=0), name="installment_components_not_negative"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="installment_number_positive"),
        ]

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees


# Statement-level: a batch of a thousand payments attaches its audit context once, not per row.
@pghistory.track(
    pghistory.InsertEvent(), pghistory.UpdateEvent(), exclude=["response", "request_fingerprint"],
    level=pghistory.Statement,
)  # fmt: skip
class Payment(models.Model):
    """Money from core banking. The id is the arrival order; `external_id` the idempotency key."""

    BRANCH_FIELD = "loan__branch"

    external_id = models.CharField(_("external id"), max_length=100, unique=True)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="payments", db_index=False)
    amount = models.DecimalField(_("amount"), **MONEY)
    value_date = models.DateField(_("value date"))
    payer = models.CharField(_("payer"), max_length=20, choices=Payer.choices, default=Payer.BORROWER)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    request_fingerprint = models.CharField(max_length=64)
    response = models.JSONField(default=dict)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversal_reason = models.CharField(_("reversal reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["value_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]
        indexes = [models.Index(fields=["loan", "value_date"], name="payment_loan_value_date")]


class Allocation(models.Model):
    """The ledger: which money settled which installment component, and from which day.

    Rebuilt for a loan by every replay; the state as of any date D is the sum of rows with
    `effective_date <= D` (the engine is causal), which is what the nightly sweep reads.
    """

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="allocations", db_index=False)
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="allocations")
    installment = models.ForeignKey(Installment, on_delete=models.CASCADE, related_name="allocations")
    effective_date = models.DateField()
    is_borrower = models.BooleanField()
    payer = models.CharField(max_length=20, choices=Payer.choices)
    fees = models.DecimalField(default=ZERO, **MONEY)
    interest = models.DecimalField(default=ZERO, **MONEY)
    principal = models.DecimalField(default=ZERO, **MONEY)

    class Meta:
        ordering = ["effective_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(fees__gte=0, interest__gte=0, principal__gte=0), name="allocation_not_negative"
            ),
        ]
        indexes = [
            # Used by the nightly sweep: allocations of a loan-id range up to the as-of date,
            models.Index(fields=["loan", "effective_date"], name="allocation_loan_date"),
            # and the few paid by a dealer or insurer (guarantor cures).
            models.Index(
                fields=["loan", "effective_date"], name="allocation_guarantor_paid",
                condition=Q(payer__in=["dealer", "insurer"]),
            ),
        ]  # fmt: skip


class DelinquencyFields(models.Model):
    """Every output of the arrears engine (domain.md), as stored by the sweep."""

    as_of = models.DateField()
    days_past_due = models.IntegerField(default=0)
    overdue_installments = models.IntegerField(default=0)
    cumulative_missed_installments = models.IntegerField(default=0)
    max_consecutive_missed = models.IntegerField(default=0)
    overdue_principal = models.DecimalField(default=ZERO, **MONEY)
    overdue_interest = models.DecimalField(default=ZERO, **MONEY)
    overdue_fees = models.DecimalField(default=ZERO, **MONEY)
    overdue_amount = models.DecimalField(default=ZERO, **MONEY)
    outstanding_principal = models.DecimalField(default=ZERO, **MONEY)
    suspense_balance = models.DecimalField(default=ZERO, **MONEY)
    bucket = models.CharField(max_length=10, choices=Bucket.choices, default=Bucket.CURRENT)
    classification_floor = models.CharField(
        max_length=20, choices=Classification.choices, default=Classification.NORMAL
    )
    classification = models.CharField(max_length=20, choices=Classification.choices, default=Classification.NORMAL)
    ifrs9_stage = models.SmallIntegerField(default=1)
    is_npl = models.BooleanField(default=False)
    rule_3_6 = models.BooleanField(default=False)
    parameter_set = models.ForeignKey(ParameterSet, on_delete=models.PROTECT, null=True, related_name="+")
    # What the classification rules remember from night to night.
    dpd_zero_since = models.DateField(null=True)
    npl_hold = models.BooleanField(default=False)  # was NPL: stays NPL until an approved reclassification
    guarantor_cure_on = models.DateField(null=True)
    ledger_version = models.PositiveIntegerField(default=0)  # the loan's ledger_version this was computed from

    class Meta:
        abstract = True


class LoanDelinquency(DelinquencyFields):
    """The loan's current arrears state: the last sweep's values, plus what the
    classification rules need to remember between nights."""

    BRANCH_FIELD = "loan__branch"

    loan = models.OneToOneField(Loan, on_delete=models.CASCADE, primary_key=True, related_name="delinquency")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["days_past_due"], name="delinq_dpd"),
            models.Index(fields=["classification"], name="delinq_class"),
            models.Index(fields=["bucket"], name="delinq_bucket"),
            models.Index(fields=["rule_3_6"], name="delinq_rule36", condition=Q(rule_3_6=True)),
        ]


class DelinquencySnapshot(DelinquencyFields):
    """One row per loan and day: history for the loan page and the dashboards."""

    BRANCH_FIELD = "branch"

    # A night writes a million of these, from the rows it has just read. The dimensions copied
    # from the loan (as they were that day) are not re-checked by the database, a lookup each
    # per row at commit, nor indexed, as nothing looks a snapshot up by them (deleting a
    # branch, product, dealer or user still finds them: the ORM protects them).
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="snapshots", db_index=False)
    branch = models.ForeignKey(
        "org.Branch", on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    dealer = models.ForeignKey(
        Dealer, on_delete=models.PROTECT, null=True, related_name="+", db_constraint=False, db_index=False
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", db_constraint=False,
        db_index=False,
    )  # fmt: skip
    parameter_set = models.ForeignKey(
        ParameterSet, on_delete=models.PROTECT, null=True, related_name="+", db_constraint=False, db_index=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "as_of"], name="snapshot_one_per_loan_day")]
        indexes = [models.Index(fields=["as_of", "branch"], name="snapshot_date_branch")]


@pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent())
class ClassificationOverride(BaseModel):
    """A manual downgrade (reason required) or an approved return from NPL."""

    class Kind(models.TextChoices):
        DOWNGRADE = "downgrade", _("Manual downgrade")
        RECLASSIFICATION = "reclassification", _("Approved return to performing")

    BRANCH_FIELD = "loan__branch"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="classification_overrides")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    classification = models.CharField(max_length=20, choices=Classification.choices)
    reason = models.TextField(_("reason"))
    effective_from = models.DateField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    cleared_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="override_reason_required"),
        ]
