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
from django.utils.translation import gettext as _

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


@transaction.atomic
def payments_post(*, requests: list[PaymentRequest], acting_user) -> list[PaymentOutcome | ApplicationError]:
    """Post payments in one transaction, bringing each touched loan's ledger up to date once.
    Each request is answered on its own: an outcome, or the ApplicationError that rejected it
    (which changed nothing). Loans are locked in id order, so concurrent batches never deadlock
    and a payment posted twice at the same moment is posted once."""
    answers: list[PaymentOutcome | ApplicationError | None] = [None] * len(requests)
    scoped = for_user(Loan.objects.all(), acting_user).filter(number__in={r.loan_number for r in requests})
    locked = {loan.id: loan for loan in loans_lock(scoped)}
    loans = {loan.number: loan for loan in locked.values()}
    posted = {p.external_id: p for p in Payment.objects.filter(external_id__in=[r.external_id for r in requests])}
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
            payment = Payment(
                external_id=request.external_id, loan_id=loan.id, amount=request.amount,
                value_date=request.value_date, payer=request.payer, request_fingerprint=request.fingerprint,
            )  # fmt: skip
            new.append((index, payment))
    new = _insert(new, requests, answers)
    new_by_loan = defaultdict(list)
    for _index, payment in new:
        new_by_loan[payment.loan_id].append(
            engine.Payment(
                key=payment.id,
                amount=payment.amount,
                value_date=payment.value_date,
                payer=payment.payer,
                arrival=payment.id,
            )  # fmt: skip
        )
    ledgers = loans_add_payments(loans=[locked[loan_id] for loan_id in sorted(new_by_loan)], new_payments=new_by_loan)
    for index, payment in new:
        payment.loan = locked[payment.loan_id]
        payment.response = _answer(payment, ledgers[payment.loan_id])
        answers[index] = PaymentOutcome(payment=payment, created=True)
    if new:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE loans_payment p SET response = v.response FROM unnest(%s::bigint[], %s::jsonb[]) "
                "AS v(id, response) WHERE p.id = v.id",
                [[p.id for _i, p in new], [json.dumps(p.response) for _i, p in new]],
            )
    # Repeats of a request posted earlier in this same batch answer the first answer.
    for index, answer in enumerate(answers):
        if answer is None:
            first = answers[first_index[requests[index].external_id]]
            answers[index] = PaymentOutcome(payment=first.payment, created=False)
    return answers


def _insert(new: list[tuple[int, Payment]], requests, answers) -> list[tuple[int, Payment]]:
    try:
        with transaction.atomic():
            Payment.objects.bulk_create([p for _i, p in new], batch_size=1000)
        return new
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
        return kept


def _answer_existing(request: PaymentRequest, existing: Payment) -> PaymentOutcome | ApplicationError:
    try:
        return _replayed_answer(request, existing)
    except ApplicationError as exc:
        return exc


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
