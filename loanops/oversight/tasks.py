"""Celery entry points of oversight (thin: call the service)."""

from celery import shared_task

RETRY_SECONDS = 30 * 60


@shared_task(bind=True, acks_late=True, max_retries=12)
def monthly_reports(self, month: str | None = None) -> None:
    """Beat, on the 1st: last month's reports. If the month-end sweep has not finished yet, try
    again later (a run after success changes nothing)."""
    from loanops.core.exceptions import ValidationFailed
    from loanops.core.jobs import JobAlreadyRunning
    from loanops.oversight.services.reports import monthly_reports_generate, monthly_reports_generate_due, parse_month

    try:
        if month:
            monthly_reports_generate(month=parse_month(month))
        else:
            monthly_reports_generate_due()
    except (ValidationFailed, JobAlreadyRunning) as exc:
        raise self.retry(exc=exc, countdown=RETRY_SECONDS) from exc
