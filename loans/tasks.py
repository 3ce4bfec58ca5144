"""Celery entry points of the loans app (thin: load, call the service)."""

from datetime import date

from celery import shared_task
from django.conf import settings


@shared_task(acks_late=True)
def sweep_delinquency(as_of: str) -> int:
    from loans.services.sweep import delinquency_sweep

    return delinquency_sweep(as_of=date.fromisoformat(as_of), helpers=request_sweep_helpers).rows_changed


@shared_task(acks_late=True)
def sweep_help(as_of: str) -> int:
    """Join a running sweep: claim its pending chunks (skip-locked) until none is left."""
    from loans.services.sweep import sweep_help as help_

    return help_(as_of=date.fromisoformat(as_of))


def request_sweep_helpers(as_of: date) -> None:
    """Ask other workers to share the chunks (LOANOPS_SWEEP_HELPERS of them; 0 in tests)."""
    for _ in range(settings.LOANOPS_SWEEP_HELPERS):
        sweep_help.apply_async(args=[as_of.isoformat()], expires=3600)
