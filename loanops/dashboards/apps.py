from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "loanops.dashboards"
    label = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self):
        from loanops.core.navigation import register_nav
        from loanops.dashboards import nightly  # noqa: F401  (registers dashboards.aggregates at order 90)
        from loanops.dashboards.permissions import can_view_dashboards

        register_nav(_("Dashboards"), "dashboards:portfolio", can_view_dashboards, order=40)
