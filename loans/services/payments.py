"""Posting and reversing payments. `external_id` is the idempotency key: the same body again
answers the first answer and posts nothing; a different body is a conflict."""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from loanops.core.exceptions import ApplicationError, Conflict, NotFound, ValidationFailed
from loanops.org.scoping import for_user
from loans import engine
from loans.locks import loan_lock
from loans.models import Loan, Payment
from loans.services.ledger import loan_replay


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


def _find_loan(request: PaymentRequest, acting_user) -> Loan:
    loan = for_user(Loan.objects.all(), acting_user).filter(number=request.loan_number).first()
    if loan is None:
        raise NotFound("Loan not found.", extra={"loan_number": [f"No loan {request.loan_number!r}."]})
    if request.value_date < loan.disbursement_date:
        raise ValidationFailed(
            "Value date before disbursement.",
            extra={"value_date": [f"The value date is before the loan's disbursement date ({loan.disbursement_date})."]},
        )
    return loan


def payments_post(*, requests: list[PaymentRequest], acting_user) -> list[PaymentOutcome | ApplicationError]:
    """Post payments, replaying each touched loan once. Answers each request on its own:
    an outcome, or the ApplicationError that rejected it (which changed nothing)."""
    answers: list[PaymentOutcome | ApplicationError | None] = [None] * len(requests)
    by_loan: dict[int, list[int]] = {}
    for index, request in enumerate(requests):
        existing = Payment.objects.select_related("loan").filter(external_id=request.external_id).first()
        try:
            if existing is not None:
                answers[index] = _replayed_answer(request, existing)
                continue
            loan = _find_loan(request, acting_user)
        except ApplicationError as exc:
            answers[index] = exc
            continue
        by_loan.setdefault(loan.id, []).append(index)
    for loan_id, indexes in sorted(by_loan.items()):
        for index, outcome in zip(indexes, _post_for_loan(loan_id, [requests[i] for i in indexes]), strict=True):
            answers[index] = outcome
    return answers


@transaction.atomic
def _post_for_loan(loan_id: int, requests: list[PaymentRequest]) -> list[PaymentOutcome | ApplicationError]:
    loan = loan_lock(loan_id)  # serialises concurrent posts for one loan, so a duplicate sees the first
    results: list[PaymentOutcome | ApplicationError] = []
    new: list[Payment] = []
    seen: dict[str, PaymentRequest] = {}
    for request in requests:
        if request.external_id in seen:
            previous = Payment.objects.get(external_id=request.external_id)
            try:
                results.append(_replayed_answer(request, previous))
            except ApplicationError as exc:
                results.append(exc)
            continue
        try:
            with transaction.atomic():
                payment = Payment.objects.create(
                    external_id=request.external_id,
                    loan=loan,
                    amount=request.amount,
                    value_date=request.value_date,
                    payer=request.payer,
                    request_fingerprint=request.fingerprint,
                )
        except IntegrityError:
            # Posted meanwhile through another loan's lock (same external_id, other loan).
            existing = Payment.objects.select_related("loan").get(external_id=request.external_id)
            try:
                results.append(_replayed_answer(request, existing))
            except ApplicationError as exc:
                results.append(exc)
            continue
        seen[request.external_id] = request
        new.append(payment)
        results.append(PaymentOutcome(payment=payment, created=True))
    if new:
        ledger = loan_replay(loan=loan)
        for payment in new:
            payment.loan = loan
            payment.response = _answer(payment, ledger)
        Payment.objects.bulk_update(new, ["response"])
    return results


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
