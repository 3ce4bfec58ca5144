"""Running a nightly job once per business date: advisory lock + `job_run` row, and
chunked work that several workers share.

    with job_run_guard("loans.sweep", as_of) as run:
        chunks_prepare(run, ranges)
        chunks_work(run, process)          # this process claims chunks until none is left
        chunks_finish(run, process)        # waits for chunks other workers hold; redoes any left behind

A second copy of the job started while the first runs gets `JobAlreadyRunning`. A run that
crashed leaves its chunks; the next attempt does only those not done. A run started again
after it finished starts afresh (each step is idempotent, so it changes nothing).
"""

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from loanops.core.exceptions import Conflict
from loanops.core.locks import advisory_lock
from loanops.core.models import JobChunk, JobRun


class JobAlreadyRunning(Conflict):
    pass


@contextmanager
def job_run_guard(job: str, business_date: date) -> Iterator[JobRun]:
    with advisory_lock(f"job:{job}:{business_date.isoformat()}") as acquired:
        if not acquired:
            raise JobAlreadyRunning(f"{job} for {business_date} is already running.")
        run, _ = JobRun.objects.get_or_create(job=job, business_date=business_date)
        if run.status == JobRun.Status.DONE:
            JobChunk.objects.filter(run=run).delete()
            JobRun.objects.filter(id=run.id).update(rows_changed=0)
        JobRun.objects.filter(id=run.id).update(
            status=JobRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            finished_at=None,
            error="",
        )
        run.refresh_from_db()
        try:
            yield run
        except BaseException as exc:
            JobRun.objects.filter(id=run.id).update(status=JobRun.Status.FAILED, error=repr(exc)[:2000])
            raise
        changed = JobChunk.objects.filter(run=run).aggregate(n=Sum("rows_changed"))["n"]
        JobRun.objects.filter(id=run.id).update(
            status=JobRun.Status.DONE,
            finished_at=timezone.now(),
            **({"rows_changed": changed} if changed is not None else {}),
        )
        run.refresh_from_db()


def chunks_prepare(run: JobRun, ranges: list[tuple[int, int]]) -> None:
    JobChunk.objects.bulk_create([JobChunk(run=run, lo=lo, hi=hi) for lo, hi in ranges], ignore_conflicts=True)


ChunkFunc = Callable[[int, int], int]


def _process(chunk: JobChunk, func: ChunkFunc) -> int:
    changed = func(chunk.lo, chunk.hi)
    JobChunk.objects.filter(id=chunk.id).update(
        done=True, done_at=timezone.now(), rows_changed=changed, worker=f"{socket.gethostname()}:{os.getpid()}"
    )
    return changed


def chunks_work(run: JobRun, func: ChunkFunc, *, on_chunk: Callable[[int], None] | None = None) -> int:
    """Claim pending chunks one at a time (skip-locked) and process each in its own transaction."""
    total = 0
    while True:
        with transaction.atomic():
            chunk = (
                JobChunk.objects.select_for_update(skip_locked=True).filter(run=run, done=False).order_by("lo").first()
            )
            if chunk is None:
                return total
            changed = _process(chunk, func)
        total += changed
        if on_chunk:
            on_chunk(changed)


def chunks_finish(run: JobRun, func: ChunkFunc) -> int:
    """Wait for chunks held by other workers; process any that a dead worker left pending."""
    total = 0
    for chunk_id in JobChunk.objects.filter(run=run, done=False).values_list("id", flat=True):
        with transaction.atomic():
            chunk = JobChunk.objects.select_for_update().get(id=chunk_id)  # blocks while another worker holds it
            if not chunk.done:
                total += _process(chunk, func)
    return total


def job_run_active(job: str, business_date: date) -> JobRun | None:
    return JobRun.objects.filter(job=job, business_date=business_date, status=JobRun.Status.RUNNING).first()
