"""Dashboard figures, read from the nightly aggregates only (never from the loans).

Every function takes a `Scope`: the branch ids the user may see within the chosen institution
or branch (None: every branch), and the officer, product and dealer filters. The formulas are
domain.md "Portfolio metrics" and domain-research.md §11; money stays Decimal, ratios are
percentages rounded half-up to 2 places.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import TruncMonth

from loanops.dashboards.models import (
    EXIT_BUCKET,
    AggregateDay,
    PortfolioAggregate,
    RollRateAggregate,
    VintageAggregate,
)
from loanops.org.models import Branch
from loanops.org.scoping import for_user, visible_paths
from loans.models import NPL_CLASSES, Bucket, Classification

ZERO = Decimal("0.00")
HUNDRED = Decimal("100")
TREND_MONTHS = 13
VINTAGE_COHORTS = 12
BUCKETS = [b.value for b in Bucket]
PAR_BUCKETS = {
    0: set(BUCKETS[1:]),
    30: set(BUCKETS[2:]),
    60: set(BUCKETS[3:]),
    90: set(BUCKETS[4:]),
}
NPL = {c.value for c in NPL_CLASSES}


def percent(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * HUNDRED / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Scope:
    branch_ids: tuple[int, ...] | None  # None: every branch
    officer_id: int | None = None
    product_id: int | None = None
    dealer_id: int | None = None

    def q(self) -> Q:
        condition = Q()
        if self.branch_ids is not None:
            condition &= Q(branch_id__in=self.branch_ids)
        if self.officer_id is not None:
            condition &= Q(officer_id=self.officer_id)
        if self.product_id is not None:
            condition &= Q(product_id=self.product_id)
        if self.dealer_id is not None:
            condition &= Q(dealer_id=self.dealer_id)
        return condition


def scope_for(user, *, institution=None, branch=None, officer=None, product=None, dealer=None) -> Scope:
    """The user's branches (scoping.for_user), narrowed to the chosen institution and branch."""
    branches = None
    if institution is not None or branch is not None or visible_paths(user) is not None:
        queryset = for_user(Branch.objects.all(), user)
        for unit in (institution, branch):
            if unit is not None:
                queryset = queryset.filter(path__startswith=unit.path)
        branches = tuple(queryset.values_list("id", flat=True))
    return Scope(
        branch_ids=branches,
        officer_id=officer.id if officer else None,
        product_id=product.id if product else None,
        dealer_id=dealer.id if dealer else None,
    )


# --------------------------------------------------------------------------- portfolio quality
@dataclass
class Quality:
    """Portfolio-quality figures of one date (gross portfolio: written-off loans excluded)."""

    as_of: date | None = None
    loans: int = 0
    principal: Decimal = ZERO
    by_class: dict[str, Decimal] = field(default_factory=lambda: {c.value: ZERO for c in Classification})
    by_bucket: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    loans_by_bucket: dict[str, int] = field(default_factory=lambda: dict.fromkeys(BUCKETS, 0))
    overdue_by_bucket: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(BUCKETS, ZERO))
    overdue_amount: Decimal = ZERO
    rule_3_6_loans: int = 0
    rule_3_6_principal: Decimal = ZERO
    written_off_loans: int = 0
    written_off_principal: Decimal = ZERO
    recovered: Decimal = ZERO

    def add(self, row: dict) -> None:
        if row["written_off"]:
            self.written_off_loans += row["loans"]
            self.written_off_principal += row["outstanding_principal"]
            self.recovered += row["recovered_amount"]
            return
        self.loans += row["loans"]
        self.principal += row["outstanding_principal"]
        self.by_class[row["classification"]] += row["outstanding_principal"]
        self.by_bucket[row["bucket"]] += row["outstanding_principal"]
        self.loans_by_bucket[row["bucket"]] += row["loans"]
        self.overdue_by_bucket[row["bucket"]] += row["overdue_amount"]
        self.overdue_amount += row["overdue_amount"]
        if row["rule_3_6"]:
            self.rule_3_6_loans += row["loans"]
            self.rule_3_6_principal += row["outstanding_principal"]

    @property
    def npl_principal(self) -> Decimal:
        return sum((self.by_class[c] for c in NPL), ZERO)

    @property
    def npl_ratio(self) -> Decimal | None:
        return percent(self.npl_principal, self.principal)

    @property
    def special_mention_ratio(self) -> Decimal | None:
        return percent(self.by_class[Classification.SPECIAL_MENTION], self.principal)

    def par_principal(self, days: int) -> Decimal:
        return sum((self.by_bucket[b] for b in PAR_BUCKETS[days]), ZERO)

    def par(self, days: int) -> Decimal | None:
        return percent(self.par_principal(days), self.principal)

    @property
    def par0(self):
        return self.par(0)

    @property
    def par30(self):
        return self.par(30)

    @property
    def par60(self):
        return self.par(60)

    @property
    def par90(self):
        return self.par(90)

    @property
    def delinquency_ratio(self) -> Decimal | None:
        return percent(self.overdue_amount, self.principal)


_QUALITY_VALUES = {
    "loans": Sum("loans"),
    "outstanding_principal": Sum("outstanding_principal"),
    "overdue_amount": Sum("overdue_amount"),
    "recovered_amount": Sum("recovered_amount"),
}
_QUALITY_KEYS = ("classification", "bucket", "rule_3_6", "written_off")


def aggregate_dates(until: date | None = None) -> list[date]:
    """The reference date of each of the last TREND_MONTHS months with aggregates (latest first):
    the last aggregated day of the month; with UNTIL, of the months up to that date."""
    days = AggregateDay.objects.all() if until is None else AggregateDay.objects.filter(as_of__lte=until)
    rows = (
        days.annotate(month=TruncMonth("as_of"))
        .values("month")
        .annotate(last=Max("as_of"))
        .order_by("-month")[:TREND_MONTHS]
    )
    return [row["last"] for row in rows]


def quality_by_date(scope: Scope, dates: list[date]) -> dict[date, Quality]:
    result = {d: Quality(as_of=d) for d in dates}
    if not dates:
        return result
    rows = (
        PortfolioAggregate.objects.filter(scope.q(), as_of__in=dates)
        .values("as_of", *_QUALITY_KEYS)
        .annotate(**_QUALITY_VALUES)
        .order_by()
    )
    for row in rows:
        result[row["as_of"]].add(row)
    return result


def quality_on(scope: Scope, as_of: date) -> Quality:
    return quality_by_date(scope, [as_of])[as_of]


@dataclass
class Segment:
    """One line of a breakdown table (per branch, per dealer, …)."""

    key: object
    label: str
    quality: Quality
    flagged: bool = False
    flag_reason: str = ""


def quality_by(scope: Scope, as_of: date, *dimensions: str) -> dict[str, dict[int | None, Quality]]:
    """Quality per value of each of DIMENSIONS ("branch_id", "officer_id", "product_id",
    "dealer_id"), from one query."""
    rows = (
        PortfolioAggregate.objects.filter(scope.q(), as_of=as_of)
        .values(*dimensions, *_QUALITY_KEYS)
        .annotate(**_QUALITY_VALUES)
        .order_by()
    )
    result: dict[str, dict[int | None, Quality]] = {d: defaultdict(lambda: Quality(as_of=as_of)) for d in dimensions}
    for row in rows:
        for dimension in dimensions:
            result[dimension][row[dimension]].add(row)
    return {d: dict(values) for d, values in result.items()}


# --------------------------------------------------------------------------------- roll rates
@dataclass
class RollMatrix:
    as_of: date | None
    from_as_of: date | None
    rows: list[str]
    columns: list[str]
    principal: dict[tuple[str, str], Decimal]
    totals: dict[str, Decimal]

    def rate(self, source: str, target: str) -> Decimal | None:
        return percent(self.principal.get((source, target), ZERO), self.totals.get(source, ZERO))

    def cure_rate(self, source: str) -> Decimal | None:
        return self.rate(source, Bucket.CURRENT)

    def roll_forward_rate(self, source: str) -> Decimal | None:
        """Share of the bucket's money that moved to the next bucket."""
        index = BUCKETS.index(source)
        if index + 1 >= len(BUCKETS):
            return None
        return self.rate(source, BUCKETS[index + 1])


def roll_matrix(scope: Scope, as_of: date | None) -> RollMatrix:
    principal: dict[tuple[str, str], Decimal] = {}
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    from_as_of = None
    if as_of is not None:
        rows = (
            RollRateAggregate.objects.filter(scope.q(), as_of=as_of)
            .values("from_as_of", "from_bucket", "to_bucket")
            .annotate(principal=Sum("principal_from"))
            .order_by()
        )
        for row in rows:
            from_as_of = row["from_as_of"]
            principal[(row["from_bucket"], row["to_bucket"])] = row["principal"]
            totals[row["from_bucket"]] += row["principal"]
    return RollMatrix(
        as_of=as_of, from_as_of=from_as_of, rows=BUCKETS, columns=[*BUCKETS, EXIT_BUCKET], principal=principal,
        totals=dict(totals),
    )  # fmt: skip


# ----------------------------------------------------------------------------------- vintages
@dataclass
class VintagePoint:
    months_on_book: int
    as_of: date
    disbursed: Decimal
    principal_30: Decimal
    principal_60: Decimal
    principal_90: Decimal

    @property
    def ratio_30(self):
        return percent(self.principal_30, self.disbursed)

    @property
    def ratio_60(self):
        return percent(self.principal_60, self.disbursed)

    @property
    def ratio_90(self):
        return percent(self.principal_90, self.disbursed)


def vintages(scope: Scope, dates: list[date]) -> dict[date, list[VintagePoint]]:
    """Cohort (first day of the disbursement month) → points by months on book, for the last
    VINTAGE_COHORTS cohorts, at the monthly reference dates."""
    if not dates:
        return {}
    latest = max(dates)
    month_index = latest.year * 12 + latest.month - 1 - (VINTAGE_COHORTS - 1)
    first_cohort = date(month_index // 12, month_index % 12 + 1, 1)
    rows = (
        VintageAggregate.objects.filter(scope.q(), as_of__in=dates, cohort__gte=first_cohort)
        .values("cohort", "months_on_book", "as_of")
        .annotate(
            disbursed=Sum("disbursed_principal"),
            p30=Sum("principal_30"),
            p60=Sum("principal_60"),
            p90=Sum("principal_90"),
        )
        .order_by("cohort", "months_on_book")
    )
    result: dict[date, list[VintagePoint]] = defaultdict(list)
    for row in rows:
        result[row["cohort"]].append(
            VintagePoint(row["months_on_book"], row["as_of"], row["disbursed"], row["p30"], row["p60"], row["p90"])
        )
    return dict(result)


def latest_day() -> AggregateDay | None:
    return AggregateDay.objects.order_by("-as_of").first()


def aggregate_counts() -> dict:
    return AggregateDay.objects.aggregate(days=Count("id"), last=Max("as_of"))
