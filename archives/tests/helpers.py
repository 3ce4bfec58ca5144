"""Loans and credit-file states for the archives tests, reached through the real services."""

from datetime import date
from decimal import Decimal

from archives.models import CONTRACT_ELEMENTS, CreditFile
from archives.services.files import file_contract_confirm, file_document_mark
from loans.schedules import add_months
from loans.services.loans import loan_upsert

START = date(2024, 1, 15)


def make_loan(number, *, admin, branch="BR-A", product="AUTO"):
    lines = [
        {"number": k, "due_date": add_months(START, k), "principal": Decimal("900.00"),
         "interest": Decimal("100.00"), "fees": Decimal("0.00")}
        for k in range(1, 13)
    ]  # fmt: skip
    data = {
        "branch": branch, "product": product, "principal": Decimal("10800.00"), "disbursement_date": START,
        "borrower": {"external_id": f"B-{number}", "name": f"Borrower {number}"}, "schedule": lines,
    }  # fmt: skip
    return loan_upsert(number=number, data=data, acting_user=admin)[0]


def complete(file: CreditFile, user) -> CreditFile:
    """Every required document present and every contract element confirmed."""
    for doc in file.documents.filter(required=True):
        file_document_mark(file=file, code=doc.code, present=True, pages=2, acting_user=user)
    file_contract_confirm(file=file, elements=dict.fromkeys(CONTRACT_ELEMENTS, True), acting_user=user)
    file.refresh_from_db()
    return file
