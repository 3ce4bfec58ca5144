from django.urls import path

from inspections.api import views

urlpatterns = [
    path("inspections", views.InspectionListApi.as_view(), name="api-inspection-list"),
]
