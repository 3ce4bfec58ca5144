from django.urls import path

from loanops.core import views

app_name = "core"
urlpatterns = [
    path("audit/", views.audit, name="audit"),
    path("language/", views.set_language, name="set_language"),
]
