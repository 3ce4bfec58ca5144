from django.core.management.base import BaseCommand, CommandError

from loanops.core.exceptions import ApplicationError
from loanops.core.management.commands._dates import as_of_argument, as_of_option
from loanops.core.nightly import run_nightly


class Command(BaseCommand):
    help = "Run the whole nightly chain (arrears sweep, then every registered step) for a business date."

    def add_arguments(self, parser):
        as_of_argument(parser)

    def handle(self, *args, **options):
        as_of = as_of_option(options)
        try:
            results = run_nightly(
                as_of=as_of, progress=lambda name, n: self.stdout.write(f"  {name}: {n} rows changed")
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        total = sum(n for _, n in results)
        self.stdout.write(f"run_nightly as_of={as_of} steps={len(results)} rows_changed={total}")
