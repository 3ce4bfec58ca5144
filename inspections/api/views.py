"""The inspections feed of the core-banking API (api.md "Read-only feeds"). One view per operation."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from inspections.models import Inspection, InspectionState, InspectionType
from inspections.selectors import inspection_list_for_user
from loanops.core.api.pagination import PageNumberPagination
from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import ValidationFailed


class InspectionFilter(django_filters.FilterSet):
    loan_number = django_filters.CharFilter(field_name="loan__number")
    type = django_filters.ChoiceFilter(choices=InspectionType.choices)
    state = django_filters.ChoiceFilter(choices=InspectionState.choices)

    class Meta:
        model = Inspection
        fields = []


class InspectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan_number = serializers.CharField(source="loan.number")
    type = serializers.ChoiceField(choices=InspectionType.choices)
    state = serializers.ChoiceField(choices=InspectionState.choices)
    due_date = serializers.DateField()
    officer = serializers.CharField(source="officer.username", allow_null=True, default=None)


class InspectionListApi(BaseApiView):
    OutputSerializer = InspectionSerializer

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        filterset = InspectionFilter(
            request.query_params, queryset=inspection_list_for_user(user=request.user).order_by("id")
        )
        if not filterset.is_valid():
            raise ValidationFailed("Invalid filter.", extra=filterset.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
