"""Celery entry points of the collections app (thin: the work is in `services/letters.py`).

`render_*` tasks run on the `pdf` queue (CELERY_TASK_ROUTES). Delivery is at-least-once; every
task claims its rows with `SELECT … FOR UPDATE SKIP LOCKED`, so a duplicate finds nothing to do.
"""

from datetime import date

from celery import shared_task

RENDER_BUDGET_SECONDS = 60.0


@shared_task(acks_late=True)
def render_letters(batch_size: int | None = None) -> int:
    """Issue and render pending letters chunk by chunk; re-enqueues itself while work remains."""
    from loan_collections.services.letters import RENDER_CHUNK, letters_render_all

    handled, more = letters_render_all(batch_size=batch_size or RENDER_CHUNK, budget_seconds=RENDER_BUDGET_SECONDS)
    if more:
        render_letters.apply_async(kwargs={"batch_size": batch_size})
    return handled


@shared_task(acks_late=True)
def render_print_batch(batch_id: int) -> bool:
    from loan_collections.services.letters import print_batch_render

    return print_batch_render(batch_id=batch_id)


@shared_task(acks_late=True)
def render_print_batches_due(on_date: str | None = None) -> int:
    """The daily print batch of every branch (beat): that day's rendered letters in one PDF."""
    from loan_collections.services.letters import print_batches_create_due
    from loanops.core.time import business_date

    return print_batches_create_due(on_date=date.fromisoformat(on_date) if on_date else business_date())


@shared_task
def letters_sweep() -> dict:
    """Beat, every minute: re-enqueue pending letters and batches (Redis outage, killed worker)."""
    from loan_collections.services.letters import letters_sweep as sweep

    return sweep()
