"""Oversight pages: the monthly reports (list, detail, downloads), the institution's restriction
with its proposals (head-office risk signs off), and the dealers' overdue rates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loanops.core.exceptions import ApplicationError
from loanops.core.exports import csv_response, xlsx_response
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.oversight.exports import line_header, line_rows, report_filename, report_pdf
from loanops.oversight.forms import DecisionForm, MonthForm
from loanops.oversight.permissions import can_sign_restrictions, can_view_dealers, can_view_oversight
from loanops.oversight.selectors import (
    dealer_rate_months,
    dealer_rates,
    institutions_for_user,
    line_totals,
    pending_proposals_for_user,
    proposals_for_institution,
    report_branch_totals,
    report_get_for_user,
    report_lines_for_user,
    report_lines_page,
    report_list_for_user,
    restricted_institutions,
    restriction_view,
    sees_whole_institution,
)
from loanops.oversight.services.watch import restriction_proposal_decide
from loans.forms import page_number

PDF_LANGUAGES = ("es", "en")


def _require(check, user) -> None:
    if not check(user):
        raise PermissionDenied


@require_GET
@login_required
def report_list(request):
    _require(can_view_oversight, request.user)
    reports = list(report_list_for_user(user=request.user)[: 36 * 10])
    restricted = restricted_institutions()
    months: dict = {}
    for report in reports:
        months.setdefault(report.month, []).append(report)
    context = {
        "months": sorted(months.items(), key=lambda item: item[0], reverse=True),
        "restricted": restricted,
        "institutions": [
            (institution, restricted.get(institution.id)) for institution in institutions_for_user(user=request.user)
        ],
        "pending": list(pending_proposals_for_user(user=request.user)),
        "can_sign": can_sign_restrictions(request.user),
    }
    return render(request, "oversight/report_list.html", context)


@require_GET
@login_required
def report_detail(request, report_id: int):
    _require(can_view_oversight, request.user)
    report = report_get_for_user(user=request.user, report_id=report_id)
    whole = sees_whole_institution(user=request.user, institution=report.institution)
    lines = report_lines_for_user(user=request.user, report=report)
    context = {
        "report": report,
        "whole": whole,
        "totals": line_totals(lines),
        "branch_totals": report_branch_totals(user=request.user, report=report),
        "page": report_lines_page(user=request.user, report=report, page=page_number(request.GET.get("page"))),
        "restriction": restriction_view(institution=report.institution),
        "pdf_languages": PDF_LANGUAGES,
    }
    return render(request, "oversight/report_detail.html", context)


@require_GET
@login_required
def report_download(request, report_id: int, fmt: str):
    _require(can_view_oversight, request.user)
    report = report_get_for_user(user=request.user, report_id=report_id)
    lines = report_lines_for_user(user=request.user, report=report).select_related("report__institution")
    if fmt == "csv":
        return csv_response(report_filename(report, "csv"), line_header(), line_rows(lines.iterator()))
    if fmt == "xlsx":
        return xlsx_response(
            report_filename(report, "xlsx"),
            f"{report.institution.code} {report.month:%Y-%m}",
            line_header(),
            line_rows(lines),
        )
    if fmt == "pdf":
        language = request.GET.get("lang") or translation.get_language() or "es"
        language = language if language in PDF_LANGUAGES else "es"
        pdf = report_pdf(
            report=report,
            lines=list(lines),
            totals=line_totals(lines),
            branch_totals=report_branch_totals(user=request.user, report=report),
            language=language,
            partial=not sees_whole_institution(user=request.user, institution=report.institution),
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        name = report_filename(report, f"{language}.pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    raise Http404(_("Unknown format."))


@require_GET
@login_required
def institution_detail(request, code: str):
    _require(can_view_oversight, request.user)
    institution = institutions_for_user(user=request.user).filter(code=code).first()
    if institution is None:
        raise Http404(_("Institution not found."))
    context = {
        "institution": institution,
        "restriction": restriction_view(institution=institution, history=True),
        "proposals": list(proposals_for_institution(institution=institution)[:50]),
        "can_sign": can_sign_restrictions(request.user),
        "form": DecisionForm(),
    }
    return render(request, "oversight/institution.html", context)


@require_POST
@login_required
def proposal_decide(request, proposal_id: int):
    _require(can_view_oversight, request.user)
    from loanops.oversight.models import RestrictionProposal

    proposal = (
        RestrictionProposal.objects.filter(id=proposal_id, institution__in=institutions_for_user(user=request.user))
        .select_related("institution")
        .first()
    )
    if proposal is None:
        raise Http404(_("Proposal not found."))
    form = DecisionForm(request.POST)
    if not form.is_valid():
        flash_form_errors(request, form)
    else:
        try:
            restriction_proposal_decide(
                proposal_id=proposal.id,
                approve=form.cleaned_data["decision"] == "approve",
                note=form.cleaned_data["note"],
                acting_user=request.user,
            )
        except ApplicationError as exc:
            if exc.status_code == 403:
                raise PermissionDenied from exc
            flash_application_error(request, exc, {"note": str(form.fields["note"].label)})
        else:
            messages.success(request, _("Decision recorded."))
    return redirect("oversight:institution", code=proposal.institution.code)


@require_GET
@login_required
def dealer_list(request):
    _require(can_view_dealers, request.user)
    months = dealer_rate_months()
    form = MonthForm(request.GET)
    month = months[0] if months else None
    if form.is_valid() and form.cleaned_data["month"]:
        month = form.cleaned_data["month"].replace(day=1)
    rates = list(dealer_rates(month=month)) if month else []
    return render(request, "oversight/dealers.html", {"form": form, "month": month, "months": months,
                                                      "rates": rates})  # fmt: skip
