"""Celery entry points of the core: the nightly chain beat fires."""

from datetime import date

from celery import shared_task


@shared_task(acks_late=True)
def nightly_chain(as_of: str | None = None) -> None:
    from loanops.core.nightly import run_nightly
    from loanops.core.time import yesterday

    run_nightly(as_of=date.fromisoformat(as_of) if as_of else yesterday())


@shared_task
def ping(value: int) -> int:
    """Round-trip check used by the worker smoke test and /readyz tooling."""
    from loanops.core.models import JobRun

    JobRun.objects.update_or_create(
        job=f"ping:{value}", business_date=date(2000, 1, 1), defaults={"status": JobRun.Status.DONE}
    )
    return value
