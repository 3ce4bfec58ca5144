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


VAULT = "VAULT/ROOM1/CAB2/SHELF3/BOX4"
ARCHIVE = "ARCHIVE/ROOM2/SHELF1/BOX9"


def archive(file: CreditFile, officer, custodian) -> CreditFile:
    """Complete, check, submit and receive the file: level 1 in the vault box, level 2 in the archive box."""
    from archives.services.files import credit_file_check, credit_file_handoff_accept, credit_file_handoff_submit

    complete(file, officer)
    credit_file_check(file=file, acting_user=officer)
    credit_file_handoff_submit(file=file, acting_user=officer)
    credit_file_handoff_accept(file=file, acting_user=custodian, locations={1: VAULT, 2: ARCHIVE})
    file.refresh_from_db()
    return file


def pay_off(loan, on=None) -> None:
    """The loan is settled (the core-banking feed closes it)."""
    from loans.models import Loan

    Loan.objects.filter(id=loan.id).update(status=Loan.Status.CLOSED, closed_on=on or date(2024, 12, 15))
    loan.refresh_from_db()
