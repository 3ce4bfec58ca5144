"""Posting and reversing payments. `external_id` is the idempotency key: the same body again
answers the first answer and posts nothing; a different body is a conflict."""

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loanops.core.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from loanops.org.scoping import for_user
from loans import engine
from loans.locks import loan_lock, loans_lock
from loans.models import Loan, Payment
from loans.services.ledger import loan_replay, loans_add_payments


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


def _answer(payment: Payment, ledger: engine.Ledger) -> dict:
    split = engine.payment_allocation(ledger, payment.id, payment.value_date)
    return {
        "external_id": payment.external_id,
        "loan_number": payment.loan.number,
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


def _check_value_date(request: PaymentRequest, loan: Loan) -> None:
    if request.value_date < loan.disbursement_date:
        raise ValidationFailed(
            "Value date before disbursement.",
            extra={
                "value_date": [f"The value date is before the loan's disbursement date ({loan.disbursement_date})."]
            },
        )


def payments_post(*, requests: list[PaymentRequest], acting_user) -> list[PaymentOutcome | ApplicationError]:
    """Post payments in one transaction, replaying each touched loan once. Each request is
    answered on its own: an outcome, or the ApplicationError that rejected it (changing nothing)."""
    answers: list[PaymentOutcome | ApplicationError | None] = [None] * len(requests)
    numbers = {r.loan_number for r in requests}
    loans = {
        loan.number: loan
        for loan in for_user(Loan.objects.all(), acting_user)
        .filter(number__in=numbers)
        .only("id", "number", "disbursement_date", "product_id", "status", "closed_on", "branch_id")
    }
    pending: dict[int, list[int]] = defaultdict(list)
    for index, request in enumerate(requests):
        loan = loans.get(request.loan_number)
        try:
            if loan is None:
                raise NotFound("Loan not found.", extra={"loan_number": [f"No loan {request.loan_number!r}."]})
            _check_value_date(request, loan)
        except ApplicationError as exc:
            answers[index] = exc
            continue
        pending[loan.id].append(index)
    # Already-posted external ids answer their first answer (or conflict), even for unknown loans.
    existing = {
        p.external_id: p
        for p in Payment.objects.select_related("loan").filter(external_id__in=[r.external_id for r in requests])
    }
    for index, request in enumerate(requests):
        if request.external_id in existing and existing[request.external_id].loan.number in loans:
            answers[index] = _answer_existing(request, existing[request.external_id])
    if any(answers[i] is None for indexes in pending.values() for i in indexes):
        _post_new(requests, answers, pending, loans)
    return answers


def _answer_existing(request: PaymentRequest, existing: Payment) -> PaymentOutcome | ApplicationError:
    try:
        return _replayed_answer(request, existing)
    except ApplicationError as exc:
        return exc


@transaction.atomic
def _post_new(requests, answers, pending: dict[int, list[int]], loans: dict[str, Loan]) -> None:
    loan_ids = sorted(loan_id for loan_id, indexes in pending.items() if any(answers[i] is None for i in indexes))
    locked = {loan.id: loan for loan in loans_lock(loan_ids)}  # in id order: no deadlocks between bulks
    # Under the locks, look again: a concurrent request may have posted some of these meanwhile.
    wanted = [requests[i].external_id for loan_id in loan_ids for i in pending[loan_id] if answers[i] is None]
    posted = {p.external_id: p for p in Payment.objects.select_related("loan").filter(external_id__in=wanted)}
    new: list[tuple[int, Payment]] = []
    first_index: dict[str, int] = {}
    for loan_id in loan_ids:
        for index in pending[loan_id]:
            if answers[index] is not None:
                continue
            request = requests[index]
            if request.external_id in posted:
                answers[index] = _answer_existing(request, posted[request.external_id])
            elif request.external_id in first_index:
                earlier = requests[first_index[request.external_id]]
                answers[index] = (
                    None
                    if earlier.fingerprint == request.fingerprint
                    else _answer_existing(request, Payment(request_fingerprint=earlier.fingerprint))
                )
            else:
                first_index[request.external_id] = index
                payment = Payment(
                    external_id=request.external_id, loan_id=loan_id, amount=request.amount,
                    value_date=request.value_date, payer=request.payer, request_fingerprint=request.fingerprint,
                )  # fmt: skip
                new.append((index, payment))
    try:
        with transaction.atomic():
            Payment.objects.bulk_create([p for _, p in new], batch_size=1000)
    except IntegrityError:
        # The same external_id was posted meanwhile for a loan outside this batch's locks.
        kept = []
        for index, payment in new:
            try:
                with transaction.atomic():
                    payment.save(force_insert=True)
                kept.append((index, payment))
            except IntegrityError:
                answers[index] = _answer_existing(requests[index], Payment.objects.get(external_id=payment.external_id))
        new = kept
    touched = sorted({payment.loan_id for _, payment in new})
    new_by_loan = defaultdict(list)
    for _, payment in new:
        new_by_loan[payment.loan_id].append(
            engine.Payment(
                key=payment.id,
                amount=payment.amount,
                value_date=payment.value_date,
                payer=payment.payer,
                arrival=payment.id,
            )  # fmt: skip
        )
    ledgers = loans_add_payments(loans=[locked[loan_id] for loan_id in touched], new_payments=new_by_loan)
    for index, payment in new:
        payment.loan = locked[payment.loan_id]
        payment.response = _answer(payment, ledgers[payment.loan_id])
        answers[index] = PaymentOutcome(payment=payment, created=True)
    if new:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE loans_payment p SET response = v.response FROM unnest(%s::bigint[], %s::jsonb[]) "
                "AS v(id, response) WHERE p.id = v.id",
                [[p.id for _, p in new], [json.dumps(p.response) for _, p in new]],
            )
    # Repeats of a request posted earlier in this same batch answer the first answer.
    for index, answer in enumerate(answers):
        if answer is None:
            first = answers[first_index[requests[index].external_id]]
            answers[index] = PaymentOutcome(payment=first.payment, created=False)


def payment_post(*, request: PaymentRequest, acting_user) -> PaymentOutcome:
    answer = payments_post(requests=[request], acting_user=acting_user)[0]
    if isinstance(answer, ApplicationError):
        raise answer
    return answer


@transaction.atomic
def payment_reverse(*, external_id: str, reason: str, acting_user) -> Payment:
    """Reverse a payment (a returned direct debit): it drops out and the loan is replayed.
    Reversing twice changes nothing."""
    payment = for_user(Payment.objects.all(), acting_user).filter(external_id=external_id).first()
    if payment is None:
        raise NotFound("Payment not found.", extra={"external_id": [f"No payment {external_id!r}."]})
    loan = loan_lock(payment.loan_id)
    payment = Payment.objects.select_for_update().get(id=payment.id)
    if payment.reversed_at is None:
        payment.reversed_at = timezone.now()
        payment.reversal_reason = reason
        payment.save(update_fields=["reversed_at", "reversal_reason"])
        loan_replay(loan=loan)
    payment.loan = loan
    return payment
