import os
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from loanops.core.exceptions import ApplicationError
from loanops.core.management.commands._dates import as_of_argument, as_of_option
from loans.services.sweep import delinquency_sweep, sweep_ranges


class Command(BaseCommand):
    help = "Run the arrears sweep for a business date (the same code the nightly chain runs)."

    def add_arguments(self, parser):
        as_of_argument(parser)
        parser.add_argument("--chunk-size", type=int, default=None)
        parser.add_argument(
            "--threads", type=int, default=min(2, os.cpu_count() or 1), help="Connections claiming chunks at once."
        )

    def handle(self, *args, **options):
        as_of = as_of_option(options)
        chunk_size = options["chunk_size"] or settings.LOANOPS_SWEEP_CHUNK
        total = len(sweep_ranges(chunk_size=chunk_size))
        done = 0
        interactive = sys.stdout.isatty()
        lock = threading.Lock()

        def progress(changed: int) -> None:
            nonlocal done
            with lock:
                done += 1
                bar = "#" * (30 * done // max(total, 1))
                self.stdout.write(f"\r[{bar:<30}] {done}/{total} chunks", ending="" if interactive else "\n")

        started = time.perf_counter()
        try:
            summary = delinquency_sweep(
                as_of=as_of, chunk_size=chunk_size, on_chunk=progress, threads=options["threads"]
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if interactive:
            self.stdout.write("")
        self.stdout.write(
            f"sweep_delinquency as_of={summary.as_of} chunks={summary.chunks} rows_changed={summary.rows_changed} "
            f"seconds={time.perf_counter() - started:.2f}"
        )
