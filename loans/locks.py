"""Named row locks. Always lock a loan before rewriting its ledger (payments, reversals, schedule)."""

from loans.models import Loan


def loan_lock(loan_id: int) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).get(id=loan_id)
