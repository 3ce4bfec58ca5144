"""Named row locks. Always lock a loan before rewriting its ledger (payments, reversals, schedule)."""

from loans.models import Loan


def loan_lock(loan_id: int) -> Loan:
    return Loan.objects.select_for_update(of=("self",)).get(id=loan_id)


def loans_lock(loan_ids: list[int]) -> list[Loan]:
    """Lock several loans, always in id order (two batches never wait on each other in a cycle)."""
    return list(Loan.objects.select_for_update(of=("self",)).filter(id__in=loan_ids).order_by("id"))
