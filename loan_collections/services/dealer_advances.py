"""Dealer advance requests: reads for the pages (the nightly run opens and follows them, see
`services/tracks.py`). Every query goes through `for_user`."""

from datetime import date

from django.db.models import Q, QuerySet

from loan_collections.models import DealerAdvanceRequest
from loanops.org.scoping import for_user

OPEN_STATES = (DealerAdvanceRequest.State.REQUESTED, DealerAdvanceRequest.State.PARTLY_PAID)


def dealer_advances_for_user(*, user, filters: dict | None = None, today: date) -> QuerySet[DealerAdvanceRequest]:
    """FILTERS: state, branch (code, with its sub-branches), overdue (past the deadline, not paid)."""
    filters = filters or {}
    qs = for_user(DealerAdvanceRequest.objects.all(), user).select_related(
        "case", "case__loan", "case__loan__branch", "dealer"
    )
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("branch"):
        qs = qs.filter(branch_code_q("case__loan__branch", filters["branch"]))
    if filters.get("overdue"):
        qs = qs.filter(dealer_advance_overdue_q(today))
    return qs.order_by("deadline_on", "id")


def branch_code_q(field: str, code: str) -> Q:
    """The branch CODE and every unit under it (paths are chains of codes: "HO/NORTE/BR-A/")."""
    code = code.strip().upper()
    return Q(**{f"{field}__path__startswith": f"{code}/"}) | Q(**{f"{field}__path__contains": f"/{code}/"})


def dealer_advance_overdue_q(today: date) -> Q:
    return Q(state=DealerAdvanceRequest.State.UNPAID) | Q(state__in=OPEN_STATES, deadline_on__lt=today)


def dealer_advance_is_overdue(request: DealerAdvanceRequest, today: date) -> bool:
    return request.state == DealerAdvanceRequest.State.UNPAID or (
        request.state in OPEN_STATES and request.deadline_on < today
    )


def case_dealer_advances(*, case) -> QuerySet[DealerAdvanceRequest]:
    return DealerAdvanceRequest.objects.filter(case=case).select_related("dealer").order_by("-requested_on", "-id")
