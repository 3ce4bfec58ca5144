from django.urls import path

from loanops.oversight import views

app_name = "oversight"
urlpatterns = [
    path("", views.report_list, name="reports"),
    path("reports/<int:report_id>/", views.report_detail, name="report"),
    path("reports/<int:report_id>/download.<str:fmt>", views.report_download, name="report-download"),
    path("institutions/<str:code>/", views.institution_detail, name="institution"),
    path("proposals/<int:proposal_id>/decide/", views.proposal_decide, name="proposal-decide"),
    path("dealers/", views.dealer_list, name="dealers"),
]
