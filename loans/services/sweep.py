"""The nightly arrears sweep: every output of domain.md stored for each active loan, set-based.

The sweep reads the allocation ledger (causal, so the state as of D is the rows with
`effective_date <= D`) and computes everything in SQL, one id-range chunk at a time. It writes
only rows that change (`IS DISTINCT FROM`), so a second run for the same date changes nothing.
Chunks are claimed by any number of workers (`loanops.core.jobs`).

The stored effective class is the worst of: the floor by days past due, an active manual
downgrade, NPL stickiness (a loan that was NPL stays at its class until an approved
reclassification) and, for 3 months after a dealer or insurer cure, special mention.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from loanops.core.jobs import chunks_finish, chunks_prepare, chunks_work, job_run_guard
from loans import engine
from loans.models import Allocation, Loan, Payer
from loans.selectors import engine_params, loan_payments, loan_schedule, parameter_set_for

SWEEP_JOB = "loans.sweep"
CURE_FLOOR_MONTHS = 3
GUARANTOR_PAYERS = (Payer.DEALER, Payer.INSURER)

# Per chunk, first: the loans to compute and the parameters in force for each, in a table of its
# own with fresh statistics. Estimated from the joins alone, this set looked like one row (an
# empty state table on the first night, say), and the planner then joined it to itself in a
# nested loop: hours instead of seconds on a big chunk.
_LOANS_SQL = """
CREATE TEMP TABLE sweep_ln ON COMMIT DROP AS
WITH prm AS (
    SELECT pr.id AS product_id, ps.id AS parameter_set_id, ps.grace_days, ps.tolerance,
           ps.consecutive_trigger, ps.cumulative_trigger
    FROM loans_product pr
    CROSS JOIN LATERAL (
        SELECT p.* FROM loans_parameterset p
        WHERE (p.product_id = pr.id OR p.product_id IS NULL) AND p.valid_from <= %(d)s
        ORDER BY p.product_id NULLS LAST, p.valid_from DESC
        LIMIT 1
    ) ps
)
-- "fast" loans: their stored ledger summary used the grace and tolerance in force on D, so each
-- installment's stored totals hold (missed flags, streaks; paid amounts where all its money
-- took effect by D). Others (after a parameter change) are summed from the ledger.
SELECT l.id, l.branch_id, l.product_id, l.dealer_id, l.officer_id, prm.parameter_set_id,
       prm.grace_days, prm.tolerance, prm.consecutive_trigger, prm.cumulative_trigger, l.received_total,
       l.ledger_version, l.missed_run_from,
       coalesce(l.last_value_date, '-infinity'::date) > %(d)s AS late_money,
       coalesce(l.ledger_through, '-infinity'::date) > %(d)s AS paid_ahead,
       (l.ledger_grace_days = prm.grace_days AND l.ledger_tolerance = prm.tolerance) AS fast
FROM loans_loan l
JOIN prm ON prm.product_id = l.product_id
-- (the id range again on the state: else, with a full state table, each chunk may hash all of it)
LEFT JOIN loans_loandelinquency st ON st.loan_id = l.id AND st.loan_id >= %(lo)s AND st.loan_id < %(hi)s
WHERE l.id >= %(lo)s AND l.id < %(hi)s AND l.disbursement_date <= %(d)s
  AND (l.status = 'active' OR l.closed_on >= %(d)s OR st.loan_id IS NULL OR st.as_of < l.closed_on)
  -- a rerun for the same date skips loans whose ledger and parameters did not change since
  AND NOT (st.as_of = %(d)s AND st.ledger_version = l.ledger_version
           AND st.parameter_set_id IS NOT DISTINCT FROM prm.parameter_set_id)
"""

# Then per-installment state as of D and the per-loan outputs.
_COMPUTE_SQL = """
CREATE TEMP TABLE sweep_result ON COMMIT DROP AS
WITH ln AS NOT MATERIALIZED (SELECT * FROM sweep_ln),
slow AS MATERIALIZED (
    SELECT id, grace_days FROM ln WHERE NOT fast
),
al AS (
    -- the others (few: money value-dated after D, or a changed grace): sum their ledger rows up to D
    SELECT x.installment_id, x.pp, x.pi, x.pf, x.bpd
    FROM slow
    CROSS JOIN LATERAL (
        SELECT a.installment_id,
               sum(a.principal) AS pp, sum(a.interest) AS pi, sum(a.fees) AS pf,
               coalesce(sum(a.principal + a.interest + a.fees)
                   FILTER (WHERE a.is_borrower AND a.effective_date <= i.due_date + slow.grace_days), 0) AS bpd
        FROM loans_allocation a
        JOIN loans_installment i ON i.id = a.installment_id
        WHERE a.loan_id = slow.id AND a.effective_date <= %(d)s
        GROUP BY a.installment_id
    ) x
),
partial AS MATERIALIZED (
    -- installments of fast loans with money taking effect after D (paid ahead, or value-dated
    -- later); only loans whose ledger runs past D have any
    SELECT x.id FROM ln
    CROSS JOIN LATERAL (
        SELECT i.id FROM loans_installment i WHERE i.loan_id = ln.id AND i.paid_through > %(d)s OFFSET 0
    ) x
    WHERE ln.fast AND ln.paid_ahead
),
pal AS (
    SELECT x.* FROM partial CROSS JOIN LATERAL (
        SELECT a.installment_id, sum(a.principal) AS pp, sum(a.interest) AS pi, sum(a.fees) AS pf
        FROM loans_allocation a
        WHERE a.installment_id = partial.id AND a.effective_date <= %(d)s
        GROUP BY a.installment_id
    ) x
),
fast_inst AS (
    -- each row's figures computed once (OFFSET 0 keeps this a subquery: inlined, the aggregates
    -- below would each recompute them)
    SELECT loan_id, due_date, missed_streak, due, late, up, ui, uf, paid,
           up + ui + uf > tolerance AS unsettled
    FROM (
        SELECT i.loan_id, i.due_date, coalesce(i.missed_streak, i.number - ln.missed_run_from + 1) AS missed_streak,
               ln.tolerance,
               i.due_date < %(d)s AS due, i.due_date + ln.grace_days < %(d)s AS late,
               i.principal - p.pp AS up, i.interest - p.pi AS ui, i.fees - p.pf AS uf, p.pp + p.pi + p.pf AS paid
        FROM loans_installment i
        JOIN ln ON ln.id = i.loan_id AND ln.fast
        LEFT JOIN pal ON pal.installment_id = i.id
        CROSS JOIN LATERAL (
            SELECT CASE WHEN i.paid_through > %(d)s THEN coalesce(pal.pp, 0) ELSE i.paid_principal END AS pp,
                   CASE WHEN i.paid_through > %(d)s THEN coalesce(pal.pi, 0) ELSE i.paid_interest END AS pi,
                   CASE WHEN i.paid_through > %(d)s THEN coalesce(pal.pf, 0) ELSE i.paid_fees END AS pf
        ) p
        WHERE i.loan_id >= %(lo)s AND i.loan_id < %(hi)s
        OFFSET 0
    ) x
    OFFSET 0
),
fast_agg AS (
    -- one pass over the installments, pipelined (no intermediate table)
    SELECT loan_id,
           coalesce(%(d)s - min(due_date) FILTER (WHERE due AND unsettled), 0) AS dpd,
           count(*) FILTER (WHERE late AND unsettled) AS overdue_installments,
           count(*) FILTER (WHERE late AND missed_streak > 0) AS cumulative_missed,
           coalesce(max(missed_streak) FILTER (WHERE late), 0) AS max_consecutive,
           coalesce(sum(up) FILTER (WHERE due), 0) AS overdue_principal,
           coalesce(sum(ui) FILTER (WHERE due), 0) AS overdue_interest,
           coalesce(sum(uf) FILTER (WHERE due), 0) AS overdue_fees,
           sum(up) AS outstanding_principal,
           sum(paid) AS allocated
    FROM fast_inst
    GROUP BY loan_id
),
inst AS (
    SELECT i.loan_id, i.number, i.due_date,
           i.principal - coalesce(al.pp, 0) AS up, i.interest - coalesce(al.pi, 0) AS ui,
           i.fees - coalesce(al.pf, 0) AS uf,
           coalesce(al.pp, 0) + coalesce(al.pi, 0) + coalesce(al.pf, 0) AS paid,
           (i.principal + i.interest + i.fees - coalesce(al.pp, 0) - coalesce(al.pi, 0) - coalesce(al.pf, 0))
               > ln.tolerance AS unsettled,
           i.due_date + ln.grace_days < %(d)s AS evaluated,
           i.due_date + ln.grace_days < %(d)s
               AND (i.principal + i.interest + i.fees - coalesce(al.bpd, 0)) > ln.tolerance AS missed
    FROM slow
    JOIN ln ON ln.id = slow.id
    JOIN loans_installment i ON i.loan_id = slow.id
    LEFT JOIN al ON al.installment_id = i.id
),
runs AS (
    SELECT loan_id, max(n) AS max_run FROM (
        SELECT loan_id, count(*) AS n
        FROM (SELECT loan_id, number - row_number() OVER (PARTITION BY loan_id ORDER BY number) AS grp
              FROM inst WHERE missed) m
        GROUP BY loan_id, grp
    ) r GROUP BY loan_id
),
slow_agg AS (
    SELECT inst.loan_id,
           coalesce(%(d)s - min(due_date) FILTER (WHERE due_date < %(d)s AND unsettled), 0) AS dpd,
           count(*) FILTER (WHERE evaluated AND unsettled) AS overdue_installments,
           count(*) FILTER (WHERE missed) AS cumulative_missed,
           coalesce(max(runs.max_run), 0) AS max_consecutive,
           coalesce(sum(up) FILTER (WHERE due_date < %(d)s), 0) AS overdue_principal,
           coalesce(sum(ui) FILTER (WHERE due_date < %(d)s), 0) AS overdue_interest,
           coalesce(sum(uf) FILTER (WHERE due_date < %(d)s), 0) AS overdue_fees,
           sum(up) AS outstanding_principal,
           sum(paid) AS allocated
    FROM inst LEFT JOIN runs ON runs.loan_id = inst.loan_id
    GROUP BY inst.loan_id
),
agg AS (
    SELECT * FROM fast_agg UNION ALL SELECT * FROM slow_agg
),
late AS MATERIALIZED (
    SELECT id FROM ln WHERE NOT fast OR late_money
),
pay AS (
    SELECT p.loan_id, sum(p.amount) AS received
    FROM late JOIN loans_payment p ON p.loan_id = late.id
    WHERE p.value_date <= %(d)s AND p.reversed_at IS NULL
    GROUP BY p.loan_id
),
prev AS (
    SELECT ln.id AS loan_id,
           coalesce(s.as_of, st.as_of) AS as_of,
           coalesce(s.days_past_due, st.days_past_due) AS dpd,
           coalesce(s.classification, st.classification) AS classification,
           coalesce(s.npl_hold, st.npl_hold) AS npl_hold,
           CASE WHEN s.loan_id IS NOT NULL THEN s.dpd_zero_since ELSE st.dpd_zero_since END AS dpd_zero_since
    FROM ln
    LEFT JOIN loans_delinquencysnapshot s
           ON s.loan_id = ln.id AND s.as_of = %(d)s - 1 AND s.loan_id >= %(lo)s AND s.loan_id < %(hi)s
    LEFT JOIN loans_loandelinquency st
           ON st.loan_id = ln.id AND st.as_of <= %(d)s AND st.loan_id >= %(lo)s AND st.loan_id < %(hi)s
),
cure AS (
    SELECT * FROM unnest(%(cure_ids)s::bigint[], %(cure_dates)s::date[]) AS c(loan_id, cure_on)
),
downgrade AS (
    SELECT o.loan_id, max(loanops_class_rank(o.classification)) AS class_rank
    FROM loans_classificationoverride o JOIN ln ON ln.id = o.loan_id
    WHERE o.kind = 'downgrade' AND o.effective_from <= %(d)s AND (o.cleared_on IS NULL OR o.cleared_on > %(d)s)
    GROUP BY o.loan_id
),
release AS (
    SELECT DISTINCT o.loan_id
    FROM loans_classificationoverride o JOIN ln ON ln.id = o.loan_id
    WHERE o.kind = 'reclassification' AND o.effective_from <= %(d)s
      AND (o.cleared_on IS NULL OR o.cleared_on >= %(d)s)
),
base AS (
    SELECT ln.*, agg.*,
           CASE WHEN ln.fast AND NOT ln.late_money THEN ln.received_total ELSE coalesce(pay.received, 0) END
               - agg.allocated AS suspense,
           CASE WHEN agg.dpd > 360 THEN 4 WHEN agg.dpd > 270 THEN 3 WHEN agg.dpd > 90 THEN 2
                WHEN agg.dpd >= 1 THEN 1 ELSE 0 END AS floor_rank,
           prev.as_of AS prev_as_of, prev.dpd AS prev_dpd, prev.classification AS prev_class,
           prev.npl_hold AS prev_hold, prev.dpd_zero_since AS prev_zero_since,
           cure.cure_on, downgrade.class_rank AS downgrade_rank, release.loan_id IS NOT NULL AS released
    FROM ln
    JOIN agg ON agg.loan_id = ln.id
    LEFT JOIN pay ON pay.loan_id = ln.id
    LEFT JOIN prev ON prev.loan_id = ln.id
    LEFT JOIN cure ON cure.loan_id = ln.id
    LEFT JOIN downgrade ON downgrade.loan_id = ln.id
    LEFT JOIN release ON release.loan_id = ln.id
),
ranked AS (
    SELECT base.*,
           greatest(
               floor_rank,
               coalesce(downgrade_rank, 0),
               CASE WHEN prev_hold AND NOT released THEN loanops_class_rank(prev_class) ELSE 0 END,
               CASE WHEN cure_on IS NOT NULL AND %(d)s < cure_on + make_interval(months => %(cure_months)s) THEN 1 ELSE 0 END
           ) AS class_rank
    FROM base
)
SELECT id AS loan_id, branch_id, product_id, dealer_id, officer_id, parameter_set_id, ledger_version,
       %(d)s::date AS as_of,
       dpd::int AS days_past_due,
       overdue_installments::int AS overdue_installments,
       cumulative_missed::int AS cumulative_missed_installments,
       max_consecutive::int AS max_consecutive_missed,
       overdue_principal, overdue_interest, overdue_fees,
       overdue_principal + overdue_interest + overdue_fees AS overdue_amount,
       outstanding_principal,
       suspense AS suspense_balance,
       CASE WHEN dpd = 0 THEN 'current' WHEN dpd <= 30 THEN '1-30' WHEN dpd <= 60 THEN '31-60'
            WHEN dpd <= 90 THEN '61-90' WHEN dpd <= 180 THEN '91-180' WHEN dpd <= 270 THEN '181-270'
            WHEN dpd <= 360 THEN '271-360' ELSE '361+' END AS bucket,
       loanops_class_name(floor_rank) AS classification_floor,
       loanops_class_name(class_rank) AS classification,
       CASE WHEN dpd > 90 THEN 3 WHEN dpd > 30 THEN 2 ELSE 1 END::smallint AS ifrs9_stage,
       class_rank >= 2 AS is_npl,
       (overdue_installments >= consecutive_trigger OR cumulative_missed >= cumulative_trigger) AS rule_3_6,
       CASE WHEN dpd > 0 THEN NULL
            WHEN prev_dpd = 0 AND prev_zero_since IS NOT NULL THEN prev_zero_since
            ELSE %(d)s END AS dpd_zero_since,
       class_rank >= 2 AS npl_hold,
       cure_on AS guarantor_cure_on,
       released AND prev_hold AS consumed_release
FROM ranked
"""

_FIELDS = (
    "days_past_due", "overdue_installments", "cumulative_missed_installments", "max_consecutive_missed",
    "overdue_principal", "overdue_interest", "overdue_fees", "overdue_amount", "outstanding_principal",
    "suspense_balance", "bucket", "classification_floor", "classification", "ifrs9_stage", "is_npl", "rule_3_6",
    "parameter_set_id", "dpd_zero_since", "npl_hold", "guarantor_cure_on", "ledger_version",
)  # fmt: skip


def _upsert_sql(table: str, key: str, extra: tuple[str, ...], guard: str, *, stamp: bool) -> str:
    columns = ("loan_id", "as_of", *_FIELDS, *extra)
    changed = " OR ".join(f"t.{c} IS DISTINCT FROM excluded.{c}" for c in ("as_of", *_FIELDS, *extra))
    return f"""
        INSERT INTO {table} AS t ({", ".join(columns)}{", updated_at" if stamp else ""})
        SELECT {", ".join(columns)}{", now()" if stamp else ""} FROM sweep_result
        ON CONFLICT ({key}) DO UPDATE SET
            {", ".join(f"{c} = excluded.{c}" for c in columns if c != "loan_id")}{", updated_at = now()" if stamp else ""}
        WHERE {guard} ({changed})
    """


_SNAPSHOT_SQL = _upsert_sql(
    "loans_delinquencysnapshot", "loan_id, as_of", ("branch_id", "product_id", "dealer_id", "officer_id"), "",
    stamp=False,
)  # fmt: skip
_STATE_SQL = _upsert_sql("loans_loandelinquency", "loan_id", (), "excluded.as_of >= t.as_of AND", stamp=True)
_CONSUME_SQL = """
    UPDATE loans_classificationoverride o SET cleared_on = %(d)s
    FROM sweep_result r
    WHERE r.loan_id = o.loan_id AND r.consumed_release AND o.kind = 'reclassification'
      AND o.cleared_on IS NULL AND o.effective_from <= %(d)s
"""


def _guarantor_cures(*, as_of: date, lo: int, hi: int) -> tuple[list[int], list[date]]:
    """Cure dates of the few loans a dealer or insurer paid in the last months (exact, by the engine)."""
    since = as_of - relativedelta(months=CURE_FLOOR_MONTHS)
    loan_ids = (
        Allocation.objects.filter(
            loan_id__gte=lo,
            loan_id__lt=hi,
            payer__in=GUARANTOR_PAYERS,
            effective_date__gt=since,
            effective_date__lte=as_of,
        )
        .values_list("loan_id", flat=True)
        .distinct()
    )
    ids, dates = [], []
    for loan in Loan.objects.filter(id__in=list(loan_ids)):
        params = engine_params(parameter_set_for(product_id=loan.product_id, on=as_of))
        cure_on = engine.compute(loan_schedule(loan), loan_payments(loan), params, as_of).guarantor_cure_on
        if cure_on is not None:
            ids.append(loan.id)
            dates.append(cure_on)
    return ids, dates


def sweep_chunk(*, as_of: date, lo: int, hi: int) -> int:
    """Compute and store the state of loans with lo <= id < hi as of AS_OF. Runs inside the
    caller's transaction; returns the number of rows written (0 when nothing changed)."""
    cure_ids, cure_dates = _guarantor_cures(as_of=as_of, lo=lo, hi=hi)
    params = {"d": as_of, "lo": lo, "hi": hi, "cure_ids": cure_ids, "cure_dates": cure_dates,
              "cure_months": CURE_FLOOR_MONTHS}  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")  # compiling this query costs more than running it
        # A chunk is redone whole if its commit is lost in a crash (it is marked done in the same
        # transaction), so its commit need not wait for the disk.
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("DROP TABLE IF EXISTS sweep_result, sweep_ln")
        cursor.execute(_LOANS_SQL, params)
        cursor.execute("ANALYZE sweep_ln")
        cursor.execute(_COMPUTE_SQL, params)
        cursor.execute(_SNAPSHOT_SQL)
        changed = cursor.rowcount
        cursor.execute(_STATE_SQL)
        changed += cursor.rowcount
        cursor.execute(_CONSUME_SQL, params)
        cursor.execute("DROP TABLE sweep_result, sweep_ln")
    return changed


_SWEEP_INPUTS = ("loans_loan", "loans_installment", "loans_allocation", "loans_payment")
_SWEEP_TABLES = (*_SWEEP_INPUTS, "loans_loandelinquency", "loans_delinquencysnapshot")


def _analyze_if_stale() -> None:
    """Refresh planner statistics of the tables the sweep reads when a tenth of their rows changed
    since the last ANALYZE (a fresh load, a big import): without them PostgreSQL picks nested
    loops over "one-row" tables and the sweep goes quadratic.

    Inside an open transaction (a test, a demo seeded in one transaction) the statistics views do
    not count this transaction's own writes yet, so every table is analysed (cheap: ANALYZE samples)."""
    with connection.cursor() as cursor:
        if connection.in_atomic_block:
            for table in sorted(_SWEEP_TABLES):
                cursor.execute(f'ANALYZE "{table}"')
            return
        cursor.execute(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE relname = ANY(%s)
              AND (coalesce(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > 0.1 * n_live_tup + 50)
            """,
            [list(_SWEEP_INPUTS)],  # its own outputs are rewritten every night; autovacuum keeps up with them
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'ANALYZE "{table}"')


def sweep_ranges(*, chunk_size: int) -> list[tuple[int, int]]:
    bounds = Loan.objects.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return []
    return [(lo, lo + chunk_size) for lo in range(bounds["lo"], bounds["hi"] + 1, chunk_size)]


@dataclass(frozen=True)
class SweepSummary:
    as_of: date
    chunks: int
    rows_changed: int


def delinquency_sweep(
    *, as_of: date, chunk_size: int | None = None, on_chunk: Callable[[int], None] | None = None,
    helpers: Callable[[date], None] | None = None, threads: int = 1,
) -> SweepSummary:  # fmt: skip
    """Run the sweep for AS_OF once (advisory lock + job_run). HELPERS, if given, is called after
    the chunks exist to ask other workers to join in (they claim chunks with skip-locked); THREADS
    more connections of this process claim chunks too (the work is in PostgreSQL, so threads
    use every core)."""
    with job_run_guard(SWEEP_JOB, as_of) as run:
        _analyze_if_stale()
        ranges = sweep_ranges(chunk_size=chunk_size or settings.LOANOPS_SWEEP_CHUNK)
        chunks_prepare(run, ranges)
        if helpers:
            helpers(as_of)

        def process(lo: int, hi: int) -> int:
            return sweep_chunk(as_of=as_of, lo=lo, hi=hi)

        def work_in_thread() -> None:
            try:
                chunks_work(run, process, on_chunk=on_chunk)
            finally:
                connection.close()

        extra = [threading.Thread(target=work_in_thread) for _ in range(max(threads, 1) - 1)]
        for thread in extra:
            thread.start()
        chunks_work(run, process, on_chunk=on_chunk)
        for thread in extra:
            thread.join()
        chunks_finish(run, process)
    run.refresh_from_db()
    return SweepSummary(as_of=as_of, chunks=len(ranges), rows_changed=run.rows_changed)


def sweep_help(*, as_of: date) -> int:
    """A helper worker's share: claim and process chunks of the running sweep for AS_OF."""
    from loanops.core.jobs import job_run_active

    run = job_run_active(SWEEP_JOB, as_of)
    if run is None:
        return 0
    return chunks_work(run, lambda lo, hi: sweep_chunk(as_of=as_of, lo=lo, hi=hi))
