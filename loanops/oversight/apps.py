from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "loanops.oversight"
    label = "oversight"
    verbose_name = _("NPL oversight")

    def ready(self):
        from loanops.core.navigation import register_nav
        from loanops.oversight.panels import restriction_panel
        from loanops.oversight.permissions import can_view_dealers, can_view_oversight
        from loans.panels import register_loan_panel

        register_nav(_("NPL oversight"), "oversight:reports", can_view_oversight, order=45)
        register_nav(_("Dealer overdue rates"), "oversight:dealers", can_view_dealers, order=46)
        register_loan_panel(restriction_panel)
