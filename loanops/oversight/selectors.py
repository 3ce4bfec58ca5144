"""Reads for the oversight pages, API and downloads. Lines go through `for_user` (branch
scoping); a user sees an institution's report when they see the institution or a branch of it,
and then only the lines of the branches they see."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _

from loanops.core.pages import CountlessPage, countless_page
from loanops.org.models import Branch
from loanops.org.scoping import for_user, visible_paths
from loanops.oversight.models import (
    DealerMonthRate,
    InstitutionRestriction,
    MonthlyReport,
    RestrictionProposal,
    RestrictionState,
    Rule36Line,
)

LINE_PAGE_SIZE = 100
MONEY_TOTALS = (
    "outstanding_principal", "overdue_principal", "overdue_interest", "overdue_fees", "overdue_amount",
)  # fmt: skip


def institutions_for_user(*, user) -> QuerySet[Branch]:
    """Institutions (depth 1) the user sees in full or in part."""
    qs = Branch.objects.filter(depth=1)
    paths = visible_paths(user)
    if paths is None:
        return qs
    if not paths:
        return qs.none()
    condition = Q()
    for path in paths:
        institution_path = "/".join(path.strip("/").split("/")[:2]) + "/"
        condition |= Q(path__startswith=path) | Q(path=institution_path)
    return qs.filter(condition)


def sees_whole_institution(*, user, institution: Branch) -> bool:
    paths = visible_paths(user)
    return paths is None or any(institution.path.startswith(path) for path in paths)


def report_list_for_user(*, user) -> QuerySet[MonthlyReport]:
    return (
        MonthlyReport.objects.filter(institution__in=institutions_for_user(user=user))
        .select_related("institution")
        .order_by("-month", "institution__path")
    )


def report_get_for_user(*, user, report_id: int) -> MonthlyReport:
    report = report_list_for_user(user=user).select_related("parameters").filter(id=report_id).first()
    if report is None:
        raise Http404(_("Report not found."))
    return report


def report_lines_for_user(*, user, report: MonthlyReport) -> QuerySet[Rule36Line]:
    return for_user(Rule36Line.objects.filter(report=report), user).order_by("branch_code", "loan_number", "id")


def report_lines_page(*, user, report: MonthlyReport, page: int) -> CountlessPage:
    return countless_page(report_lines_for_user(user=user, report=report), number=page, size=LINE_PAGE_SIZE)


def line_totals(lines: QuerySet[Rule36Line]) -> dict:
    return lines.aggregate(loans=Count("id"), **{name: Sum(name) for name in MONEY_TOTALS})


def report_branch_totals(*, user, report: MonthlyReport) -> list[dict]:
    """The 3/6 totals by branch, for the lines the user sees."""
    return list(
        report_lines_for_user(user=user, report=report)
        .order_by()
        .values("branch_code")
        .annotate(loans=Count("id"), **{name: Sum(name) for name in MONEY_TOTALS})
        .order_by("branch_code")
    )


def rule_3_6_lines_for_user(*, user, month: date, branch: Branch | None) -> QuerySet[Rule36Line]:
    """The API's lines: MONTH's reports, optionally under BRANCH (the unit and everything below)."""
    lines = for_user(Rule36Line.objects.filter(report__month=month), user).select_related("report__institution")
    if branch is not None:
        lines = lines.filter(branch__path__startswith=branch.path)
    return lines.order_by("report__institution__path", "branch_code", "loan_number", "id")


def latest_report_month_for_user(*, user) -> date | None:
    return report_list_for_user(user=user).values_list("month", flat=True).first()


# --- restrictions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestrictionView:
    institution: Branch
    state: str
    since: date | None
    authority_factor: Decimal
    suspended_business_types: list[str]
    signed_by: str | None
    signed_at: datetime | None
    ratio_history: list[MonthlyReport] = field(default_factory=list)
    pending: RestrictionProposal | None = None

    @property
    def is_restricted(self) -> bool:
        return self.state == RestrictionState.RESTRICTED

    @property
    def state_label(self) -> str:
        return RestrictionState(self.state).label

    @property
    def suspended_labels(self) -> list[str]:
        from loanops.oversight.models import BusinessType

        labels = dict(BusinessType.choices)
        return [str(labels.get(code, code)) for code in self.suspended_business_types]


def institution_of(branch: Branch) -> Branch | None:
    """The institution a unit reports under (itself for an institution; None for the head office)."""
    if branch.depth == 1:
        return branch
    if branch.depth == 0:
        return None
    return Branch.objects.filter(code=branch.institution_code).first()


def restriction_view(*, institution: Branch, history: bool = False) -> RestrictionView:
    restriction = InstitutionRestriction.objects.select_related("signed_by").filter(institution=institution).first()
    reports = []
    pending = None
    if history:
        reports = list(MonthlyReport.objects.filter(institution=institution).order_by("month"))
        pending = RestrictionProposal.objects.filter(
            institution=institution, status=RestrictionProposal.Status.PENDING
        ).first()
    if restriction is None:
        return RestrictionView(
            institution=institution, state=RestrictionState.NORMAL, since=None, authority_factor=Decimal("1"),
            suspended_business_types=[], signed_by=None, signed_at=None, ratio_history=reports, pending=pending,
        )  # fmt: skip
    return RestrictionView(
        institution=institution,
        state=restriction.state,
        since=restriction.since,
        authority_factor=restriction.authority_factor,
        suspended_business_types=list(restriction.suspended_business_types),
        signed_by=restriction.signed_by.username if restriction.signed_by else None,
        signed_at=restriction.signed_at,
        ratio_history=reports,
        pending=pending,
    )


def restriction_for_branch(*, branch: Branch, history: bool = False) -> RestrictionView | None:
    institution = institution_of(branch)
    return restriction_view(institution=institution, history=history) if institution else None


def restriction_if_restricted(*, branch: Branch) -> RestrictionView | None:
    """The banner of branch-scoped pages: the restriction of BRANCH's institution, in one query,
    or None when it is not restricted."""
    if branch.depth == 0:
        return None
    restriction = (
        InstitutionRestriction.objects.filter(
            institution__code=branch.institution_code, state=RestrictionState.RESTRICTED
        )
        .select_related("institution", "signed_by")
        .first()
    )
    if restriction is None:
        return None
    return RestrictionView(
        institution=restriction.institution,
        state=restriction.state,
        since=restriction.since,
        authority_factor=restriction.authority_factor,
        suspended_business_types=list(restriction.suspended_business_types),
        signed_by=restriction.signed_by.username if restriction.signed_by else None,
        signed_at=restriction.signed_at,
    )


def restricted_institutions() -> dict[int, InstitutionRestriction]:
    return {
        r.institution_id: r
        for r in InstitutionRestriction.objects.filter(state=RestrictionState.RESTRICTED).select_related("signed_by")
    }


def proposals_for_institution(*, institution: Branch) -> QuerySet[RestrictionProposal]:
    return (
        RestrictionProposal.objects.filter(institution=institution)
        .select_related("report", "decided_by", "proposed_by")
        .order_by("-created_at", "-id")
    )


def pending_proposals_for_user(*, user) -> QuerySet[RestrictionProposal]:
    return (
        RestrictionProposal.objects.filter(
            status=RestrictionProposal.Status.PENDING, institution__in=institutions_for_user(user=user)
        )
        .select_related("institution", "report")
        .order_by("institution__path")
    )


# --- dealers ----------------------------------------------------------------------------------


def dealer_rate_months() -> list[date]:
    return list(DealerMonthRate.objects.order_by("-month").values_list("month", flat=True).distinct()[:36])


def dealer_rates(*, month: date) -> QuerySet[DealerMonthRate]:
    return DealerMonthRate.objects.filter(month=month).select_related("dealer").order_by("-flagged", "-overdue_rate",
                                                                                        "dealer__name")  # fmt: skip
