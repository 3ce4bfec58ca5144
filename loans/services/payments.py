"""Posting and reversing payments. `external_id` is the idempotency key: the same body again
answers the first answer and posts nothing; a different body is a conflict."""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from pghistory import config as pghistory_config
from pghistory import runtime as pghistory_runtime

from loanops.core.db import Prepared, instances, loaded, pg_array
from loanops.core.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from loanops.core.time import business_date
from loanops.org.scoping import for_user, path_patterns
from loans import engine
from loans.locks import loan_lock, loans_lock_numbers
from loans.models import Payment
from loans.selectors import parameter_versions
from loans.services.ledger import loan_replay, parameter_sets_by_product, plan_payments


@dataclass(frozen=True)
class PaymentRequest:
    external_id: str
    loan_number: str
    amount: Decimal
    value_date: date
    payer: str

    @property
    def fingerprint(self) -> str:
        body = [self.external_id, self.loan_number, f"{self.amount:.2f}", self.value_date.isoformat(), self.payer]
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


@dataclass(frozen=True)
class PaymentOutcome:
    payment: Payment
    created: bool


def _replayed_answer(request: PaymentRequest, existing: Payment) -> PaymentOutcome:
    if existing.request_fingerprint != request.fingerprint:
        raise Conflict(
            "A payment with this external_id was already posted with a different body.",
            extra={"external_id": [f"{request.external_id!r} already exists with different data."]},
        )
    return PaymentOutcome(payment=existing, created=False)


def _answer(payment: Payment, loan_number: str, ledger: engine.Ledger) -> dict:
    split = engine.payment_allocation(ledger, payment.id, payment.value_date)
    return {
        "external_id": payment.external_id,
        "loan_number": loan_number,
        "amount": f"{payment.amount:.2f}",
        "value_date": payment.value_date.isoformat(),
        "payer": payment.payer,
        "allocation": [
            {
                "installment": row["installment"],
                "fees": f"{row['fees']:.2f}",
                "interest": f"{row['interest']:.2f}",
                "principal": f"{row['principal']:.2f}",
            }
            for row in split["allocations"]
        ],
        "suspense": f"{split['suspense']:.2f}",
        "reversed": False,
    }


# What posting reads of a loan (a thousand loans a batch: loading only these is much cheaper).
_LEDGER_FIELDS = (
    "id", "number", "product_id", "branch_id", "disbursement_date", "status", "closed_on", "received_total",
    "last_value_date", "ledger_through", "ledger_grace_days", "ledger_tolerance", "ledger_prepay", "missed_run_from",
    "open_from",
)  # fmt: skip


class _ExternalIdTaken(Exception):
    """An external_id of the batch was posted meanwhile, for a loan outside the batch's locks."""


def payments_post(*, requests: list[PaymentRequest], acting_user) -> list[PaymentOutcome | ApplicationError]:
    """Post payments in one transaction, bringing each touched loan's ledger up to date once.
    Each request is answered on its own: an outcome, or the ApplicationError that rejected it
    (which changed nothing). Loans are locked in id order, so concurrent batches never deadlock
    and a payment posted twice at the same moment is posted once.

    The ledgers are planned before anything is written, so that each payment is stored once,
    with its answer, in the statement that writes the plan. If another client posted one of the
    external ids meanwhile (for a loan this batch did not lock), the batch is rolled back and
    posted again: that request then gets the other payment's answer."""
    for _attempt in range(10):
        try:
            return _payments_post(requests=requests, acting_user=acting_user)
        except _ExternalIdTaken:
            continue
    raise Conflict("The payments were being posted by another client at the same time; try again.")


@transaction.atomic
def _payments_post(*, requests: list[PaymentRequest], acting_user) -> list[PaymentOutcome | ApplicationError]:
    answers: list[PaymentOutcome | ApplicationError | None] = [None] * len(requests)
    if len(requests) > 1:
        # A batch's statements cross PostgreSQL's JIT threshold at a million loans: compiling
        # them took longer than running them.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
    numbers = list({r.loan_number for r in requests})
    locked = {loan.id: loan for loan in loans_lock_numbers(numbers, acting_user, _LEDGER_FIELDS)}
    loans = {loan.number: loan for loan in locked.values()}
    stored, fresh_ids = _stored_and_ids([r.external_id for r in requests], count=len(requests) if locked else 0)
    posted = {p.external_id: p for p in stored}
    new: list[tuple[int, Payment]] = []
    first_index: dict[str, int] = {}
    for index, request in enumerate(requests):
        loan = loans.get(request.loan_number)
        existing = posted.get(request.external_id)
        if existing is not None and existing.loan_id in locked:
            existing.loan = locked[existing.loan_id]
            answers[index] = _answer_existing(request, existing)
        elif loan is None:
            answers[index] = NotFound(
                _("Loan not found."), extra={"loan_number": [f"No loan {request.loan_number!r}."]}
            )
        elif existing is not None:  # the id belongs to another loan
            answers[index] = _answer_existing(request, existing)
        elif request.value_date < loan.disbursement_date:
            answers[index] = ValidationFailed(
                "Value date before disbursement.",
                extra={"value_date": [f"The value date is before the disbursement date ({loan.disbursement_date})."]},
            )
        elif request.external_id in first_index:  # repeated inside this batch
            earlier = requests[first_index[request.external_id]]
            if earlier.fingerprint != request.fingerprint:
                answers[index] = _answer_existing(request, Payment(request_fingerprint=earlier.fingerprint))
        else:
            first_index[request.external_id] = index
            # As stored by the write below (`loaded`: a thousand `Payment()` cost more than storing them).
            payment = loaded(Payment, {
                "id": None, "external_id": request.external_id, "loan_id": loan.id, "amount": request.amount,
                "value_date": request.value_date, "payer": request.payer, "received_at": None,
                "request_fingerprint": request.fingerprint, "response": None, "reversed_at": None,
                "reversal_reason": "",
            })  # fmt: skip
            new.append((index, payment))
    if new:
        _number(new, fresh_ids)
        new_by_loan = defaultdict(list)
        for _index, payment in new:
            new_by_loan[payment.loan_id].append(
                engine.Payment(key=payment.id, amount=payment.amount, value_date=payment.value_date,
                               payer=payment.payer, arrival=payment.id)
            )  # fmt: skip
        update = plan_payments(loans=[locked[loan_id] for loan_id in sorted(new_by_loan)], new_payments=new_by_loan)
        now = timezone.now()
        for _index, payment in new:
            payment.response = _answer(payment, locked[payment.loan_id].number, update.ledgers[payment.loan_id])
            payment.received_at = now
        # Stored with the ledger, in one statement. An external_id found taken now was posted by
        # another client meanwhile (its holder may have committed only now: the unique index
        # waits for it): then nothing of this batch stays, and it is posted again.
        update.payments = [
            (p.id, p.external_id, p.loan_id, p.amount, p.value_date, p.payer, now, p.request_fingerprint,
             json.dumps(p.response))
            for _index, p in new
        ]  # fmt: skip
        update.write()
        if update.payments_stored != len(new):
            raise _ExternalIdTaken
    for index, payment in new:
        payment.loan = locked[payment.loan_id]
        answers[index] = PaymentOutcome(payment=payment, created=True)
    # Repeats of a request posted earlier in this same batch answer the first answer.
    for index, answer in enumerate(answers):
        if answer is None:
            first = answers[first_index[requests[index].external_id]]
            answers[index] = PaymentOutcome(payment=first.payment, created=False)
    return answers


_FIELDS = Payment._meta.concrete_fields
_STORED_AND_IDS = Prepared(
    "payments_stored_and_ids",
    f"""
    WITH fresh AS (
        SELECT array_agg(nextval(pg_get_serial_sequence('loans_payment', 'id'))) AS ids
        FROM generate_series(1, %(count)s::int)
    )
    SELECT fresh.ids, {", ".join(f"p.{f.column}" for f in _FIELDS)}
    FROM fresh LEFT JOIN loans_payment p ON p.external_id = ANY(%(external_ids)s::text[])
    """,
    reads=True,  # it takes ids from the sequence: no row changes, nothing to audit
)


def _stored_and_ids(external_ids: list[str], count: int) -> tuple[list[Payment], list[int]]:
    """The payments already posted under these external ids, and COUNT fresh payment ids (enough
    for every request to be new), in one round trip. Called with the loans locked: payment ids are
    the arrival order, so a loan's money must be numbered in the order its lock is taken."""
    rows = _STORED_AND_IDS.rows({"count": count, "external_ids": external_ids})
    ids = sorted(rows[0][0] or [])
    stored = [row[1:] for row in rows if row[1] is not None]
    return instances(Payment, [f.attname for f in _FIELDS], stored), ids


def _number(new: list[tuple[int, Payment]], ids: list[int]) -> None:
    """Give the new payments their ids (the arrival order) before they are stored."""
    for (_index, payment), pk in zip(new, ids[: len(new)], strict=True):
        payment.id = pk


def _answer_existing(request: PaymentRequest, existing: Payment) -> PaymentOutcome | ApplicationError:
    try:
        return _replayed_answer(request, existing)
    except ApplicationError as exc:
        return exc


def payment_post(*, request: PaymentRequest, acting_user) -> PaymentOutcome:
    """Post one payment: appended in one call to the database when it can be (see
    `_append_in_database`), else the general way."""
    answer = _append_in_database(request, acting_user) or payments_post(requests=[request], acting_user=acting_user)[0]
    if isinstance(answer, ApplicationError):
        raise answer
    return answer


_APPEND = Prepared(
    "payments_append",
    "SELECT * FROM loans_payment_append(%(number)s::text, %(patterns)s::text[], %(external_id)s::text, "
    "%(amount)s::numeric, %(value_date)s::date, %(payer)s::text, %(fingerprint)s::text, %(products)s::bigint[], "
    "%(graces)s::int[], %(tolerances)s::numeric[], %(prepays)s::boolean[], %(context_id)s::text, "
    "%(context_metadata)s::text)",
    # It stores the payment, but takes the audit context as arguments and sets it itself: run it
    # as a read, without pghistory's statement in front.
    reads=True,
)


def _append_in_database(request: PaymentRequest, acting_user) -> PaymentOutcome | None:
    """A new payment value-dated on or after the loan's other payments (today's money, the usual
    case) on a loan with a schedule, appended by the database function
    `loans_payment_append` (migrations loans 0013, 0015, 0016): the lock, the allocation of
    `plan_append` and `engine.replay_one`, the write and the answer in one round trip, in one
    transaction of its own when none is open. None when the function declined (it then wrote
    nothing): the payment is posted the general way, which also gives every error its answer."""
    patterns = path_patterns(acting_user)
    if patterns == []:
        return None
    products, graces, tolerances, prepays = _parameter_table(business_date())
    context = getattr(pghistory_runtime._tracker, "value", None)
    fingerprint = request.fingerprint
    params = {
        "number": request.loan_number, "patterns": patterns, "external_id": request.external_id,
        "amount": request.amount, "value_date": request.value_date, "payer": request.payer,
        "fingerprint": fingerprint, "products": products, "graces": graces, "tolerances": tolerances,
        "prepays": prepays, "context_id": str(context.id) if context else None,
        "context_metadata": json.dumps(context.metadata, cls=pghistory_config.json_encoder()) if context else None,
    }  # fmt: skip
    [(payment_id, loan_id, answer)] = _APPEND.rows(params)
    if payment_id is None:
        return None
    payment = loaded(Payment, {
        "id": payment_id, "external_id": request.external_id, "loan_id": loan_id, "amount": request.amount,
        "value_date": request.value_date, "payer": request.payer, "request_fingerprint": fingerprint,
        "response": json.loads(answer),
    })  # fmt: skip
    return PaymentOutcome(payment=payment, created=True)


_parameter_table_cache: dict[str, object] = {"versions": None, "today": None, "table": None}


def _parameter_table(today: date) -> tuple[str, str, str, str]:
    """The parameters each product's ledger is written with (`parameter_sets_by_product`),
    as the array literals `loans_payment_append` takes: products, grace days, tolerances, prepay;
    the row without a product is the default. Kept while the parameter versions and the day stay."""
    versions = parameter_versions()
    cache = _parameter_table_cache
    if cache["versions"] is not versions or cache["today"] != today:
        product_ids = {v.product_id for v in versions if v.product_id is not None}
        sets = parameter_sets_by_product(product_ids | {None})
        rows = sorted(sets.items(), key=lambda item: (item[0] is None, item[0] or 0))
        cache["table"] = (
            pg_array([pid for pid, _set in rows]),
            pg_array([s.grace_days for _pid, s in rows]),
            pg_array([s.tolerance for _pid, s in rows]),
            pg_array([s.excess_handling == "prepay" for _pid, s in rows]),
        )
        cache["versions"], cache["today"] = versions, today
    return cache["table"]


@transaction.atomic
def payment_reverse(*, external_id: str, reason: str, acting_user) -> Payment:
    """Reverse a payment (a returned direct debit): it drops out and the loan is replayed.
    Reversing twice changes nothing."""
    payment = for_user(Payment.objects.all(), acting_user).filter(external_id=external_id).first()
    if payment is None:
        raise NotFound(_("Payment not found."), extra={"external_id": [f"No payment {external_id!r}."]})
    loan = loan_lock(payment.loan_id)
    payment = Payment.objects.select_for_update().get(id=payment.id)
    if payment.reversed_at is None:
        payment.reversed_at = timezone.now()
        payment.reversal_reason = reason
        payment.save(update_fields=["reversed_at", "reversal_reason"])
        loan_replay(loan=loan)
    payment.loan = loan
    return payment
