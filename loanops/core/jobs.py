"""Running a nightly job once per business date: advisory lock + `job_run` row.

    with job_run_guard("sweep", as_of) as run:
        ... do the work, chunk by chunk, calling run_chunk_done(run, chunk_start)

A second copy started while the first runs gets `JobAlreadyRunning`. A run that crashed
leaves its row in `running`/`failed` with the chunks it finished; the next attempt resumes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from django.contrib.postgres.fields import ArrayField
from django.db.models import BigIntegerField, F, Func, Value
from django.utils import timezone

from loanops.core.exceptions import Conflict
from loanops.core.locks import advisory_lock
from loanops.core.models import JobRun


class JobAlreadyRunning(Conflict):
    pass


@contextmanager
def job_run_guard(job: str, business_date: date, *, resume: bool = True) -> Iterator[JobRun]:
    with advisory_lock(f"job:{job}:{business_date.isoformat()}") as acquired:
        if not acquired:
            raise JobAlreadyRunning(f"{job} for {business_date} is already running.")
        run, _ = JobRun.objects.get_or_create(job=job, business_date=business_date)
        fresh = run.status == JobRun.Status.DONE or not resume
        JobRun.objects.filter(id=run.id).update(
            status=JobRun.Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=timezone.now(),
            finished_at=None,
            error="",
            **({"chunks_done": [], "rows_changed": 0} if fresh else {}),
        )
        run.refresh_from_db()
        try:
            yield run
        except BaseException as exc:
            JobRun.objects.filter(id=run.id).update(status=JobRun.Status.FAILED, error=repr(exc)[:2000])
            raise
        JobRun.objects.filter(id=run.id).update(status=JobRun.Status.DONE, finished_at=timezone.now())
        run.refresh_from_db()


def run_chunk_done(run: JobRun, chunk_start: int, changed: int) -> None:
    """Record a finished chunk (committed together with the chunk's own writes)."""
    JobRun.objects.filter(id=run.id).update(
        chunks_done=Func(
            F("chunks_done"), Value(chunk_start), function="array_append", output_field=ArrayField(BigIntegerField())
        ), rows_changed=F("rows_changed") + changed
    )
    run.chunks_done.append(chunk_start)
    run.rows_changed += changed
