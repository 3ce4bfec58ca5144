from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = _("Loans")

    def ready(self):
        from loanops.core.navigation import register_nav
        from loans import nightly  # noqa: F401  (registers the sweep as the first nightly step)
        from loans.views import can_import, can_view_loans

        register_nav(_("Loans"), "loans:list", can_view_loans, order=10)
        register_nav(_("Import"), "loans:import", can_import, order=11)
