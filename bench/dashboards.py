"""Dashboard speed: the main dashboard's p95 with a 10,000-loan and a 1,000,000-loan portfolio.

Each size gets its own database (`<bench db>_dash_10k`, `_dash_1m`) and its own process: the
organisation (2 institutions × 5 branches, 40 officers, 3 products, 60 dealers), the loans and
13 month-end snapshot days are generated with set-based SQL (generate_series), then the real
nightly step `dashboards.aggregates` runs for each day, in date order (only the previous
month's snapshots are kept, which is all the step reads). Then the portfolio dashboard is
requested through the Django test client: 5 warm-up requests, then 50 with various filters.

    python -m bench.dashboards            # both sizes, prints name=value lines
    BENCH_DASH_SIZES=10000 python -m bench.dashboards
    DATABASE_URL=…_dash_1m python -m bench.dashboards --time-only 1000000   # re-time a built database
"""

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 10, 31)
MONTHS = 13
BRANCHES = 10
OFFICERS_PER_BRANCH = 4
PRODUCTS = ("AUTO", "AUTO-USED", "MOTO")
DEALERS = 60
REQUESTS = 50
WARM_UP = 5


def _month_end(year: int, month: int) -> date:
    from calendar import monthrange

    return date(year, month, monthrange(year, month)[1])


def _dates() -> list[date]:
    result = []
    for back in range(MONTHS - 1, -1, -1):
        index = AS_OF.year * 12 + AS_OF.month - 1 - back
        result.append(_month_end(index // 12, index % 12 + 1))
    return result


# ------------------------------------------------------------------------------------- child side
def _setup_org(cursor) -> None:
    cursor.execute("SET session_replication_role = replica")
    cursor.execute(
        "TRUNCATE dashboards_portfolioaggregate, dashboards_rollrateaggregate, dashboards_vintageaggregate, "
        "dashboards_aggregateday, loans_allocation, loans_payment, loans_installment, loans_delinquencysnapshot, "
        "loans_loandelinquency, loans_loan, loans_borrower, core_jobchunk, core_jobrun CASCADE"
    )
    cursor.execute(
        "DELETE FROM org_user_branches WHERE user_id IN (SELECT id FROM org_user WHERE username LIKE 'dash-%')"
    )
    cursor.execute("DELETE FROM org_user WHERE username LIKE 'dash-%'")
    cursor.execute("DELETE FROM org_branch WHERE code LIKE 'DB-%'")
    cursor.execute(
        "INSERT INTO org_branch (code, name, parent_id, path, depth, created_at, updated_at) "
        "VALUES ('DB-HO', 'Bench HO', NULL, 'DB-HO/', 0, now(), now())"
    )
    for inst in (1, 2):
        cursor.execute(
            "INSERT INTO org_branch (code, name, parent_id, path, depth, created_at, updated_at) "
            "SELECT %s, %s, id, path || %s || '/', 1, now(), now() FROM org_branch WHERE code = 'DB-HO'",
            [f"DB-I{inst}", f"Institution {inst}", f"DB-I{inst}"],
        )
    cursor.execute(
        """
        INSERT INTO org_branch (code, name, parent_id, path, depth, created_at, updated_at)
        SELECT 'DB-B' || b, 'Branch ' || b, i.id, i.path || 'DB-B' || b || '/', 2, now(), now()
        FROM generate_series(0, %s - 1) b JOIN org_branch i ON i.code = 'DB-I' || (1 + b %% 2)
        """,
        [BRANCHES],
    )
    cursor.execute(
        """
        INSERT INTO org_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
                              date_joined, role, language, phone)
        SELECT '!', false, 'dash-officer-' || o, 'Officer', o::text, '', false, true, now(), 'credit_officer', '', ''
        FROM generate_series(0, %s - 1) o
        """,
        [BRANCHES * OFFICERS_PER_BRANCH],
    )
    cursor.execute(
        """
        INSERT INTO org_user_branches (user_id, branch_id)
        SELECT u.id, b.id FROM org_user u
        JOIN org_branch b ON b.code = 'DB-B' || (substring(u.username from 14)::int %% %s)
        WHERE u.username LIKE 'dash-officer-%%'
        """,
        [BRANCHES],
    )
    cursor.execute(
        "INSERT INTO org_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, "
        "date_joined, role, language, phone) VALUES ('!', false, 'dash-risk', 'Risk', '', '', false, true, now(), "
        "'risk', '', '')"
    )
    for code in PRODUCTS:
        cursor.execute(
            "INSERT INTO loans_product (code, name, is_active, created_at, updated_at) "
            "VALUES (%s, %s, true, now(), now()) ON CONFLICT (code) DO NOTHING",
            [code, code],
        )
    cursor.execute(
        """
        INSERT INTO loans_dealer (external_id, name, suspended_new_business, created_at, updated_at)
        SELECT 'DB-D' || d, 'Dealer ' || d, d %% 17 = 0, now(), now() FROM generate_series(0, %s - 1) d
        ON CONFLICT (external_id) DO NOTHING
        """,
        [DEALERS],
    )
    cursor.execute(
        "INSERT INTO loans_borrower (id, external_id, name, national_id, phone, email, address, language, "
        "created_at, updated_at) VALUES (1, 'DB-C-1', 'Bench borrower', '', '', '', '', 'es', now(), now())"
    )


def _build_loans(cursor, loans: int) -> None:
    # Lookup arrays: branch k, officer (branch k, slot s), product p, dealer (branch k, slot s).
    cursor.execute(
        """
        CREATE TEMP TABLE dash_dims AS
        SELECT (SELECT array_agg(id ORDER BY substring(code from 5)::int) FROM org_branch WHERE code LIKE 'DB-B%%') AS br,
               (SELECT array_agg(id ORDER BY substring(username from 14)::int) FROM org_user
                WHERE username LIKE 'dash-officer-%%') AS off,
               (SELECT array_agg(id ORDER BY code) FROM loans_product WHERE code = ANY(%s)) AS pr,
               (SELECT array_agg(id ORDER BY substring(external_id from 5)::int) FROM loans_dealer
                WHERE external_id LIKE 'DB-D%%') AS de
        """,
        [list(PRODUCTS)],
    )
    # Loan i: branch i % 10; officer one of its branch's 4; dealer one of its branch's 6 (none for
    # one loan in five); disbursed over the 36 months before AS_OF; 0.5 % written off.
    cursor.execute(
        """
        INSERT INTO loans_loan (id, number, branch_id, product_id, currency, principal, annual_rate,
                                disbursement_date, term_months, amortization, borrower_id, officer_id, dealer_id,
                                status, closed_on, ledger_version, created_at, updated_at, received_total,
                                ledger_grace_days, ledger_tolerance, missed_run_from)
        SELECT i, 'DB-' || lpad(i::text, 7, '0'), d.br[1 + i %% %(b)s], d.pr[1 + (i / 7) %% 3], 'EUR',
               (8000 + (i %% 9) * 1000)::numeric(18, 2), 0.065,
               (%(as_of)s::date - (1 + (i::bigint * 7919) %% 1080)::int)::date, 48, 'annuity', 1,
               d.off[1 + (i %% %(b)s) + %(b)s * ((i / %(b)s) %% %(o)s)],
               CASE WHEN i %% 5 = 0 THEN NULL ELSE d.de[1 + (i %% %(b)s) + %(b)s * ((i / %(b)s) %% 6)] END,
               CASE WHEN i %% 200 = 199 THEN 'written_off' ELSE 'active' END,
               CASE WHEN i %% 200 = 199 THEN %(as_of)s::date - (i %% 300) END,
               0, now(), now(), 0, 0, 0, 1
        FROM generate_series(1, %(n)s) i CROSS JOIN dash_dims d
        """,
        {"n": loans, "b": BRANCHES, "o": OFFICERS_PER_BRANCH, "as_of": AS_OF},
    )
    cursor.execute(
        """
        INSERT INTO loans_loandelinquency (loan_id, as_of, days_past_due, overdue_installments,
            cumulative_missed_installments, max_consecutive_missed, overdue_principal, overdue_interest, overdue_fees,
            overdue_amount, outstanding_principal, suspense_balance, bucket, classification_floor, classification,
            ifrs9_stage, is_npl, rule_3_6, npl_hold, ledger_version, updated_at)
        SELECT id, closed_on, 400, 12, 12, 12, principal / 2, 0, 0, principal / 2, principal / 2, 0, '361+', 'loss',
               'loss', 3, true, true, true, 0, now()
        FROM loans_loan WHERE status = 'written_off'
        """
    )
    cursor.execute("SELECT setval(pg_get_serial_sequence('loans_loan', 'id'), %s)", [loans])
    cursor.execute("SET session_replication_role = DEFAULT")
    cursor.execute("ANALYZE loans_loan")


_SNAPSHOT_SQL = """
INSERT INTO loans_delinquencysnapshot (loan_id, as_of, days_past_due, overdue_installments,
    cumulative_missed_installments, max_consecutive_missed, overdue_principal, overdue_interest, overdue_fees,
    overdue_amount, outstanding_principal, suspense_balance, bucket, classification_floor, classification, ifrs9_stage,
    is_npl, rule_3_6, npl_hold, ledger_version, branch_id, product_id, dealer_id, officer_id)
SELECT id, %(d)s, dpd, (dpd + 29) / 30, (dpd + 29) / 30, (dpd + 29) / 30, over, 0, 0, over, outst, 0,
       CASE WHEN dpd = 0 THEN 'current' WHEN dpd <= 30 THEN '1-30' WHEN dpd <= 60 THEN '31-60'
            WHEN dpd <= 90 THEN '61-90' WHEN dpd <= 180 THEN '91-180' WHEN dpd <= 270 THEN '181-270'
            WHEN dpd <= 360 THEN '271-360' ELSE '361+' END,
       cls, cls, CASE WHEN dpd > 90 THEN 3 WHEN dpd > 30 THEN 2 ELSE 1 END, dpd > 90, (dpd + 29) / 30 >= 3, false, 0,
       branch_id, product_id, dealer_id, officer_id
FROM (
    SELECT x.*, CASE WHEN dpd = 0 THEN 'normal' WHEN dpd <= 90 THEN 'special_mention' WHEN dpd <= 270
                     THEN 'substandard' WHEN dpd <= 360 THEN 'doubtful' ELSE 'loss' END AS cls,
           least(x.outst, (((dpd + 29) / 30) * 250)::numeric(18, 2)) AS over
    FROM (
        SELECT l.id, l.branch_id, l.product_id, l.dealer_id, l.officer_id,
               greatest(l.principal * (48 - least(47, (%(d)s::date - l.disbursement_date) / 30)) / 48, 1)::numeric(18, 2)
                   AS outst,
               CASE
                 WHEN l.id %% 100 < 82 THEN 0
                 WHEN l.id %% 100 < 90 THEN (l.id + %(m)s * 13) %% 41
                 WHEN l.id %% 100 < 96 THEN greatest(0, (%(m)s - l.id %% 13) * 30 + l.id %% 29)
                 ELSE greatest(0, (%(d)s::date - l.disbursement_date) - 30)
               END AS dpd
        FROM loans_loan l
        WHERE l.disbursement_date <= %(d)s AND (l.closed_on IS NULL OR l.closed_on >= %(d)s)
    ) x
) y
"""


def _time_dashboard(loans: int) -> dict:
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from loanops.org.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username="dash-risk"))
    url = reverse("dashboards:portfolio")
    filters = [
        {}, {"institution": "DB-I1"}, {"branch": "DB-B3"}, {"product": "AUTO"}, {"dealer": "DB-D7"},
        {"officer": "dash-officer-5"}, {"institution": "DB-I2", "product": "MOTO"}, {"branch": "DB-B4", "dealer": "DB-D14"},
        {"officer": "dash-officer-12", "product": "AUTO-USED"}, {"institution": "DB-I1", "branch": "DB-B2"},
    ]  # fmt: skip
    for params in filters[:WARM_UP]:
        assert client.get(url, params).status_code == 200
    times = []
    for k in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url, filters[k % len(filters)])
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or b'data-testid="kpi-npl"' not in response.content:
            raise RuntimeError(f"dashboard: HTTP {response.status_code}")
    times.sort()
    return {"p95_ms": times[int(0.95 * len(times)) - 1], "p50_ms": times[len(times) // 2]}


def child(loans: int) -> dict:
    import django

    django.setup()
    from django.db import connection

    from loanops.dashboards.models import PortfolioAggregate
    from loanops.dashboards.nightly import aggregates_step

    started = time.perf_counter()
    with connection.cursor() as cursor:
        _setup_org(cursor)
        _build_loans(cursor, loans)
    build = time.perf_counter() - started
    step_seconds = []
    dates = _dates()
    for m, as_of in enumerate(dates):
        with connection.cursor() as cursor:
            # generated rows are consistent by construction: no per-row foreign-key checks (as portfolio.py)
            cursor.execute("SET session_replication_role = replica")
            cursor.execute(_SNAPSHOT_SQL, {"d": as_of, "m": m})
            if m >= 2:  # the step reads D and the previous month only
                cursor.execute("DELETE FROM loans_delinquencysnapshot WHERE as_of = %s", [dates[m - 2]])
            cursor.execute("SET session_replication_role = DEFAULT")
        began = time.perf_counter()
        aggregates_step(as_of=as_of)
        step_seconds.append(time.perf_counter() - began)
        print(
            f"{as_of} snapshots+step {time.perf_counter() - started:.1f}s step {step_seconds[-1]:.2f}s",
            file=sys.stderr,
            flush=True,
        )
    rows = PortfolioAggregate.objects.filter(as_of=AS_OF).count()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE dashboards_portfolioaggregate")
        cursor.execute("VACUUM ANALYZE dashboards_rollrateaggregate")
        cursor.execute("VACUUM ANALYZE dashboards_vintageaggregate")
    timing = _time_dashboard(loans)
    return {
        "build_seconds": round(time.perf_counter() - started, 1),
        "load_seconds": round(build, 1),
        "step_seconds_max": round(max(step_seconds), 2),
        "aggregate_rows_per_day": rows,
        **{k: round(v, 1) for k, v in timing.items()},
    }


# ------------------------------------------------------------------------------------ parent side
def _database_url(suffix: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loanops")
    bench = os.environ.get("BENCH_DATABASE_URL", base.rsplit("/", 1)[0] + "/loanops_bench")
    return f"{bench}_dash_{suffix}"


def _run_size(loans: int, suffix: str) -> dict:
    env = {**os.environ, "DATABASE_URL": _database_url(suffix), "DEBUG": "false",
           "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "loanops.settings.local")}  # fmt: skip
    for args in (["createdb_if_missing"], ["migrate", "--noinput"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    process = subprocess.run([sys.executable, "-m", "bench.dashboards", "--child", str(loans)], cwd=ROOT, env=env,
                             capture_output=True, text=True)  # fmt: skip
    if process.returncode != 0:
        raise RuntimeError(f"dashboard bench ({loans} loans) failed:\n{process.stderr[-3000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def run() -> dict[str, str]:
    sizes = [int(s) for s in os.environ.get("BENCH_DASH_SIZES", "10000,1000000").split(",")]
    results: dict[str, str] = {}
    p95 = {}
    for loans in sizes:
        suffix = {10_000: "10k", 1_000_000: "1m"}.get(loans, str(loans))
        figures = _run_size(loans, suffix)
        p95[loans] = figures["p95_ms"]
        results[f"dashboard_p95_ms_{suffix}"] = f"{figures['p95_ms']:.1f}"
        results[f"dashboard_p50_ms_{suffix}"] = f"{figures['p50_ms']:.1f}"
        results[f"dashboard_build_seconds_{suffix}"] = f"{figures['build_seconds']:.1f}"
        results[f"dashboard_step_seconds_{suffix}"] = f"{figures['step_seconds_max']:.2f}"
        results[f"dashboard_aggregate_rows_{suffix}"] = str(figures["aggregate_rows_per_day"])
    if 10_000 in p95 and 1_000_000 in p95:
        results["dashboard_ratio"] = f"{p95[1_000_000] / p95[10_000]:.2f}"
    return results


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--time-only":  # re-time an already built database
        import django

        django.setup()
        print(json.dumps(_time_dashboard(int(sys.argv[2]))))
    else:
        for name, value in run().items():
            print(f"{name}={value}", flush=True)
