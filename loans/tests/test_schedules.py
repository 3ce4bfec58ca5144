"""Tests for loans.schedules.

numpy_financial is used only here, as an independent (float) oracle for the
annuity formulas; floats never reach the module under test.
"""

from dataclasses import FrozenInstanceError, replace
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loans.schedules import (
    AMORTIZATIONS,
    ScheduleLine,
    add_months,
    generate_schedule,
    validate_schedule,
)

# numpy_financial divides by the rate and warns (harmlessly) for rate 0.
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

D = Decimal
CENT = D("0.01")
DISBURSED = date(2025, 1, 10)

PRINCIPALS = [D("1000.00"), D("12000.00"), D("250000.00"), D("1234567.89")]
RATES = [D("0"), D("0.0001"), D("0.0650"), D("0.1200"), D("0.3500")]
TERMS = [1, 12, 24, 60, 360]


def _gen(principal="12000.00", rate="0.0650", term=12, amortization="annuity", disbursed=DISBURSED):
    return generate_schedule(
        principal=D(principal),
        annual_rate=D(rate),
        term_months=term,
        disbursement_date=disbursed,
        amortization=amortization,
    )


def _round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _annuity_cases():
    for p in PRINCIPALS:
        for r in RATES:
            for n in TERMS:
                if n == 360 and r > D("0.12"):
                    continue  # 35% over 30 years: rounding drift compounds ×30,000; not a real product
                yield pytest.param(p, r, n, id=f"P{p}-r{r}-n{n}")


# Per period, the principal repaid differs from the exact annuity's by at most
# 0.01 (payment rounded to a cent, half up or, in the overshoot fallback, down)
# + 0.005 (interest rounded half up).
_STEP = 0.015


def _drift_bound(monthly_rate: float, k: int) -> float:
    """Theoretical max deviation of our period-k interest from the exact annuity's:
    the balance drifts by at most _STEP·((1+r)^(k-1) − 1)/r, the interest on it by
    r times that, plus 0.005 for rounding the interest itself."""
    return _STEP * ((1 + monthly_rate) ** (k - 1) - 1) + 0.005 + 1e-9


# --------------------------------------------------------------------------- #
# add_months
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2025, 1, 10), 1, date(2025, 2, 10)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap year
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # common year
        (date(2100, 1, 31), 1, date(2100, 2, 28)),  # century, not leap
        (date(2000, 1, 31), 1, date(2000, 2, 29)),  # 400-year leap
        (date(2025, 1, 31), 3, date(2025, 4, 30)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # Dec -> Jan
        (date(2025, 12, 31), 1, date(2026, 1, 31)),
        (date(2025, 11, 30), 2, date(2026, 1, 30)),
        (date(2025, 1, 31), 12, date(2026, 1, 31)),
        (date(2025, 1, 31), 0, date(2025, 1, 31)),
        (date(2025, 3, 31), -1, date(2025, 2, 28)),
        (date(2025, 1, 15), -1, date(2024, 12, 15)),
        (date(2025, 1, 31), 600, date(2075, 1, 31)),
    ],
)
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_add_months_rejects_non_dates_and_non_integers():
    with pytest.raises(TypeError):
        add_months(datetime(2025, 1, 31, 12, 0), 1)
    with pytest.raises(TypeError):
        add_months(date(2025, 1, 31), 1.0)
    with pytest.raises(TypeError):
        add_months(date(2025, 1, 31), True)


def test_due_dates_are_computed_from_disbursement_not_chained():
    lines = _gen(term=14, disbursed=date(2025, 1, 31))
    # Chaining would give Feb 28 -> Mar 28 -> ...; computing from the disbursement keeps the 31st.
    assert [line.due_date for line in lines[:4]] == [
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
        date(2025, 5, 31),
    ]
    assert lines[11].due_date == date(2026, 1, 31)
    assert lines[12].due_date == date(2026, 2, 28)
    assert lines[13].due_date == date(2026, 3, 31)


# --------------------------------------------------------------------------- #
# Annuity against numpy_financial
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(("principal", "rate", "term"), list(_annuity_cases()))
def test_annuity_matches_numpy_financial(principal, rate, term):
    lines = generate_schedule(
        principal=principal, annual_rate=rate, term_months=term, disbursement_date=DISBURSED, amortization="annuity"
    )
    assert len(lines) == term
    assert [line.number for line in lines] == list(range(1, term + 1))

    r = float(rate) / 12
    pv = float(principal)
    oracle_payment = -float(npf.pmt(r, term, pv))
    payment = lines[0].principal + lines[0].interest  # first line is non-final unless term == 1

    if term > 1:
        assert abs(float(payment) - oracle_payment) <= 0.01
        # every non-final installment is exactly the level payment
        for line in lines[:-1]:
            assert line.principal + line.interest == payment
    else:
        assert lines[0].principal == principal
        assert abs(float(lines[0].principal + lines[0].interest) - oracle_payment) <= 0.01

    # sum exact, no float involved
    assert sum((line.principal for line in lines), D(0)) == principal

    balance = principal
    for k, line in enumerate(lines, start=1):
        # interest is computed on our own outstanding balance, half-up to cents
        assert line.interest == _round2(balance * rate / 12)
        assert line.fees == D("0.00")
        for amount in (line.principal, line.interest, line.fees):
            assert isinstance(amount, Decimal)
            assert amount == amount.quantize(CENT)
            assert amount >= 0
        balance -= line.principal
        assert balance >= 0

        oracle_interest = -float(npf.ipmt(r, k, term, pv))
        interest_gap = abs(float(line.interest) - oracle_interest)
        if term <= 60:
            assert interest_gap <= 0.05, (k, line, oracle_interest)
        assert interest_gap <= _drift_bound(r, k), (k, line, oracle_interest)

        oracle_principal = -float(npf.ppmt(r, k, term, pv))
        principal_gap = abs(float(line.principal) - oracle_principal)
        if k < term:
            # principal = payment − interest: payment rounding (< 0.01) + interest drift
            if term <= 60:
                assert principal_gap <= 0.06, (k, line, oracle_principal)
            assert principal_gap <= _drift_bound(r, k) + 0.01, (k, line, oracle_principal)
        else:
            # the last line absorbs the accumulated rounding drift of the balance
            accumulated = _STEP * (((1 + r) ** (term - 1) - 1) / r if r else term - 1) + 0.01
            assert principal_gap <= accumulated, (line, oracle_principal)
    assert balance == 0


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("term", [12, 60])
def test_annuity_tracks_numpy_financial_closely_for_short_terms(principal, term):
    lines = _gen(principal=principal, rate="0.0650", term=term)
    r = 0.065 / 12
    for k, line in enumerate(lines, start=1):
        assert abs(float(line.interest) + float(npf.ipmt(r, k, term, float(principal)))) <= 0.02


def test_annuity_worked_example():
    lines = _gen(principal="12000.00", rate="0.0650", term=12)
    # P·r/(1-(1+r)^-12) = 1035.5575... -> 1035.56
    assert lines[0] == ScheduleLine(1, date(2025, 2, 10), D("970.56"), D("65.00"), D("0.00"))
    assert lines[1].interest == D("59.74")  # 11029.44 × 0.065/12 = 59.7428
    assert lines[1].principal == D("975.82")
    assert lines[-1].due_date == date(2026, 1, 10)
    assert sum(line.principal for line in lines) == D("12000.00")


def test_annuity_zero_rate_divides_principal_evenly():
    lines = _gen(principal="1000.00", rate="0", term=3)
    assert [(line.principal, line.interest) for line in lines] == [
        (D("333.33"), D("0.00")),
        (D("333.33"), D("0.00")),
        (D("333.34"), D("0.00")),
    ]
    lines = _gen(principal="2000.00", rate="0", term=3)
    assert [line.principal for line in lines] == [D("666.67"), D("666.67"), D("666.66")]


def test_single_installment_repays_everything_with_one_month_of_interest():
    for amortization in AMORTIZATIONS:
        (line,) = _gen(principal="5000.00", rate="0.1200", term=1, amortization=amortization)
        assert line == ScheduleLine(1, date(2025, 2, 10), D("5000.00"), D("50.00"), D("0.00"))


def test_small_principal_over_long_term_never_overpays():
    # payment rounds up to 0.01 > 1.00/120; without clamping the balance would go negative.
    for amortization in AMORTIZATIONS:
        lines = _gen(principal="1.00", rate="0", term=120, amortization=amortization)
        assert sum(line.principal for line in lines) == D("1.00")
        assert all(line.principal >= 0 for line in lines)
        assert lines[99].principal == D("0.01")
        assert lines[100].principal == D("0.00")
        errors = validate_schedule(principal=D("1.00"), disbursement_date=DISBURSED, lines=lines)
        # the trailing zero installments are reported, nothing else
        assert set(errors) == {f"schedule[{i}]" for i in range(100, 120)}


def test_annuity_falls_back_to_rounding_down_when_half_up_would_overshoot():
    # exact payment 10.2861...: 10.29 × 359 would repay the loan by installment 359
    lines = _gen(principal="1000.00", rate="0.1200", term=360)
    payment = lines[0].principal + lines[0].interest
    assert payment == D("10.28")
    assert abs(float(payment) + float(npf.pmt(0.01, 360, 1000.0))) <= 0.01
    assert all(line.principal + line.interest == payment for line in lines[:-1])
    assert lines[-1].principal > 0
    assert sum(line.principal for line in lines) == D("1000.00")
    assert _validate(lines, principal="1000.00") == {}


def test_equal_principal_falls_back_to_rounding_down_when_half_up_would_overshoot():
    # 1000/600 = 1.666... -> 1.67 × 599 = 1000.33 > 1000; rounded down: 1.66 × 599 + 5.66
    lines = _gen(principal="1000.00", rate="0.0500", term=600, amortization="equal_principal")
    assert {line.principal for line in lines[:-1]} == {D("1.66")}
    assert lines[-1].principal == D("5.66")
    assert _validate(lines, principal="1000.00") == {}


# --------------------------------------------------------------------------- #
# Equal principal
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("term", TERMS)
def test_equal_principal_schedule(principal, rate, term):
    lines = generate_schedule(
        principal=principal,
        annual_rate=rate,
        term_months=term,
        disbursement_date=DISBURSED,
        amortization="equal_principal",
    )
    assert len(lines) == term
    level = _round2(principal / term)
    for line in lines[:-1]:
        assert line.principal == level
    assert lines[-1].principal == principal - level * (term - 1)
    assert sum((line.principal for line in lines), D(0)) == principal

    r = float(rate) / 12
    exact_level = float(principal) / term
    balance = principal
    for k, line in enumerate(lines, start=1):
        # interest on the declining balance, exactly and against a float model
        assert line.interest == _round2(balance * rate / 12)
        float_balance = float(principal) - exact_level * (k - 1)
        assert abs(float(line.interest) - float_balance * r) <= 0.005 + r * 0.005 * k + 1e-6
        assert line.fees == D("0.00")
        balance -= line.principal
        assert balance >= 0
    assert balance == 0
    if rate > 0:
        interests = [line.interest for line in lines]
        assert interests == sorted(interests, reverse=True)


def test_equal_principal_worked_example():
    lines = _gen(principal="1000.00", rate="0.1200", term=3, amortization="equal_principal")
    assert [(line.principal, line.interest) for line in lines] == [
        (D("333.33"), D("10.00")),
        (D("333.33"), D("6.67")),
        (D("333.34"), D("3.33")),
    ]


# --------------------------------------------------------------------------- #
# Input checking and arithmetic hygiene
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"term_months": 0}, "term"),
        ({"term_months": 601}, "term"),
        ({"term_months": -12}, "term"),
        ({"principal": D("0")}, "principal"),
        ({"principal": D("-100.00")}, "principal"),
        ({"principal": D("NaN")}, "principal"),
        ({"principal": D("100.001")}, "decimal places"),
        ({"annual_rate": D("-0.01")}, "rate"),
        ({"annual_rate": D("1")}, "rate"),
        ({"annual_rate": D("6.5")}, "rate"),
        ({"annual_rate": D("Infinity")}, "rate"),
        ({"amortization": "bullet"}, "amortization"),
        ({"amortization": "ANNUITY"}, "amortization"),
    ],
)
def test_generate_schedule_rejects_invalid_input(overrides, fragment):
    kwargs = dict(
        principal=D("1000.00"),
        annual_rate=D("0.05"),
        term_months=12,
        disbursement_date=DISBURSED,
        amortization="annuity",
    )
    kwargs.update(overrides)
    with pytest.raises(ValueError, match=fragment):
        generate_schedule(**kwargs)


def test_generate_schedule_rejects_an_absurdly_large_principal_cleanly():
    with pytest.raises(ValueError, match="principal"):
        _gen(principal="1E+40")


def test_generate_schedule_accepts_the_term_limits():
    assert len(_gen(term=1)) == 1
    lines = _gen(term=600, rate="0.0500")
    assert len(lines) == 600
    assert sum(line.principal for line in lines) == D("12000.00")


def test_generate_schedule_rejects_floats():
    with pytest.raises(TypeError):
        generate_schedule(
            principal=1000.0, annual_rate=D("0.05"), term_months=12, disbursement_date=DISBURSED, amortization="annuity"
        )
    with pytest.raises(TypeError):
        generate_schedule(
            principal=D("1000"), annual_rate=0.05, term_months=12, disbursement_date=DISBURSED, amortization="annuity"
        )
    with pytest.raises(TypeError):
        generate_schedule(
            principal=D("1000"),
            annual_rate=D("0.05"),
            term_months=12.0,
            disbursement_date=DISBURSED,
            amortization="annuity",
        )


def test_generate_schedule_ignores_the_ambient_decimal_context():
    expected = _gen(principal="250000.00", rate="0.0725", term=360)
    with localcontext() as ctx:
        ctx.prec = 6
        ctx.rounding = ROUND_DOWN
        assert _gen(principal="250000.00", rate="0.0725", term=360) == expected
        assert ctx.prec == 6
        assert ctx.rounding == ROUND_DOWN


def test_principal_with_trailing_zeros_is_accepted_and_normalised():
    lines = _gen(principal="1000.000", term=2)
    assert sum(line.principal for line in lines) == D("1000")
    assert all(line.principal.as_tuple().exponent == -2 for line in lines)


def test_schedule_line_is_frozen():
    line = _gen(term=1)[0]
    with pytest.raises(FrozenInstanceError):
        line.principal = D("1.00")


# --------------------------------------------------------------------------- #
# validate_schedule
# --------------------------------------------------------------------------- #
def _valid_lines():
    return _gen(principal="3000.00", rate="0.1200", term=3)


def _validate(lines, principal="3000.00", disbursed=DISBURSED):
    return validate_schedule(principal=D(principal), disbursement_date=disbursed, lines=lines)


def _with(lines, index, **changes):
    lines = list(lines)
    lines[index] = replace(lines[index], **changes)
    return lines


def test_validate_accepts_generated_schedules():
    for amortization in AMORTIZATIONS:
        for term in (1, 12, 360):
            lines = _gen(principal="98765.43", rate="0.0899", term=term, amortization=amortization)
            assert _validate(lines, principal="98765.43") == {}


def test_validate_accepts_a_hand_written_schedule_in_any_order():
    lines = [
        ScheduleLine(2, date(2025, 3, 10), D("1000.00"), D("40.00"), D("0.00")),
        ScheduleLine(1, date(2025, 2, 10), D("2000.00"), D("50.00"), D("5.00")),
    ]
    assert _validate(lines) == {}


def test_validate_rejects_an_empty_schedule():
    assert _validate([]) == {"schedule": ["The schedule must contain at least one installment."]}


def test_validate_rejects_duplicate_numbers():
    lines = _with(_valid_lines(), 2, number=2)
    errors = _validate(lines)
    assert list(errors["schedule[2].number"]) == ["Installment number 2 appears more than once."]
    assert any("missing: 3" in message for message in errors["schedule"])


def test_validate_rejects_numbers_outside_one_to_n():
    errors = _validate(_with(_valid_lines(), 2, number=4))
    assert errors["schedule[2].number"] == ["The installment number must be between 1 and 3."]
    errors = _validate(_with(_valid_lines(), 0, number=0))
    assert "schedule[0].number" in errors


def test_validate_rejects_non_integer_numbers():
    errors = _validate(_with(_valid_lines(), 1, number="2"))
    assert errors["schedule[1].number"] == ["The installment number must be a whole number."]
    errors = _validate(_with(_valid_lines(), 0, number=True))
    assert "schedule[0].number" in errors


def test_validate_rejects_due_dates_that_do_not_increase():
    lines = _with(_valid_lines(), 1, due_date=date(2025, 2, 10))  # same as installment 1
    errors = _validate(lines)
    assert errors == {
        "schedule[1].due_date": ["The due date must be later than the due date of installment 1 (2025-02-10)."]
    }
    # out of order by number, even though the list itself looks increasing
    lines = [
        ScheduleLine(2, date(2025, 2, 10), D("1000.00"), D("0.00"), D("0.00")),
        ScheduleLine(1, date(2025, 3, 10), D("2000.00"), D("0.00"), D("0.00")),
    ]
    assert set(_validate(lines)) == {"schedule[0].due_date"}


def test_validate_rejects_due_dates_on_or_before_disbursement():
    lines = [
        ScheduleLine(1, DISBURSED, D("1000.00"), D("0.00"), D("0.00")),
        ScheduleLine(2, date(2025, 3, 10), D("2000.00"), D("0.00"), D("0.00")),
    ]
    assert _validate(lines) == {
        "schedule[0].due_date": ["The due date must be after the disbursement date (2025-01-10)."]
    }
    lines[0] = replace(lines[0], due_date=date(2024, 12, 10))
    assert set(_validate(lines)) == {"schedule[0].due_date"}


def test_validate_rejects_non_date_due_dates():
    errors = _validate(_with(_valid_lines(), 1, due_date="2025-03-10"))
    assert errors == {"schedule[1].due_date": ["The due date must be a date."]}
    errors = _validate(_with(_valid_lines(), 1, due_date=datetime(2025, 3, 10)))
    assert set(errors) == {"schedule[1].due_date"}


@pytest.mark.parametrize("field", ["principal", "interest", "fees"])
def test_validate_rejects_negative_components(field):
    lines = _valid_lines()
    # keep the principal sum and the line total intact so only this rule fires
    if field == "principal":
        lines = _with(lines, 0, principal=lines[0].principal + lines[1].principal + D("5.00"))
        lines = _with(lines, 1, principal=D("-5.00"), interest=lines[1].interest + D("1000.00"))
        index = 1
    else:
        lines = _with(lines, 1, **{field: D("-0.01")})
        index = 1
    errors = _validate(lines)
    key = f"schedule[{index}].{field}"
    assert errors[key] == ["The amount must not be negative."]
    assert [k for k in errors if k != key] == []


def test_validate_rejects_non_decimal_amounts():
    errors = _validate(_with(_valid_lines(), 0, interest=1.5))
    assert errors == {"schedule[0].interest": ["The amount must be a decimal number."]}
    errors = _validate(_with(_valid_lines(), 0, fees=D("NaN")))
    assert errors == {"schedule[0].fees": ["The amount must be a decimal number."]}


def test_validate_rejects_zero_total_installments():
    lines = [
        ScheduleLine(1, date(2025, 2, 10), D("3000.00"), D("0.00"), D("0.00")),
        ScheduleLine(2, date(2025, 3, 10), D("0.00"), D("0.00"), D("0.00")),
    ]
    assert _validate(lines) == {
        "schedule[1]": ["The installment total (principal, interest and fees) must be greater than zero."]
    }
    # a fee-only or interest-only installment is fine
    lines[1] = replace(lines[1], fees=D("10.00"))
    assert _validate(lines) == {}


def test_validate_rejects_principal_that_does_not_add_up():
    lines = _with(_valid_lines(), 2, principal=_valid_lines()[2].principal + CENT)
    errors = _validate(lines)
    assert errors == {
        "schedule": ["The principal of the installments adds up to 3000.01, but the loan principal is 3000.00."]
    }
    lines = _with(_valid_lines(), 2, principal=_valid_lines()[2].principal - D("0.001"))
    assert errors["schedule"][0] != _validate(lines)["schedule"][0]  # sub-cent mismatch is shown, not rounded away
    assert "2999.999" in _validate(lines)["schedule"][0]


def test_validate_treats_equal_amounts_with_different_exponents_as_equal():
    lines = [ScheduleLine(1, date(2025, 2, 10), D("3000"), D("0"), D("0.00"))]
    assert _validate(lines, principal="3000.00") == {}


def test_validate_reports_several_problems_at_once():
    lines = [
        ScheduleLine(1, date(2025, 1, 1), D("100.00"), D("-1.00"), D("0.00")),
        ScheduleLine(1, date(2025, 2, 1), D("100.00"), D("0.00"), D("0.00")),
    ]
    errors = _validate(lines)
    assert set(errors) == {
        "schedule",
        "schedule[0].due_date",
        "schedule[0].interest",
        "schedule[1].number",
    }
    assert len(errors["schedule"]) == 2  # missing number 2, principal sum
    for messages in errors.values():
        for message in messages:
            assert isinstance(message, str)
            assert message.endswith(".")
            assert message[0].isupper()


# --------------------------------------------------------------------------- #
# Property
# --------------------------------------------------------------------------- #
@settings(max_examples=300, deadline=None)
@given(
    principal=st.decimals(
        min_value=D("0.01"), max_value=D("10000000.00"), places=2, allow_nan=False, allow_infinity=False
    ),
    rate=st.decimals(min_value=D("0"), max_value=D("0.35"), places=4, allow_nan=False, allow_infinity=False),
    term=st.integers(min_value=1, max_value=120),
    disbursed=st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)),
    amortization=st.sampled_from(AMORTIZATIONS),
)
def test_property_principal_sums_exactly_and_due_dates_increase(principal, rate, term, disbursed, amortization):
    lines = generate_schedule(
        principal=principal,
        annual_rate=rate,
        term_months=term,
        disbursement_date=disbursed,
        amortization=amortization,
    )
    assert len(lines) == term
    assert sum((line.principal for line in lines), D(0)) == principal
    dates = [disbursed] + [line.due_date for line in lines]
    assert all(a < b for a, b in zip(dates, dates[1:], strict=False))
    balance = principal
    for line in lines:
        assert line.principal >= 0
        assert line.interest >= 0
        assert line.fees == 0
        balance -= line.principal
        assert balance >= 0
    errors = validate_schedule(principal=principal, disbursement_date=disbursed, lines=lines)
    # only tiny principals (fewer cents than installments can carry) can fail,
    # and only on lines whose total is zero
    for key in errors:
        index = int(key[len("schedule[") : -1])
        assert lines[index].principal + lines[index].interest == 0
    if principal >= term:  # at least 1.00 per installment
        assert errors == {}
