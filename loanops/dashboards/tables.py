"""The dashboards' tables: one structure for the page, the CSV/XLSX exports and the PDF pack.

A `Table` has a title, a header and rows of plain cells (str, int, Decimal, date, None); `links`
holds, per row, the drill-down URL of its first cell (or "")."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from loanops.dashboards.models import EXIT_BUCKET, ROLL_BUCKETS
from loanops.dashboards.selectors import BUCKETS, Quality, RollMatrix, Segment, VintagePoint
from loans.models import Bucket, Classification, Loan


@dataclass
class Table:
    name: str
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    flags: list[bool] = field(default_factory=list)  # highlighted rows (restricted, flagged)

    def append(self, row: list, link: str = "", flagged: bool = False) -> None:
        self.rows.append([str(value) if isinstance(value, Promise) else value for value in row])
        self.links.append(link)
        self.flags.append(flagged)

    @property
    def lines(self):
        return zip(self.rows, self.links, self.flags, strict=True)


def loan_list_url(base: dict[str, str], **extra) -> str:
    """The loan list filtered like the dashboard (its `branch` filter covers an institution too)."""
    params = {}
    if base.get("branch") or base.get("institution"):
        params["branch"] = base.get("branch") or base["institution"]
    for name in ("officer", "product", "dealer"):
        if base.get(name):
            params[name] = base[name]
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return _loan_list_path() + ("?" + urlencode(params) if params else "")


@lru_cache(maxsize=1)
def _loan_list_path() -> str:
    return reverse("loans:list")


BUCKET_LABELS = dict(Bucket.choices)
ROLL_LABELS = dict(ROLL_BUCKETS)
CLASS_LABELS = dict(Classification.choices)


def quality_table(quality: Quality, base: dict) -> Table:
    active = {"status": Loan.Status.ACTIVE}
    table = Table("quality", _("Portfolio quality"), [_("Figure"), _("Loans or %"), _("Principal")])
    table.append([_("Gross portfolio (outstanding principal)"), quality.loans, quality.principal],
                 loan_list_url(base, **active))  # fmt: skip
    table.append([_("NPL ratio"), quality.npl_ratio, quality.npl_principal], loan_list_url(base, npl="yes", **active))
    for cls in (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS):
        table.append([f"  {CLASS_LABELS[cls]}", None, quality.by_class[cls]],
                     loan_list_url(base, classification=cls, **active))  # fmt: skip
    table.append([_("Special-mention ratio"), quality.special_mention_ratio,
                  quality.by_class[Classification.SPECIAL_MENTION]],
                 loan_list_url(base, classification=Classification.SPECIAL_MENTION, **active))  # fmt: skip
    for days in (0, 30, 60, 90):
        table.append([f"PAR{days}", quality.par(days), quality.par_principal(days)],
                     loan_list_url(base, dpd_min=days + 1, **active))  # fmt: skip
    table.append([_("Delinquency ratio (overdue amount)"), quality.delinquency_ratio, quality.overdue_amount])
    table.append([_("3/6 rule: loans and principal"), quality.rule_3_6_loans, quality.rule_3_6_principal],
                 loan_list_url(base, rule_3_6="yes", **active))  # fmt: skip
    table.append([_("Written off: loans and principal"), quality.written_off_loans, quality.written_off_principal],
                 loan_list_url(base, status=Loan.Status.WRITTEN_OFF))  # fmt: skip
    table.append([_("Recovered on written-off loans"), None, quality.recovered])
    return table


def bucket_table(quality: Quality, base: dict) -> Table:
    table = Table("buckets", _("Overdue by bucket"),
                  [_("Bucket"), _("Loans"), _("Outstanding principal"), _("Overdue amount")])  # fmt: skip
    for bucket in BUCKETS:
        table.append(
            [BUCKET_LABELS[bucket], quality.loans_by_bucket[bucket], quality.by_bucket[bucket],
             quality.overdue_by_bucket[bucket]],
            loan_list_url(base, bucket=bucket, status=Loan.Status.ACTIVE),
        )  # fmt: skip
    return table


def trend_table(trend: list[Quality]) -> Table:
    table = Table("trend", _("13-month trend"), [
        _("Date"), _("Loans"), _("Outstanding principal"), _("NPL ratio"), _("Special-mention ratio"),
        "PAR0", "PAR30", "PAR60", "PAR90", _("3/6 loans"), _("Written off"), _("Recovered"),
    ])  # fmt: skip
    for q in trend:
        table.append([q.as_of, q.loans, q.principal, q.npl_ratio, q.special_mention_ratio, q.par0, q.par30, q.par60,
                      q.par90, q.rule_3_6_loans, q.written_off_principal, q.recovered])  # fmt: skip
    return table


def roll_table(matrix: RollMatrix) -> Table:
    header = [_("From \\ to"), _("Principal at the start")]
    header += [ROLL_LABELS[c] for c in matrix.columns]
    header += [_("Cure rate"), _("Roll-forward rate")]
    table = Table("roll", _("Roll rates (% of the principal of each bucket a month earlier)"), header)
    for source in matrix.rows:
        table.append([
            BUCKET_LABELS[source], matrix.totals.get(source),
            *[matrix.rate(source, target) for target in matrix.columns],
            matrix.cure_rate(source) if source != Bucket.CURRENT else None, matrix.roll_forward_rate(source),
        ])  # fmt: skip
    return table


def _cohort_url(base: dict, cohort: date) -> str:
    """The loans disbursed in the cohort's month."""
    last = (cohort.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    return loan_list_url(base, disbursed_from=cohort.replace(day=1).isoformat(), disbursed_to=last.isoformat())


def vintage_table(cohorts: dict[date, list[VintagePoint]], base: dict | None = None) -> Table:
    """Cohorts × months on book: % of the disbursed principal more than 30 days past due."""
    longest = max((p.months_on_book for points in cohorts.values() for p in points), default=-1)
    table = Table("vintage", _("Vintages: principal more than 30 days past due / disbursed (%), by months on book"),
                  [_("Disbursement month"), _("Disbursed"), *[str(k) for k in range(longest + 1)]])  # fmt: skip
    for cohort, points in sorted(cohorts.items()):
        by_mob = {p.months_on_book: p.ratio_30 for p in points}
        table.append([cohort.strftime("%Y-%m"), max(p.disbursed for p in points),
                      *[by_mob.get(k) for k in range(longest + 1)]], _cohort_url(base or {}, cohort))  # fmt: skip
    return table


def vintage_detail_table(cohorts: dict[date, list[VintagePoint]]) -> Table:
    table = Table("vintage_detail", _("Vintages (principal more than 30/60/90 days past due / disbursed)"), [
        _("Disbursement month"), _("Months on book"), _("Date"), _("Disbursed"), "30+ %", "60+ %", "90+ %",
    ])  # fmt: skip
    for cohort, points in sorted(cohorts.items()):
        for p in points:
            table.append([cohort.strftime("%Y-%m"), p.months_on_book, p.as_of, p.disbursed, p.ratio_30, p.ratio_60,
                          p.ratio_90])  # fmt: skip
    return table


def segment_table(name: str, title: str, first: str, segments: list[Segment], base: dict, param: str) -> Table:
    table = Table(name, title, [first, _("Loans"), _("Outstanding principal"), _("NPL ratio"), "PAR30",
                                _("Overdue rate"), _("Flag")])  # fmt: skip
    for s in segments:
        q = s.quality
        link = loan_list_url({**base, param: s.key}, status=Loan.Status.ACTIVE) if s.key else ""
        table.append([s.label, q.loans, q.principal, q.npl_ratio, q.par30, q.par0, s.flag_reason], link, s.flagged)
    return table


EXIT = EXIT_BUCKET
