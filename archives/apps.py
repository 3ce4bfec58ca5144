from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ArchivesConfig(AppConfig):
    name = "archives"
    verbose_name = _("Credit file custody")

    def ready(self):
        from archives import nightly, signals  # noqa: F401  (nightly steps; Loan post_save)
        from archives.panels import credit_file_panel
        from archives.views import can_view_files
        from loanops.core.navigation import register_nav
        from loans.panels import register_loan_panel

        register_nav(_("Credit files"), "archives:list", can_view_files, order=30)
        register_nav(_("Archive desk"), "archives:desk", can_view_files, order=31)
        register_nav(_("Custody alerts"), "archives:alerts", can_view_files, order=32)
        register_loan_panel(credit_file_panel)
