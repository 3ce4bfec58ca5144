from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    # The package cannot be called `collections` (the standard library's module would
    # shadow it), but the app keeps the design card's label for tables, URLs and templates.
    name = "loan_collections"
    label = "collections"
    verbose_name = _("Collections")

    def ready(self):
        from loan_collections import nightly  # noqa: F401  (registers collections.cases at order 20)
        from loan_collections.panels import collection_case_panel
        from loan_collections.selectors import case_stages_for_loans
        from loan_collections.views import can_view_cases
        from loanops.core.navigation import register_nav
        from loans.extensions import register_collection_stage_lookup
        from loans.panels import register_loan_panel

        register_nav(_("Collections"), "collections:list", can_view_cases, order=20)
        from loan_collections import views_work

        register_nav(_("My work queue"), "collections:queue", views_work.can_see_queue, order=21)
        register_nav(_("Collector load"), "collections:load", views_work.can_see_load, order=22)
        from loan_collections import views_enforcement  # noqa: F401  (case sections)
        from loan_collections.services.writeoffs import writeoff_nav_visible

        register_nav(_("Enforcement"), "collections:tracks", can_view_cases, order=24)
        register_nav(_("Dealer advances"), "collections:dealer-advances", can_view_cases, order=25)
        register_nav(_("Write-offs"), "collections:writeoffs", writeoff_nav_visible, order=26)
        from loan_collections import views_letters  # registers the letters case section (order 30)

        register_nav(_("Letters"), "collections:letters", views_letters.can_view_letters, order=23)
        register_loan_panel(collection_case_panel)
        register_collection_stage_lookup(case_stages_for_loans)
