"""Promises to pay (domain.md "Collections"; domain-research.md §6.4).

Amount and date (at most 30 days ahead). While a promise is active, escalation below enforcement is
frozen (the nightly step does not move the case to a higher rung; enforcement at the 3/6 rule is
never frozen). A promise is kept as soon as payments from the day it was recorded up to its date
+ 1 day cover the amount, and broken on the day after that window; a broken promise lets the case
escalate at once. After 2 broken promises a new one waits for a supervisor's approval.
"""

import logging
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from loan_collections.models import CollectionCase, PromiseToPay, Stage
from loan_collections.services.assignment import can_reassign
from loan_collections.services.contacts import lock_case_for
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loans.models import Installment

logger = logging.getLogger(__name__)

MAX_HORIZON_DAYS = 30  # PTP_MAX_HORIZON_DAYS
GRACE_DAYS = 1  # PTP_GRACE_DAYS
MAX_BROKEN = 2  # PTP_MAX_BROKEN: from this many broken promises on, a new one needs a supervisor
STAGE_THRESHOLD_DPD = {
    Stage.PHONE_REMINDER: 1,
    Stage.FIRST_LETTER: 15,
    Stage.SECOND_LETTER: 30,
    Stage.DEALER_ADVANCE_REQUEST: 30,
    Stage.FINAL_DEMAND: 60,
}
State = PromiseToPay.State


def is_supervisor(user) -> bool:
    """The collectors' supervisors (those who reassign cases) approve promises after two broken ones."""
    return can_reassign(user)


def amount_to_leave_stage(*, case: CollectionCase, as_of: date) -> Decimal:
    """What the borrower must pay for days past due to drop below the case's current stage
    threshold: everything still owed on installments due that many days ago or more."""
    threshold = STAGE_THRESHOLD_DPD.get(case.stage, 1)
    rows = Installment.objects.filter(loan_id=case.loan_id, due_date__lte=as_of - timedelta(days=threshold - 1))
    owed = rows.aggregate(
        owed=Sum(F("principal") + F("interest") + F("fees") - F("paid_principal") - F("paid_interest") - F("paid_fees"))
    )["owed"]
    return max(owed or Decimal("0.00"), Decimal("0.00"))


@transaction.atomic
def promise_record(
    *, case: CollectionCase, amount: Decimal, promised_date: date, acting_user, note: str = "", contact=None
) -> tuple[PromiseToPay, list[str]]:
    """Record a promise; returns it and warnings (e.g. the amount does not leave the stage)."""
    case = lock_case_for(acting_user, case)
    if case.status != CollectionCase.Status.OPEN:
        raise InvalidTransition(_("Promises are recorded on open cases only."))
    today = business_date()
    errors: dict[str, list[str]] = {}
    if amount is None or amount <= 0:
        errors["amount"] = [_("The amount must be greater than zero.")]
    elif amount != amount.quantize(Decimal("0.01")):
        errors["amount"] = [_("The amount has at most two decimals.")]
    if promised_date is None or not today <= promised_date <= today + timedelta(days=MAX_HORIZON_DAYS):
        errors["promised_date"] = [
            _("The promised date must be between today and %(days)d days ahead.") % {"days": MAX_HORIZON_DAYS}
        ]
    if PromiseToPay.objects.filter(case=case, state__in=[State.ACTIVE, State.AWAITING_APPROVAL]).exists():
        errors["promised_date"] = [*errors.get("promised_date", []), _("The case already has an open promise.")]
    if errors:
        raise ValidationFailed(_("The promise was not recorded."), extra=errors)
    needs_supervisor = case.broken_promises >= MAX_BROKEN
    supervisor = is_supervisor(acting_user)
    promise = PromiseToPay.objects.create(
        case=case, amount=amount, recorded_on=today, promised_date=promised_date,
        state=State.AWAITING_APPROVAL if needs_supervisor and not supervisor else State.ACTIVE,
        approved_by=acting_user if needs_supervisor and supervisor else None,
        recorded_by=acting_user, note=note.strip()[:500], contact=contact,
    )  # fmt: skip
    warnings = []
    needed = amount_to_leave_stage(case=case, as_of=today)
    if case.stage in STAGE_THRESHOLD_DPD and amount < needed:
        warnings.append(
            _("The promised amount is less than the %(needed)s needed to leave the current stage.")
            % {"needed": f"{needed:,.2f}"}
        )
    if promise.state == State.AWAITING_APPROVAL:
        warnings.append(
            _("The borrower broke %(n)d promises: this one waits for a supervisor's approval and freezes nothing yet.")
            % {"n": case.broken_promises}
        )
    return promise, warnings


def _lock_promise(promise: PromiseToPay, acting_user) -> PromiseToPay:
    lock_case_for(acting_user, promise.case)
    return PromiseToPay.objects.select_for_update().get(id=promise.id)


@transaction.atomic
def promise_approve(*, promise: PromiseToPay, acting_user) -> PromiseToPay:
    if not is_supervisor(acting_user):
        raise PermissionDenied(_("Only a supervisor approves a promise after two broken ones."))
    promise = _lock_promise(promise, acting_user)
    if promise.state != State.AWAITING_APPROVAL:
        raise InvalidTransition(_("This promise is not waiting for approval."))
    if promise.recorded_by_id == acting_user.id:
        raise PermissionDenied(_("The person who recorded a promise cannot approve it."))
    if promise.promised_date < business_date():
        raise InvalidTransition(_("The promised date has passed; record a new promise."))
    promise.state = State.ACTIVE
    promise.approved_by = acting_user
    promise.save(update_fields=["state", "approved_by", "updated_at"])
    return promise


@transaction.atomic
def promise_cancel(*, promise: PromiseToPay, acting_user, note: str = "") -> PromiseToPay:
    promise = _lock_promise(promise, acting_user)
    if promise.state not in (State.ACTIVE, State.AWAITING_APPROVAL):
        raise InvalidTransition(_("Only an open promise can be cancelled."))
    promise.state = State.CANCELLED
    promise.resolved_on = business_date()
    promise.note = (promise.note + " · " + note.strip()).strip(" ·")[:500]
    promise.save(update_fields=["state", "resolved_on", "note", "updated_at"])
    return promise


# --- nightly: kept or broken, set-based --------------------------------------------------------

_RESOLVE_SQL = f"""
WITH paid AS (
    SELECT p.id, coalesce(sum(pay.amount), 0) AS paid
    FROM collections_promisetopay p
    JOIN collections_collectioncase c ON c.id = p.case_id
    LEFT JOIN loans_payment pay
           ON pay.loan_id = c.loan_id AND pay.reversed_at IS NULL
          AND pay.value_date BETWEEN p.recorded_on AND least(p.promised_date + {GRACE_DAYS}, %(d)s)
    WHERE p.state = '{State.ACTIVE}' AND p.recorded_on <= %(d)s
    GROUP BY p.id
),
resolved AS (
    UPDATE collections_promisetopay p
    SET state = CASE WHEN paid.paid >= p.amount THEN '{State.KEPT}' ELSE '{State.BROKEN}' END,
        resolved_on = %(d)s, paid_amount = paid.paid, updated_at = now()
    FROM paid
    WHERE p.id = paid.id AND p.state = '{State.ACTIVE}'
      AND (paid.paid >= p.amount OR %(d)s > p.promised_date + {GRACE_DAYS})
    RETURNING p.case_id, p.state
),
counted AS (
    UPDATE collections_collectioncase c
    SET broken_promises = c.broken_promises + b.n, updated_at = now()
    FROM (SELECT case_id, count(*) AS n FROM resolved WHERE state = '{State.BROKEN}' GROUP BY case_id) b
    WHERE c.id = b.case_id
    RETURNING c.id
)
SELECT (SELECT count(*) FROM resolved WHERE state = '{State.KEPT}'),
       (SELECT count(*) FROM resolved WHERE state = '{State.BROKEN}')
"""

_EXPIRE_AWAITING_SQL = f"""
    UPDATE collections_promisetopay
    SET state = '{State.CANCELLED}', resolved_on = %(d)s, note = left(note || ' · not approved in time', 500),
        updated_at = now()
    WHERE state = '{State.AWAITING_APPROVAL}' AND promised_date < %(d)s
"""

# The twin of the freeze in services/cases.py: a case with an active promise does not climb.
ACTIVE_PROMISE_EXISTS_SQL = f"""EXISTS (
    SELECT 1 FROM collections_promisetopay p WHERE p.case_id = {{case_id}} AND p.state = '{State.ACTIVE}'
)"""


def promises_resolve_due(*, as_of: date) -> tuple[int, int]:
    """Mark active promises kept or broken for AS_OF (idempotent); returns (kept, broken).
    Runs inside the nightly collections step, before the ladder moves the cases."""
    with connection.cursor() as cursor:
        cursor.execute(_RESOLVE_SQL, {"d": as_of})
        kept, broken = cursor.fetchone()
        cursor.execute(_EXPIRE_AWAITING_SQL, {"d": as_of})
    if kept or broken:
        logger.info("collections.promises %s: kept %d, broken %d", as_of, kept, broken)
    return kept, broken


def promise_paid_so_far(promise: PromiseToPay, *, as_of: date | None = None) -> Decimal:
    """Payments counted towards an open promise up to AS_OF (the case page shows it)."""
    as_of = as_of or business_date()
    end = min(promise.promised_date + timedelta(days=GRACE_DAYS), as_of)
    payments = promise.case.loan.payments.filter(
        reversed_at__isnull=True, value_date__gte=promise.recorded_on, value_date__lte=end
    )
    total = payments.aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")
