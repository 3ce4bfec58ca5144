"""`make bench`: build a synthetic portfolio in its own database and print figures as name=value.

BENCH_LOANS=100000 (default) | 1000000     BENCH_SKIP_API=1 to time only the sweep
BENCH_SKIP_DASHBOARDS=1 to skip the dashboard timings (10k and 1M loans, their own databases)
"""

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/loanops")
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", BASE_URL.rsplit("/", 1)[0] + "/loanops_bench")
AS_OF = date(2026, 10, 31)


def manage(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DATABASE_URL": BENCH_URL, "DJANGO_SETTINGS_MODULE": "loanops.settings.local",
                   "DEBUG": "false", **(env or {})}  # fmt: skip
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=environment, check=True,
                          capture_output=True, text=True)  # fmt: skip


def timed(*args: str) -> tuple[float, str, float]:
    """Run a management command; return (seconds, stdout, that process's peak RSS in MB)."""
    environment = {**os.environ, "DATABASE_URL": BENCH_URL, "DEBUG": "false"}
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
                               stdout=subprocess.PIPE, text=True)  # fmt: skip
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{args} failed: {out}")
    return elapsed, out, usage.ru_maxrss / 1024


def main() -> None:
    loans = int(os.environ.get("BENCH_LOANS", "100000"))
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loanops.settings.local")
    manage("createdb_if_missing")
    manage("migrate", "--noinput")
    import django

    django.setup()
    from bench import portfolio

    started = time.perf_counter()
    portfolio.build(loans=loans, as_of=AS_OF)
    print(f"loans={loans}")
    print(f"build_seconds={time.perf_counter() - started:.1f}", flush=True)

    # The sweep's own time (printed by the command), without the process start-up around it.
    _, out, peak_rss_mb = timed("sweep_delinquency", "--as-of", AS_OF.isoformat())
    sweep = float(out.split("seconds=")[-1])
    _, out, _ = timed("sweep_delinquency", "--as-of", AS_OF.isoformat())
    repeat = float(out.split("seconds=")[-1])
    floor = portfolio.floor_seconds(as_of=AS_OF)
    print(f"sweep_seconds={sweep:.2f}")
    print(f"sweep_floor_seconds={floor:.2f}")
    print(f"sweep_ratio={sweep / floor:.2f}")
    print(f"sweep_repeat_seconds={repeat:.2f}")
    print(f"sweep_repeat_ratio={repeat / sweep:.2f}")
    print(f"sweep_repeat_rows_changed={out.split('rows_changed=')[-1].split()[0]}")
    print(f"sweep_peak_rss_mb={peak_rss_mb:.0f}", flush=True)

    if os.environ.get("BENCH_SKIP_API") != "1":
        from bench import api_load

        portfolio.settle()
        for name, value in api_load.run(database_url=BENCH_URL, loans=loans).items():
            print(f"{name}={value}")

    if os.environ.get("BENCH_SKIP_DASHBOARDS") != "1":
        from bench import dashboards

        for name, value in dashboards.run().items():
            print(f"{name}={value}", flush=True)

    if os.environ.get("BENCH_SKIP_LETTERS") != "1":  # letters pipeline vs plain WeasyPrint
        from bench import letters

        for name, value in letters.run(database_url=BENCH_URL, as_of=AS_OF).items():
            print(f"{name}={value}", flush=True)


if __name__ == "__main__":
    main()
