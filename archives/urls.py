from django.urls import path

from archives import custody_views as custody
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
    path("desk/", custody.desk, name="desk"),
    path("scan/", custody.scan, name="scan"),
    path("labels/", custody.labels, name="labels"),
    path("labels.pdf", custody.labels_pdf, name="labels-pdf"),
    path("<int:file_id>/labels/", custody.labels, name="file-labels"),
    path("<int:file_id>/labels.pdf", custody.labels_pdf, name="file-labels-pdf"),
    path("locations/", custody.locations, name="locations"),
    path("locations/<int:location_id>/", custody.location_detail, name="location"),
    path("<int:file_id>/borrow/", custody.borrow_create, name="borrow-create"),
    path("borrowing/<int:request_id>/", custody.borrow_detail, name="borrow"),
    path("borrowing/<int:request_id>/approve/", custody.borrow_approve_view, name="borrow-approve"),
    path("borrowing/<int:request_id>/decline/", custody.borrow_decline_view, name="borrow-decline"),
    path("borrowing/<int:request_id>/lend/", custody.borrow_lend_view, name="borrow-lend"),
    path("borrowing/<int:request_id>/return/", custody.borrow_return_view, name="borrow-return"),
    path("<int:file_id>/consult/", custody.consult_view, name="consult"),
    path("<int:file_id>/incidents/", custody.incident_open_view, name="incident-open"),
    path("incidents/<int:incident_id>/resolve/", custody.incident_resolve_view, name="incident-resolve"),
    path("<int:file_id>/release/sign/", custody.release_sign_view, name="release-sign"),
    path("<int:file_id>/release/", custody.release_view, name="release"),
    path("<int:file_id>/close/", custody.close_view, name="close"),
    path("alerts/", custody.alerts, name="alerts"),
    path("reports/custody/", custody.discrepancies, name="discrepancies"),
    path("destruction/", custody.destruction_list, name="destruction"),
]
