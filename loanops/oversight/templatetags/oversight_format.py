from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def percent(value, places: int = 2) -> str:
    """A fraction (Decimal) as a percentage: 0.048 → "4.80 %"; empty for None."""
    if value is None or value == "":
        return "—"
    return f"{number_format(Decimal(value) * 100, decimal_pos=int(places))} %"


@register.filter
def stage_label(value: str) -> str:
    from loanops.oversight.exports import stage_label as label

    return label(value) or "—"


@register.filter
def class_label(value: str) -> str:
    from loans.models import Classification

    return str(dict(Classification.choices).get(value, value))
