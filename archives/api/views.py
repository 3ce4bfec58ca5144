"""The custody part of the core-banking API (api.md "Read-only feeds"). One view per operation."""

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from archives.models import CreditFile
from archives.selectors import credit_file_feed_for_user
from loanops.core.api.pagination import PageNumberPagination
from loanops.core.api.views import BaseApiView
from loanops.core.exceptions import ValidationFailed


class CreditFileFilter(django_filters.FilterSet):
    loan_number = django_filters.CharFilter(field_name="loan__number")
    state = django_filters.ChoiceFilter(choices=CreditFile.State.choices)

    class Meta:
        model = CreditFile
        fields = []


class CreditFileDocumentSerializer(serializers.Serializer):
    code = serializers.CharField()
    level = serializers.IntegerField()
    required = serializers.BooleanField()
    present = serializers.BooleanField()
    location = serializers.CharField()


class CreditFileSerializer(serializers.Serializer):
    loan_number = serializers.CharField(source="loan.number")
    state = serializers.CharField()
    documents = CreditFileDocumentSerializer(many=True)


class CreditFileListApi(BaseApiView):
    OutputSerializer = CreditFileSerializer

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        filterset = CreditFileFilter(request.query_params, queryset=credit_file_feed_for_user(user=request.user))
        if not filterset.is_valid():
            raise ValidationFailed(_("Invalid filter."), extra=filterset.errors)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(filterset.qs, request, view=self)
        return paginator.get_paginated_response(self.OutputSerializer(page, many=True).data)
