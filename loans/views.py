"""Loan pages for credit officers and managers: the filtered list and the loan detail."""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from loanops.core.selectors import history_for
from loanops.core.time import business_date
from loans.charts import dpd_chart_svg
from loans.forms import LoanFilterForm, page_number
from loans.page_selectors import (
    CHART_DAYS,
    arrears_from_live,
    arrears_from_stored,
    loan_dpd_history,
    loan_get_for_page,
    loan_page_list,
    mask_national_id,
)
from loans.panels import loan_panels
from loans.selectors import loan_delinquency_live


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
        "annual_rate_percent": loan.annual_rate * 100,
        "borrower_national_id": mask_national_id(loan.borrower.national_id),
        "guarantors": [(g, mask_national_id(g.national_id)) for g in loan.guarantors.all()],
        "chart_days": CHART_DAYS,
        "dpd_chart": dpd_chart_svg(history_points, start=today - timedelta(days=CHART_DAYS - 1), end=today),
        "has_history": bool(history_points),
        "history": history_for(loan),
        "extra_panels": loan_panels(request, loan),
    }
    return render(request, "loans/detail.html", context)
