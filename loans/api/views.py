"""The loans and payments part of the core-banking API (api.md). One view per operation."""

from datetime import date

import django_filters
from django.db import IntegrityError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from loanops.core.api.fields import IsoDateField
from loanops.core.api.pagination import PageNumberPagination
from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import ApplicationError, NotFound, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Branch
from loans.api import serializers as s
from loans.extensions import collection_stages
from loans.models import Bucket, Classification, Loan
from loans.selectors import loan_delinquency_live, loan_get_for_user, loan_list_for_user
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payment_post, payment_reverse, payments_post


def _validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise ValidationFailed("Invalid input.", extra=serializer.errors)
    return serializer.validated_data


def loan_detail_data(loan: Loan) -> dict:
    live, _ = loan_delinquency_live(loan=loan, as_of=business_date())
    data = s.LoanSummarySerializer(loan, context={"stages": collection_stages([loan.id])}).data
    data.update(
        {
            "annual_rate": f"{loan.annual_rate}",
            "term_months": loan.term_months,
            "amortization": loan.amortization or None,
            "insurer": (
                {
                    "external_id": loan.insurer.external_id,
                    "name": loan.insurer.name,
                    "policy_number": loan.insurance_policy.number if loan.insurance_policy else None,
                }
                if loan.insurer
                else None
            ),
            "guarantors": [{"external_id": g.external_id, "name": g.name} for g in loan.guarantors.all()],
            "collateral": [
                {
                    "kind": c.kind,
                    "description": c.description,
                    "value": f"{c.value:.2f}",
                    "valued_on": c.valued_on.isoformat() if c.valued_on else None,
                }
                for c in loan.collateral.all()
            ],
            "schedule": s.InstallmentOutputSerializer(live.installments, many=True).data,
        }
    )
    return data


class LoanApi(BaseApiView):
    @extend_schema(responses=s.LoanSummarySerializer)
    def get(self, request, loan_number):
        loan = loan_get_for_user(user=request.user, number=loan_number)
        if loan is None:
            raise NotFound("Loan not found.")
        return Response(loan_detail_data(loan))

    @extend_schema(
        request=s.LoanInputSerializer, responses={200: s.LoanSummarySerializer, 201: s.LoanSummarySerializer}
    )
    def put(self, request, loan_number):
        if not 1 <= len(loan_number) <= 64:
            raise ValidationFailed("Invalid loan number.", extra={"loan_number": ["Use 1–64 characters."]})
        data = _validated(s.LoanInputSerializer, request.data)
        try:
            loan, created = loan_upsert(number=loan_number, data=data, acting_user=request.user)
        except IntegrityError:
            # Another request created the same loan at the same moment: this one replaces it.
            loan, created = loan_upsert(number=loan_number, data=data, acting_user=request.user)
        loan = loan_get_for_user(user=request.user, number=loan.number)
        return Response(loan_detail_data(loan), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class AsOfSerializer(serializers.Serializer):
    as_of = IsoDateField()


class LoanDelinquencyApi(BaseApiView):
    @extend_schema(
        parameters=[OpenApiParameter("as_of", date, description="YYYY-MM-DD; default today")],
        responses=s.DelinquencySerializer,
    )
    def get(self, request, loan_number):
        loan = loan_get_for_user(user=request.user, number=loan_number)
        if loan is None:
            raise NotFound("Loan not found.")
        as_of = business_date()
        if request.query_params.get("as_of"):
            as_of = _validated(AsOfSerializer, {"as_of": request.query_params["as_of"]})["as_of"]
        result, _ = loan_delinquency_live(loan=loan, as_of=as_of)
        payload = {
            field: getattr(result, field) for field in s.DelinquencySerializer().fields if hasattr(result, field)
        }
        payload["classification_floor"] = result.classification
        return Response(s.DelinquencySerializer(payload).data)


class LoanFilter(django_filters.FilterSet):
    branch = django_filters.CharFilter(method="filter_branch")
    officer = django_filters.CharFilter(field_name="officer__username")
    product = django_filters.CharFilter(field_name="product__code")
    dealer = django_filters.CharFilter(field_name="dealer__external_id")
    status = django_filters.ChoiceFilter(choices=Loan.Status.choices)
    bucket = django_filters.ChoiceFilter(field_name="delinquency__bucket", choices=Bucket.choices)
    classification = django_filters.ChoiceFilter(
        field_name="delinquency__classification", choices=Classification.choices
    )
    rule_3_6 = django_filters.BooleanFilter(field_name="delinquency__rule_3_6")
    min_dpd = django_filters.NumberFilter(field_name="delinquency__days_past_due", lookup_expr="gte")
    max_dpd = django_filters.NumberFilter(field_name="delinquency__days_past_due", lookup_expr="lte")

    class Meta:
        model = Loan
        fields = []

    def filter_branch(self, queryset, name, value):
        """A branch code selects that unit and everything below it."""
        path = Branch.objects.filter(code=value).values_list("path", flat=True).first()
        return queryset.filter(branch__path__startswith=path) if path else queryset.none()


class LoanListApi(BaseApiView):
    @extend_schema(responses=s.LoanSummarySerializer(many=True))
    def get(self, request):
        filterset = LoanFilter(request.query_params, queryset=loan_list_for_user(user=request.user).order_by("id"))
        if not filterset.is_valid():
            raise ValidationFailed("Invalid filter.", extra=filterset.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        stages = collection_stages(loan.id for loan in page)
        return paginator.get_paginated_response(
            s.LoanSummarySerializer(page, many=True, context={"stages": stages}).data
        )


def _payment_request(data: dict) -> PaymentRequest:
    return PaymentRequest(
        external_id=data["external_id"],
        loan_number=data["loan_number"],
        amount=data["amount"],
        value_date=data["value_date"],
        payer=data["payer"],
    )


class PaymentCreateApi(BaseApiView):
    @extend_schema(request=s.PaymentInputSerializer, responses={201: dict, 200: dict})
    def post(self, request):
        data = s.payment_input_plain(request.data) or _validated(s.PaymentInputSerializer, request.data)
        outcome = payment_post(request=_payment_request(data), acting_user=request.user)
        return self.rendered(outcome.payment.response, status=201 if outcome.created else 200)


class PaymentBulkApi(BaseApiView):
    @extend_schema(
        request=s.PaymentBulkInputSerializer,
        responses=inline_serializer("BulkResults", {"results": serializers.ListField(child=serializers.DictField())}),
    )
    def post(self, request):
        items = _validated(s.PaymentBulkInputSerializer, request.data)["payments"]
        results: list[dict | None] = [None] * len(items)
        requests, positions = [], []
        validator = s.PaymentInputSerializer()  # one instance: its fields are built once, not per item
        for index, item in enumerate(items):
            external_id = item.get("external_id") if isinstance(item, dict) else None
            try:
                requests.append(_payment_request(s.payment_input_plain(item) or validator.run_validation(item)))
                positions.append(index)
            except serializers.ValidationError as exc:
                errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
                results[index] = {"external_id": external_id, "status": 400, "errors": errors}
        answers = payments_post(requests=requests, acting_user=request.user)
        for index, request_, answer in zip(positions, requests, answers, strict=True):
            external_id = request_.external_id
            if isinstance(answer, ApplicationError):
                results[index] = {
                    "external_id": external_id,
                    "status": answer.status_code,
                    "errors": answer.extra or {"non_field_errors": [answer.message]},
                }
            else:
                results[index] = {
                    "external_id": external_id,
                    "status": 201 if answer.created else 200,
                    "payment": answer.payment.response,
                }
        return Response({"results": results})


class PaymentReverseApi(BaseApiView):
    @extend_schema(request=s.PaymentReverseInputSerializer, responses=dict)
    def post(self, request, external_id):
        data = _validated(s.PaymentReverseInputSerializer, request.data or {})
        payment = payment_reverse(external_id=external_id, reason=data["reason"], acting_user=request.user)
        body = dict(payment.response)
        body.update(
            {
                "reversed": True,
                "reversed_at": payment.reversed_at.isoformat(),
                "reversal_reason": payment.reversal_reason,
            }
        )
        return Response(body)
