"""Payments posted per second through the API (single and bulk) against a running gunicorn,
beside the requests per second of /healthz on the same server.

/healthz and single posts are timed in alternating rounds, so that a machine whose speed drifts
during the run (a shared host) weighs on both alike; each rate is the requests of all its rounds
over their time."""

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8765"))
CLIENTS = 4
VALUE_DATE = "2026-10-31"
ROUNDS = 3


def _worker(job: tuple) -> int:
    kind, token, count, loans, seed = job
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    done = 0
    for i in range(count):
        if kind == "healthz":
            conn.request("GET", "/healthz")
        elif kind == "single":
            body = {"external_id": f"BS-{seed}-{i}", "loan_number": f"BENCH-{1 + (seed * 7919 + i * 104729) % loans:07d}",
                    "amount": "540.00", "value_date": VALUE_DATE}  # fmt: skip
            conn.request("POST", "/api/v1/payments", json.dumps(body), headers)
        else:
            items = [
                {"external_id": f"BB-{seed}-{i}-{k}", "amount": "540.00", "value_date": VALUE_DATE,
                 "loan_number": f"BENCH-{1 + (seed * 7919 + i * 1000 + k * 104729) % loans:07d}"}
                for k in range(1000)
            ]  # fmt: skip
            conn.request("POST", "/api/v1/payments/bulk", json.dumps({"payments": items}), headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 400:
            raise RuntimeError(f"{kind}: HTTP {response.status}")
        done += 1000 if kind == "bulk" else 1
    conn.close()
    return done


def _rate(kind: str, token: str, per_client: int, loans: int) -> float:
    seed = uuid.uuid4().int % 1_000_000
    jobs = [(kind, token, per_client, loans, seed + c) for c in range(CLIENTS)]
    started = time.perf_counter()
    with ProcessPoolExecutor(CLIENTS) as pool:
        total = sum(pool.map(_worker, jobs))
    return total / (time.perf_counter() - started)


def run(*, database_url: str, loans: int) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "loanops.settings.local",
           "DEBUG": "false", "THROTTLE_CLIENT": "100000000/hour"}  # fmt: skip
    out = subprocess.run([sys.executable, "manage.py", "create_api_client", "bench-client"], cwd=ROOT, env=env,
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    token = out.split()[-1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "loanops.wsgi:application", "--workers", "3", "--bind", f"127.0.0.1:{PORT}",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        _rate("healthz", token, 50, loans)  # warm up every worker
        _rate("single", token, 25, loans)  # and its payment path (its statements get prepared)
        healthz_rounds, single_rounds = [], []
        for _round in range(ROUNDS):
            healthz_rounds.append(_rate("healthz", token, 1500 // ROUNDS, loans))
            single_rounds.append(_rate("single", token, 400 // ROUNDS, loans))
        healthz = statistics.harmonic_mean(healthz_rounds)  # equal requests a round: all over all time
        single = statistics.harmonic_mean(single_rounds)
        bulk = _rate("bulk", token, 3, loans)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return {
        "healthz_per_s": f"{healthz:.0f}",
        "payments_per_s": f"{single:.0f}",
        "payments_ratio_to_healthz": f"{single / healthz:.2f}",
        "payments_bulk_per_s": f"{bulk:.0f}",
    }
