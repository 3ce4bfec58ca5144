"""Generation and validation of monthly repayment schedules.

Pure Python, standard library only, and Decimal throughout: no float is ever
created from, or mixed with, a money amount or a rate.

* ``generate_schedule`` builds the monthly schedule the core-banking API
  derives from ``term_months`` + ``amortization`` + ``annual_rate`` when the
  client does not send an explicit ``schedule``.
* ``validate_schedule`` checks an explicit (or generated) schedule against the
  API rules and returns field errors keyed like ``"schedule"`` or
  ``"schedule[3].due_date"`` (the index is the 0-based position of the line in
  the list, i.e. the JSON path of the offending item).

Rounding: every amount is quantized to 0.01 with ROUND_HALF_UP. Intermediate
arithmetic runs in a local decimal context with 28 significant digits, so the
caller's thread-local context neither influences nor is influenced by it.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext

__all__ = [
    "AMORTIZATIONS",
    "MAX_TERM_MONTHS",
    "ScheduleLine",
    "add_months",
    "generate_schedule",
    "validate_schedule",
]

AMORTIZATIONS = ("annuity", "equal_principal")
MAX_TERM_MONTHS = 600

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_PRECISION = 28


@dataclass(frozen=True)
class ScheduleLine:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fees: Decimal = ZERO  # generated schedules never carry fees


# --------------------------------------------------------------------------- #
# Helpers
# --------------------------------------------------------------------------- #
def _context() -> Context:
    return Context(prec=_PRECISION, rounding=ROUND_HALF_UP)


def _money(value: Decimal) -> Decimal:
    """Quantize to cents, half up (independent of the ambient context)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _is_decimal(value: object) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def _is_plain_date(value: object) -> bool:
    # datetime is a subclass of date but cannot be compared with a date.
    return isinstance(value, date) and not isinstance(value, datetime)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def add_months(d: date, months: int) -> date:
    """Same day of month ``months`` later (or earlier if negative), clamped to
    the last day of the target month: Jan 31 + 1 month = Feb 28/29."""
    if not _is_plain_date(d):
        raise TypeError(f"add_months() expects a date, not {type(d).__name__}.")
    if not _is_int(months):
        raise TypeError("add_months() expects an integer number of months.")
    index = d.year * 12 + (d.month - 1) + months
    year, month0 = divmod(index, 12)
    month = month0 + 1
    if not 1 <= year <= 9999:
        raise ValueError("The resulting date is outside the supported range.")
    last_day = calendar.monthrange(year, month)[1]
    return date(year, month, min(d.day, last_day))


# --------------------------------------------------------------------------- #
# Generation
# --------------------------------------------------------------------------- #
def _check_generation_inputs(principal, annual_rate, term_months, disbursement_date, amortization):
    if not isinstance(principal, Decimal):
        raise TypeError(f"principal must be a Decimal, not {type(principal).__name__}.")
    if not isinstance(annual_rate, Decimal):
        raise TypeError(f"annual_rate must be a Decimal, not {type(annual_rate).__name__}.")
    if not _is_int(term_months):
        raise TypeError("term_months must be an integer.")
    if not _is_plain_date(disbursement_date):
        raise TypeError("disbursement_date must be a date.")

    if not principal.is_finite() or principal <= 0:
        raise ValueError("The principal must be greater than zero.")
    if principal != _money(principal):
        raise ValueError("The principal must not have more than two decimal places.")
    if not annual_rate.is_finite() or annual_rate < 0 or annual_rate >= 1:
        raise ValueError("The annual rate must be a fraction of at least 0 and less than 1 (e.g. 0.0650 for 6.5%).")
    if term_months < 1 or term_months > MAX_TERM_MONTHS:
        raise ValueError(f"The term must be between 1 and {MAX_TERM_MONTHS} months.")
    if amortization not in AMORTIZATIONS:
        raise ValueError(f"Unknown amortization {amortization!r}; expected one of: {', '.join(AMORTIZATIONS)}.")


def _level_amount(principal: Decimal, monthly_rate: Decimal, term_months: int, amortization: str) -> Decimal:
    """Annuity: the level payment P·r / (1 − (1+r)^−n) (P/n when r == 0).
    Equal principal: the level principal P/n. Rounded half up to cents."""
    if amortization == "annuity" and monthly_rate != 0:
        exact = principal * monthly_rate / (1 - (1 + monthly_rate) ** (-term_months))
    else:
        exact = principal / term_months
    return _money(exact)


def _amortize(principal: Decimal, monthly_rate: Decimal, term_months: int, amortization: str, level: Decimal):
    """Rows of (principal, interest) and whether the balance was used up before
    the last installment (i.e. the rounded level amount overshoots)."""
    rows = []
    balance = principal
    exhausted_early = False
    for k in range(1, term_months + 1):
        interest = _money(balance * monthly_rate)
        if k == term_months:
            line_principal = balance
            exhausted_early = exhausted_early or balance <= 0
        else:
            wanted = level - interest if amortization == "annuity" else level
            # Guards: never more than the outstanding balance, never negative.
            line_principal = max(ZERO, min(wanted, balance))
            exhausted_early = exhausted_early or wanted > balance
        balance -= line_principal
        rows.append((line_principal, interest))
    if balance != 0:  # internal invariant: the last line takes the remaining balance
        raise ArithmeticError("The generated schedule does not amortize the principal.")
    return rows, exhausted_early


def generate_schedule(
    *,
    principal: Decimal,
    annual_rate: Decimal,
    term_months: int,
    disbursement_date: date,
    amortization: str,
) -> list[ScheduleLine]:
    """Monthly schedule of ``term_months`` lines.

    Installment k is due ``add_months(disbursement_date, k)`` (always computed
    from the disbursement date, so a day 31 does not drift). Interest of each
    period is round_half_up(balance × annual_rate/12, 2).

    * annuity: level payment = round_half_up(P·r / (1 − (1+r)^−n), 2) (P/n
      when r == 0); principal_k = payment − interest_k.
    * equal_principal: principal_k = round_half_up(P/n, 2).

    The last line takes the whole remaining balance as principal (its interest
    computed normally), so the principals add up exactly to ``principal``.

    Overshoot fallback: when rounding the level amount half up would repay the
    loan before the last installment (the rounding excess, compounded over
    the term, exceeds the last installment: e.g. 1,000.00 at 12% over 360
    months, or 1,000.00 over 600 months with equal principal), the level amount
    becomes the largest cent amount below it that leaves a positive balance for
    the last installment -- normally the amount rounded DOWN to the cent -- so
    the last installment absorbs a positive remainder instead of going
    negative. As a final guard a line's principal is never negative nor more
    than the outstanding balance; only for inputs too small to spread over the
    term (fewer cents than installments, e.g. 0.05 over 12 months) can lines of
    0.00/0.00 remain, which ``validate_schedule`` reports because each total
    must be positive.

    Raises ValueError for a term outside 1..600 months, a principal <= 0 or
    with more than two decimal places, an annual rate outside [0, 1) or an
    unknown amortization; TypeError for floats or other wrong types.
    """
    with localcontext(_context()):
        try:
            _check_generation_inputs(principal, annual_rate, term_months, disbursement_date, amortization)
        except InvalidOperation:  # e.g. a principal too large to quantize to cents
            raise ValueError("The principal is too large.") from None
        principal = _money(principal)
        monthly_rate = annual_rate / 12

        level = _level_amount(principal, monthly_rate, term_months, amortization)
        rows, exhausted_early = _amortize(principal, monthly_rate, term_months, amortization, level)
        if exhausted_early:
            # A higher level amount repays the loan faster (by induction on the
            # balance), so "exhausted early" is monotone in the level: binary
            # search, in cents, the largest level below the half-up one that
            # still leaves a positive balance for the last installment.
            lo, hi = 0, int(level / CENT)  # level `hi` cents exhausts; `lo` cents is the best found
            best = None
            while hi - lo > 1:
                mid = (lo + hi) // 2
                candidate, early = _amortize(principal, monthly_rate, term_months, amortization, mid * CENT)
                if early:
                    hi = mid
                else:
                    lo, best = mid, candidate
            if best is not None:
                rows = best

        return [
            ScheduleLine(
                number=k,
                due_date=add_months(disbursement_date, k),
                principal=_money(line_principal),
                interest=interest,
                fees=ZERO,
            )
            for k, (line_principal, interest) in enumerate(rows, start=1)
        ]


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #
# Messages are plain sentences with named placeholders so they can be wrapped
# for translation (gettext + str.format) without restructuring.
MSG_EMPTY = "The schedule must contain at least one installment."
MSG_NUMBER_TYPE = "The installment number must be a whole number."
MSG_NUMBER_RANGE = "The installment number must be between 1 and {count}."
MSG_NUMBER_DUPLICATE = "Installment number {number} appears more than once."
MSG_NUMBERS_MISSING = "Installment numbers must run from 1 to {count} without gaps; missing: {missing}."
MSG_DATE_TYPE = "The due date must be a date."
MSG_DATE_NOT_AFTER_DISBURSEMENT = "The due date must be after the disbursement date ({disbursement_date})."
MSG_DATE_NOT_INCREASING = "The due date must be later than the due date of installment {previous} ({previous_date})."
MSG_AMOUNT_TYPE = "The amount must be a decimal number."
MSG_AMOUNT_NEGATIVE = "The amount must not be negative."
MSG_TOTAL_NOT_POSITIVE = "The installment total (principal, interest and fees) must be greater than zero."
MSG_PRINCIPAL_SUM = "The principal of the installments adds up to {total}, but the loan principal is {principal}."

_COMPONENTS = ("principal", "interest", "fees")


def validate_schedule(
    *,
    principal: Decimal,
    disbursement_date: date,
    lines: list[ScheduleLine],
) -> dict[str, list[str]]:
    """Field errors for ``lines`` (an empty dict if the schedule is valid).

    Keys: ``"schedule"`` for whole-schedule errors, ``"schedule[i]"`` for a
    line's total and ``"schedule[i].<field>"`` for a field, where ``i`` is the
    0-based position of the line in ``lines``. Lines may come in any order; the
    due-date ordering rule is checked in installment-number order. The
    principal-sum rule is skipped when ``principal`` itself is not a finite
    Decimal (that field is expected to carry its own error).
    """
    errors: dict[str, list[str]] = {}

    def add(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    lines = list(lines or [])
    if not lines:
        add("schedule", MSG_EMPTY)
        return errors

    count = len(lines)

    # Numbers: 1..n, consecutive and unique.
    seen: dict[int, int] = {}
    valid_numbers: dict[int, int] = {}  # number -> index, only unique in-range numbers
    for i, line in enumerate(lines):
        number = line.number
        if not _is_int(number):
            add(f"schedule[{i}].number", MSG_NUMBER_TYPE)
            continue
        if not 1 <= number <= count:
            add(f"schedule[{i}].number", MSG_NUMBER_RANGE.format(count=count))
            continue
        if number in seen:
            add(f"schedule[{i}].number", MSG_NUMBER_DUPLICATE.format(number=number))
            valid_numbers.pop(number, None)
            continue
        seen[number] = i
        valid_numbers[number] = i
    missing = [n for n in range(1, count + 1) if n not in seen]
    if missing and len(missing) < count:
        shown = ", ".join(str(n) for n in missing[:10]) + (", …" if len(missing) > 10 else "")
        add("schedule", MSG_NUMBERS_MISSING.format(count=count, missing=shown))

    # Due dates: after the disbursement date and strictly increasing with the number.
    date_ok = [False] * count
    for i, line in enumerate(lines):
        if not _is_plain_date(line.due_date):
            add(f"schedule[{i}].due_date", MSG_DATE_TYPE)
            continue
        date_ok[i] = True
        if _is_plain_date(disbursement_date) and line.due_date <= disbursement_date:
            add(
                f"schedule[{i}].due_date",
                MSG_DATE_NOT_AFTER_DISBURSEMENT.format(disbursement_date=disbursement_date.isoformat()),
            )
    previous = None  # (number, date) of the last line with a usable number and date
    for number in sorted(valid_numbers):
        i = valid_numbers[number]
        if not date_ok[i]:
            continue
        due = lines[i].due_date
        if previous is not None and due <= previous[1]:
            add(
                f"schedule[{i}].due_date",
                MSG_DATE_NOT_INCREASING.format(previous=previous[0], previous_date=previous[1].isoformat()),
            )
        previous = (number, due)

    # Components: decimal, non-negative; line total positive.
    total_principal = Decimal(0)
    principal_sum_known = True
    with localcontext(_context()):
        for i, line in enumerate(lines):
            amounts_ok = True
            for field in _COMPONENTS:
                value = getattr(line, field)
                if not _is_decimal(value):
                    add(f"schedule[{i}].{field}", MSG_AMOUNT_TYPE)
                    amounts_ok = False
                elif value < 0:
                    add(f"schedule[{i}].{field}", MSG_AMOUNT_NEGATIVE)
            if _is_decimal(line.principal):
                total_principal += line.principal
            else:
                principal_sum_known = False
            if amounts_ok and line.principal + line.interest + line.fees <= 0:
                add(f"schedule[{i}]", MSG_TOTAL_NOT_POSITIVE)

        if principal_sum_known and _is_decimal(principal) and total_principal != principal:
            add(
                "schedule",
                MSG_PRINCIPAL_SUM.format(total=_format_amount(total_principal), principal=_format_amount(principal)),
            )
    return errors


def _format_amount(value: Decimal) -> str:
    # Show at least cents, but never hide extra precision that explains a mismatch.
    if value.as_tuple().exponent >= -2:
        value = value.quantize(CENT)
    return format(value, "f")
