"""Aggregates behind the dashboards, written by the nightly step `dashboards.aggregates`.

Their size depends on the organisation (branches × officers × products × dealers × buckets), not
on the number of loans, so a dashboard request reads a few thousand rows whatever the portfolio.
Nothing here is edited by people: every row is rebuilt from the daily snapshots.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.models import Bucket, Classification

MONEY = {"max_digits": settings.MONEY_MAX_DIGITS, "decimal_places": settings.MONEY_DECIMAL_PLACES}
EXIT_BUCKET = "exit"  # roll rates: the loan has no snapshot at the later date (closed, written off)
ROLL_BUCKETS = [*Bucket.choices, (EXIT_BUCKET, _("Closed or written off"))]


class AggregateDay(models.Model):
    """One row per date the aggregates were built for; `roll_from` is the previous month's
    reference date the roll rates of that day compare with."""

    as_of = models.DateField(unique=True)
    roll_from = models.DateField(null=True)
    loans = models.IntegerField(default=0)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("aggregated day")
        verbose_name_plural = _("aggregated days")


class _Dimensions(models.Model):
    BRANCH_FIELD = "branch"

    as_of = models.DateField()
    branch = models.ForeignKey("org.Branch", on_delete=models.CASCADE, related_name="+", db_index=False)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    product = models.ForeignKey("loans.Product", on_delete=models.CASCADE, related_name="+", db_index=False)
    dealer = models.ForeignKey("loans.Dealer", on_delete=models.CASCADE, null=True, related_name="+", db_index=False)
    loans = models.IntegerField(default=0)

    class Meta:
        abstract = True


class PortfolioAggregate(_Dimensions):
    """Loans and money per (date, branch, officer, product, dealer, class, bucket, 3/6, written off)."""

    classification = models.CharField(max_length=20, choices=Classification.choices)
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    rule_3_6 = models.BooleanField(default=False)
    written_off = models.BooleanField(default=False)
    outstanding_principal = models.DecimalField(default=0, **MONEY)
    overdue_principal = models.DecimalField(default=0, **MONEY)
    overdue_amount = models.DecimalField(default=0, **MONEY)
    recovered_amount = models.DecimalField(default=0, **MONEY)  # written-off loans: money received since

    class Meta:
        indexes = [models.Index(fields=["as_of", "branch"], name="dash_portfolio_date_branch")]


class RollRateAggregate(_Dimensions):
    """Where the money of each bucket at `from_as_of` (the previous month's reference date) is at `as_of`."""

    from_as_of = models.DateField()
    from_bucket = models.CharField(max_length=10, choices=Bucket.choices)
    to_bucket = models.CharField(max_length=10, choices=ROLL_BUCKETS)
    principal_from = models.DecimalField(default=0, **MONEY)
    principal_to = models.DecimalField(default=0, **MONEY)

    class Meta:
        indexes = [models.Index(fields=["as_of", "branch"], name="dash_roll_date_branch")]


class VintageAggregate(_Dimensions):
    """Per disbursement month (`cohort`, its first day): disbursed principal and, at `as_of`,
    the outstanding principal of its loans more than 30/60/90 days past due."""

    cohort = models.DateField()
    months_on_book = models.SmallIntegerField()
    disbursed_principal = models.DecimalField(default=0, **MONEY)
    outstanding_principal = models.DecimalField(default=0, **MONEY)
    principal_30 = models.DecimalField(default=0, **MONEY)
    principal_60 = models.DecimalField(default=0, **MONEY)
    principal_90 = models.DecimalField(default=0, **MONEY)

    class Meta:
        indexes = [models.Index(fields=["as_of", "branch"], name="dash_vintage_date_branch")]
