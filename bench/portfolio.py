"""A synthetic portfolio for the benchmarks: N loans × 24 monthly installments, realistic payments.

Loaded set-based (COPY for loans and borrowers, INSERT … SELECT generate_series for the rest) with
triggers off, because a load of millions of rows is not what the benchmark measures. The ledger is
written directly: every payment pays exactly the oldest unpaid installment in full, so its
allocation is that installment, effective on the later of the payment and due dates — which is
what the engine computes for such payments.

Behaviours (by loan id): 80 % pay on the due date; 8 % pay 1–40 days late; 5 % pay one behind;
4 % stopped paying some months ago; 3 % never paid. Loans paid in full are closed.
"""

import io
from datetime import date

from django.db import connection

INSTALLMENTS = 24


def build(*, loans: int, as_of: date) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "TRUNCATE loans_allocation, loans_payment, loans_installment, loans_delinquencysnapshot, "
            "loans_loandelinquency, loans_collateral, loans_loan_guarantors, loans_loan, loans_borrower, "
            "core_jobchunk, core_jobrun CASCADE"
        )
        cursor.execute("SELECT id FROM org_branch WHERE code = 'BENCH'")
        row = cursor.fetchone()
        if row is None:
            cursor.execute(
                "INSERT INTO org_branch (code, name, parent_id, path, depth, created_at, updated_at) "
                "VALUES ('BENCH', 'Bench', NULL, 'BENCH/', 0, now(), now()) RETURNING id"
            )
            row = cursor.fetchone()
        branch_id = row[0]
        cursor.execute("SELECT id FROM loans_product WHERE code = 'AUTO'")
        product_id = cursor.fetchone()[0]

        buffer = io.StringIO()
        for i in range(1, loans + 1):
            buffer.write(f"{i}\tBENCH-C-{i}\tBorrower {i}\t\t\t\t\tes\tnow\tnow\n")
        buffer.seek(0)
        cursor.copy_expert(
            "COPY loans_borrower (id, external_id, name, national_id, phone, email, address, language, created_at, updated_at) "
            "FROM STDIN",
            buffer,
        )
        buffer = io.StringIO()
        for i in range(1, loans + 1):
            # disbursed over the 24 months before as_of's month, staggered by day
            months_back = 1 + i % 24
            year, month = as_of.year, as_of.month - months_back
            while month <= 0:
                month += 12
                year -= 1
            day = 1 + i % 28
            buffer.write(
                f"{i}\tBENCH-{i:07d}\t{branch_id}\t{product_id}\tEUR\t12000.00\t0.065000\t{year}-{month:02d}-{day:02d}"
                f"\t24\tannuity\t{i}\tactive\t0\tnow\tnow\t0.00\t0\t0.00\tf\t1\n"
            )
        buffer.seek(0)
        cursor.copy_expert(
            "COPY loans_loan (id, number, branch_id, product_id, currency, principal, annual_rate, disbursement_date, "
            "term_months, amortization, borrower_id, status, ledger_version, created_at, updated_at, received_total, "
            "ledger_grace_days, ledger_tolerance, ledger_prepay, missed_run_from) FROM STDIN",
            buffer,
        )
        # pay_lag: days after the due date (NULL = not paid); behind: pays one installment late
        cursor.execute(
            """
            CREATE TEMP TABLE bench_paid AS
            SELECT (l.id - 1) * %(n)s + k AS installment_id, l.id AS loan_id, k AS number, s.due_date,
                   CASE
                     WHEN l.id %% 100 < 80 THEN s.due_date
                     WHEN l.id %% 100 < 88 THEN s.due_date + (1 + (l.id + k) %% 40)::int
                     WHEN l.id %% 100 < 93 THEN (s.due_date + make_interval(months => 1))::date
                     WHEN l.id %% 100 < 97 THEN CASE WHEN k <= 2 + l.id %% 10 THEN s.due_date END
                     ELSE NULL
                   END AS paid_on,
                   540.00 AS amount
            FROM loans_loan l CROSS JOIN generate_series(1, %(n)s) k
            CROSS JOIN LATERAL (SELECT (l.disbursement_date + make_interval(months => k))::date AS due_date) s
            """,
            {"n": INSTALLMENTS},
        )
        cursor.execute("UPDATE bench_paid SET paid_on = NULL WHERE paid_on > %s", [as_of])
        # Each loan's schedule written at once, in order, with its ledger summary (as posting does).
        cursor.execute(
            """
            INSERT INTO loans_installment (id, loan_id, number, due_date, principal, interest, fees,
                                           paid_principal, paid_interest, paid_fees, borrower_paid_by_deadline,
                                           missed_streak, paid_through)
            WITH flags AS (
                SELECT *, (paid_on IS NULL OR paid_on > due_date) AS missed FROM bench_paid
            ), islands AS (
                SELECT *, number - row_number() OVER (PARTITION BY loan_id, missed ORDER BY number) AS grp,
                       coalesce(max(number) FILTER (WHERE NOT missed) OVER (PARTITION BY loan_id), 0) + 1 AS run_from
                FROM flags
            )
            SELECT installment_id, loan_id, number, due_date, 500.00, 40.00, 0.00,
                   CASE WHEN paid_on IS NULL THEN 0.00 ELSE 500.00 END,
                   CASE WHEN paid_on IS NULL THEN 0.00 ELSE 40.00 END, 0.00,
                   CASE WHEN paid_on <= due_date THEN amount ELSE 0.00 END,
                   CASE WHEN number >= run_from THEN NULL  -- the last run's streaks: on the loan
                        WHEN missed THEN row_number() OVER (PARTITION BY loan_id, missed, grp ORDER BY number)
                        ELSE 0 END,
                   CASE WHEN paid_on IS NOT NULL THEN greatest(paid_on, due_date) END
            FROM islands
            ORDER BY loan_id, number
            """
        )
        cursor.execute("DELETE FROM bench_paid WHERE paid_on IS NULL")
        cursor.execute(
            """
            INSERT INTO loans_payment (id, external_id, loan_id, amount, value_date, payer, received_at,
                                       request_fingerprint, response, reversal_reason)
            SELECT installment_id, 'BENCH-P-' || installment_id, loan_id, amount, paid_on, 'borrower', now(),
                   '', '{}'::jsonb, ''
            FROM bench_paid ORDER BY loan_id, paid_on
            """
        )
        cursor.execute(
            """
            INSERT INTO loans_allocation (id, loan_id, payment_id, installment_id, effective_date, is_borrower, payer,
                                          fees, interest, principal)
            SELECT installment_id, loan_id, installment_id, installment_id, greatest(paid_on, due_date), true,
                   'borrower', 0.00, 40.00, 500.00
            FROM bench_paid ORDER BY loan_id, greatest(paid_on, due_date)
            """
        )
        cursor.execute(
            """
            -- Each loan pays a first part of its schedule (open_from: the installment after it).
            UPDATE loans_loan l SET received_total = s.total, last_value_date = s.last_paid, ledger_through = s.through,
                                    missed_run_from = s.run_from, open_from = s.paid + 1,
                                    status = CASE WHEN s.paid = %(n)s THEN 'closed' ELSE 'active' END,
                                    closed_on = CASE WHEN s.paid = %(n)s THEN s.through END
            FROM (SELECT loan_id, sum(amount) AS total, max(paid_on) AS last_paid,
                         max(greatest(paid_on, due_date)) AS through, count(*) AS paid,
                         coalesce(max(number) FILTER (WHERE paid_on <= due_date), 0) + 1 AS run_from
                  FROM bench_paid GROUP BY loan_id) s
            WHERE s.loan_id = l.id
            """,
            {"n": INSTALLMENTS},
        )
        for table in ("loans_borrower", "loans_loan", "loans_installment", "loans_payment", "loans_allocation"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cursor.execute("SET session_replication_role = DEFAULT")
        # A bank's tables hold each loan's rows together (a loan's schedule is written at once, and
        # payments update it in place) and are vacuumed: the rows above went in by loan; the loans'
        # summaries were updated after, so put those back in order; then vacuum.
        cursor.execute("CLUSTER loans_loan USING loans_loan_pkey")
        cursor.execute("VACUUM ANALYZE")


def floor_seconds(*, as_of: date) -> float:
    """The plain-SQL floor: one UPDATE … FROM (aggregate over the installments) computing days past
    due and overdue amounts, on a copy of the same data (paid amounts pre-joined, untimed)."""
    import time

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor_inst, bench_floor_loan")
        cursor.execute(
            """
            CREATE TABLE bench_floor_inst AS
            SELECT i.loan_id, i.due_date, i.principal + i.interest + i.fees AS total,
                   coalesce(a.paid, 0) AS paid
            FROM loans_installment i
            LEFT JOIN (SELECT installment_id, sum(principal + interest + fees) AS paid FROM loans_allocation
                       WHERE effective_date <= %s GROUP BY installment_id) a ON a.installment_id = i.id
            """,
            [as_of],
        )
        cursor.execute(
            "CREATE TABLE bench_floor_loan AS SELECT id, 0 AS dpd, 0.00::numeric(18,2) AS overdue FROM loans_loan"
        )
        cursor.execute("ALTER TABLE bench_floor_loan ADD PRIMARY KEY (id)")
        cursor.execute("ANALYZE bench_floor_inst; ANALYZE bench_floor_loan")
        started = time.perf_counter()
        cursor.execute(
            """
            UPDATE bench_floor_loan l SET dpd = a.dpd, overdue = a.overdue
            FROM (SELECT loan_id,
                         coalesce(%(d)s - min(due_date) FILTER (WHERE due_date < %(d)s AND paid < total), 0) AS dpd,
                         coalesce(sum(total - paid) FILTER (WHERE due_date < %(d)s), 0) AS overdue
                  FROM bench_floor_inst GROUP BY loan_id) a
            WHERE a.loan_id = l.id
            """,
            {"d": as_of},
        )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_floor_inst, bench_floor_loan")
    return elapsed


def settle() -> None:
    """Let the database catch up with the build and the sweeps before the API is timed, as it has
    by the time the day's payments arrive: vacuum the sweep's million fresh state and snapshot
    rows (else autovacuum does it during the API run) and write out the dirty pages (else the
    checkpointer does). And, as a server taking payments all day has them in memory, read the
    tables and indexes payments touch into the operating system's cache (pg_prewarm, where the
    server has it): else the figures measure what the build and the sweeps left there."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) loans_loandelinquency, loans_delinquencysnapshot")
        cursor.execute("SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'member') FROM pg_roles "
                       "WHERE rolname = current_user")  # fmt: skip
        superuser = cursor.fetchone()[0]
        if superuser:
            cursor.execute("CHECKPOINT")
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_prewarm'")
        if superuser and cursor.fetchone():
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            cursor.execute(
                """
                SELECT sum(pg_prewarm(c.oid, 'read'))
                FROM pg_class c
                WHERE c.oid IN (SELECT t.oid FROM pg_class t WHERE t.relname = ANY(%(tables)s)
                                UNION SELECT x.indexrelid FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid
                                      WHERE t.relname = ANY(%(tables)s))
                """,
                {"tables": ["loans_loan", "loans_installment", "loans_payment", "loans_allocation", "org_branch"]},
            )
