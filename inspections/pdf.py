"""The signed inspection report as a PDF (WeasyPrint), in the borrower's language (else the
signing user's, else the site default)."""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from inspections.models import Inspection, SignOff
from loans.models import Collateral

LANGUAGES = {code for code, _name in settings.LANGUAGES}


def report_language(inspection: Inspection, user=None) -> str:
    for candidate in (inspection.loan.borrower.language, getattr(user, "language", ""), settings.LANGUAGE_CODE):
        code = (candidate or "").split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def report_filename(inspection: Inspection) -> str:
    return f"inspection-{inspection.id}-{inspection.loan.number}.pdf"


def report_html(inspection: Inspection, *, language: str) -> str:
    with translation.override(language):
        return render_to_string(
            "inspections/pdf/report.html",
            {
                "inspection": inspection,
                "loan": inspection.loan,
                "collateral": Collateral.objects.filter(loan_id=inspection.loan_id).order_by("id"),
                "signoffs": SignOff.objects.filter(inspection=inspection).select_related("by").order_by("at", "id"),
                "tasks": inspection.tasks.select_related("owner").order_by("due_date", "id"),
                "attachments": inspection.attachments.order_by("id"),
                "language": language,
            },
        )


def report_pdf(inspection: Inspection, *, language: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=report_html(inspection, language=language)).write_pdf()
