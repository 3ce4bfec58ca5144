"""Loans of the common fixture (domain-research.md §12): 12 × (900 + 100) due the 15th from 2024-02-15."""

from datetime import date
from decimal import Decimal

from loan_collections.services.cases import cases_update_due
from loans.schedules import add_months
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payments_post
from loans.services.sweep import delinquency_sweep

START = date(2024, 1, 15)


def make_loan(number, *, admin, branch="BR-A", dealer=True, officer=None, insurer=False):
    lines = [
        {"number": k, "due_date": add_months(START, k), "principal": Decimal("900.00"),
         "interest": Decimal("100.00"), "fees": Decimal("0.00")}
        for k in range(1, 13)
    ]  # fmt: skip
    data = {
        "branch": branch, "product": "AUTO", "principal": Decimal("10800.00"), "disbursement_date": START,
        "borrower": {"external_id": f"B-{number}", "name": f"Borrower {number}"}, "schedule": lines,
    }  # fmt: skip
    if dealer:
        data["dealer"] = {"external_id": "D-7", "name": "Autos Norte"}
    if insurer:
        data["insurer"] = {"external_id": "I-2", "name": "Seguros Sur", "policy_number": f"P-{number}"}
    if officer:
        data["officer"] = officer.username
    return loan_upsert(number=number, data=data, acting_user=admin)[0]


def pay(loan, admin, amount, value_date, payer="borrower", suffix="1"):
    request = PaymentRequest(
        external_id=f"{loan.number}-{value_date.isoformat()}-{suffix}", loan_number=loan.number,
        amount=Decimal(amount), value_date=value_date, payer=payer,
    )  # fmt: skip
    [outcome] = payments_post(requests=[request], acting_user=admin)
    assert not isinstance(outcome, Exception), outcome


def night(as_of: date) -> int:
    """The sweep then the collections step for AS_OF; returns the rows the step changed."""
    delinquency_sweep(as_of=as_of)
    return cases_update_due(as_of=as_of)
