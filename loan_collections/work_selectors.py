"""Reads for the collector's day: the ranked work queue, the case's contacts and promises, and
each collector's load for managers. Everything goes through `for_user`."""

from datetime import date, timedelta

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from loan_collections.models import CaseAction, CollectionCase, ContactLog, PromiseToPay, Stage
from loanops.core.pages import CountlessPage, countless_page
from loanops.org.models import User
from loanops.org.scoping import for_user

QUEUE_PAGE_SIZE = 50
BROKEN_RECENTLY_DAYS = 7
STAGE_RANK = {
    Stage.ENFORCEMENT: 5,
    Stage.FINAL_DEMAND: 4,
    Stage.SECOND_LETTER: 3,
    Stage.DEALER_ADVANCE_REQUEST: 3,
    Stage.FIRST_LETTER: 2,
    Stage.PHONE_REMINDER: 1,
    Stage.CURE_MONITORING: 0,
}
ZERO_MONEY = Value(0, output_field=DecimalField(max_digits=18, decimal_places=2))


def work_queue(*, user, collector: User, today: date, page: int, page_size: int = QUEUE_PAGE_SIZE) -> CountlessPage:
    """COLLECTOR's open cases, most urgent first: promises due today, promises broken in the last
    week, follow-ups due, call tasks due, then higher stage and larger amount overdue."""
    promise_due = PromiseToPay.objects.filter(
        case=OuterRef("pk"), state=PromiseToPay.State.ACTIVE, promised_date__lte=today
    )
    broken = PromiseToPay.objects.filter(
        case=OuterRef("pk"), state=PromiseToPay.State.BROKEN,
        resolved_on__gte=today - timedelta(days=BROKEN_RECENTLY_DAYS),
    )  # fmt: skip
    last_contact = ContactLog.objects.filter(case=OuterRef("pk")).order_by("-contacted_at", "-id")
    call_due = CaseAction.objects.filter(
        case=OuterRef("pk"), kind=CaseAction.Kind.CALL_TASK, status=CaseAction.Status.PENDING, due_on__lte=today
    )
    cases = (
        for_user(CollectionCase.objects.all(), user)
        .filter(status=CollectionCase.Status.OPEN, collector=collector)
        .select_related("loan", "loan__borrower", "loan__branch", "loan__delinquency")
        .annotate(
            promise_due=Exists(promise_due),
            broken_recently=Exists(broken),
            follow_up_on=Subquery(last_contact.values("follow_up_on")[:1]),
            last_contact_at=Subquery(last_contact.values("contacted_at")[:1]),
            call_due=Exists(call_due),
            stage_rank=Case(
                *[When(stage=stage, then=Value(rank)) for stage, rank in STAGE_RANK.items()],
                default=Value(0), output_field=IntegerField(),
            ),
            overdue=Coalesce("loan__delinquency__overdue_amount", ZERO_MONEY),
        )
        .annotate(
            follow_up_due=Case(
                When(follow_up_on__lte=today, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
        .order_by(
            "-promise_due", "-broken_recently", "-follow_up_due", "-call_due", "-stage_rank", "-overdue", "id"
        )
    )  # fmt: skip
    return countless_page(cases, number=page, size=page_size)


def queue_collectors(*, user) -> QuerySet[User]:
    """Whose queue USER may open: their own, and for supervisors every collector they can see."""
    from loan_collections.selectors import collector_choices_for_user

    return collector_choices_for_user(user=user)


def case_contacts(*, case: CollectionCase, limit: int = 100) -> list[ContactLog]:
    return list(ContactLog.objects.filter(case=case).select_related("by", "guarantor")[:limit])


def case_promises(*, case: CollectionCase) -> list[PromiseToPay]:
    return list(PromiseToPay.objects.filter(case=case).select_related("recorded_by", "approved_by"))


def collector_load(*, user, since: date) -> list[dict]:
    """Per collector: open cases by stage, amount overdue, active promises and contacts since SINCE."""
    stage_counts = {f"n_{stage}": Count("id", filter=Q(stage=stage)) for stage in Stage.values}
    rows = list(
        for_user(CollectionCase.objects.all(), user)
        .filter(status=CollectionCase.Status.OPEN)
        .values("collector_id", "collector__username", "collector__first_name", "collector__last_name")
        .annotate(
            open_cases=Count("id"),
            overdue=Coalesce(Sum("loan__delinquency__overdue_amount"), ZERO_MONEY),
            active_promises=Count("promises", filter=Q(promises__state=PromiseToPay.State.ACTIVE), distinct=True),
            **stage_counts,
        )
        .order_by("-open_cases", "collector__username")
    )
    contacts = dict(
        for_user(ContactLog.objects.all(), user)
        .filter(contacted_at__date__gte=since)
        .values("by_id")
        .annotate(n=Count("id"))
        .values_list("by_id", "n")
    )
    for row in rows:
        row["contacts"] = contacts.get(row["collector_id"], 0)
        row["stages"] = [(stage, label, row[f"n_{stage}"]) for stage, label in Stage.choices]
    return rows
