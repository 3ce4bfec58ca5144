"""Rebuilding loans' allocation ledgers from their schedules and payments (replay), in batches.

The ledger is full-horizon and causal, so the state as of any date is the rows with
`effective_date <= date`. A replay also keeps the summary the nightly sweep reads (paid totals
per installment, money received per loan) and opens or closes the loan: it is closed once
everything in its schedule is paid, and reopens if a reversal undoes that.
"""

from collections import defaultdict
from datetime import timedelta

from django.db import connection

from loanops.core.time import business_date
from loans import engine
from loans.models import ZERO, Allocation, Installment, Loan, ParameterSet, Payer, Payment
from loans.selectors import engine_params


def _parameter_sets_by_product(product_ids: set[int]) -> dict[int, ParameterSet]:
    today = business_date()
    versions = list(ParameterSet.objects.filter(valid_from__lte=today).order_by("-valid_from"))
    default = next((v for v in versions if v.product_id is None), None)
    if default is None:
        default = ParameterSet.objects.filter(product__isnull=True).order_by("valid_from").first()
    return {pid: next((v for v in versions if v.product_id == pid), default) for pid in product_ids}


def loans_replay(*, loans: list[Loan]) -> dict[int, engine.Ledger]:
    """Replay every payment that counts for LOANS and rewrite their ledgers. The caller holds the
    loans' row locks. Returns each loan's ledger by loan id."""
    if not loans:
        return {}
    ids = [loan.id for loan in loans]
    installments: dict[int, list[Installment]] = defaultdict(list)
    for row in Installment.objects.filter(loan_id__in=ids).order_by("loan_id", "number"):
        installments[row.loan_id].append(row)
    payments: dict[int, list[engine.Payment]] = defaultdict(list)
    rows = Payment.objects.filter(loan_id__in=ids, reversed_at__isnull=True).values_list(
        "id", "loan_id", "amount", "value_date", "payer"
    )
    for pk, loan_id, amount, value_date, payer in rows:
        payments[loan_id].append(engine.Payment(key=pk, amount=amount, value_date=value_date, payer=payer, arrival=pk))
    parameter_sets = _parameter_sets_by_product({loan.product_id for loan in loans})

    ledgers: dict[int, engine.Ledger] = {}
    new_allocations: list[Allocation] = []
    installment_rows: list[tuple] = []
    loan_rows: list[tuple] = []
    for loan in loans:
        parameter_set = parameter_sets[loan.product_id]
        schedule = installments[loan.id]
        ledger = engine.replay(schedule, payments[loan.id], engine_params(parameter_set))
        ledgers[loan.id] = ledger
        by_number = {i.number: i for i in schedule}
        paid = {i.number: [ZERO, ZERO, ZERO, ZERO] for i in schedule}
        grace = timedelta(days=parameter_set.grace_days)
        for row in ledger.allocations:
            installment = by_number[row.installment_number]
            new_allocations.append(
                Allocation(
                    loan_id=loan.id, payment_id=row.payment_key, installment_id=installment.id,
                    effective_date=row.effective_date, is_borrower=row.payer == Payer.BORROWER, payer=row.payer,
                    fees=row.fees, interest=row.interest, principal=row.principal,
                )  # fmt: skip
            )
            sums = paid[row.installment_number]
            sums[0] += row.principal
            sums[1] += row.interest
            sums[2] += row.fees
            if row.payer == Payer.BORROWER and row.effective_date <= installment.due_date + grace:
                sums[3] += row.principal + row.interest + row.fees
        for installment in schedule:
            sums = paid[installment.number]
            current = [installment.paid_principal, installment.paid_interest, installment.paid_fees,
                       installment.borrower_paid_by_deadline]  # fmt: skip
            if sums != current:
                installment_rows.append((installment.id, *sums))
        owed = sum((i.principal + i.interest + i.fees for i in schedule), ZERO)
        allocated = sum((a.principal + a.interest + a.fees for a in ledger.allocations), ZERO)
        through = max((a.effective_date for a in ledger.allocations), default=None)
        status, closed_on = loan.status, loan.closed_on
        if status != Loan.Status.WRITTEN_OFF and schedule:
            if allocated >= owed:
                status, closed_on = Loan.Status.CLOSED, through
            elif status == Loan.Status.CLOSED:
                status, closed_on = Loan.Status.ACTIVE, None
        loan.status, loan.closed_on = status, closed_on
        loan_rows.append(
            (loan.id, sum((p.amount for p in payments[loan.id]), ZERO),
             max((p.value_date for p in payments[loan.id]), default=None), through, parameter_set.grace_days,
             status, closed_on)
        )  # fmt: skip

    Allocation.objects.filter(loan_id__in=ids).delete()
    Allocation.objects.bulk_create(new_allocations, batch_size=5000)
    with connection.cursor() as cursor:
        if installment_rows:
            cols = list(zip(*installment_rows, strict=True))
            cursor.execute(
                """
                UPDATE loans_installment i
                SET paid_principal = v.pp, paid_interest = v.pi, paid_fees = v.pf, borrower_paid_by_deadline = v.bpd
                FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[])
                     AS v(id, pp, pi, pf, bpd)
                WHERE i.id = v.id
                """,
                [list(c) for c in cols],
            )
        cols = list(zip(*loan_rows, strict=True))
        cursor.execute(
            """
            UPDATE loans_loan l
            SET ledger_version = l.ledger_version + 1, received_total = v.received, last_value_date = v.last_value,
                ledger_through = v.through, ledger_grace_days = v.grace, status = v.status, closed_on = v.closed_on,
                updated_at = CASE WHEN l.status <> v.status THEN now() ELSE l.updated_at END
            FROM unnest(%s::bigint[], %s::numeric[], %s::date[], %s::date[], %s::int[], %s::text[], %s::date[])
                 AS v(id, received, last_value, through, grace, status, closed_on)
            WHERE l.id = v.id
            """,
            [list(c) for c in cols],
        )
    return ledgers


def loan_replay(*, loan: Loan) -> engine.Ledger:
    """Replay one loan (the caller holds its lock)."""
    return loans_replay(loans=[loan])[loan.id]
