from django.urls import path, re_path

from loans import views

app_name = "loans"
urlpatterns = [
    path("", views.loan_list, name="list"),
    # Before "<number>/": these paths would otherwise read as loan numbers.
    path("import/", views.loan_import, name="import"),
    re_path(r"^import/template/(?P<kind>loans|payments)\.csv$", views.loan_import_template, name="import_template"),
    path("<str:number>/", views.loan_detail, name="detail"),
    path("<str:number>/classification/downgrade/", views.loan_downgrade, name="downgrade"),
    path("<str:number>/classification/reclassify/", views.loan_reclassify, name="reclassify"),
]
