"""A real pdf worker is killed in the middle of a chunk; a second worker, woken by the sweeper,
renders the rest: every letter is rendered exactly once, numbers stay gapless, one PDF each."""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from loan_collections.models import Letter
from loan_collections.services.letters import letters_sweep
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
LETTERS = 12


def _wait(predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def start_worker():
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    processes = []
    db = connection.settings_dict

    def start(name: str, app: str, **env) -> subprocess.Popen:
        environment = dict(os.environ)
        environment.update(
            DJANGO_SETTINGS_MODULE="loanops.settings.test",
            DATABASE_URL=f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            TEST_BROKER_URL=settings.CELERY_BROKER_URL,
            MEDIA_ROOT=str(settings.MEDIA_ROOT),
            **env,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", "pdf", "-n", f"{name}@%h",
             "--concurrency", "1", "--pool", "solo", "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_killed_worker_loses_and_doubles_no_letter(start_worker, org):
    from loan_collections.tasks import render_letters

    # given: LETTERS first notices in the outbox
    admin = UserFactory(username="root", role=Role.ADMIN)
    for i in range(LETTERS):
        loan = make_loan(f"K{i:02d}", admin=admin)
        pay(loan, admin, "950.00", date(2024, 2, 15))
    night(date(2024, 3, 1))
    assert Letter.objects.filter(state="pending").count() == LETTERS
    # (the nightly step enqueued a render after commit: drop it, this test sends its own, in small chunks)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()
    # when: a slow worker renders chunks of 4 and is killed (SIGKILL) in the middle of one
    slow = start_worker("slow", "loan_collections.tests.test_letters_slow_app", LOANOPS_SLOW_LETTERS="0.4")
    render_letters.apply_async(kwargs={"batch_size": 4}, queue="pdf")
    seen = []

    def progressed():
        seen.append((round(time.monotonic(), 2), Letter.objects.filter(state="rendered").count()))
        return seen[-1][1] >= 5

    assert _wait(progressed), "the first worker rendered nothing"
    slow.send_signal(signal.SIGKILL)
    slow.wait(timeout=20)
    rendered_before = Letter.objects.filter(state="rendered").count()
    assert 0 < rendered_before < LETTERS, [
        s for i, s in enumerate(seen) if i == 0 or s[1] != seen[i - 1][1]
    ]  # killed mid-batch: work was left
    # then: a second worker, woken by the sweeper (the first task's message stays unacked), finishes
    start_worker("second", "loanops")
    letters_sweep()
    assert _wait(lambda: Letter.objects.filter(state="rendered").count() == LETTERS), "letters were lost"
    letters = list(Letter.objects.order_by("number"))
    year = letters[0].issued_on.year
    assert [letter.number for letter in letters] == [f"BR-A-{year}-{n:06d}" for n in range(1, LETTERS + 1)]
    assert all(letter.attempts == 0 and letter.pdf.name for letter in letters)
    files = sorted(p.name for p in (Path(settings.MEDIA_ROOT) / "letters" / "BR-A" / str(year)).iterdir())
    assert files == [f"{letter.number}.pdf" for letter in letters]  # exactly one PDF per letter
    for letter in letters:
        assert letter.pdf.read().startswith(b"%PDF")
