"""The core-banking API (api.md): every path exactly as the contract writes it, no trailing slash.

The apps' patterns are listed here one after another, not included: each level of `include`
costs every request a resolver match of its own. Payments first: the busiest paths."""

from archives.api import urls as archives_api
from inspections.api import urls as inspections_api
from loan_collections.api import urls as collections_api
from loanops.org.api import urls as org_api
from loanops.oversight.api import urls as oversight_api
from loans.api import urls as loans_api

urlpatterns = [
    *loans_api.urlpatterns,
    *org_api.urlpatterns,
    *collections_api.urlpatterns,
    *archives_api.urlpatterns,
    *inspections_api.urlpatterns,
    *oversight_api.urlpatterns,
]
