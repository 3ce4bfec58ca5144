"""Demo data for the collector's day: cases handed to the branch collectors, a contact history,
and promises to pay in every state (active, awaiting approval, kept, broken). Runs after the
demo's nightly history, when the cases exist; idempotent (skips cases that already have contacts)."""

import random
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from loan_collections import demo_enforcement  # noqa: F401  (registers the enforcement and write-off demo step)
from loan_collections.models import CollectionCase, ContactLog, PromiseToPay, Stage
from loan_collections.services.assignment import cases_reassign
from loan_collections.services.contacts import contact_log
from loan_collections.services.promises import promise_record
from loanops.core.demo import LOAN_PREFIX, DemoContext, demo_step
from loanops.core.exceptions import ApplicationError
from loanops.org.models import Role

OUTCOMES = [
    ContactLog.Outcome.NO_ANSWER, ContactLog.Outcome.LEFT_MESSAGE, ContactLog.Outcome.CALL_BACK,
    ContactLog.Outcome.PROMISE_TO_PAY, ContactLog.Outcome.HARDSHIP, ContactLog.Outcome.PAID,
]  # fmt: skip
NOTES = [
    "Borrower says the salary arrives on the 25th.",
    "Spoke with the borrower's spouse; asked to call back in the evening.",
    "Voicemail; message left with the branch number.",
    "Borrower lost a job; asked about a restructuring.",
    "Says the installment was paid by transfer; asked for the receipt.",
]


def _moment(day, hour: int, minute: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


@demo_step(order=20, after_nightly=True)
def collectors_day(*, rng: random.Random, context: DemoContext) -> None:
    admin = context.acting_user
    cases = list(
        CollectionCase.objects.filter(status=CollectionCase.Status.OPEN, loan__number__startswith=LOAN_PREFIX)
        .select_related("loan", "loan__branch", "collector")
        .order_by("id")
    )
    if not cases or ContactLog.objects.filter(case__in=cases).exists():
        return
    # Letters-stage and later cases go to the branch's collector; phone reminders stay with the officer.
    by_branch: dict[str, list[CollectionCase]] = {}
    for case in cases:
        if case.stage not in (Stage.PHONE_REMINDER, Stage.CURE_MONITORING):
            by_branch.setdefault(case.loan.branch.code, []).append(case)
    for code, branch_cases in by_branch.items():
        collectors = context.users_with(Role.COLLECTOR, code)
        if collectors:
            cases_reassign(cases=branch_cases, collector=collectors[0], acting_user=admin)
    for case in cases:
        case.refresh_from_db()
    today = context.today
    contacts = promises = 0
    for case in cases:
        if case.collector is None or rng.random() < 0.25:
            continue
        worker = case.collector
        for back in sorted(rng.sample(range(1, 12), k=rng.randint(1, 3)), reverse=True):
            outcome = rng.choice(OUTCOMES)
            try:
                contact_log(
                    case=case, channel=rng.choice(["call", "call", "call", "visit", "sms"]), party="borrower",
                    outcome=outcome, contacted_at=_moment(today - timedelta(days=back), rng.randint(9, 19), 15),
                    acting_user=worker, notes=rng.choice(NOTES),
                    follow_up_on=today if rng.random() < 0.3 else None,
                )  # fmt: skip
                contacts += 1
            except ApplicationError:
                continue
        if case.stage == Stage.ENFORCEMENT or rng.random() < 0.5:
            continue
        overdue = getattr(getattr(case.loan, "delinquency", None), "overdue_amount", None) or Decimal("100.00")
        kind = rng.choice(["active", "kept", "broken", "broken"])
        if kind == "active":
            try:
                promise_record(
                    case=case, amount=overdue, promised_date=today + timedelta(days=rng.randint(0, 10)),
                    acting_user=worker, note="Demo",
                )  # fmt: skip
                promises += 1
            except ApplicationError:
                pass
            continue
        recorded = today - timedelta(days=rng.randint(12, 25))
        promised = recorded + timedelta(days=rng.randint(3, 9))
        PromiseToPay.objects.create(
            case=case, amount=overdue, recorded_on=recorded, promised_date=promised, state=kind,
            resolved_on=promised + timedelta(days=1 if kind == "kept" else 2),
            paid_amount=overdue if kind == "kept" else Decimal("0.00"), recorded_by=worker, note="Demo",
        )  # fmt: skip
        if kind == "broken":
            CollectionCase.objects.filter(id=case.id).update(broken_promises=case.broken_promises + 1)
        promises += 1
    context.counts["contacts"] = contacts
    context.counts["promises"] = promises
