"""The core-banking API (api.md): every path exactly as the contract writes it, no trailing slash."""

from django.urls import include, path

urlpatterns = [
    path("", include("loans.api.urls")),  # payments first: the busiest paths
    path("", include("loanops.org.api.urls")),
    path("", include("loan_collections.api.urls")),
    path("", include("archives.api.urls")),
    path("", include("inspections.api.urls")),
    path("", include("loanops.oversight.api.urls")),
]
