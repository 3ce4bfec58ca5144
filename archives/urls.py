from django.urls import path

from archives import views

app_name = "archives"
urlpatterns = [
    path("", views.file_list, name="list"),
    path("<int:file_id>/", views.file_detail, name="detail"),
    path("<int:file_id>/documents/<slug:code>/", views.document_mark, name="document-mark"),
    path("<int:file_id>/contract/", views.contract_confirm, name="contract"),
    path("<int:file_id>/check/", views.file_check, name="check"),
    path("<int:file_id>/handoff/submit/", views.handoff_submit, name="handoff-submit"),
    path("<int:file_id>/handoff/accept/", views.handoff_accept, name="handoff-accept"),
    path("<int:file_id>/handoff/reject/", views.handoff_reject, name="handoff-reject"),
]
