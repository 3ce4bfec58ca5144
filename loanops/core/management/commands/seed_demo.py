import argparse
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from loanops.core.demo import (
    DEMO_JOB,
    DEMO_LOANS,
    DEMO_MARKER_DATE,
    DEMO_SEED,
    LOAN_PREFIX,
    PAYMENT_PREFIX,
    build_demo,
    build_demo_after_nightly,
    demo_loan_number,
)
from loanops.core.exceptions import ApplicationError
from loanops.core.jobs import JobAlreadyRunning, job_run_guard
from loanops.core.models import JobRun
from loanops.core.nightly import run_nightly
from loanops.core.time import business_date, yesterday
from loans.models import Loan, Payment


def _positive(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return value


HISTORY_WEEKS = 26  # weekly nights of history before last night


class Command(BaseCommand):
    help = (
        "Load the demo portfolio: branches, a user of every role, dealers, insurers and auto loans with their "
        "payments. Reproducible (same seed, same portfolio) and safe to run again; ends with the nightly run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--loans", type=_positive, default=DEMO_LOANS, help=f"Number of loans (default {DEMO_LOANS})."
        )
        parser.add_argument("--seed", type=int, default=DEMO_SEED, help=f"Random seed (default {DEMO_SEED}).")
        parser.add_argument("--once", action="store_true", help="Do nothing if the demo was already loaded.")

    def handle(self, *args, loans: int, seed: int, once: bool, verbosity: int, **options):
        marker = JobRun.objects.filter(job=DEMO_JOB, business_date=DEMO_MARKER_DATE).first()
        if once and self._already_loaded(marker):
            self.stdout.write("seed_demo: the demo data is already loaded; nothing to do.")
            return

        # The portfolio is built for a business date; running again later rebuilds the same one
        # (same loans, same payments), so nothing conflicts with what is already stored.
        as_of = business_date()
        if marker and marker.summary.get("as_of"):
            if marker.summary.get("seed") != seed:
                raise CommandError(
                    f"The demo data was loaded with --seed {marker.summary.get('seed')}; run with that seed, "
                    "or start from an empty database."
                )
            as_of = date.fromisoformat(marker.summary["as_of"])

        started = time.monotonic()
        say = (lambda message: self.stdout.write(f"  {message}")) if verbosity >= 2 else None
        try:
            with job_run_guard(DEMO_JOB, DEMO_MARKER_DATE) as run:
                summary = {
                    "seed": seed,
                    "as_of": as_of.isoformat(),
                    "loans": max(loans, marker.summary.get("loans", 0) if marker else 0),
                }
                JobRun.objects.filter(id=run.id).update(summary=summary)
                context = build_demo(loans=loans, seed=seed, today=as_of, progress=say)
                JobRun.objects.filter(id=run.id).update(
                    summary={**summary, **context.counts}, rows_changed=context.counts.get("loans", 0)
                )
        except JobAlreadyRunning as exc:
            raise CommandError("Another seed_demo is running; try again when it has finished.") from exc
        except ApplicationError as exc:
            raise CommandError(f"{exc.message} {exc.extra or ''}".strip()) from exc

        nightly_as_of = yesterday()
        try:
            # A weekly history for the last six months (charts, case stage histories), then last night.
            for weeks in range(HISTORY_WEEKS, 0, -1):
                run_nightly(as_of=nightly_as_of - timedelta(weeks=weeks))
            steps = run_nightly(as_of=nightly_as_of)
            nightly = f"nightly as_of={nightly_as_of} steps={len(steps)} (+{HISTORY_WEEKS} weekly nights)"
        except JobAlreadyRunning:
            nightly = f"nightly as_of={nightly_as_of} skipped (already running)"
        build_demo_after_nightly(context, progress=say)

        demo_loans = Loan.objects.filter(number__startswith=LOAN_PREFIX)
        closed = demo_loans.filter(status=Loan.Status.CLOSED).count()
        payments = Payment.objects.filter(external_id__startswith=PAYMENT_PREFIX)
        self.stdout.write(
            f"seed_demo: seed={seed} as_of={as_of} branches={len(context.branches)} "
            f"users={sum(len(u) for u in context.users.values())} loans={demo_loans.count()} "
            f"(active {demo_loans.filter(status=Loan.Status.ACTIVE).count()}, closed {closed}) "
            f"payments={payments.count()} (reversed {payments.filter(reversed_at__isnull=False).count()}) "
            f"{nightly} in {time.monotonic() - started:.1f}s"
        )

    @staticmethod
    def _already_loaded(marker: JobRun | None) -> bool:
        if marker is not None:
            return marker.status == JobRun.Status.DONE  # a run that crashed is resumed, not skipped
        return Loan.objects.filter(number=demo_loan_number(1)).exists()
