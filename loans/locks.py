"""Named row locks. Always lock a loan before rewriting its ledger (payments, reversals, schedule)."""

from django.db.models import QuerySet

from loans.models import Loan


def loan_lock(loan_id: int) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).get(id=loan_id)


def loans_lock(loans: QuerySet) -> list[Loan]:
    """Lock several loans, always in id order (two batches never wait on each other in a cycle)."""
    return list(loans.select_for_update(of=("self",)).order_by("id"))
