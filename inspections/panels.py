"""The loan page's "Inspections" section. It costs the loan page no query: the section loads its
content from `inspections:loan-panel` with htmx once the page is shown (a plain link without
JavaScript)."""

from django.utils.translation import gettext_lazy as _


def inspections_panel(request, loan) -> dict:
    return {
        "id": "inspections",
        "title": _("Inspections"),
        "template": "inspections/includes/loan_panel_lazy.html",
        "context": {"number": loan.number},
    }


def loan_panel_context(request, loan) -> dict:
    from inspections.forms import AdverseEventForm
    from inspections.selectors import flagged_officer_ids, loan_adverse_events, loan_inspections
    from inspections.services.inspections import can_record_event
    from loanops.core.time import business_date

    today = business_date()
    inspections = loan_inspections(loan=loan)
    # An officer is flagged only with overdue inspections: ask only when this loan has one.
    officers = {i.officer_id for i in inspections if i.officer_id and i.is_overdue_on(today)}
    return {
        "loan": loan,
        "today": today,
        "inspections": inspections,
        "events": loan_adverse_events(loan=loan),
        "flagged": flagged_officer_ids(officer_ids=officers, today=today) if officers else set(),
        "event_form": AdverseEventForm() if can_record_event(request.user, loan) else None,
    }
