from django.urls import path

from loanops.dashboards import views

app_name = "dashboards"
urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("collections/", views.collections, name="collections"),
    path("custody/", views.custody, name="custody"),
    path("pack.pdf", views.pack, name="pack"),
    path("<str:page>/export/<str:table>.<str:fmt>", views.export, name="export"),
]
