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
from loans.selectors import engine_params, parameter_versions


def _allocation(loan_id: int, installment_id: int, row: engine.Allocation) -> Allocation:
    return Allocation(
        loan_id=loan_id, payment_id=row.payment_key, installment_id=installment_id,
        effective_date=row.effective_date, is_borrower=row.payer == Payer.BORROWER, payer=row.payer,
        fees=row.fees, interest=row.interest, principal=row.principal,
    )  # fmt: skip


def _installments_by_loan(loan_ids: list[int]) -> dict[int, list[Installment]]:
    installments: dict[int, list[Installment]] = defaultdict(list)
    for row in Installment.objects.filter(loan_id__in=loan_ids).order_by("loan_id", "number"):
        installments[row.loan_id].append(row)
    return installments


def _parameter_sets_by_product(product_ids: set[int]) -> dict[int, ParameterSet]:
    today = business_date()
    versions = [v for v in parameter_versions() if v.valid_from <= today]
    default = next((v for v in versions if v.product_id is None), None)
    if default is None:
        default = min((v for v in parameter_versions() if v.product_id is None), key=lambda v: v.valid_from)
    return {pid: next((v for v in versions if v.product_id == pid), default) for pid in product_ids}


def loans_replay(
    *, loans: list[Loan], parameter_sets: dict[int, ParameterSet] | None = None
) -> dict[int, engine.Ledger]:
    """Replay every payment that counts for LOANS and rewrite their ledgers. The caller holds the
    loans' row locks. Returns each loan's ledger by loan id."""
    if not loans:
        return {}
    ids = [loan.id for loan in loans]
    installments = _installments_by_loan(ids)
    payments: dict[int, list[engine.Payment]] = defaultdict(list)
    rows = Payment.objects.filter(loan_id__in=ids, reversed_at__isnull=True).values_list(
        "id", "loan_id", "amount", "value_date", "payer"
    )
    for pk, loan_id, amount, value_date, payer in rows:
        payments[loan_id].append(engine.Payment(key=pk, amount=amount, value_date=value_date, payer=payer, arrival=pk))
    parameter_sets = parameter_sets or _parameter_sets_by_product({loan.product_id for loan in loans})

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
        through: dict[int, object] = {}
        grace = timedelta(days=parameter_set.grace_days)
        for row in ledger.allocations:
            installment = by_number[row.installment_number]
            new_allocations.append(_allocation(loan.id, installment.id, row))
            sums = paid[row.installment_number]
            through[row.installment_number] = max(
                through.get(row.installment_number, row.effective_date), row.effective_date
            )
            sums[0] += row.principal
            sums[1] += row.interest
            sums[2] += row.fees
            if row.payer == Payer.BORROWER and row.effective_date <= installment.due_date + grace:
                sums[3] += row.principal + row.interest + row.fees
        streak = 0
        for installment in schedule:
            sums = paid[installment.number]
            total = installment.principal + installment.interest + installment.fees
            streak = streak + 1 if total - sums[3] > parameter_set.tolerance else 0
            sums.extend([streak, through.get(installment.number)])
            current = [installment.paid_principal, installment.paid_interest, installment.paid_fees,
                       installment.borrower_paid_by_deadline, installment.missed_streak,
                       installment.paid_through]  # fmt: skip
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
             parameter_set.tolerance, status, closed_on)
        )  # fmt: skip

    Allocation.objects.filter(loan_id__in=ids).delete()
    Allocation.objects.bulk_create(new_allocations, batch_size=5000)
    _write_summaries(installment_rows, loan_rows)
    return ledgers


def _write_summaries(installment_rows: list[tuple], loan_rows: list[tuple]) -> None:
    if not loan_rows:
        return
    with connection.cursor() as cursor:
        if installment_rows:
            cols = list(zip(*installment_rows, strict=True))
            cursor.execute(
                """
                UPDATE loans_installment i
                SET paid_principal = v.pp, paid_interest = v.pi, paid_fees = v.pf, borrower_paid_by_deadline = v.bpd,
                    missed_streak = v.streak, paid_through = v.through
                FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[], %s::int[],
                            %s::date[])
                     AS v(id, pp, pi, pf, bpd, streak, through)
                WHERE i.id = v.id
                """,
                [list(c) for c in cols],
            )
        cols = list(zip(*loan_rows, strict=True))
        cursor.execute(
            """
            UPDATE loans_loan l
            SET ledger_version = l.ledger_version + 1, received_total = v.received, last_value_date = v.last_value,
                ledger_through = v.through, ledger_grace_days = v.grace, ledger_tolerance = v.tolerance,
                status = v.status, closed_on = v.closed_on,
                updated_at = CASE WHEN l.status <> v.status THEN now() ELSE l.updated_at END
            FROM unnest(%s::bigint[], %s::numeric[], %s::date[], %s::date[], %s::int[], %s::numeric[], %s::text[],
                        %s::date[])
                 AS v(id, received, last_value, through, grace, tolerance, status, closed_on)
            WHERE l.id = v.id
            """,
            [list(c) for c in cols],
        )


def appendable(loan: Loan, new_payments: list[engine.Payment], parameter_set: ParameterSet) -> bool:
    """True when NEW_PAYMENTS are value-dated on or after every payment the loan already has (the
    usual case: today's money) and the parameters are those of the stored ledger. Then no older
    allocation changes: money still in suspense from older payments is applied before the new
    money (first in, first out), and the new money only takes what is still owed. So only the
    new money needs allocating (see `loans_append`)."""
    return (
        parameter_set.grace_days == loan.ledger_grace_days
        and parameter_set.tolerance == loan.ledger_tolerance
        and (loan.last_value_date is None or all(p.value_date >= loan.last_value_date for p in new_payments))
    )


def loans_append(
    *, loans: list[Loan], new_payments: dict[int, list[engine.Payment]],
    parameter_sets: dict[int, ParameterSet] | None = None,
) -> dict[int, engine.Ledger]:  # fmt: skip
    """Allocate only NEW_PAYMENTS of LOANS (each `appendable`, locked by the caller) and add their
    rows to the ledger. The engine replays them over a schedule of what is still owed (older
    money's allocations, future ones included, already subtracted): exactly what a full replay
    would allocate to them (a test compares both). A loan with unapplied money left over after
    its whole schedule is paid is replayed in full instead; returns the ledgers of the new money
    by loan id."""
    if not loans:
        return {}
    ids = [loan.id for loan in loans]
    installments = _installments_by_loan(ids)
    parameter_sets = parameter_sets or _parameter_sets_by_product({loan.product_id for loan in loans})
    full, ledgers = [], {}
    new_allocations, installment_rows, loan_rows = [], [], []
    for loan in loans:
        schedule = installments[loan.id]
        paid_total = sum((i.paid_principal + i.paid_interest + i.paid_fees for i in schedule), ZERO)
        if paid_total != loan.received_total:  # money waiting in suspense: replay in full
            full.append(loan)
            continue
        parameter_set = parameter_sets[loan.product_id]
        owed = [
            engine.Installment(number=i.number, due_date=i.due_date, principal=i.principal - i.paid_principal,
                               interest=i.interest - i.paid_interest, fees=i.fees - i.paid_fees)
            for i in schedule
        ]  # fmt: skip
        ledger = engine.replay(owed, new_payments[loan.id], engine_params(parameter_set))
        ledgers[loan.id] = ledger
        by_number = {i.number: i for i in schedule}
        changed = {}
        grace = timedelta(days=parameter_set.grace_days)
        for row in ledger.allocations:
            installment = by_number[row.installment_number]
            new_allocations.append(_allocation(loan.id, installment.id, row))
            installment.paid_principal += row.principal
            installment.paid_through = max(filter(None, (installment.paid_through, row.effective_date)))
            installment.paid_interest += row.interest
            installment.paid_fees += row.fees
            if row.payer == Payer.BORROWER and row.effective_date <= installment.due_date + grace:
                installment.borrower_paid_by_deadline += row.principal + row.interest + row.fees
            changed[installment.id] = installment
        streak = 0
        for installment in schedule:
            total = installment.principal + installment.interest + installment.fees
            streak = streak + 1 if total - installment.borrower_paid_by_deadline > parameter_set.tolerance else 0
            if streak != installment.missed_streak:
                installment.missed_streak = streak
                changed[installment.id] = installment
        installment_rows.extend(
            (
                i.id,
                i.paid_principal,
                i.paid_interest,
                i.paid_fees,
                i.borrower_paid_by_deadline,
                i.missed_streak,
                i.paid_through,
            )
            for i in changed.values()
        )
        received = loan.received_total + sum((p.amount for p in new_payments[loan.id]), ZERO)
        allocated = paid_total + sum((a.principal + a.interest + a.fees for a in ledger.allocations), ZERO)
        through = max(
            filter(None, [loan.ledger_through, *(a.effective_date for a in ledger.allocations)]), default=None
        )
        owed_total = sum((i.principal + i.interest + i.fees for i in schedule), ZERO)
        status, closed_on = loan.status, loan.closed_on
        if status == Loan.Status.ACTIVE and schedule and allocated >= owed_total:
            status, closed_on = Loan.Status.CLOSED, through
        loan.status, loan.closed_on = status, closed_on
        last_value = max(filter(None, [loan.last_value_date, *(p.value_date for p in new_payments[loan.id])]))
        loan_rows.append(
            (loan.id, received, last_value, through, parameter_set.grace_days, parameter_set.tolerance, status,
             closed_on)
        )  # fmt: skip
    Allocation.objects.bulk_create(new_allocations, batch_size=5000)
    _write_summaries(installment_rows, loan_rows)
    if full:
        ledgers.update(loans_replay(loans=full, parameter_sets=parameter_sets))
    return ledgers


def loans_add_payments(*, loans: list[Loan], new_payments: dict[int, list[engine.Payment]]) -> dict[int, engine.Ledger]:
    """Bring the ledgers of LOANS (locked by the caller) up to date after NEW_PAYMENTS were stored:
    append where possible, replay in full otherwise (back-dated money)."""
    if not loans:
        return {}
    parameter_sets = _parameter_sets_by_product({loan.product_id for loan in loans})
    append = [loan for loan in loans if appendable(loan, new_payments[loan.id], parameter_sets[loan.product_id])]
    keys = {loan.id for loan in append}
    ledgers = loans_append(loans=append, new_payments=new_payments, parameter_sets=parameter_sets)
    rest = [loan for loan in loans if loan.id not in keys]
    ledgers.update(loans_replay(loans=rest, parameter_sets=parameter_sets))
    return ledgers


def loan_replay(*, loan: Loan) -> engine.Ledger:
    """Replay one loan (the caller holds its lock)."""
    return loans_replay(loans=[loan])[loan.id]
