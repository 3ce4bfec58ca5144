from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InspectionsConfig(AppConfig):
    name = "inspections"
    verbose_name = _("Post-loan inspections")

    def ready(self):
        from inspections import nightly  # noqa: F401  (registers inspections.schedule at order 40)
        from inspections.panels import inspections_panel
        from inspections.services.sampling import can_view_samples
        from inspections.views import can_view_inspections
        from loanops.core.navigation import register_nav
        from loans.panels import register_loan_panel

        register_nav(_("Inspections"), "inspections:home", can_view_inspections, order=35)
        register_nav(_("Spot checks"), "inspections:samples", can_view_samples, order=36)
        register_loan_panel(inspections_panel)
