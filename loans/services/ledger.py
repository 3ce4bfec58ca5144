"""Rebuilding loans' allocation ledgers from their schedules and payments (replay), in batches.

The ledger is full-horizon and causal, so the state as of any date is the rows with
`effective_date <= date`. A replay also keeps the summary the nightly sweep reads (paid totals
per installment, money received per loan) and opens or closes the loan: it is closed once
everything in its schedule is paid, and reopens if a reversal undoes that.

Work is planned first (`LedgerUpdate`: the engine's results and the rows to write, nothing
written) and then written in one set-based statement, so that a caller can still add to it in
between (payments_post adds the new payments, with their answers, stored by the same statement).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from django.db import connection

from loanops.core.db import Prepared, pg_array
from loanops.core.time import business_date
from loans import engine
from loans.models import ZERO, Loan, ParameterSet, Payer
from loans.selectors import engine_params, parameter_versions


class _Row:
    """One installment as the ledger needs it: the schedule line and its stored summary
    (plain attributes, much cheaper to load than a model instance)."""

    __slots__ = (
        "id", "number", "due_date", "principal", "interest", "fees", "paid_principal", "paid_interest",
        "paid_fees", "borrower_paid_by_deadline", "missed_streak", "paid_through",
    )  # fmt: skip

    def __init__(self, values) -> None:
        (self.id, self.number, self.due_date, self.principal, self.interest, self.fees, self.paid_principal,
         self.paid_interest, self.paid_fees, self.borrower_paid_by_deadline, self.missed_streak,
         self.paid_through) = values  # fmt: skip


class _Owed:
    """What is still owed on one installment (the engine reads these attributes)."""

    __slots__ = ("number", "due_date", "principal", "interest", "fees")

    def __init__(self, row: _Row) -> None:
        self.number, self.due_date = row.number, row.due_date
        self.principal = row.principal - row.paid_principal
        self.interest = row.interest - row.paid_interest
        self.fees = row.fees - row.paid_fees


_SCHEDULES = Prepared(
    "ledger_schedules",
    "SELECT loan_id, id, number, due_date, principal, interest, fees, paid_principal, paid_interest, paid_fees, "
    "borrower_paid_by_deadline, missed_streak, paid_through FROM loans_installment "
    "WHERE loan_id = ANY(%(loans)s::bigint[]) ORDER BY loan_id, number",
)


def _schedules(loan_ids: list[int]) -> dict[int, list[_Row]]:
    schedules: dict[int, list[_Row]] = defaultdict(list)
    for values in _SCHEDULES.rows({"loans": pg_array(loan_ids)}):
        schedules[values[0]].append(_Row(values[1:]))
    return schedules


class _Tail:
    """What appending money needs of a loan's schedule (see _OPEN_SCHEDULES_SQL): the rows
    (`seeded`: the first is there only for its streak) and whether the last is the schedule's."""

    __slots__ = ("rows", "seeded", "ends_schedule")

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.seeded = False
        self.ends_schedule = False


# Installments before the first open one are paid in full (Loan.open_from, a lower bound of it):
# new money cannot reach them, and their streaks stay as they are; those stored on them (before
# the last run of missed installments, see Loan.missed_run_from) stay stored. Nor can the money
# reach an installment if what is owed before it is at least the new money; and one in the last
# run of missed ones that the money does not reach stays in it, storing no streak. So only the
# rest is read: from the one before open_from or the run, whichever comes first, to the last the
# money reaches or the last before the run, whichever comes last (both are the first rows of the
# schedule from there). Each loan's rows are read from its own place in the (loan, number) index
# to the schedule's end (the running sum needs them), and a bulk post gets back a few a loan.
_OPEN_SCHEDULES_SQL = """
SELECT l.id, s.id, s.number, s.due_date, s.principal, s.interest, s.fees, s.paid_principal, s.paid_interest,
       s.paid_fees, s.borrower_paid_by_deadline, s.missed_streak, s.paid_through, s.last
FROM unnest(%(loans)s::bigint[], %(starts)s::int[], %(runs)s::int[], %(amounts)s::numeric[])
     WITH ORDINALITY AS l(id, start, run, amount, position)
CROSS JOIN LATERAL (
    SELECT i.*, sum(i.principal + i.interest + i.fees - i.paid_principal - i.paid_interest - i.paid_fees) OVER w
                - (i.principal + i.interest + i.fees - i.paid_principal - i.paid_interest - i.paid_fees) AS owed_before,
           lead(i.number) OVER w IS NULL AS last
    FROM loans_installment i
    WHERE i.loan_id = l.id AND i.number >= l.start
    WINDOW w AS (ORDER BY i.number)
) s
WHERE s.number < l.run OR s.owed_before < l.amount
ORDER BY l.position, s.number
"""
_OPEN_SCHEDULES = Prepared("ledger_open_schedules", _OPEN_SCHEDULES_SQL)


def _open_schedules(loans: list[Loan], amounts: list[Decimal]) -> dict[int, _Tail]:
    """The tails of LOANS' schedules that new money of AMOUNTS (in all, a loan) needs."""
    tails: dict[int, _Tail] = {}
    recount = {loan.id: min(loan.open_from, loan.missed_run_from) for loan in loans}
    params = {
        "loans": pg_array([loan.id for loan in loans]), "starts": pg_array([recount[loan.id] - 1 for loan in loans]),
        "runs": pg_array([loan.missed_run_from for loan in loans]), "amounts": pg_array(amounts),
    }  # fmt: skip
    for loan_id, *values, last in _OPEN_SCHEDULES.rows(params):
        tail = tails.get(loan_id)
        if tail is None:
            tail = tails[loan_id] = _Tail()
        row = _Row(values)
        if not tail.rows and row.number < recount[loan_id]:
            tail.seeded = True
        tail.rows.append(row)
        tail.ends_schedule = last
    return tails


def _owes(row) -> bool:
    return row.paid_principal + row.paid_interest + row.paid_fees < row.principal + row.interest + row.fees


_STORED_PAYMENTS = Prepared(
    "ledger_stored_payments",
    "SELECT id, loan_id, amount, value_date, payer FROM loans_payment "
    "WHERE loan_id = ANY(%(loans)s::bigint[]) AND reversed_at IS NULL ORDER BY value_date, id",
)


def _stored_payments(loan_ids: list[int]) -> dict[int, list[engine.Payment]]:
    payments: dict[int, list[engine.Payment]] = defaultdict(list)
    for pk, loan_id, amount, value_date, payer in _STORED_PAYMENTS.rows({"loans": pg_array(loan_ids)}):
        payments[loan_id].append(engine.Payment(key=pk, amount=amount, value_date=value_date, payer=payer, arrival=pk))
    return payments


def parameter_sets_by_product(product_ids: set[int]) -> dict[int, ParameterSet]:
    """The parameter version ledgers are written with today, by product: the product's own newest
    version in force, else the default (None: the default)."""
    today = business_date()
    versions = [v for v in parameter_versions() if v.valid_from <= today]
    default = next((v for v in versions if v.product_id is None), None)
    if default is None:
        default = min((v for v in parameter_versions() if v.product_id is None), key=lambda v: v.valid_from)
    return {pid: next((v for v in versions if v.product_id == pid), default) for pid in product_ids}


@dataclass
class LedgerUpdate:
    """The planned result of bringing some loans' ledgers up to date: the engine's ledgers
    (by loan id) and the rows `write` stores."""

    ledgers: dict[int, engine.Ledger] = field(default_factory=dict)
    replaced: list[int] = field(default_factory=list)  # loans whose ledger is rewritten whole
    allocations: list[tuple] = field(default_factory=list)
    installment_rows: list[tuple] = field(default_factory=list)
    # Installments whose missed streak alone changes, as runs (loan id, first number, last
    # number, streak of the first): money paid before a due date resets that installment's
    # streak and shifts every later one, so an on-time payment would otherwise rewrite the whole
    # rest of the schedule row by row.
    streak_runs: list[tuple] = field(default_factory=list)
    loan_rows: list[tuple] = field(default_factory=list)
    loan_states: list[tuple[Loan, str, date | None]] = field(default_factory=list)
    # New payments stored by the same statement (id, external_id, loan_id, amount, value_date,
    # payer, received_at, request_fingerprint, response as JSON text), set by payment posting: their
    # allocations are in the plan. An external_id already taken is skipped, not stored.
    payments: list[tuple] = field(default_factory=list)
    payments_stored: int = 0

    def merge(self, other: "LedgerUpdate") -> "LedgerUpdate":
        self.ledgers.update(other.ledgers)
        self.replaced += other.replaced
        self.allocations += other.allocations
        self.installment_rows += other.installment_rows
        self.streak_runs += other.streak_runs
        self.loan_rows += other.loan_rows
        self.loan_states += other.loan_states
        self.payments += other.payments
        return self

    def add_streaks(self, loan_id: int, rows: list[tuple[int, int]]) -> None:
        """Store new streaks (installment number, streak), in number order, as runs: consecutive
        numbers whose streaks go up by one."""
        for number, streak in rows:
            run = self.streak_runs[-1] if self.streak_runs else None
            if (
                run and run[0] == loan_id and run[2] == number - 1
                and (run[3] is None if streak is None else run[3] is not None and run[3] + (number - run[1]) == streak)
            ):  # fmt: skip
                self.streak_runs[-1] = (loan_id, run[1], number, run[3])
            else:
                self.streak_runs.append((loan_id, number, number, streak))

    def _part_rows(self) -> dict[str, tuple[str, list]]:
        """Each part of the write with its parameter prefix and its rows (see _WRITE_PARTS)."""
        return {
            "stored_payments": ("p", self.payments), "gone": ("replaced", self.replaced),
            "added": ("a", self.allocations), "summaries": ("i", self.installment_rows),
            "streaks": ("s", self.streak_runs), "loans": ("l", self.loan_rows),
        }  # fmt: skip

    def write(self) -> dict[int, engine.Ledger]:
        """Store the plan in one statement (one round trip, whatever the number of loans)."""
        if self.loan_rows or self.payments:
            with connection.cursor() as cursor:
                parts = {name: rows for name, rows in self._part_rows().items() if rows[1]}
                _write_statement(tuple(parts)).execute(cursor, _write_params(parts))
                self.payments_stored = cursor.fetchone()[0]
        for loan, status, closed_on in self.loan_states:
            loan.status, loan.closed_on = status, closed_on
        return self.ledgers


def _write_params(parts: dict[str, tuple[str, list]]) -> dict:
    """The arguments of the write of PARTS (name: parameter prefix and rows): each column as one
    array literal (see pg_array); the replayed loans' ids as one."""
    params = {}
    for name, (prefix, rows) in parts.items():
        if name == "gone":
            params[prefix] = pg_array(rows)
        else:
            params.update((f"{prefix}{k}", pg_array(column)) for k, column in enumerate(zip(*rows, strict=True)))
    return params


# The statements of a data-modifying WITH share one snapshot: the DELETE removes only the rows
# that were there before (a replayed loan's old ledger), never the ones inserted beside it.
# A part with nothing to write is left out of the statement: each costs the server its set-up
# (tables, indexes, triggers) even when it writes no row, and a single payment needs only four.
_WRITE_PARTS = {
    "stored_payments": """
    INSERT INTO loans_payment (id, external_id, loan_id, amount, value_date, payer, received_at, request_fingerprint,
                               response, reversal_reason)
    SELECT v.*, ''
    FROM unnest(%(p0)s::bigint[], %(p1)s::text[], %(p2)s::bigint[], %(p3)s::numeric[], %(p4)s::date[], %(p5)s::text[],
                %(p6)s::timestamptz[], %(p7)s::text[], %(p8)s::jsonb[]) AS v
    ON CONFLICT (external_id) DO NOTHING
    RETURNING 1""",
    "gone": """
    DELETE FROM loans_allocation WHERE loan_id = ANY(%(replaced)s::bigint[])""",
    "added": """
    INSERT INTO loans_allocation (loan_id, payment_id, installment_id, effective_date, is_borrower, payer, fees,
                                  interest, principal)
    SELECT * FROM unnest(%(a0)s::bigint[], %(a1)s::bigint[], %(a2)s::bigint[], %(a3)s::date[], %(a4)s::boolean[],
                         %(a5)s::text[], %(a6)s::numeric[], %(a7)s::numeric[], %(a8)s::numeric[])""",
    "summaries": """
    UPDATE loans_installment i
    SET paid_principal = v.pp, paid_interest = v.pi, paid_fees = v.pf, borrower_paid_by_deadline = v.bpd,
        missed_streak = v.streak, paid_through = v.through
    FROM unnest(%(i0)s::bigint[], %(i1)s::numeric[], %(i2)s::numeric[], %(i3)s::numeric[], %(i4)s::numeric[],
                %(i5)s::int[], %(i6)s::date[])
         AS v(id, pp, pi, pf, bpd, streak, through)
    WHERE i.id = v.id""",
    "streaks": """
    UPDATE loans_installment i
    SET missed_streak = r.streak + (i.number - r.first)
    FROM unnest(%(s0)s::bigint[], %(s1)s::int[], %(s2)s::int[], %(s3)s::int[]) AS r(loan_id, first, last, streak)
    WHERE i.loan_id = r.loan_id AND i.number BETWEEN r.first AND r.last""",
    "loans": """
    UPDATE loans_loan l
    SET ledger_version = l.ledger_version + 1, received_total = v.received, last_value_date = v.last_value,
        ledger_through = v.through, ledger_grace_days = v.grace, ledger_tolerance = v.tolerance,
        ledger_prepay = v.prepay, status = v.status, closed_on = v.closed_on, missed_run_from = v.run_from,
        open_from = v.open_from,
        updated_at = CASE WHEN l.status <> v.status THEN now() ELSE l.updated_at END
    FROM unnest(%(l0)s::bigint[], %(l1)s::numeric[], %(l2)s::date[], %(l3)s::date[], %(l4)s::int[], %(l5)s::numeric[],
                %(l6)s::text[], %(l7)s::date[], %(l8)s::int[], %(l9)s::int[], %(l10)s::boolean[])
         AS v(id, received, last_value, through, grace, tolerance, status, closed_on, run_from, open_from, prepay)
    WHERE l.id = v.id""",
}


@cache
def _write_statement(parts: tuple[str, ...]) -> Prepared:
    """The write of these PARTS of _WRITE_PARTS (in its order), answering how many payments it stored."""
    ctes = ",\n".join(f"{name} AS ({_WRITE_PARTS[name]}\n)" for name in parts)
    answer = "SELECT count(*) FROM stored_payments" if "stored_payments" in parts else "SELECT 0"
    mask = sum(1 << index for index, name in enumerate(_WRITE_PARTS) if name in parts)
    return Prepared(f"ledger_write_{mask}", f"WITH {ctes}\n{answer}")


def _missed_run_from(rows, missed: list[bool], start: int = 1) -> int:
    """The first installment of the last run of missed ones (see Loan.missed_run_from), given
    which of ROWS (installments in number order, the rest of a schedule whose earlier part's last
    run started at START) are MISSED."""
    for row, is_missed in zip(reversed(rows), reversed(missed), strict=True):
        if not is_missed:
            return max(start, row.number + 1)
    return start


def _allocation_row(loan_id: int, installment_id: int, row: engine.Allocation) -> tuple:
    return (loan_id, row.payment_key, installment_id, row.effective_date, row.payer == Payer.BORROWER, row.payer,
            row.fees, row.interest, row.principal)  # fmt: skip


def plan_replay(
    *, loans: list[Loan], parameter_sets: dict[int, ParameterSet] | None = None,
    new_payments: dict[int, list[engine.Payment]] | None = None,
) -> LedgerUpdate:  # fmt: skip
    """Replay every payment that counts for LOANS (the stored ones not reversed, and
    NEW_PAYMENTS not stored yet). The caller holds the loans' row locks."""
    update = LedgerUpdate()
    if not loans:
        return update
    ids = [loan.id for loan in loans]
    installments = _schedules(ids)
    payments = _stored_payments(ids)
    for loan_id, extra in (new_payments or {}).items():
        payments[loan_id].extend(extra)
    parameter_sets = parameter_sets or parameter_sets_by_product({loan.product_id for loan in loans})
    update.replaced = ids
    for loan in loans:
        parameter_set = parameter_sets[loan.product_id]
        schedule = installments[loan.id]
        ledger = engine.replay(schedule, payments[loan.id], engine_params(parameter_set))
        update.ledgers[loan.id] = ledger
        by_number = {i.number: i for i in schedule}
        paid = {i.number: [ZERO, ZERO, ZERO, ZERO] for i in schedule}
        through: dict[int, date] = {}
        grace = timedelta(days=parameter_set.grace_days)
        for row in ledger.allocations:
            installment = by_number[row.installment_number]
            update.allocations.append(_allocation_row(loan.id, installment.id, row))
            sums = paid[row.installment_number]
            through[row.installment_number] = max(
                through.get(row.installment_number, row.effective_date), row.effective_date
            )
            sums[0] += row.principal
            sums[1] += row.interest
            sums[2] += row.fees
            if row.payer == Payer.BORROWER and row.effective_date <= installment.due_date + grace:
                sums[3] += row.principal + row.interest + row.fees
        missed = [i.principal + i.interest + i.fees - paid[i.number][3] > parameter_set.tolerance for i in schedule]
        run_from = _missed_run_from(schedule, missed)
        streak = 0
        streaks = []
        for installment, is_missed in zip(schedule, missed, strict=True):
            sums = paid[installment.number]
            streak = streak + 1 if is_missed else 0
            stored = None if installment.number >= run_from else streak
            sums.extend([stored, through.get(installment.number)])
            current = [installment.paid_principal, installment.paid_interest, installment.paid_fees,
                       installment.borrower_paid_by_deadline, installment.missed_streak,
                       installment.paid_through]  # fmt: skip
            if sums[:4] != current[:4] or sums[5] != current[5]:
                update.installment_rows.append((installment.id, *sums))
            elif stored != installment.missed_streak:
                streaks.append((installment.number, stored))
        update.add_streaks(loan.id, streaks)
        owed = sum((i.principal + i.interest + i.fees for i in schedule), ZERO)
        allocated = sum((a.principal + a.interest + a.fees for a in ledger.allocations), ZERO)
        last_effective = max((a.effective_date for a in ledger.allocations), default=None)
        status, closed_on = loan.status, loan.closed_on
        if status != Loan.Status.WRITTEN_OFF and schedule:
            if allocated >= owed:
                status, closed_on = Loan.Status.CLOSED, last_effective
            elif status == Loan.Status.CLOSED:
                status, closed_on = Loan.Status.ACTIVE, None
        update.loan_states.append((loan, status, closed_on))
        open_from = next(
            (i.number for i in schedule if sum(paid[i.number][:3]) < i.principal + i.interest + i.fees),
            schedule[-1].number + 1 if schedule else 1,
        )
        update.loan_rows.append(
            (loan.id, sum((p.amount for p in payments[loan.id]), ZERO),
             max((p.value_date for p in payments[loan.id]), default=None), last_effective, parameter_set.grace_days,
             parameter_set.tolerance, status, closed_on, run_from, open_from, parameter_set.excess_handling == "prepay")
        )  # fmt: skip
    return update


def loans_replay(
    *, loans: list[Loan], parameter_sets: dict[int, ParameterSet] | None = None
) -> dict[int, engine.Ledger]:
    """Replay every stored payment that counts for LOANS (locked by the caller) and rewrite
    their ledgers. Returns each loan's ledger by loan id."""
    return plan_replay(loans=loans, parameter_sets=parameter_sets).write()


def appendable(loan: Loan, new_payments: list[engine.Payment], parameter_set: ParameterSet) -> bool:
    """True when NEW_PAYMENTS are value-dated on or after every payment the loan already has (the
    usual case: today's money) and the parameters are those of the stored ledger. Then no older
    allocation changes: money still in suspense from older payments is applied before the new
    money (first in, first out), and the new money only takes what is still owed. So only the
    new money needs allocating (see `plan_append`)."""
    return (
        parameter_set.grace_days == loan.ledger_grace_days
        and parameter_set.tolerance == loan.ledger_tolerance
        and loan.ledger_prepay == (parameter_set.excess_handling == "prepay")
        and (loan.last_value_date is None or all(p.value_date >= loan.last_value_date for p in new_payments))
    )


def plan_append(
    *, loans: list[Loan], new_payments: dict[int, list[engine.Payment]],
    parameter_sets: dict[int, ParameterSet] | None = None,
) -> LedgerUpdate:  # fmt: skip
    """Allocate only NEW_PAYMENTS of LOANS (each `appendable`, locked by the caller) and add their
    rows to the ledger. The engine replays them over a schedule of what is still owed (older
    money's allocations, future ones included, already subtracted): exactly what a full replay
    would allocate to them (a test compares both). No older money waits in suspense while an
    installment is open (the ledger is full horizon: suspense is applied on later due dates), and
    once none is open, new money only joins it there. A loan without a schedule is replayed in
    full instead. The ledgers are those of the new money."""
    update = LedgerUpdate()
    if not loans:
        return update
    tails = _open_schedules(loans, [sum((p.amount for p in new_payments[loan.id]), ZERO) for loan in loans])
    parameter_sets = parameter_sets or parameter_sets_by_product({loan.product_id for loan in loans})
    full = []
    for loan in loans:
        tail = tails.get(loan.id)
        if tail is None:  # no schedule: replay in full
            full.append(loan)
            continue
        parameter_set = parameter_sets[loan.product_id]
        params = engine_params(parameter_set)
        payments = new_payments[loan.id]
        # Installments already paid in full take nothing more.
        owed = [_Owed(i) for i in tail.rows if _owes(i)]
        if len(payments) == 1:
            ledger = engine.replay_one(owed, payments[0], params)
        else:
            ledger = engine.replay(owed, payments, params)
        update.ledgers[loan.id] = ledger
        by_number = {i.number: i for i in tail.rows}
        changed: dict[int, _Row] = {}
        grace = timedelta(days=parameter_set.grace_days)
        for row in ledger.allocations:
            installment = by_number[row.installment_number]
            update.allocations.append(_allocation_row(loan.id, installment.id, row))
            installment.paid_principal += row.principal
            installment.paid_through = max(filter(None, (installment.paid_through, row.effective_date)))
            installment.paid_interest += row.interest
            installment.paid_fees += row.fees
            if row.payer == Payer.BORROWER and row.effective_date <= installment.due_date + grace:
                installment.borrower_paid_by_deadline += row.principal + row.interest + row.fees
            changed[installment.id] = installment
        # Streaks before the first open installment cannot change: count on from the one before it
        # (or before the last run of missed ones, which money may end: their streaks get stored).
        streak, recount = (tail.rows[0].missed_streak, tail.rows[1:]) if tail.seeded else (0, tail.rows)
        missed = [
            i.principal + i.interest + i.fees - i.borrower_paid_by_deadline > parameter_set.tolerance for i in recount
        ]
        run_from = _missed_run_from(recount, missed, loan.missed_run_from)
        streaks = []
        for installment, is_missed in zip(recount, missed, strict=True):
            streak = streak + 1 if is_missed else 0
            stored = None if installment.number >= run_from else streak
            if stored != installment.missed_streak:
                installment.missed_streak = stored
                if installment.id not in changed:
                    streaks.append((installment.number, stored))
        update.installment_rows.extend(
            (i.id, i.paid_principal, i.paid_interest, i.paid_fees, i.borrower_paid_by_deadline, i.missed_streak,
             i.paid_through)
            for i in changed.values()
        )  # fmt: skip
        update.add_streaks(loan.id, streaks)
        received = loan.received_total + sum((p.amount for p in payments), ZERO)
        through = max(
            filter(None, [loan.ledger_through, *(a.effective_date for a in ledger.allocations)]), default=None
        )
        # Money pays installments off in order: the first still open is in the tail, unless the
        # money paid off every row it has (then it is the next one, or none: the schedule's end).
        open_from = next((i.number for i in tail.rows if _owes(i)), tail.rows[-1].number + 1)
        status, closed_on = loan.status, loan.closed_on
        if status == Loan.Status.ACTIVE and tail.ends_schedule and open_from > tail.rows[-1].number:
            status, closed_on = Loan.Status.CLOSED, through
        update.loan_states.append((loan, status, closed_on))
        last_value = max(filter(None, [loan.last_value_date, *(p.value_date for p in payments)]))
        update.loan_rows.append(
            (loan.id, received, last_value, through, parameter_set.grace_days, parameter_set.tolerance, status,
             closed_on, run_from, open_from, loan.ledger_prepay)
        )  # fmt: skip
    if full:
        extra = {loan.id: new_payments[loan.id] for loan in full}
        update.merge(plan_replay(loans=full, parameter_sets=parameter_sets, new_payments=extra))
    return update


def plan_payments(*, loans: list[Loan], new_payments: dict[int, list[engine.Payment]]) -> LedgerUpdate:
    """Plan bringing the ledgers of LOANS (locked by the caller) up to date with NEW_PAYMENTS (not
    stored yet): append where possible, replay in full otherwise (back-dated money)."""
    update = LedgerUpdate()
    if not loans:
        return update
    parameter_sets = parameter_sets_by_product({loan.product_id for loan in loans})
    append = [loan for loan in loans if appendable(loan, new_payments[loan.id], parameter_sets[loan.product_id])]
    keys = {loan.id for loan in append}
    update.merge(plan_append(loans=append, new_payments=new_payments, parameter_sets=parameter_sets))
    rest = [loan for loan in loans if loan.id not in keys]
    extra = {loan.id: new_payments[loan.id] for loan in rest}
    update.merge(plan_replay(loans=rest, parameter_sets=parameter_sets, new_payments=extra))
    return update


def loan_replay(*, loan: Loan) -> engine.Ledger:
    """Replay one loan (the caller holds its lock)."""
    return loans_replay(loans=[loan])[loan.id]
