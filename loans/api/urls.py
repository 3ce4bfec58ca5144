from django.urls import path

from loans.api import views

urlpatterns = [
    # Payments first: core banking posts them all day.
    path("payments", views.PaymentCreateApi.as_view(), name="api-payment-create"),
    path("payments/bulk", views.PaymentBulkApi.as_view(), name="api-payment-bulk"),
    path("payments/<str:external_id>/reverse", views.PaymentReverseApi.as_view(), name="api-payment-reverse"),
    path("loans", views.LoanListApi.as_view(), name="api-loan-list"),
    path("loans/<str:loan_number>", views.LoanApi.as_view(), name="api-loan"),
    path("loans/<str:loan_number>/delinquency", views.LoanDelinquencyApi.as_view(), name="api-loan-delinquency"),
]
