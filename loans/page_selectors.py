"""Reads for the loan pages (list and detail). Every lookup goes through `for_user`."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import F, Prefetch, Q, QuerySet
from django.http import Http404

from loanops.core.pages import CountlessPage, countless_page
from loanops.org.scoping import for_user
from loans import engine
from loans.models import (
    Allocation,
    Bucket,
    Classification,
    Collateral,
    DelinquencySnapshot,
    Guarantor,
    Loan,
    LoanDelinquency,
    Payment,
)

LIST_PAGE_SIZE = 50
CHART_DAYS = 180

# Whitelisted sort keys of the list page -> ORDER BY. `id` last keeps OFFSET paging stable.
_DPD = F("delinquency__days_past_due")
_OUTSTANDING = F("delinquency__outstanding_principal")
LOAN_SORTS = {
    "number": ("number",),
    "-number": ("-number",),
    "dpd": (_DPD.asc(nulls_first=True), "id"),
    "-dpd": (_DPD.desc(nulls_last=True), "id"),
    "outstanding": (_OUTSTANDING.asc(nulls_first=True), "id"),
    "-outstanding": (_OUTSTANDING.desc(nulls_last=True), "id"),
    "disbursed": ("disbursement_date", "id"),
    "-disbursed": ("-disbursement_date", "-id"),
}
DEFAULT_SORT = "number"


@dataclass(frozen=True)
class LoanRow:
    loan: Loan
    state: LoanDelinquency | None  # None: never swept


LoanPage = CountlessPage  # one page of the list, without a COUNT


@dataclass(frozen=True)
class ArrearsSummary:
    """The figures of the detail page's summary card, from the stored state or the live engine."""

    as_of: date
    outstanding_principal: Decimal
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_fees: Decimal
    overdue_amount: Decimal
    suspense_balance: Decimal
    days_past_due: int
    bucket: str
    bucket_label: str
    classification_floor: str
    classification_floor_label: str
    classification: str | None  # the effective class; only the sweep stores one
    classification_label: str
    ifrs9_stage: int
    rule_3_6: bool


def _state(loan: Loan) -> LoanDelinquency | None:
    """The stored arrears state, or None for a loan the sweep has not seen yet (no extra query
    when the queryset did `select_related("delinquency")`)."""
    return getattr(loan, "delinquency", None)


def loan_filter(queryset: QuerySet, *, filters: dict) -> QuerySet:
    """Apply the cleaned filters of `LoanFilterForm` (empty values are ignored)."""
    if branch := filters.get("branch"):
        queryset = queryset.filter(branch__path__startswith=branch.path)
    if officer := filters.get("officer"):
        queryset = queryset.filter(officer_id=officer.id)
    if product := filters.get("product"):
        queryset = queryset.filter(product_id=product.id)
    if dealer := filters.get("dealer"):
        queryset = queryset.filter(dealer_id=dealer.id)
    if bucket := filters.get("bucket"):
        queryset = queryset.filter(delinquency__bucket=bucket)
    if classification := filters.get("classification"):
        queryset = queryset.filter(delinquency__classification=classification)
    if filters.get("rule_3_6") is not None:
        queryset = queryset.filter(delinquency__rule_3_6=filters["rule_3_6"])
    if filters.get("npl") is not None:
        queryset = queryset.filter(delinquency__is_npl=filters["npl"])
    if filters.get("disbursed_from") is not None:
        queryset = queryset.filter(disbursement_date__gte=filters["disbursed_from"])
    if filters.get("disbursed_to") is not None:
        queryset = queryset.filter(disbursement_date__lte=filters["disbursed_to"])
    if filters.get("dpd_min") is not None:
        queryset = queryset.filter(delinquency__days_past_due__gte=filters["dpd_min"])
    if filters.get("dpd_max") is not None:
        queryset = queryset.filter(delinquency__days_past_due__lte=filters["dpd_max"])
    if status := filters.get("status"):
        queryset = queryset.filter(status=status)
    if q := filters.get("q"):
        queryset = queryset.filter(
            Q(number__startswith=q) | Q(borrower__name__icontains=q) | Q(borrower__national_id=q)
        )
    return queryset


def loan_page_list(
    *, user, filters: dict, sort: str = DEFAULT_SORT, page: int = 1, page_size: int = LIST_PAGE_SIZE
) -> LoanPage:
    """One page of the user's loans: LIMIT page_size + 1 at an OFFSET, never a COUNT."""
    ordering = LOAN_SORTS.get(sort, LOAN_SORTS[DEFAULT_SORT])
    queryset = for_user(Loan.objects.all(), user).select_related(
        "branch", "product", "borrower", "officer", "delinquency"
    )
    queryset = loan_filter(queryset, filters=filters).order_by(*ordering)
    found = countless_page(queryset, number=page, size=page_size)
    return LoanPage(
        rows=[LoanRow(loan=loan, state=_state(loan)) for loan in found.rows], number=page, has_next=found.has_next
    )


def loan_get_for_page(*, user, number: str) -> Loan:
    """The loan with everything its detail page renders, or 404 outside the user's branches."""
    payments = Payment.objects.order_by("value_date", "id").prefetch_related(
        Prefetch(
            "allocations",
            queryset=Allocation.objects.select_related("installment").order_by(
                "effective_date", "installment__number", "id"
            ),
        )
    )
    queryset = (
        for_user(Loan.objects.all(), user)
        .select_related(
            "branch",
            "product",
            "borrower",
            "officer",
            "dealer",
            "insurer",
            "insurance_policy",
            "delinquency",
            "delinquency__parameter_set",
        )
        .prefetch_related(
            Prefetch("guarantors", queryset=Guarantor.objects.order_by("name", "id")),
            Prefetch("collateral", queryset=Collateral.objects.order_by("id")),
            Prefetch("payments", queryset=payments),
        )
    )
    loan = queryset.filter(number=number).first()
    if loan is None:
        raise Http404("Loan not found.")
    return loan


def loan_dpd_history(*, loan: Loan, until: date, days: int = CHART_DAYS) -> list[tuple[date, int]]:
    """(as_of, days_past_due) of the loan's daily snapshots in the DAYS days up to UNTIL."""
    rows = (
        DelinquencySnapshot.objects.filter(loan=loan, as_of__gt=until - timedelta(days=days), as_of__lte=until)
        .order_by("as_of")
        .values_list("as_of", "days_past_due")
    )
    return list(rows)


def arrears_from_stored(loan: Loan) -> ArrearsSummary | None:
    state = _state(loan)
    if state is None:
        return None
    return ArrearsSummary(
        as_of=state.as_of,
        outstanding_principal=state.outstanding_principal,
        overdue_principal=state.overdue_principal,
        overdue_interest=state.overdue_interest,
        overdue_fees=state.overdue_fees,
        overdue_amount=state.overdue_amount,
        suspense_balance=state.suspense_balance,
        days_past_due=state.days_past_due,
        bucket=state.bucket,
        bucket_label=state.get_bucket_display(),
        classification_floor=state.classification_floor,
        classification_floor_label=state.get_classification_floor_display(),
        classification=state.classification,
        classification_label=state.get_classification_display(),
        ifrs9_stage=state.ifrs9_stage,
        rule_3_6=state.rule_3_6,
    )


def arrears_from_live(result: engine.Delinquency) -> ArrearsSummary:
    """The engine computes the floor only: stickiness and overrides live in the stored state."""
    return ArrearsSummary(
        as_of=result.as_of,
        outstanding_principal=result.outstanding_principal,
        overdue_principal=result.overdue_principal,
        overdue_interest=result.overdue_interest,
        overdue_fees=result.overdue_fees,
        overdue_amount=result.overdue_amount,
        suspense_balance=result.suspense_balance,
        days_past_due=result.days_past_due,
        bucket=result.bucket,
        bucket_label=Bucket(result.bucket).label,
        classification_floor=result.classification,
        classification_floor_label=Classification(result.classification).label,
        classification=None,
        classification_label="",
        ifrs9_stage=result.ifrs9_stage,
        rule_3_6=result.rule_3_6,
    )


def mask_national_id(value: str, *, visible: int = 3) -> str:
    """Every character but the last VISIBLE replaced by '•'; a value that short is masked whole."""
    if not value:
        return ""
    if len(value) <= visible:
        return "•" * len(value)
    return "•" * (len(value) - visible) + value[-visible:]
