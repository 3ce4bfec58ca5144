"""The collections part of the core-banking API (api.md "Read-only feeds"). One view per operation."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from loan_collections.models import CollectionCase, Stage
from loan_collections.selectors import case_list_for_user
from loanops.core.api.pagination import PageNumberPagination
from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import ValidationFailed


class CaseFilter(django_filters.FilterSet):
    loan_number = django_filters.CharFilter(field_name="loan__number")
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    status = django_filters.ChoiceFilter(choices=CollectionCase.Status.choices)
    collector = django_filters.CharFilter(field_name="collector__username")

    class Meta:
        model = CollectionCase
        fields = []


class CaseListApi(BaseApiView):
    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        loan_number = serializers.CharField(source="loan.number")
        status = serializers.CharField()
        stage = serializers.CharField()
        stage_since = serializers.DateField()
        opened_on = serializers.DateField()
        collector = serializers.CharField(source="collector.username", allow_null=True, default=None)

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        filterset = CaseFilter(request.query_params, queryset=case_list_for_user(user=request.user).order_by("id"))
        if not filterset.is_valid():
            raise ValidationFailed("Invalid filter.", extra=filterset.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
