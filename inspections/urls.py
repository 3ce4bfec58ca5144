from django.urls import path

from inspections import views

app_name = "inspections"
urlpatterns = [
    path("", views.home, name="home"),
    path("calendar/", views.team_calendar, name="calendar"),
    path("review/", views.review_list, name="review-queue"),
    path("acknowledge/", views.acknowledge_list, name="ack-queue"),
    path("overdue/", views.overdue_by_officer, name="overdue"),
    path("samples/", views.sample_list, name="samples"),
    path("samples/draw/", views.sample_draw, name="sample-draw"),
    path("samples/<int:sample_id>/", views.sample_detail, name="sample"),
    path("samples/<int:sample_id>/assign/", views.sample_assign, name="sample-assign"),
    path("loans/<str:number>/adverse-events/", views.adverse_event_add, name="adverse-event"),
    path("loans/<str:number>/panel/", views.loan_panel, name="loan-panel"),
    path("<int:inspection_id>/", views.detail, name="detail"),
    path("<int:inspection_id>/report/", views.report_save, name="report"),
    path("<int:inspection_id>/start/", views.start, name="start"),
    path("<int:inspection_id>/submit/", views.submit, name="submit"),
    path("<int:inspection_id>/return/", views.return_report, name="return"),
    path("<int:inspection_id>/review/", views.review, name="review"),
    path("<int:inspection_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:inspection_id>/complete/", views.complete, name="complete"),
    path("<int:inspection_id>/assign/", views.assign, name="assign"),
    path("<int:inspection_id>/attachments/", views.attachment_add, name="attachment-add"),
    path("<int:inspection_id>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("<int:inspection_id>/report.pdf", views.report_download, name="pdf"),
    path("<int:inspection_id>/tasks/", views.task_add, name="task-add"),
    path("<int:inspection_id>/tasks/<int:task_id>/done/", views.task_done, name="task-done"),
]
