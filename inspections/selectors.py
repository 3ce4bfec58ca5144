"""Reads for the inspection pages, the API and the loan page. Every lookup goes through `for_user`."""

import calendar
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from inspections.models import (
    CLOSED_STATES,
    OFFICER_FLAG_OVERDUE,
    OPEN_STATES,
    AdverseEvent,
    FollowUpTask,
    Inspection,
    InspectionState,
    SpotCheckSample,
)
from loanops.org.models import Role, User
from loanops.org.scoping import for_user


def inspection_list_for_user(*, user, filters: dict | None = None) -> QuerySet[Inspection]:
    """Inspections the user may see; FILTERS: loan_number, type, state, officer (username)."""
    filters = filters or {}
    qs = for_user(Inspection.objects.all(), user).select_related("loan", "loan__branch", "officer")
    if filters.get("loan_number"):
        qs = qs.filter(loan__number=filters["loan_number"])
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("officer"):
        qs = qs.filter(officer__username=filters["officer"])
    return qs


def inspection_get_for_user(*, user, inspection_id: int) -> Inspection:
    inspection = (
        inspection_list_for_user(user=user)
        .select_related(
            "loan__borrower", "loan__officer", "loan__dealer", "loan__product", "submitted_by", "reviewed_by",
            "acknowledged_by", "collateral",
        )
        .filter(id=inspection_id)
        .first()
    )  # fmt: skip
    if inspection is None:
        raise Http404("Inspection not found.")
    return inspection


def overdue(qs: QuerySet[Inspection], today: date) -> QuerySet[Inspection]:
    return qs.filter(state__in=OPEN_STATES, due_date__lt=today)


def my_inspections(*, user, today: date) -> dict[str, list[Inspection]]:
    """The officer's open inspections: returned, overdue and due (the rest of the open ones)."""
    mine = list(
        inspection_list_for_user(user=user).filter(officer=user, state__in=OPEN_STATES).order_by("due_date", "id")
    )
    returned = [i for i in mine if i.state == InspectionState.RETURNED]
    working = [i for i in mine if i.state != InspectionState.RETURNED]
    return {
        "returned": returned,
        "overdue": [i for i in working if i.due_date < today],
        "due": [i for i in working if i.due_date >= today],
    }


def officer_overdue_counts(*, user, today: date) -> list[dict]:
    """Per officer (of the branches USER sees): open inspections past due, worst first, with the
    flag of domain.md (an officer with 2 overdue inspections cannot originate)."""
    rows = (
        overdue(for_user(Inspection.objects.all(), user), today)
        .filter(officer__isnull=False)
        .values("officer_id", "officer__username", "officer__first_name", "officer__last_name")
        .annotate(n=Count("id"))
        .order_by("-n", "officer__username")
    )
    return [
        {
            "officer_id": r["officer_id"],
            "username": r["officer__username"],
            "name": f"{r['officer__first_name']} {r['officer__last_name']}".strip() or r["officer__username"],
            "overdue": r["n"],
            "flagged": r["n"] >= OFFICER_FLAG_OVERDUE,
        }
        for r in rows
    ]


def officer_can_originate(*, officer, today: date) -> bool:
    """False while the officer has OFFICER_FLAG_OVERDUE (2) or more overdue inspections."""
    count = Inspection.objects.filter(officer=officer, state__in=OPEN_STATES, due_date__lt=today).count()
    return count < OFFICER_FLAG_OVERDUE


def flagged_officer_ids(*, officer_ids, today: date) -> set[int]:
    rows = (
        Inspection.objects.filter(officer_id__in=list(officer_ids), state__in=OPEN_STATES, due_date__lt=today)
        .values("officer_id")
        .annotate(n=Count("id"))
        .filter(n__gte=OFFICER_FLAG_OVERDUE)
    )
    return {r["officer_id"] for r in rows}


def review_queue(*, user) -> QuerySet[Inspection]:
    """Submitted reports waiting for a credit head (never the user's own)."""
    return (
        inspection_list_for_user(user=user)
        .filter(state=InspectionState.SUBMITTED)
        .exclude(submitted_by=user)
        .select_related("submitted_by")
        .order_by("submitted_at", "id")
    )


def acknowledgement_queue(*, user) -> QuerySet[Inspection]:
    return (
        inspection_list_for_user(user=user)
        .filter(state=InspectionState.REVIEWED)
        .select_related("reviewed_by")
        .order_by("reviewed_at", "id")
    )


def calendar_month(*, user, year: int, month: int, officer: str = "") -> list[list[dict]]:
    """The month grid (weeks of 7 days, Monday first; days outside the month are None) with the
    open inspections due on each day."""
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    qs = inspection_list_for_user(user=user, filters={"officer": officer}).filter(
        due_date__range=(first, last), state__in=OPEN_STATES
    )
    by_day: dict[date, list[Inspection]] = {}
    for inspection in qs.order_by("due_date", "id"):
        by_day.setdefault(inspection.due_date, []).append(inspection)
    return [
        [{"day": d, "items": by_day.get(d, [])} if d.month == month else None for d in week]
        for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)
    ]


def loan_inspections(*, loan) -> list[Inspection]:
    return list(Inspection.objects.filter(loan=loan).select_related("officer").order_by("-due_date", "-id")[:20])


def loan_adverse_events(*, loan) -> list[AdverseEvent]:
    return list(
        AdverseEvent.objects.filter(loan=loan).select_related("recorded_by").order_by("-occurred_on", "-id")[:10]
    )


def inspection_tasks(*, inspection) -> QuerySet[FollowUpTask]:
    return FollowUpTask.objects.filter(inspection=inspection).select_related("owner", "done_by")


def my_open_tasks(*, user) -> QuerySet[FollowUpTask]:
    return (
        for_user(FollowUpTask.objects.all(), user)
        .filter(owner=user, done_on__isnull=True)
        .select_related("inspection__loan")
        .order_by("due_date", "id")
    )


def officers_for_branch(branch) -> QuerySet[User]:
    """Active credit officers who work on BRANCH (its own staff or of a unit above it)."""
    prefixes = [p for p in _ancestor_paths(branch.path)]
    return (
        User.objects.filter(role=Role.CREDIT_OFFICER, is_active=True, branches__path__in=prefixes)
        .distinct()
        .order_by("username")
    )


def _ancestor_paths(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[: k + 1]) + "/" for k in range(len(parts))]


def samples() -> QuerySet[SpotCheckSample]:
    return SpotCheckSample.objects.select_related("drawn_by", "assigned_by").order_by("-quarter")


def open_state_q() -> Q:
    return ~Q(state__in=CLOSED_STATES)
