"""Sections other apps add to the loan detail page (collections, credit file, inspections).

An app registers a function, typically from its `AppConfig.ready()`:

    from loans.panels import register_loan_panel

    @register_loan_panel
    def collection_case_panel(request, loan):
        case = case_get_open_for_loan(loan=loan)  # that app's own selector
        if case is None:
            return None
        return {
            "id": "collection-case",
            "title": _("Collection case"),
            "template": "collections/includes/loan_panel.html",
            "context": {"case": case},
        }

The function returns None to add nothing. "id" is optional: one of SLOT_IDS fills that
section of the page; any other id (or none) adds a section after them. The template is
rendered with only the given context (plus `request`, `user`, …), so keep it self-contained
and mind the page's query budget.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

PanelFunc = Callable[[HttpRequest, object], dict | None]

# The sections the page always shows, in order, with their stable ids.
SLOTS = (
    ("collection-case", _("Collection case")),
    ("credit-file", _("Credit file")),
    ("inspections", _("Inspections")),
)
SLOT_IDS = tuple(slot_id for slot_id, _title in SLOTS)

_panels: list[PanelFunc] = []


@dataclass(frozen=True)
class Panel:
    id: str
    title: str
    html: str  # empty: nothing registered filled the section ("Not available yet")


def register_loan_panel(func: PanelFunc) -> PanelFunc:
    """Add FUNC to the loan page; registering the same function twice has no effect."""
    if func not in _panels:
        _panels.append(func)
    return func


def loan_panels(request: HttpRequest, loan) -> list[Panel]:
    """The page's extra sections: the fixed slots (filled or not), then any other panel."""
    filled: dict[str, Panel] = {}
    extra: list[Panel] = []
    for func in _panels:
        answer = func(request, loan)
        if answer is None:
            continue
        panel = Panel(
            id=answer.get("id") or f"panel-{slugify(func.__name__)}",
            title=answer["title"],
            html=render_to_string(answer["template"], answer.get("context") or {}, request=request),
        )
        if panel.id in SLOT_IDS:
            filled[panel.id] = panel
        else:
            extra.append(panel)
    slots = [filled.get(slot_id) or Panel(id=slot_id, title=title, html="") for slot_id, title in SLOTS]
    return slots + extra
