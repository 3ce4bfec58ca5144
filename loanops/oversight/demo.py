"""Demo oversight: the last two months' 3/6 reports, NPL ratios and dealer rates, with the
institution of the highest ratio restricted (signed off by head-office risk) and any other
proposal left waiting for sign-off. Idempotent: reports are generated once, a signed proposal
is not signed again.

It runs after the demo's nightly history (which is weekly, so it sweeps the two month ends
itself: that adds their snapshot rows and never moves a loan's current state back)."""

import random

from loanops.core.demo import DemoContext, demo_step
from loanops.org.models import Role
from loanops.oversight.models import MonthlyReport, RestrictionProposal
from loanops.oversight.services.reports import month_end, monthly_reports_generate, previous_month
from loanops.oversight.services.watch import restriction_proposal_decide
from loans.services.sweep import delinquency_sweep

DEMO_MONTHS = 2


@demo_step(order=90, after_nightly=True)
def oversight_reports(*, rng: random.Random, context: DemoContext) -> None:
    months = [previous_month(context.today)]
    for _ in range(DEMO_MONTHS - 1):
        months.insert(0, previous_month(months[0]))
    for month in months:
        if MonthlyReport.objects.filter(month=month).exists():
            continue
        delinquency_sweep(as_of=month_end(month))  # the month-end snapshot (the nightly runs weekly)
        monthly_reports_generate(month=month)
    risk = next(iter(context.users_with(Role.RISK)), None)
    pending = RestrictionProposal.objects.filter(status=RestrictionProposal.Status.PENDING, kind="restrict")
    if risk is None or not pending.exists() or RestrictionProposal.objects.filter(status="approved").exists():
        context.counts["oversight_reports"] = MonthlyReport.objects.count()
        return
    worst = pending.select_related("report").order_by("-report__npl_ratio", "institution__path").first()
    restriction_proposal_decide(
        proposal_id=worst.id, approve=True, note="Demo: signed off by head-office risk.", acting_user=risk
    )
    context.counts["oversight_reports"] = MonthlyReport.objects.count()
