from django.urls import path

from archives.api import views

urlpatterns = [
    path("credit-files", views.CreditFileListApi.as_view(), name="api-credit-file-list"),
]
