"""Loans of the common fixture (domain-research.md §12) and month-end states for the oversight tests."""

from datetime import date
from decimal import Decimal

from loanops.core.models import JobRun
from loans.models import DelinquencySnapshot, Loan
from loans.schedules import add_months
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payments_post
from loans.services.sweep import delinquency_sweep

START = date(2024, 1, 15)


def make_loan(number, *, admin, branch="BR-A", dealer="D-7", officer=None, principal="900.00") -> Loan:
    """12 × (PRINCIPAL + 100.00) due the 15th from 2024-02-15, disbursed 2024-01-15."""
    lines = [
        {"number": k, "due_date": add_months(START, k), "principal": Decimal(principal),
         "interest": Decimal("100.00"), "fees": Decimal("0.00")}
        for k in range(1, 13)
    ]  # fmt: skip
    data = {
        "branch": branch, "product": "AUTO", "principal": Decimal(principal) * 12, "disbursement_date": START,
        "borrower": {"external_id": f"B-{number}", "name": f"Borrower {number}"}, "schedule": lines,
    }  # fmt: skip
    if dealer:
        data["dealer"] = {"external_id": dealer, "name": f"Dealer {dealer}"}
    if officer:
        data["officer"] = officer.username
    return loan_upsert(number=number, data=data, acting_user=admin)[0]


def pay(loan, admin, amount, value_date, payer="borrower") -> None:
    request = PaymentRequest(
        external_id=f"{loan.number}-{value_date.isoformat()}", loan_number=loan.number,
        amount=Decimal(amount), value_date=value_date, payer=payer,
    )  # fmt: skip
    [outcome] = payments_post(requests=[request], acting_user=admin)
    assert not isinstance(outcome, Exception), outcome


def sweep(*dates: date) -> None:
    for as_of in dates:
        delinquency_sweep(as_of=as_of)


def month_end_state(loan: Loan, as_of: date, *, outstanding: str, npl: bool, dpd: int = 0) -> DelinquencySnapshot:
    """A stored month-end state (what the sweep writes), for ratio scenarios with exact figures."""
    return DelinquencySnapshot.objects.create(
        loan=loan, branch_id=loan.branch_id, product_id=loan.product_id, dealer_id=loan.dealer_id,
        officer_id=loan.officer_id, as_of=as_of, outstanding_principal=Decimal(outstanding), is_npl=npl,
        classification="substandard" if npl else "normal", classification_floor="substandard" if npl else "normal",
        days_past_due=dpd,
    )  # fmt: skip


def mark_swept(as_of: date) -> None:
    JobRun.objects.update_or_create(job="loans.sweep", business_date=as_of, defaults={"status": JobRun.Status.DONE})
