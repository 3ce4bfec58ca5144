"""Tasks through real Celery workers and Redis (never eager): a round trip, and the sweep split
between two workers that claim its chunks."""

import os
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from loanops.core.models import JobChunk, JobRun

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[3]


def _wait(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def broker_url():
    url = settings.CELERY_BROKER_URL
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture
def start_worker(broker_url):
    processes = []
    db = connection.settings_dict

    def start(name: str, queues: str, **env) -> subprocess.Popen:
        environment = dict(os.environ)
        environment.update(
            DJANGO_SETTINGS_MODULE="loanops.settings.test",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            TEST_BROKER_URL=broker_url,
            **env,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "loanops", "worker", "-Q", queues, "-n", f"{name}@%h",
             "--concurrency", "1", "--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_task_runs_through_a_real_worker_and_redis(start_worker):
    from loanops.core.tasks import ping

    value = uuid.uuid4().int % 1_000_000
    start_worker("solo", "default")
    ping.apply_async(args=[value], queue="default")
    assert _wait(lambda: JobRun.objects.filter(job=f"ping:{value}").exists()), "the worker never ran the task"


def test_the_sweep_is_split_between_two_workers(start_worker, org, api):
    from loans.models import ParameterSet, Product
    from loans.tasks import sweep_delinquency
    from loans.tests.fixtures import loan_body

    # a transactional test starts from empty tables: put back the migration's reference data
    Product.objects.get_or_create(code="AUTO", defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(product=None, valid_from=date(1900, 1, 1))
    for i in range(40):
        body = loan_body("BR-A", borrower={"external_id": f"W-{i}", "name": f"Worker test {i}"})
        assert api.put(f"/api/v1/loans/W-{i}", body, format="json").status_code == 201
    env = {"LOANOPS_SWEEP_HELPERS": "1", "LOANOPS_SWEEP_CHUNK": "1"}
    start_worker("one", "nightly", **env)
    start_worker("two", "nightly", **env)
    sweep_delinquency.apply_async(args=["2024-03-01"], queue="nightly")
    assert _wait(
        lambda: JobRun.objects.filter(job="loans.sweep", business_date=date(2024, 3, 1), status="done").exists(), 120
    ), "the sweep never finished"
    chunks = JobChunk.objects.filter(run__job="loans.sweep")
    assert chunks.count() == chunks.filter(done=True).count() >= 40
    from loans.models import LoanDelinquency

    assert LoanDelinquency.objects.filter(as_of=date(2024, 3, 1)).count() == 40
    workers = set(chunks.values_list("worker", flat=True))
    assert len(workers) == 2, workers
