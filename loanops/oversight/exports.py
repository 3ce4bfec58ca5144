"""The 3/6 report as a table (CSV, XLSX and the API's `.csv`) and as a PDF (WeasyPrint)."""

from collections.abc import Iterable, Iterator

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from loans.models import Classification

# (header, attribute of Rule36Line); the institution comes from the line's report.
LINE_COLUMNS = (
    (_("Month"), "month"),
    (_("Institution"), "institution"),
    (_("Branch"), "branch_code"),
    (_("Credit officer"), "officer_name"),
    (_("Dealer"), "dealer_name"),
    (_("Borrower id"), "borrower_external_id"),
    (_("Borrower"), "borrower_name"),
    (_("Contract"), "loan_number"),
    (_("Product"), "product_code"),
    (_("Disbursement date"), "disbursement_date"),
    (_("Outstanding principal"), "outstanding_principal"),
    (_("Overdue principal"), "overdue_principal"),
    (_("Overdue interest"), "overdue_interest"),
    (_("Overdue fees"), "overdue_fees"),
    (_("Overdue amount"), "overdue_amount"),
    (_("Days past due"), "days_past_due"),
    (_("Consecutive missed"), "overdue_installments"),
    (_("Cumulative missed"), "cumulative_missed_installments"),
    (_("Longest run of missed"), "max_consecutive_missed"),
    (_("Classification"), "classification"),
    (_("Enforcement status"), "collection_stage"),
)


def line_header() -> list[str]:
    return [str(label) for label, _attr in LINE_COLUMNS]


def _value(line, attr: str):
    if attr == "month":
        return f"{line.report.month:%Y-%m}"
    if attr == "institution":
        return line.report.institution.code
    if attr == "classification":
        return str(dict(Classification.choices).get(line.classification, line.classification))
    if attr == "collection_stage":
        return stage_label(line.collection_stage)
    return getattr(line, attr)


def stage_label(stage: str) -> str:
    from loan_collections.models import Stage

    return str(dict(Stage.choices).get(stage, stage)) if stage else ""


def line_rows(lines: Iterable) -> Iterator[list]:
    for line in lines:
        yield [_value(line, attr) for _label, attr in LINE_COLUMNS]


def report_filename(report, extension: str) -> str:
    return f"rule-3-6-{report.institution.code}-{report.month:%Y-%m}.{extension}"


def report_pdf(*, report, lines: list, totals: dict, branch_totals: list, language: str, partial: bool) -> bytes:
    """The report as a PDF in LANGUAGE (es or en)."""
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string(
            "oversight/pdf/report.html",
            {
                "report": report, "lines": lines, "totals": totals, "branch_totals": branch_totals,
                "partial": partial, "language": language,
            },
        )  # fmt: skip
    return HTML(string=html).write_pdf()
