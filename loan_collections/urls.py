from django.urls import path

from loan_collections import views, views_enforcement, views_letters, views_work

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
    path("enforcement/", views_enforcement.track_list, name="tracks"),
    path("enforcement/<int:track_id>/move/", views_enforcement.track_move, name="track-move"),
    path("dealer-advances/", views_enforcement.dealer_advance_list, name="dealer-advances"),
    path("write-offs/", views_enforcement.writeoff_queue, name="writeoffs"),
    path("write-offs/<int:write_off_id>/", views_enforcement.writeoff_detail, name="writeoff-detail"),
    path("write-offs/<int:write_off_id>/<slug:action>/", views_enforcement.writeoff_action, name="writeoff-action"),
    path("<int:case_id>/write-off/", views_enforcement.writeoff_propose_view, name="writeoff-propose"),
    path("letters/", views_letters.letter_list, name="letters"),
    path("letters/<int:letter_id>/", views_letters.letter_detail, name="letter-detail"),
    path("letters/<int:letter_id>/pdf/", views_letters.letter_pdf, name="letter-pdf"),
    path("letters/<int:letter_id>/delivery/", views_letters.letter_delivery, name="letter-delivery"),
    path("letters/<int:letter_id>/retry/", views_letters.letter_retry_view, name="letter-retry"),
    path("letters/batches/", views_letters.print_batch_new, name="print-batch-new"),
    path("letters/batches/<int:batch_id>/pdf/", views_letters.print_batch_pdf, name="print-batch-pdf"),
    path("<int:case_id>/letters/", views_letters.letter_new, name="letter-new"),
]
