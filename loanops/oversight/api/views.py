"""The oversight part of the core-banking API (api.md "Read-only feeds"). One view per operation."""

from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from loanops.core.api.fields import MoneyField
from loanops.core.api.pagination import PageNumberPagination
from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import NotFound, ValidationFailed
from loanops.core.exports import csv_response
from loanops.org.models import Branch
from loanops.org.scoping import for_user
from loanops.oversight.exports import line_header, line_rows
from loanops.oversight.models import RestrictionState
from loanops.oversight.selectors import (
    MONEY_TOTALS,
    institution_of,
    latest_report_month_for_user,
    report_list_for_user,
    restriction_view,
    rule_3_6_lines_for_user,
)
from loanops.oversight.services.reports import parse_month


def _money(value) -> str:
    return f"{Decimal(value or 0):.2f}"


def _ratio(value) -> str | None:
    return None if value is None else f"{value:.6f}"


class Rule36LineSerializer(serializers.Serializer):
    institution = serializers.CharField(source="report.institution.code")
    branch = serializers.CharField(source="branch_code")
    officer = serializers.CharField(source="officer_name")
    dealer = serializers.CharField(source="dealer_name")
    borrower_external_id = serializers.CharField()
    borrower = serializers.CharField(source="borrower_name")
    loan_number = serializers.CharField()
    product = serializers.CharField(source="product_code")
    disbursement_date = serializers.DateField()
    outstanding_principal = MoneyField()
    overdue_principal = MoneyField()
    overdue_interest = MoneyField()
    overdue_fees = MoneyField()
    overdue_amount = MoneyField()
    days_past_due = serializers.IntegerField()
    overdue_installments = serializers.IntegerField()
    cumulative_missed_installments = serializers.IntegerField()
    max_consecutive_missed = serializers.IntegerField()
    classification = serializers.CharField()
    classification_floor = serializers.CharField()
    enforcement_status = serializers.CharField(source="collection_stage")


def _report_query(request):
    """Validated (month, branch, lines) for the caller; 400 with field messages, 404 when the
    month was not generated (or not for the caller's institutions)."""
    errors = {}
    month = None
    raw_month = request.query_params.get("month")
    if raw_month is not None:
        try:
            month = parse_month(raw_month)
        except ValidationFailed as exc:
            errors.update(exc.extra)
    branch = None
    code = request.query_params.get("branch")
    if code is not None:
        branch = for_user(Branch.objects.all(), request.user).filter(code=code.strip()).first()
        if branch is None:
            errors["branch"] = [_("Unknown branch.")]
    if errors:
        raise ValidationFailed(_("Invalid filter."), extra=errors)
    if month is None:
        month = latest_report_month_for_user(user=request.user)
    if month is None or not report_list_for_user(user=request.user).filter(month=month).exists():
        raise NotFound(_("No 3/6 report has been generated for this month."))
    return month, branch, rule_3_6_lines_for_user(user=request.user, month=month, branch=branch)


def _totals(lines) -> list[dict]:
    """The lines' totals by institution, summed in SQL."""
    rows = (
        lines.order_by()
        .values("report__institution__code")
        .annotate(loans=Count("id"), **{name: Sum(name) for name in MONEY_TOTALS})
        .order_by("report__institution__code")
    )
    return [
        {"institution": row["report__institution__code"], "loans": row["loans"],
         **{name: _money(row[name]) for name in MONEY_TOTALS}}
        for row in rows
    ]  # fmt: skip


_REPORT_PARAMETERS = [
    OpenApiParameter("month", str, description="YYYY-MM; default the latest generated month"),
    OpenApiParameter("branch", str, description="A branch or institution code: that unit and everything below"),
]


class Rule36ReportApi(BaseApiView):
    @extend_schema(parameters=_REPORT_PARAMETERS, responses=Rule36LineSerializer(many=True))
    def get(self, request):
        month, _branch, lines = _report_query(request)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(lines, request, view=self)
        response = paginator.get_paginated_response(Rule36LineSerializer(page, many=True).data)
        response.data = {"month": f"{month:%Y-%m}", "totals": _totals(lines), **response.data}
        return response


class Rule36ReportCsvApi(BaseApiView):
    @extend_schema(parameters=_REPORT_PARAMETERS, responses={(200, "text/csv"): str})
    def get(self, request):
        month, branch, lines = _report_query(request)
        suffix = f"-{branch.code}" if branch else ""
        return csv_response(f"rule-3-6-{month:%Y-%m}{suffix}.csv", line_header(), line_rows(lines.iterator()))


class RestrictionHistorySerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    as_of = serializers.DateField()
    npl_ratio = serializers.SerializerMethodField()
    npl_ratio_limit = serializers.SerializerMethodField()
    above_limit = serializers.BooleanField()
    npl_principal = MoneyField()
    total_principal = MoneyField()

    def get_month(self, report) -> str:
        return f"{report.month:%Y-%m}"

    def get_npl_ratio(self, report) -> str | None:
        return _ratio(report.npl_ratio)

    def get_npl_ratio_limit(self, report) -> str:
        return _ratio(report.npl_ratio_limit)


class BranchRestrictionsSerializer(serializers.Serializer):
    """The answer's shape (for the OpenAPI schema)."""

    branch = serializers.CharField()
    institution = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(choices=RestrictionState.choices)
    since = serializers.DateField(allow_null=True)
    authority_factor = serializers.CharField()
    suspended_business_types = serializers.ListField(child=serializers.CharField())
    signed_by = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    pending_proposal = serializers.DictField(allow_null=True)
    ratio_history = RestrictionHistorySerializer(many=True)


class BranchRestrictionsApi(BaseApiView):
    """The NPL restriction of the institution a unit belongs to (origination systems ask before
    approving): state, since, ratio history, authority factor, suspended business types, sign-off."""

    @extend_schema(responses=BranchRestrictionsSerializer)
    def get(self, request, code):
        branch = for_user(Branch.objects.all(), request.user).filter(code=code).first()
        if branch is None:
            raise NotFound(_("Branch not found."))
        institution = institution_of(branch)
        if institution is None:
            return Response(
                {"branch": branch.code, "institution": None, "state": "normal", "since": None,
                 "authority_factor": "1.00", "suspended_business_types": [], "signed_by": None, "signed_at": None,
                 "pending_proposal": None, "ratio_history": []}
            )  # fmt: skip
        view = restriction_view(institution=institution, history=True)
        pending = view.pending
        return Response(
            {
                "branch": branch.code,
                "institution": institution.code,
                "state": view.state,
                "since": view.since.isoformat() if view.since else None,
                "authority_factor": f"{view.authority_factor:.2f}",
                "suspended_business_types": view.suspended_business_types,
                "signed_by": view.signed_by,
                "signed_at": view.signed_at.isoformat() if view.signed_at else None,
                "pending_proposal": (
                    {"kind": pending.kind, "report_month": f"{pending.report.month:%Y-%m}", "reason": pending.reason}
                    if pending
                    else None
                ),
                "ratio_history": RestrictionHistorySerializer(view.ratio_history, many=True).data,
            }
        )
