from django.urls import path

from loanops.org.api import views

urlpatterns = [
    path("branches/<str:code>", views.BranchApi.as_view(), name="api-branch"),
]
