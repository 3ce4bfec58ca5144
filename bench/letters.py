"""Letters through the whole pipeline beside plain WeasyPrint on the same HTML, in the same run.

(b) pipeline: N pending letters on bench loans, rendered by ONE real Celery worker process
    (solo pool, queue pdf) through the real task code: claim (SKIP LOCKED) → number → snapshot →
    HTML → WeasyPrint → store → mark rendered. Timed from the enqueue to the last letter rendered
    (the worker is started and warmed up with a ping first; its start-up is not counted).
(a) plain: `HTML(string=…).write_pdf()` in this process on the very HTML of those letters (with
    the letter stylesheet inlined), one after another.

BENCH_LETTERS=300 (default). Prints letters_per_s, weasyprint_per_s, letters_ratio.
"""

import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
BROKER = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")
NOTE = "bench"


def _prepare(letters: int, as_of: date) -> None:
    """Open cases on the most overdue bench loans and put one pending letter on each."""
    from loan_collections.models import CollectionCase, Letter, LetterRecipient, LetterType, Stage
    from loans.models import LoanDelinquency

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM collections_letterevent WHERE pgh_obj_id IN (SELECT id FROM collections_letter WHERE note = %s)",
            [NOTE],
        )
        cursor.execute("DELETE FROM collections_letter WHERE note = %s", [NOTE])
    open_loans = CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).values("loan_id")
    loan_ids = list(
        LoanDelinquency.objects.filter(days_past_due__gte=1)
        .exclude(loan_id__in=open_loans)
        .order_by("-days_past_due", "loan_id")
        .values_list("loan_id", flat=True)[:letters]
    )
    CollectionCase.objects.bulk_create(
        [CollectionCase(loan_id=loan_id, stage=Stage.FIRST_LETTER, stage_since=as_of, opened_on=as_of)
         for loan_id in loan_ids],
        ignore_conflicts=True,
    )  # fmt: skip
    cases = list(
        CollectionCase.objects.filter(status=CollectionCase.Status.OPEN).select_related("loan").order_by("id")[:letters]
    )
    Letter.objects.bulk_create(
        [Letter(case=case, branch_id=case.loan.branch_id, stage=case.stage, letter_type=LetterType.FIRST_NOTICE,
                recipient=LetterRecipient.BORROWER, origin=Letter.Origin.AD_HOC, requested_on=as_of, note=NOTE)
         for case in cases]
    )  # fmt: skip


def _pending() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM collections_letter WHERE note = %s AND state = 'pending'", [NOTE])
        return cursor.fetchone()[0]


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def run(*, database_url: str | None = None, as_of: date = date(2026, 10, 31)) -> dict[str, str]:
    from loan_collections.models import Letter
    from loan_collections.services.letters import letter_html, letter_stylesheet_text
    from loan_collections.tasks import render_letters
    from loanops.celery import app
    from loanops.core.models import JobRun
    from loanops.core.tasks import ping

    letters = int(os.environ.get("BENCH_LETTERS", "300"))
    database_url = database_url or os.environ["DATABASE_URL"]
    app.conf.broker_url = BROKER
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    _prepare(letters, as_of)
    created = Letter.objects.filter(note=NOTE).count()

    media = tempfile.mkdtemp(prefix="bench-letters-")
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": BROKER, "MEDIA_ROOT": media,
           "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "loanops.settings.local"}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "loanops", "worker", "-Q", "pdf,default", "-n", "bench-letters@%h",
         "--concurrency", "1", "--pool", "solo", "--loglevel", "ERROR", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        marker = 900_000 + os.getpid() % 99_999
        JobRun.objects.filter(job=f"ping:{marker}").delete()
        ping.apply_async(args=[marker], queue="default")
        if not _wait(lambda: JobRun.objects.filter(job=f"ping:{marker}").exists(), 120):
            raise SystemExit("bench letters: the worker did not start")
        started = time.perf_counter()
        render_letters.apply_async(queue="pdf")
        if not _wait(lambda: _pending() == 0, 1800):
            raise SystemExit("bench letters: letters still pending after 30 minutes")
        pipeline = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    rendered = Letter.objects.filter(note=NOTE, state=Letter.State.RENDERED).count()

    # (a) plain WeasyPrint on the same HTML (stylesheet inlined), in this process
    from weasyprint import HTML

    css = letter_stylesheet_text()
    htmls = [
        letter_html(snapshot).replace("</head>", f"<style>{css}</style></head>", 1)
        for snapshot in Letter.objects.filter(note=NOTE).order_by("id").values_list("snapshot", flat=True)
    ]
    started = time.perf_counter()
    for html in htmls:
        HTML(string=html).write_pdf()
    plain = time.perf_counter() - started

    letters_per_s = rendered / pipeline
    weasyprint_per_s = len(htmls) / plain
    return {
        "letters": str(created),
        "letters_rendered": str(rendered),
        "letters_per_s": f"{letters_per_s:.1f}",
        "weasyprint_per_s": f"{weasyprint_per_s:.1f}",
        "letters_ratio": f"{letters_per_s / weasyprint_per_s:.2f}",
    }
