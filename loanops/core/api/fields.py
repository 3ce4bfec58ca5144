"""API field types shared by every app: exact money and strict ISO dates."""

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loanops.core.money import CENT

MAX_MONEY_DIGITS = 15
_DECIMAL_STRING = re.compile(r"-?\d+(\.\d+)?")


@extend_schema_field(
    {"type": "string", "format": "decimal", "pattern": r"^-?\d{1,13}(\.\d{1,2})?$", "example": "1050.00"}
)
class MoneyField(serializers.Field):
    """A decimal string (or JSON number) with at most 2 decimals and 15 digits; answered with exactly 2."""

    default_error_messages = {
        "invalid": _('Enter an amount as a decimal string, such as "1050.00".'),
        "places": _("Use at most 2 decimal places."),
        "digits": _("Use at most 15 digits."),
        "positive": _("The amount must be greater than zero."),
        "negative": _("The amount cannot be negative."),
    }

    def __init__(self, *, positive: bool = False, **kwargs):
        self.positive = positive
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | Decimal):
            self.fail("invalid")
        if isinstance(data, str) and not _DECIMAL_STRING.fullmatch(data.strip()):
            self.fail("invalid")  # no exponents, no thousands separators, no currency signs
        try:
            value = Decimal(str(data).strip())
        except InvalidOperation:
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        sign, digits, exponent = value.as_tuple()
        if exponent < -2:
            self.fail("places")
        try:
            cents = value.quantize(CENT)
        except InvalidOperation:  # more digits than the decimal context holds
            self.fail("digits")
        if len(cents.as_tuple().digits) > MAX_MONEY_DIGITS:
            self.fail("digits")
        if self.positive and value <= 0:
            self.fail("positive")
        if value < 0:
            self.fail("negative")
        return cents

    def to_representation(self, value):
        return f"{Decimal(value).quantize(CENT):.2f}"


class RateField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(
            max_digits=9, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("0.999999"), **kwargs
        )

    def to_internal_value(self, data):
        if isinstance(data, bool) or (data is not None and not isinstance(data, str | int | Decimal)):
            self.fail("invalid")
        return super().to_internal_value(data)


class IsoDateField(serializers.DateField):
    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", input_formats=["%Y-%m-%d"], **kwargs)
