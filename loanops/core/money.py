"""The one place where money is rounded and parsed."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def quantize_money(value: Decimal) -> Decimal:
    """Round to cents, half-up (the contractual mode)."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(raw: object) -> Decimal:
    """Parse an exact money value with at most 2 decimals; raise ValueError otherwise."""
    if isinstance(raw, bool | float) or raw is None:
        raise ValueError('Enter a decimal string such as "1050.00".')
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError("Enter a valid amount.") from exc
    if not value.is_finite():
        raise ValueError("Enter a valid amount.")
    if value.as_tuple().exponent < -2:
        raise ValueError("Use at most 2 decimal places.")
    return value.quantize(CENT)
