from django.urls import path

from loan_collections import views, views_work

app_name = "collections"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("reassign/", views.case_reassign, name="reassign"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/release/", views.case_release, name="release"),
    path("queue/", views_work.queue, name="queue"),
    path("load/", views_work.load, name="load"),
    path("<int:case_id>/contacts/", views_work.contact_create, name="contact-create"),
    path("<int:case_id>/promises/", views_work.promise_create, name="promise-create"),
    path("promises/<int:promise_id>/approve/", views_work.promise_approve_view, name="promise-approve"),
    path("promises/<int:promise_id>/cancel/", views_work.promise_cancel_view, name="promise-cancel"),
]
