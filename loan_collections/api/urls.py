from django.urls import path

from loan_collections.api import views

urlpatterns = [
    path("collection-cases", views.CaseListApi.as_view(), name="api-collection-case-list"),
]
