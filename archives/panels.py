"""The loan page's "Credit file" section."""

from django.utils.translation import gettext_lazy as _

from archives.selectors import credit_file_for_loan
from archives.services.files import credit_file_missing


def credit_file_panel(request, loan) -> dict:
    file, documents = credit_file_for_loan(loan=loan)
    missing = credit_file_missing(file, documents) if file else {}
    return {
        "id": "credit-file",
        "title": _("Credit file"),
        "template": "archives/includes/loan_panel.html",
        "context": {"file": file, "missing": missing},
    }
