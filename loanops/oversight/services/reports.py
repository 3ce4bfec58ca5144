"""The monthly oversight run: for a calendar month, from the month-end delinquency snapshot,

* one report per institution (depth-1 unit of the branch tree) with the 3/6 totals and the NPL
  ratio, and a line for every loan meeting `rule_3_6` (domain-research.md §9.1);
* every dealer's overdue rate;

then the NPL watch of each institution (services/watch.py). Set-based (INSERT … SELECT),
idempotent (`ON CONFLICT DO NOTHING`: a month already generated is never touched again, and
its rows are immutable, migration 0002), and run once at a time (advisory lock + job_run).

Definitions (domain.md "Portfolio metrics", "Collections"):
* NPL ratio = outstanding principal of loans whose effective class is NPL / outstanding principal
  of every loan in the snapshot, written-off loans excluded.
* Dealer overdue rate = outstanding principal of the dealer's loans with days past due > 0 /
  outstanding principal of all the dealer's loans (its guaranteed portfolio); above the limit
  (default 1 %) the dealer is flagged for suspension of new business.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction
from django.utils.translation import gettext as _

from loanops.core.exceptions import ValidationFailed
from loanops.core.jobs import job_run_guard
from loanops.core.models import JobRun
from loanops.core.time import business_date
from loanops.oversight.models import DealerMonthRate, MonthlyReport, OversightParameters
from loans.models import Dealer

REPORT_JOB = "oversight.monthly"
SWEEP_JOB = "loans.sweep"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def month_end(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def previous_month(today: date) -> date:
    first = today.replace(day=1)
    return first.replace(year=first.year - 1, month=12) if first.month == 1 else first.replace(month=first.month - 1)


def parse_month(raw: str | None, *, field: str = "month") -> date:
    """'YYYY-MM' → the first day of that month; ValidationFailed with a field message otherwise."""
    match = _MONTH.match((raw or "").strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 1 <= month <= 12 and year >= 1900:
            return date(year, month, 1)
    raise ValidationFailed(_("Invalid month."), extra={field: [_("Enter a month as YYYY-MM, e.g. 2024-04.")]})


def parameters_for(*, on: date) -> OversightParameters:
    """The oversight parameter version in force on ON (the oldest one before any)."""
    found = OversightParameters.objects.filter(valid_from__lte=on).order_by("-valid_from").first()
    if found is None:
        found = OversightParameters.objects.order_by("valid_from").first()
    if found is None:
        found = OversightParameters.objects.create(valid_from=date(2000, 1, 1), note="default")
    return found


_BASE_CTE = """
WITH base AS (
    -- the month-end snapshot, written-off loans excluded
    SELECT s.* FROM loans_delinquencysnapshot s
    JOIN loans_loan l ON l.id = s.loan_id
    WHERE s.as_of = %(as_of)s
      AND NOT (l.status = 'written_off' AND (l.closed_on IS NULL OR l.closed_on <= %(as_of)s))
),
inst AS (
    SELECT id, path FROM org_branch WHERE depth = 1
),
snap AS (
    SELECT base.*, inst.id AS institution_id
    FROM base
    JOIN org_branch b ON b.id = base.branch_id
    JOIN inst ON starts_with(b.path, inst.path)
)
"""

_REPORTS_SQL = (
    _BASE_CTE
    + """
INSERT INTO oversight_monthlyreport (
    month, as_of, institution_id, parameters_id, generated_at,
    rule_loans, rule_outstanding_principal, rule_overdue_principal, rule_overdue_interest, rule_overdue_fees,
    rule_overdue_amount, portfolio_loans, total_principal, npl_principal, npl_ratio, npl_ratio_limit, above_limit
)
SELECT %(month)s, %(as_of)s, inst.id, %(parameters)s, now(),
       count(snap.loan_id) FILTER (WHERE snap.rule_3_6),
       coalesce(sum(snap.outstanding_principal) FILTER (WHERE snap.rule_3_6), 0),
       coalesce(sum(snap.overdue_principal) FILTER (WHERE snap.rule_3_6), 0),
       coalesce(sum(snap.overdue_interest) FILTER (WHERE snap.rule_3_6), 0),
       coalesce(sum(snap.overdue_fees) FILTER (WHERE snap.rule_3_6), 0),
       coalesce(sum(snap.overdue_amount) FILTER (WHERE snap.rule_3_6), 0),
       count(snap.loan_id) FILTER (WHERE snap.outstanding_principal > 0),
       coalesce(sum(snap.outstanding_principal), 0),
       coalesce(sum(snap.outstanding_principal) FILTER (WHERE snap.is_npl), 0),
       CASE WHEN coalesce(sum(snap.outstanding_principal), 0) > 0 THEN
           round(coalesce(sum(snap.outstanding_principal) FILTER (WHERE snap.is_npl), 0)
                 / sum(snap.outstanding_principal), 6)
       END,
       %(limit)s,
       coalesce(sum(snap.outstanding_principal) FILTER (WHERE snap.is_npl), 0)
           > %(limit)s * coalesce(sum(snap.outstanding_principal), 0)
FROM inst LEFT JOIN snap ON snap.institution_id = inst.id
GROUP BY inst.id
ON CONFLICT (month, institution_id) DO NOTHING
RETURNING id
"""
)

_LINES_SQL = (
    _BASE_CTE
    + """
INSERT INTO oversight_rule36line (
    report_id, loan_id, branch_id, branch_code, officer_name, dealer_name, borrower_external_id, borrower_name,
    loan_number, product_code, disbursement_date, outstanding_principal, overdue_principal, overdue_interest,
    overdue_fees, overdue_amount, days_past_due, overdue_installments, cumulative_missed_installments,
    max_consecutive_missed, classification, classification_floor, collection_stage
)
SELECT r.id, snap.loan_id, snap.branch_id, b.code,
       coalesce(nullif(trim(u.first_name || ' ' || u.last_name), ''), u.username, ''),
       coalesce(d.name, ''), bo.external_id, bo.name, l.number, p.code, l.disbursement_date,
       snap.outstanding_principal, snap.overdue_principal, snap.overdue_interest, snap.overdue_fees,
       snap.overdue_amount, snap.days_past_due, snap.overdue_installments, snap.cumulative_missed_installments,
       snap.max_consecutive_missed, snap.classification, snap.classification_floor, coalesce(stage.to_stage, '')
FROM snap
JOIN oversight_monthlyreport r ON r.institution_id = snap.institution_id AND r.month = %(month)s
JOIN loans_loan l ON l.id = snap.loan_id
JOIN loans_borrower bo ON bo.id = l.borrower_id
JOIN loans_product p ON p.id = snap.product_id
JOIN org_branch b ON b.id = snap.branch_id
LEFT JOIN org_user u ON u.id = snap.officer_id
LEFT JOIN loans_dealer d ON d.id = snap.dealer_id
LEFT JOIN LATERAL (
    -- the collection stage the loan's case was in at month end
    SELECT ch.to_stage
    FROM collections_collectioncase c
    JOIN collections_casestagechange ch ON ch.case_id = c.id
    WHERE c.loan_id = snap.loan_id AND c.opened_on <= %(as_of)s
      AND (c.closed_on IS NULL OR c.closed_on > %(as_of)s) AND ch."on" <= %(as_of)s
    ORDER BY ch."on" DESC, ch.id DESC
    LIMIT 1
) stage ON true
WHERE snap.rule_3_6 AND r.id = ANY(%(report_ids)s)
ON CONFLICT (report_id, loan_id) DO NOTHING
"""
)

_DEALERS_SQL = (
    _BASE_CTE
    + """
INSERT INTO oversight_dealermonthrate (
    month, as_of, dealer_id, parameters_id, loans, overdue_loans, guaranteed_principal, overdue_principal,
    overdue_rate, rate_limit, flagged, generated_at
)
SELECT %(month)s, %(as_of)s, base.dealer_id, %(parameters)s,
       count(*) FILTER (WHERE base.outstanding_principal > 0),
       count(*) FILTER (WHERE base.days_past_due > 0 AND base.outstanding_principal > 0),
       sum(base.outstanding_principal),
       coalesce(sum(base.outstanding_principal) FILTER (WHERE base.days_past_due > 0), 0),
       CASE WHEN sum(base.outstanding_principal) > 0 THEN
           round(coalesce(sum(base.outstanding_principal) FILTER (WHERE base.days_past_due > 0), 0)
                 / sum(base.outstanding_principal), 6)
       END,
       %(dealer_limit)s,
       coalesce(sum(base.outstanding_principal) FILTER (WHERE base.days_past_due > 0), 0)
           > %(dealer_limit)s * sum(base.outstanding_principal),
       now()
FROM base
WHERE base.dealer_id IS NOT NULL
GROUP BY base.dealer_id
ON CONFLICT (month, dealer_id) DO NOTHING
"""
)


@dataclass(frozen=True)
class GenerationSummary:
    month: date
    reports_created: int
    lines_created: int
    dealer_rates_created: int
    proposals: int


def _sweep_done(as_of: date) -> bool:
    return JobRun.objects.filter(job=SWEEP_JOB, business_date=as_of, status=JobRun.Status.DONE).exists()


def monthly_reports_generate(*, month: date, acting_user=None) -> GenerationSummary:
    """Generate the month's reports, lines and dealer rates (what is missing only), then run the
    NPL watch. MONTH is any date of the month; the month must be over and its month-end sweep done."""
    from loanops.oversight.services.watch import restriction_evaluate

    month = month.replace(day=1)
    as_of = month_end(month)
    if as_of >= business_date():
        raise ValidationFailed(_("The month is not over."), extra={"month": [_("Choose a month that has ended.")]})
    if not _sweep_done(as_of):
        raise ValidationFailed(
            _("The arrears sweep for the month end has not run."),
            extra={"month": [_("Run the nightly sweep for %(date)s first.") % {"date": as_of.isoformat()}]},
        )
    parameters = parameters_for(on=as_of)
    params = {
        "month": month,
        "as_of": as_of,
        "parameters": parameters.id,
        "limit": parameters.npl_ratio_limit,
        "dealer_limit": parameters.dealer_overdue_rate_limit,
    }
    with job_run_guard(REPORT_JOB, as_of), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_REPORTS_SQL, params)
            report_ids = [row[0] for row in cursor.fetchall()]
            lines = 0
            if report_ids:
                cursor.execute(_LINES_SQL, {**params, "report_ids": report_ids})
                lines = cursor.rowcount
            cursor.execute(_DEALERS_SQL, params)
            dealer_rates = cursor.rowcount
        if dealer_rates:
            _dealer_flags_refresh()
        proposals = 0
        for report in MonthlyReport.objects.filter(month=month).select_related("parameters", "institution"):
            if restriction_evaluate(report=report) is not None:
                proposals += 1
    return GenerationSummary(
        month=month, reports_created=len(report_ids), lines_created=lines, dealer_rates_created=dealer_rates,
        proposals=proposals,
    )  # fmt: skip


def _dealer_flags_refresh() -> int:
    """Each dealer's flag follows its latest monthly rate (pghistory records every change)."""
    latest = DealerMonthRate.objects.order_by("dealer_id", "-month").distinct("dealer_id")
    flagged = {rate.dealer_id for rate in latest if rate.flagged}
    cleared = {rate.dealer_id for rate in latest if not rate.flagged}
    changed = Dealer.objects.filter(id__in=flagged, suspended_new_business=False).update(suspended_new_business=True)
    changed += Dealer.objects.filter(id__in=cleared, suspended_new_business=True).update(suspended_new_business=False)
    return changed


def monthly_reports_generate_due(*, today: date | None = None) -> GenerationSummary:
    """The beat's entry: last month's reports (a second run changes nothing)."""
    return monthly_reports_generate(month=previous_month(today or business_date()))
