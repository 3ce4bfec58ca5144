"""The nightly aggregates behind the dashboards, set-based: a few INSERT … SELECT … GROUP BY over
the day's delinquency snapshots (and the loans, for vintages), never one query per loan.

For a date D the step computes every row into temporary tables, then deletes the stored rows of
D that differ and inserts the missing ones: running it twice for a date changes nothing the
second time (it returns 0), and a re-run after a back-dated payment replaces exactly what moved.

* portfolio: snapshots of D per (branch, officer, product, dealer, class, bucket, 3/6), plus the
  written-off loans (written off on or before D) with the money received on them since;
* roll rates: each loan's bucket at the previous month's reference date (the latest snapshot
  date before D's month) against its bucket at D ("exit" when it has no snapshot at D);
* vintages: loans disbursed in the 24 months up to D's month, per disbursement month, with the
  outstanding principal more than 30/60/90 days past due at D.
"""

from datetime import date

from django.db import connection, transaction

from loanops.dashboards.models import EXIT_BUCKET, AggregateDay

JOB = "dashboards.aggregates"
VINTAGE_MONTHS = 24
_DIMS = ("branch_id", "officer_id", "product_id", "dealer_id")
_NULLABLE = {"officer_id", "dealer_id"}

_PORTFOLIO_SQL = """
CREATE TEMP TABLE dash_portfolio ON COMMIT DROP AS
WITH wo AS MATERIALIZED (
    SELECT l.id, l.branch_id, l.officer_id, l.product_id, l.dealer_id, l.closed_on
    FROM loans_loan l
    WHERE l.status = 'written_off' AND (l.closed_on IS NULL OR l.closed_on <= %(d)s)
      AND l.disbursement_date <= %(d)s
)
SELECT s.branch_id, s.officer_id, s.product_id, s.dealer_id, s.classification, s.bucket, s.rule_3_6,
       false AS written_off, count(*)::int AS loans,
       sum(s.outstanding_principal) AS outstanding_principal, sum(s.overdue_principal) AS overdue_principal,
       sum(s.overdue_amount) AS overdue_amount, 0::numeric(18, 2) AS recovered_amount
FROM loans_delinquencysnapshot s
WHERE s.as_of = %(d)s AND NOT EXISTS (SELECT 1 FROM wo WHERE wo.id = s.loan_id)
GROUP BY 1, 2, 3, 4, 5, 6, 7
UNION ALL
SELECT wo.branch_id, wo.officer_id, wo.product_id, wo.dealer_id, coalesce(st.classification, 'loss'),
       coalesce(st.bucket, '361+'), coalesce(st.rule_3_6, false), true, count(*)::int,
       coalesce(sum(st.outstanding_principal), 0), coalesce(sum(st.overdue_principal), 0),
       coalesce(sum(st.overdue_amount), 0), coalesce(sum(rec.amount), 0)
FROM wo
LEFT JOIN loans_loandelinquency st ON st.loan_id = wo.id
LEFT JOIN LATERAL (
    SELECT sum(p.amount) AS amount FROM loans_payment p
    WHERE p.loan_id = wo.id AND p.reversed_at IS NULL AND p.value_date <= %(d)s
      AND p.value_date > coalesce(wo.closed_on, '-infinity'::date)
) rec ON true
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_ROLL_SQL = """
CREATE TEMP TABLE dash_roll ON COMMIT DROP AS
SELECT p.branch_id, p.officer_id, p.product_id, p.dealer_id, %(f)s::date AS from_as_of,
       p.bucket AS from_bucket, coalesce(c.bucket, %(exit)s) AS to_bucket, count(*)::int AS loans,
       sum(p.outstanding_principal) AS principal_from, coalesce(sum(c.outstanding_principal), 0) AS principal_to
FROM loans_delinquencysnapshot p
LEFT JOIN loans_delinquencysnapshot c ON c.loan_id = p.loan_id AND c.as_of = %(d)s
WHERE p.as_of = %(f)s AND p.outstanding_principal > 0
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""

_VINTAGE_SQL = """
CREATE TEMP TABLE dash_vintage ON COMMIT DROP AS
SELECT l.branch_id, l.officer_id, l.product_id, l.dealer_id,
       date_trunc('month', l.disbursement_date)::date AS cohort,
       ((extract(year FROM %(d)s::date) - extract(year FROM l.disbursement_date)) * 12
        + extract(month FROM %(d)s::date) - extract(month FROM l.disbursement_date))::smallint AS months_on_book,
       count(*)::int AS loans, sum(l.principal) AS disbursed_principal,
       coalesce(sum(s.outstanding_principal), 0) AS outstanding_principal,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE s.days_past_due > 30), 0) AS principal_30,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE s.days_past_due > 60), 0) AS principal_60,
       coalesce(sum(s.outstanding_principal) FILTER (WHERE s.days_past_due > 90), 0) AS principal_90
FROM loans_loan l
LEFT JOIN loans_delinquencysnapshot s ON s.loan_id = l.id AND s.as_of = %(d)s
WHERE l.disbursement_date <= %(d)s
  AND l.disbursement_date >= (date_trunc('month', %(d)s::date) - make_interval(months => %(months)s))::date
GROUP BY 1, 2, 3, 4, 5, 6
"""

_TABLES = {
    "dashboards_portfolioaggregate": (
        "dash_portfolio",
        (*_DIMS, "classification", "bucket", "rule_3_6", "written_off", "loans", "outstanding_principal",
         "overdue_principal", "overdue_amount", "recovered_amount"),
    ),
    "dashboards_rollrateaggregate": (
        "dash_roll",
        (*_DIMS, "from_as_of", "from_bucket", "to_bucket", "loans", "principal_from", "principal_to"),
    ),
    "dashboards_vintageaggregate": (
        "dash_vintage",
        (*_DIMS, "cohort", "months_on_book", "loans", "disbursed_principal", "outstanding_principal",
         "principal_30", "principal_60", "principal_90"),
    ),
}  # fmt: skip

_READ_TABLES = ("loans_loan", "loans_delinquencysnapshot", "loans_loandelinquency", "loans_payment")


def _match(columns: tuple[str, ...]) -> str:
    return " AND ".join(
        f"coalesce(a.{c}, 0) = coalesce(t.{c}, 0)" if c in _NULLABLE else f"a.{c} = t.{c}" for c in columns
    )


def _sync(cursor, table: str, temp: str, columns: tuple[str, ...], as_of: date) -> int:
    """Make the stored rows of AS_OF equal the temporary table's; returns the rows deleted + inserted."""
    match = _match(columns)
    cursor.execute(
        f"DELETE FROM {table} a WHERE a.as_of = %s AND NOT EXISTS (SELECT 1 FROM {temp} t WHERE {match})",  # noqa: S608
        [as_of],
    )
    changed = cursor.rowcount
    names = ", ".join(columns)
    cursor.execute(
        f"""INSERT INTO {table} (as_of, {names})
            SELECT %s, {", ".join(f"t.{c}" for c in columns)} FROM {temp} t
            WHERE NOT EXISTS (SELECT 1 FROM {table} a WHERE a.as_of = %s AND {match})""",  # noqa: S608
        [as_of, as_of],
    )
    return changed + cursor.rowcount


def analyze_if_stale() -> None:
    """Fresh planner statistics for the tables read here after a big load (as the sweep does):
    without them PostgreSQL may pick nested loops over a million "one-row" snapshots."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT relname FROM pg_stat_user_tables
            WHERE relname = ANY(%s)
              AND (coalesce(last_analyze, last_autoanalyze) IS NULL OR n_mod_since_analyze > 0.1 * n_live_tup + 50)
            """,
            [list(_READ_TABLES)],
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'ANALYZE "{table}"')


def roll_reference_date(as_of: date) -> date | None:
    """The previous month's reference date: the latest snapshot date before AS_OF's month."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(as_of) FROM loans_delinquencysnapshot WHERE as_of < %s", [as_of.replace(day=1)])
        return cursor.fetchone()[0]


def aggregates_refresh(*, as_of: date) -> int:
    """Build the aggregates of AS_OF from its snapshots; returns the rows changed (0 on a re-run)."""
    analyze_if_stale()
    roll_from = roll_reference_date(as_of)
    params = {"d": as_of, "f": roll_from, "exit": EXIT_BUCKET, "months": VINTAGE_MONTHS}
    changed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # One run per date at a time (the nightly guard covers the chain; this covers backfills).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), %s)", [JOB, as_of.toordinal()])
        cursor.execute("SELECT count(*) FROM loans_delinquencysnapshot WHERE as_of = %s", [as_of])
        loans = cursor.fetchone()[0]
        for temp in ("dash_portfolio", "dash_roll", "dash_vintage"):
            cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(_PORTFOLIO_SQL, params)
        if roll_from is not None:
            cursor.execute(_ROLL_SQL, params)
        else:
            cursor.execute(
                "CREATE TEMP TABLE dash_roll ON COMMIT DROP AS SELECT * FROM dashboards_rollrateaggregate WHERE false"
            )
        cursor.execute(_VINTAGE_SQL, params)
        for table, (temp, columns) in _TABLES.items():
            changed += _sync(cursor, table, temp, columns, as_of)
        for temp in ("dash_portfolio", "dash_roll", "dash_vintage"):
            cursor.execute(f"DROP TABLE {temp}")
        day, created = AggregateDay.objects.get_or_create(
            as_of=as_of, defaults={"roll_from": roll_from, "loans": loans}
        )
        if created:
            changed += 1
        elif (day.roll_from, day.loans) != (roll_from, loans):
            AggregateDay.objects.filter(pk=day.pk).update(roll_from=roll_from, loans=loans)
            changed += 1
    return changed


def snapshot_dates(*, start: date, end: date) -> list[date]:
    """The dates from START to END that have snapshots (an index probe per day)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT d::date FROM generate_series(%s::date, %s::date, interval '1 day') d
            WHERE EXISTS (SELECT 1 FROM loans_delinquencysnapshot s WHERE s.as_of = d::date)
            ORDER BY 1
            """,
            [start, end],
        )
        return [row[0] for row in cursor.fetchall()]
