"""Build the dashboard aggregates for every date with snapshots in a range (history, or after
a change of the aggregation): `manage.py dashboards_backfill --from 2025-01-01 --to 2025-12-31`."""

import time
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from loanops.core.time import business_date
from loanops.dashboards.services.aggregates import aggregates_refresh, snapshot_dates


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = "Build the dashboard aggregates for every snapshot date from --from to --to (inclusive)."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, help="first date, YYYY-MM-DD")
        parser.add_argument("--to", dest="end", default=None, help="last date, YYYY-MM-DD (default: today)")

    def handle(self, *args, start: str, end: str | None, **options):
        first, last = _date(start), _date(end) if end else business_date()
        if first > last:
            raise CommandError("--from must not be after --to")
        started = time.monotonic()
        total = 0
        dates = snapshot_dates(start=first, end=last)
        for as_of in dates:
            changed = aggregates_refresh(as_of=as_of)
            total += changed
            if options["verbosity"] >= 2:
                self.stdout.write(f"  {as_of}: {changed} rows changed")
        self.stdout.write(
            f"dashboards_backfill from={first} to={last} dates={len(dates)} rows_changed={total} "
            f"seconds={time.monotonic() - started:.2f}"
        )
