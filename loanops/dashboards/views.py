"""Dashboard pages for managers, risk and auditors: portfolio quality (from the nightly
aggregates), collections, inspections and custody; CSV/XLSX of every table and the monthly
management pack (bilingual PDF)."""

import re
from calendar import monthrange
from datetime import date
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from loanops.core.exports import csv_response, xlsx_response
from loanops.dashboards import operations, tables
from loanops.dashboards.charts import bar_chart_svg, line_chart_svg
from loanops.dashboards.forms import FILTER_NAMES, DashboardFilterForm
from loanops.dashboards.hooks import flagged_dealer_ids, restricted_branch_ids
from loanops.dashboards.permissions import can_view_dashboards
from loanops.dashboards.selectors import (
    BUCKETS,
    Segment,
    aggregate_dates,
    quality_by,
    quality_by_date,
    roll_matrix,
    scope_for,
    vintages,
)
from loanops.org.models import Branch
from loans.models import Dealer

EXPORT_FORMATS = ("csv", "xlsx")


def _require(user) -> None:
    if not can_view_dashboards(user):
        raise PermissionDenied


def _filters(request) -> tuple[DashboardFilterForm, dict, object, dict | None]:
    """(form, filters as query parameters, Scope, cleaned filters); Scope and cleaned filters are
    None when a filter is not valid (the page then shows the errors and no figures)."""
    form = DashboardFilterForm(request.GET or None, user=request.user)
    if request.GET and not form.is_valid():
        return form, {}, None, None
    data = form.cleaned_data if request.GET else {}
    scope = scope_for(request.user, **{k: data.get(k) for k in FILTER_NAMES})
    return form, form.query_params() if request.GET else {}, scope, data


def _context(form, base: dict, page: str, data: dict) -> dict:
    return {"form": form, "base": base, "query": urlencode(base), "page": page, **data}


def _segments(by: dict, labels: dict, flagged: set, reason: str) -> list[Segment]:
    segments = []
    for key, quality in by.items():
        code, label = labels.get(key, ("", "—"))
        segments.append(Segment(code, label, quality, key in flagged, reason if key in flagged else ""))
    return sorted(segments, key=lambda s: (not s.flagged, s.label))


def portfolio_data(scope, base: dict, *, until: date | None = None) -> dict:
    """Everything the portfolio page, its exports and the PDF pack show (as of the latest
    aggregated day, or the latest on or before UNTIL)."""
    dates = aggregate_dates(until)
    if not dates:
        return {"as_of": None, "tables": {}}
    latest = dates[0]
    by_date = quality_by_date(scope, dates)
    trend = [by_date[d] for d in sorted(dates)]
    current = by_date[latest]
    matrix = roll_matrix(scope, latest)
    cohorts = vintages(scope, dates)

    restricted = restricted_branch_ids()
    breakdown = quality_by(scope, latest, "branch_id", "dealer_id")
    by_branch, by_dealer = breakdown["branch_id"], breakdown["dealer_id"]
    units = list(Branch.objects.filter(id__in={*by_branch, *restricted}).only("id", "code", "name", "path"))
    branch_labels = {b.id: (b.code, str(b)) for b in units if b.id in by_branch}
    restricted_paths = [b.path for b in units if b.id in restricted]
    branch_flags = {b.id for b in units if b.id in by_branch and any(b.path.startswith(p) for p in restricted_paths)}
    by_dealer.pop(None, None)
    dealer_labels = {d.id: (d.external_id, d.name) for d in Dealer.objects.filter(id__in=list(by_dealer))}
    flagged_dealers = flagged_dealer_ids()

    result = {
        "as_of": latest,
        "current": current,
        "trend": trend,
        "matrix": matrix,
        "tables": {
            t.name: t
            for t in (
                tables.quality_table(current, base),
                tables.bucket_table(current, base),
                tables.trend_table(trend),
                tables.roll_table(matrix),
                tables.vintage_table(cohorts, base),
                tables.vintage_detail_table(cohorts),
                tables.segment_table(
                    "branches",
                    _("By branch (restricted institutions first)"),
                    _("Branch"),
                    _segments(by_branch, branch_labels, branch_flags, _("Institution restricted (NPL)")),
                    base,
                    "branch",
                ),
                tables.segment_table(
                    "dealers",
                    _("By dealer (flagged dealers first)"),
                    _("Dealer"),
                    _segments(by_dealer, dealer_labels, flagged_dealers, _("Flagged dealer")),
                    base,
                    "dealer",
                ),
            )
        },  # fmt: skip
    }
    labels = [q.as_of.strftime("%Y-%m") for q in trend]
    result["trend_chart"] = line_chart_svg(
        [(_("NPL ratio"), [q.npl_ratio for q in trend]),
         (_("Special mention"), [q.special_mention_ratio for q in trend]),
         ("PAR30", [q.par30 for q in trend]), ("PAR90", [q.par90 for q in trend])],
        labels, title=_("NPL ratio, special mention and PAR over 13 months"), chart_id="trend-chart",
    )  # fmt: skip
    result["bucket_chart"] = bar_chart_svg(
        [(tables.BUCKET_LABELS[b], current.overdue_by_bucket[b]) for b in BUCKETS[1:]],
        title=_("Overdue amount by bucket"), chart_id="bucket-chart",
    )  # fmt: skip
    max_mob = max((p.months_on_book for points in cohorts.values() for p in points), default=0)
    result["vintage_chart"] = line_chart_svg(
        [
            (cohort.strftime("%Y-%m"), [next((p.ratio_30 for p in points if p.months_on_book == k), None)
                                        for k in range(max_mob + 1)])
            for cohort, points in sorted(cohorts.items())
        ],
        [str(k) for k in range(max_mob + 1)],
        title=_("Vintage curves: principal more than 30 days past due by months on book"), chart_id="vintage-chart",
    )  # fmt: skip
    return result


@require_GET
@login_required
def portfolio(request):
    _require(request.user)
    form, base, scope, _data = _filters(request)
    data = portfolio_data(scope, base) if scope is not None else {"as_of": None, "tables": {}, "invalid": True}
    return render(request, "dashboards/portfolio.html", _context(form, base, "portfolio", data))


@require_GET
@login_required
def collections(request):
    _require(request.user)
    form, base, _scope, filters = _filters(request)
    data = operations.collections_data(request.user, filters, base)
    return render(request, "dashboards/collections.html", _context(form, base, "collections", data))


@require_GET
@login_required
def custody(request):
    _require(request.user)
    form, base, _scope, filters = _filters(request)
    data = operations.custody_data(request.user, filters, base)
    return render(request, "dashboards/custody.html", _context(form, base, "custody", data))


def _all_tables(request, page: str) -> dict:
    _form, base, scope, filters = _filters(request)
    if scope is None:
        return {}
    if page == "portfolio":
        return portfolio_data(scope, base)["tables"]
    if page == "collections":
        return operations.collections_data(request.user, filters, base)["tables"]
    if page == "custody":
        return operations.custody_data(request.user, filters, base)["tables"]
    raise Http404


@require_GET
@login_required
def export(request, page: str, table: str, fmt: str):
    _require(request.user)
    if fmt not in EXPORT_FORMATS:
        raise Http404
    found = _all_tables(request, page).get(table)
    if found is None:
        raise Http404
    filename = f"{page}-{table}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, found.header, found.rows)
    sheet = re.sub(r"[\[\]:*?/\\]", " ", found.title)[:31].strip() or table
    return xlsx_response(filename, sheet, found.header, found.rows)


def _month_end(value: str | None) -> date | None | bool:
    """`month=YYYY-MM` → that month's last day; absent → None; anything else → False."""
    if not value:
        return None
    try:
        first = date.fromisoformat(f"{value}-01")
    except ValueError:
        return False
    return date(first.year, first.month, monthrange(first.year, first.month)[1])


@require_GET
@login_required
def pack(request):
    """The monthly management pack: the same figures, in Spanish then English, one PDF."""
    _require(request.user)
    from weasyprint import HTML

    form, base, scope, filters = _filters(request)
    until = _month_end(request.GET.get("month"))
    if scope is None or until is False:
        data = {"as_of": None, "tables": {}, "invalid": True}
        return render(request, "dashboards/portfolio.html", _context(form, base, "portfolio", data), status=400)
    parts = []
    for language in ("es", "en"):
        with translation.override(language):
            data = portfolio_data(scope, base, until=until)
            data["collections"] = operations.collections_data(request.user, filters, base)
            data["custody"] = operations.custody_data(request.user, filters, base)
            parts.append(render_to_string("dashboards/pack_section.html", {**data, "language": language,
                                                                           "filters": base}))  # fmt: skip
    html = render_to_string("dashboards/pack.html", {"sections": parts})
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    month = data["as_of"].strftime("%Y-%m") if data.get("as_of") else "empty"
    response["Content-Disposition"] = f'inline; filename="management-pack-{month}.pdf"'
    return response
