from django.urls import path

from loanops.oversight.api import views

urlpatterns = [
    path("reports/rule-3-6", views.Rule36ReportApi.as_view(), name="api-rule-3-6"),
    path("reports/rule-3-6.csv", views.Rule36ReportCsvApi.as_view(), name="api-rule-3-6-csv"),
    path("branches/<str:code>/restrictions", views.BranchRestrictionsApi.as_view(), name="api-branch-restrictions"),
]
