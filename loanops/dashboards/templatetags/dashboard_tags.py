from datetime import date
from decimal import Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.utils.formats import date_format, number_format

register = template.Library()


@register.filter
def cell(value) -> str:
    """A table cell: money and ratios with 2 decimals (localised), dates short, None as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, Decimal):
        return number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    if isinstance(value, int):
        return intcomma(value)
    if isinstance(value, date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


@register.simple_tag(takes_context=True)
def dashboard_table(context, table):
    """A dashboard table with its CSV/XLSX links (rendered in Python, see `render.py`)."""
    from loanops.dashboards.render import table_html

    if table is None:
        return ""
    return table_html(table, page=context.get("page", "portfolio"), query=context.get("query", ""))
