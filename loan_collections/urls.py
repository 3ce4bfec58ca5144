from django.urls import path

from loan_collections import views

app_name = "collections"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("reassign/", views.case_reassign, name="reassign"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/release/", views.case_release, name="release"),
]
