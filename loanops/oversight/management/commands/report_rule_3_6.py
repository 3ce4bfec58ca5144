from django.core.management.base import BaseCommand, CommandError

from loanops.core.exceptions import ApplicationError
from loanops.core.time import business_date
from loanops.oversight.services.reports import monthly_reports_generate, parse_month, previous_month


class Command(BaseCommand):
    help = (
        "Generate the monthly 3/6 reports, NPL ratios (with the restriction watch) and dealer overdue rates for a "
        "month from its month-end snapshot (the same code the beat runs on the 1st). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", help="YYYY-MM; default the previous month.")

    def handle(self, *args, month=None, **options):
        try:
            first = parse_month(month) if month else previous_month(business_date())
            summary = monthly_reports_generate(month=first)
        except ApplicationError as exc:
            details = " ".join(str(m) for messages in (exc.extra or {}).values() for m in messages)
            raise CommandError(f"{exc.message} {details}".strip()) from exc
        self.stdout.write(
            f"report_rule_3_6 month={summary.month:%Y-%m} reports_created={summary.reports_created} "
            f"lines_created={summary.lines_created} dealer_rates_created={summary.dealer_rates_created} "
            f"proposals={summary.proposals}"
        )
