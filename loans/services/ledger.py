"""Rebuilding a loan's allocation ledger from its schedule and payments (replay)."""

from django.db.models import F, Max

from loanops.core.time import business_date
from loans import engine
from loans.models import Allocation, Installment, Loan, Payer
from loans.selectors import engine_params, loan_payments, loan_schedule, parameter_set_for


def loan_replay(*, loan: Loan) -> engine.Ledger:
    """Replay every payment that counts and rewrite the ledger. The caller holds the loan lock.

    The ledger is full-horizon and causal, so the state as of any date is the rows with
    `effective_date <= date`. Also opens or closes the loan: it is closed once everything
    in its schedule is paid, and reopens if a reversal undoes that.
    """
    schedule = loan_schedule(loan)
    payments = loan_payments(loan)
    parameter_set = parameter_set_for(product_id=loan.product_id, on=business_date())
    ledger = engine.replay(schedule, payments, engine_params(parameter_set))
    installment_ids = dict(Installment.objects.filter(loan=loan).values_list("number", "id"))
    Allocation.objects.filter(loan=loan).delete()
    Allocation.objects.bulk_create(
        [
            Allocation(
                loan_id=loan.id,
                payment_id=row.payment_key,
                installment_id=installment_ids[row.installment_number],
                effective_date=row.effective_date,
                is_borrower=row.payer == Payer.BORROWER,
                payer=row.payer,
                fees=row.fees,
                interest=row.interest,
                principal=row.principal,
            )
            for row in ledger.allocations
        ],
        batch_size=1000,
    )
    _update_status(loan, schedule, ledger)
    Loan.objects.filter(id=loan.id).update(ledger_version=F("ledger_version") + 1)
    return ledger


def _update_status(loan: Loan, schedule: list[engine.Installment], ledger: engine.Ledger) -> None:
    if loan.status == Loan.Status.WRITTEN_OFF or not schedule:
        return
    owed = sum(i.principal + i.interest + i.fees for i in schedule)
    paid = sum(a.principal + a.interest + a.fees for a in ledger.allocations)
    if paid >= owed:
        closed_on = Allocation.objects.filter(loan=loan).aggregate(d=Max("effective_date"))["d"]
        if loan.status != Loan.Status.CLOSED or loan.closed_on != closed_on:
            loan.status, loan.closed_on = Loan.Status.CLOSED, closed_on
            loan.save(update_fields=["status", "closed_on", "updated_at"])
    elif loan.status == Loan.Status.CLOSED:
        loan.status, loan.closed_on = Loan.Status.ACTIVE, None
        loan.save(update_fields=["status", "closed_on", "updated_at"])
