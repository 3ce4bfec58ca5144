"""Loan pages for credit officers and managers: the filtered list, the loan detail (with its
classification panel), the manual classification actions and the spreadsheet import."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loanops.core.exceptions import ApplicationError
from loanops.core.flash import flash_application_error, flash_form_errors
from loanops.core.selectors import history_for
from loanops.core.time import business_date
from loanops.org.models import Role
from loans import imports
from loans.charts import dpd_chart_svg
from loans.forms import DowngradeForm, ImportForm, LoanFilterForm, ReclassifyForm, page_number
from loans.models import NPL_CLASSES, ClassificationOverride, Loan
from loans.page_selectors import (
    CHART_DAYS,
    LIST_PAGE_SIZE,
    arrears_from_live,
    arrears_from_stored,
    loan_dpd_history,
    loan_get_for_page,
    loan_page_list,
    mask_national_id,
)
from loans.panels import loan_panels
from loans.selectors import loan_delinquency_live, loan_get_for_user
from loans.services.classification import (
    APPROVER_ROLES,
    loan_classification_downgrade,
    loan_reclassification_approve,
)

# --- who may act (the one place that decides; templates get booleans) ----------------------

IMPORT_ROLES = frozenset({Role.CREDIT_OFFICER, Role.BRANCH_MANAGER, Role.CREDIT_HEAD, Role.ADMIN})
DOWNGRADE_ROLES = frozenset({Role.CREDIT_OFFICER, Role.CREDIT_HEAD, Role.BRANCH_MANAGER, Role.RISK, Role.ADMIN})


def _has_role(user, roles: frozenset) -> bool:
    if not user.is_authenticated or user.is_read_only:
        return False
    return user.is_superuser or user.role in roles


def can_view_loans(user) -> bool:
    """Every staff role reads loans (scoped to its branches); API clients use the API."""
    return user.is_authenticated and user.is_back_office


def can_import(user) -> bool:
    """Upload loans or payments (writes, within the user's branches)."""
    return _has_role(user, IMPORT_ROLES)


def can_downgrade(user) -> bool:
    """Record a manual classification downgrade."""
    return _has_role(user, DOWNGRADE_ROLES)


def can_approve_reclassification(user) -> bool:
    """Approve an NPL loan's return to performing (the service's own approver roles)."""
    return _has_role(user, APPROVER_ROLES)


@require_GET
@login_required
def loan_list(request):
    form = LoanFilterForm(request.GET, user=request.user)
    page = None
    if form.is_valid():
        page = loan_page_list(
            user=request.user,
            filters=form.filters,
            sort=form.current_sort(),
            page=page_number(request.GET.get("page")),
            page_size=LIST_PAGE_SIZE,
        )
    return render(request, "loans/list.html", {"form": form, "page": page, "sort_headers": form.sort_headers()})


@require_GET
@login_required
def loan_detail(request, number: str):
    loan = loan_get_for_page(user=request.user, number=number)
    today = business_date()
    live, parameter_set = loan_delinquency_live(loan=loan, as_of=today)
    history_points = loan_dpd_history(loan=loan, until=today, days=CHART_DAYS)
    context = {
        "loan": loan,
        "stored": arrears_from_stored(loan),
        "live": arrears_from_live(live),
        "parameter_set": parameter_set,
        "installments": live.installments,
        "payments": loan.payments.all(),
        "annual_rate_percent": (loan.annual_rate * 100).normalize(),
        "borrower_national_id": mask_national_id(loan.borrower.national_id),
        "guarantors": [(g, mask_national_id(g.national_id)) for g in loan.guarantors.all()],
        "chart_days": CHART_DAYS,
        "dpd_chart": dpd_chart_svg(history_points, start=today - timedelta(days=CHART_DAYS - 1), end=today),
        "has_history": bool(history_points),
        "history": history_for(loan),
        "extra_panels": loan_panels(request, loan),
        **_classification_panel(request.user, loan, today),
    }
    return render(request, "loans/detail.html", context)


# --- classification panel and actions --------------------------------------------------------

DOWNGRADE_PREFIX = "downgrade"
RECLASSIFY_PREFIX = "reclassify"


def _held_as_npl(loan: Loan) -> bool:
    """The stored state is non-performing (or held so): what an approved return acts on."""
    state = getattr(loan, "delinquency", None)
    return state is not None and (state.npl_hold or state.classification in NPL_CLASSES)


def _classification_panel(user, loan: Loan, today: date) -> dict:
    may_downgrade = can_downgrade(user)
    may_reclassify = can_approve_reclassification(user) and _held_as_npl(loan)
    overrides = (
        ClassificationOverride.objects.filter(loan=loan)
        .select_related("requested_by", "approved_by")
        .order_by("-effective_from", "-id")
    )
    return {
        "can_downgrade": may_downgrade,
        "can_reclassify": may_reclassify,
        "downgrade_form": DowngradeForm(prefix=DOWNGRADE_PREFIX, initial={"effective_from": today})
        if may_downgrade
        else None,
        "reclassify_form": ReclassifyForm(prefix=RECLASSIFY_PREFIX) if may_reclassify else None,
        "classification_overrides": overrides,
    }


def _loan_for_action(user, number: str) -> Loan:
    loan = loan_get_for_user(user=user, number=number)
    if loan is None:
        raise Http404("Loan not found.")
    return loan


@require_POST
@login_required
def loan_downgrade(request, number: str):
    loan = _loan_for_action(request.user, number)
    if not can_downgrade(request.user):
        raise PermissionDenied
    form = DowngradeForm(request.POST, prefix=DOWNGRADE_PREFIX)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("loans:detail", number=loan.number)
    data = form.cleaned_data
    try:
        override = loan_classification_downgrade(
            loan=loan,
            classification=data["classification"],
            reason=data["reason"],
            effective_from=data["effective_from"],
            acting_user=request.user,
        )
    except ApplicationError as exc:
        flash_application_error(request, exc, {n: f.label for n, f in form.fields.items()})
    else:
        messages.success(
            request,
            _("Downgrade to %(classification)s from %(date)s recorded; the next sweep applies it.")
            % {"classification": override.get_classification_display(), "date": override.effective_from.isoformat()},
        )
    return redirect("loans:detail", number=loan.number)


@require_POST
@login_required
def loan_reclassify(request, number: str):
    loan = _loan_for_action(request.user, number)
    if not can_approve_reclassification(request.user):
        raise PermissionDenied
    form = ReclassifyForm(request.POST, prefix=RECLASSIFY_PREFIX)
    if not form.is_valid():
        flash_form_errors(request, form)
        return redirect("loans:detail", number=loan.number)
    labels = {"reason": str(form.fields["reason"].label), "classification": _("Classification")}
    try:
        loan_reclassification_approve(
            loan=loan, reason=form.cleaned_data["reason"], on=business_date(), acting_user=request.user
        )
    except ApplicationError as exc:
        flash_application_error(request, exc, labels)
    else:
        messages.success(request, _("Return to performing approved; the next sweep applies it."))
    return redirect("loans:detail", number=loan.number)


# --- import ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def loan_import(request):
    if not can_import(request.user):
        raise PermissionDenied
    results = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            results = imports.run_import(form.cleaned_data["kind"], form.cleaned_data["rows"], request.user)
    else:
        form = ImportForm()
    context = {
        "form": form,
        "results": results,
        "kind": form.cleaned_data.get("kind") if results is not None else None,
        "summary": imports.summarize(results) if results is not None else None,
    }
    return render(request, "loans/import.html", context)


@require_GET
@login_required
def loan_import_template(request, kind: str):
    if kind not in imports.IMPORTERS:
        raise Http404("Unknown import kind.")
    response = HttpResponse(imports.template_csv(kind), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="loanops-{kind}-template.csv"'
    return response
