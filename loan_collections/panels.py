"""The loan page's "Collection case" section."""

from django.utils.translation import gettext_lazy as _

from loan_collections.selectors import case_get_open_for_loan


def collection_case_panel(request, loan) -> dict:
    return {
        "id": "collection-case",
        "title": _("Collection case"),
        "template": "collections/includes/loan_panel.html",
        "context": {"case": case_get_open_for_loan(loan=loan)},
    }
