"""Tests for the arrears engine (loans/engine.py).

The worked examples E01-E24 and E26 come from domain-research.md §12, read with
domain.md's binding rules (fees count; ARREARS consecutive mode). Common
fixture: disbursed 2024-01-15, 12 x (900.00 principal + 100.00 interest) due on
the 15th from 2024-02-15 to 2025-01-15.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from loans.engine import (
    PAYERS,
    Allocation,
    Installment,
    Ledger,
    Params,
    Payment,
    bucket_for,
    classification_for,
    compute,
    evaluate,
    ifrs9_stage_for,
    payment_allocation,
    replay,
)

D = Decimal


def due(n: int) -> date:
    """Due date of installment n of the common fixture (2024-02-15 .. 2025-01-15)."""
    month = n + 1  # #1 -> February 2024
    return date(2024 + (month - 1) // 12, (month - 1) % 12 + 1, 15)


def fixture_schedule(first_fees: str = "0.00") -> list[Installment]:
    return [
        Installment(n, due(n), D("900.00"), D("100.00"), D(first_fees) if n == 1 else D("0.00")) for n in range(1, 13)
    ]


SCHEDULE = fixture_schedule()


def pay(key, amount: str, value_date: date, payer: str = "borrower", arrival: int = 0) -> Payment:
    return Payment(key=key, amount=D(amount), value_date=value_date, payer=payer, arrival=arrival)


def on_due_dates(*numbers: int, amount: str = "1000.00") -> list[Payment]:
    return [pay(f"p{n}", amount, due(n)) for n in numbers]


def alloc_tuple(a: Allocation) -> tuple:
    return (
        a.payment_key,
        a.installment_number,
        a.effective_date,
        a.payer,
        a.fees,
        a.interest,
        a.principal,
    )


# --------------------------------------------------------------------------- #
# Worked examples E01-E24 (domain-research.md §12)
# --------------------------------------------------------------------------- #
# fmt: off
ROLLING_ONE_BEHIND = [
    pay("m03", "1000.00", date(2024, 3, 15)),
    pay("m04", "1000.00", date(2024, 4, 15)),
    pay("m05", "1000.00", date(2024, 5, 15)),
]
E06_PAYMENT = [pay("p1", "950.00", date(2024, 2, 15))]

# id, params, first-installment fees, payments, as_of,
# dpd, overdue_installments, cumulative missed, bucket, classification, ifrs9, rule_3_6,
# outstanding principal, overdue amount
EXAMPLES = [
    ("E01", {}, "0.00", on_due_dates(1, 2, 3, 4), date(2024, 6, 10),
     0, 0, 0, "current", "normal", 1, False, "7200.00", "0.00"),
    ("E02", {}, "0.00", [], date(2024, 2, 15),
     0, 0, 0, "current", "normal", 1, False, "10800.00", "0.00"),
    ("E03", {}, "0.00", [], date(2024, 2, 16),
     1, 1, 1, "1-30", "special_mention", 1, False, "10800.00", "1000.00"),
    ("E04", {"grace_days": 3}, "0.00", [], date(2024, 2, 17),
     2, 0, 0, "1-30", "special_mention", 1, False, "10800.00", "1000.00"),
    ("E05", {"grace_days": 3}, "0.00", [], date(2024, 2, 19),
     4, 1, 1, "1-30", "special_mention", 1, False, "10800.00", "1000.00"),
    ("E06", {}, "0.00", [pay("p1", "950.00", date(2024, 2, 15))], date(2024, 3, 1),
     15, 1, 1, "1-30", "special_mention", 1, False, "9950.00", "50.00"),
    ("E07", {"tolerance": D("50.00")}, "0.00", E06_PAYMENT, date(2024, 3, 1),
     0, 0, 0, "current", "normal", 1, False, "9950.00", "50.00"),
    ("E08", {}, "0.00", ROLLING_ONE_BEHIND, date(2024, 5, 20),
     5, 1, 4, "1-30", "special_mention", 1, False, "8100.00", "1000.00"),
    # E09 is E08 in HISTORY mode; only ARREARS is implemented, so its result holds.
    ("E09", {}, "0.00", ROLLING_ONE_BEHIND, date(2024, 5, 20),
     5, 1, 4, "1-30", "special_mention", 1, False, "8100.00", "1000.00"),
    ("E10", {}, "0.00",
     [*ROLLING_ONE_BEHIND, pay("m06", "1000.00", date(2024, 6, 15)),
      pay("m07", "1000.00", date(2024, 7, 15))],
     date(2024, 7, 20),
     5, 1, 6, "1-30", "special_mention", 1, True, "6300.00", "1000.00"),
    ("E11", {}, "0.00", [], date(2024, 4, 15),
     60, 2, 2, "31-60", "special_mention", 2, False, "10800.00", "2000.00"),
    ("E12", {}, "0.00", [], date(2024, 4, 16),
     61, 3, 3, "61-90", "special_mention", 2, True, "10800.00", "3000.00"),
    ("E13", {}, "0.00", [pay("p", "2000.00", date(2024, 4, 20))], date(2024, 4, 20),
     5, 1, 3, "1-30", "special_mention", 1, False, "9000.00", "1000.00"),
    ("E14", {}, "0.00", [], date(2024, 5, 15),
     90, 3, 3, "61-90", "special_mention", 2, True, "10800.00", "3000.00"),
    ("E15", {}, "0.00", [], date(2024, 5, 16),
     91, 4, 4, "91-180", "substandard", 3, True, "10800.00", "4000.00"),
    ("E16", {}, "0.00", [], date(2024, 11, 12),
     271, 9, 9, "271-360", "doubtful", 3, True, "10800.00", "9000.00"),
    ("E17", {}, "0.00", [], date(2025, 2, 10),
     361, 12, 12, "361+", "loss", 3, True, "10800.00", "12000.00"),
    ("E18", {}, "50.00", [pay("p1", "1000.00", date(2024, 2, 20))], date(2024, 2, 20),
     5, 1, 1, "1-30", "special_mention", 1, False, "9950.00", "50.00"),
    ("E19", {}, "50.00",
     [pay("p1", "1000.00", date(2024, 2, 20)), pay("p2", "50.00", date(2024, 2, 22))],
     date(2024, 2, 22),
     0, 0, 1, "current", "normal", 1, False, "9900.00", "0.00"),
    ("E20", {}, "0.00", [pay("p1", "920.00", date(2024, 2, 15))], date(2024, 3, 10),
     24, 1, 1, "1-30", "special_mention", 1, False, "9980.00", "80.00"),
    ("E21", {}, "0.00", [pay("p1", "920.00", date(2024, 2, 15))], date(2024, 6, 14),
     120, 4, 4, "91-180", "substandard", 3, True, "9980.00", "3080.00"),
    ("E22", {}, "0.00", [pay("d1", "2000.00", date(2024, 3, 20), payer="dealer")],
     date(2024, 3, 20),
     0, 0, 2, "current", "normal", 1, False, "9000.00", "0.00"),
    ("E23", {}, "0.00", [pay("p1", "1000.00", date(2024, 2, 10))], date(2024, 2, 16),
     0, 0, 0, "current", "normal", 1, False, "9900.00", "0.00"),
    ("E24", {}, "0.00", [], date(2024, 3, 16),
     30, 2, 2, "1-30", "special_mention", 1, False, "10800.00", "2000.00"),
]
# fmt: on


@pytest.mark.parametrize(
    (
        "params",
        "first_fees",
        "payments",
        "as_of",
        "dpd",
        "overdue",
        "cumulative",
        "bucket",
        "classification",
        "stage",
        "rule_3_6",
        "outstanding",
        "overdue_amount",
    ),
    [row[1:] for row in EXAMPLES],
    ids=[row[0] for row in EXAMPLES],
)
def test_worked_examples_match_domain_research(
    params,
    first_fees,
    payments,
    as_of,
    dpd,
    overdue,
    cumulative,
    bucket,
    classification,
    stage,
    rule_3_6,
    outstanding,
    overdue_amount,
):
    # given the common fixture (with E18/E19's late fee posted as fees on #1)
    schedule = fixture_schedule(first_fees)

    # when
    result = compute(schedule, payments, Params(**params), as_of)

    # then
    assert result.as_of == as_of
    assert result.days_past_due == dpd
    assert result.overdue_installments == overdue
    assert result.cumulative_missed_installments == cumulative
    assert result.bucket == bucket
    assert result.classification == classification
    assert result.ifrs9_stage == stage
    assert result.is_npl is (classification in {"substandard", "doubtful", "loss"})
    assert result.rule_3_6 is rule_3_6
    assert result.outstanding_principal == D(outstanding)
    assert result.overdue_amount == D(overdue_amount)
    assert result.overdue_amount == result.overdue_principal + result.overdue_interest + result.overdue_fees
    assert result.suspense_balance == D("0.00")


def test_e06_partial_payment_allocates_interest_before_principal():
    # given 950.00 paid on #1's due date
    payments = [pay("p1", "950.00", date(2024, 2, 15))]

    # when
    ledger = replay(SCHEDULE, payments, Params())
    result = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 3, 1))

    # then
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("p1", 1, date(2024, 2, 15), "borrower", D("0.00"), D("100.00"), D("850.00")),
    ]
    first = result.installments[0]
    assert (first.paid_interest, first.paid_principal, first.remaining) == (
        D("100.00"),
        D("850.00"),
        D("50.00"),
    )
    assert first.settled is False
    assert first.paid_on is None
    assert first.missed is True


def test_e07_tolerance_settles_the_installment_but_keeps_the_remainder_overdue():
    # given
    payments = [pay("p1", "950.00", date(2024, 2, 15))]

    # when
    result = compute(SCHEDULE, payments, Params(tolerance=D("50.00")), date(2024, 3, 1))

    # then
    first = result.installments[0]
    assert first.settled is True
    assert first.paid_on == date(2024, 2, 15)
    assert first.missed is False
    assert first.remaining == D("50.00")
    assert result.overdue_principal == D("50.00")


def test_e08_and_e09_rolling_one_behind_is_not_three_consecutive_in_arrears_mode():
    # when
    result = compute(SCHEDULE, ROLLING_ONE_BEHIND, Params(), date(2024, 5, 20))

    # then: consecutive (ARREARS) = 1, while the history of missed flags is 4 long
    assert result.overdue_installments == 1
    assert result.max_consecutive_missed == 4
    assert [s.missed for s in result.installments[:5]] == [True, True, True, True, None]
    assert result.rule_3_6 is False


def test_e10_six_cumulative_misses_trigger_rule_3_6():
    payments = [
        *ROLLING_ONE_BEHIND,
        pay("m06", "1000.00", date(2024, 6, 15)),
        pay("m07", "1000.00", date(2024, 7, 15)),
    ]

    result = compute(SCHEDULE, payments, Params(), date(2024, 7, 20))

    assert result.cumulative_missed_installments == 6
    assert result.max_consecutive_missed == 6
    assert result.overdue_installments == 1
    assert result.rule_3_6 is True


def test_e13_paying_two_installments_late_keeps_their_missed_flags():
    result = compute(SCHEDULE, [pay("p", "2000.00", date(2024, 4, 20))], Params(), date(2024, 4, 20))

    assert result.days_past_due == 5
    assert result.max_consecutive_missed == 3
    assert [s.settled for s in result.installments[:3]] == [True, True, False]
    assert [s.paid_on for s in result.installments[:2]] == [date(2024, 4, 20)] * 2


def test_e18_late_fee_is_paid_first():
    # given the 50.00 late fee posted on #1 as a schedule change
    schedule = fixture_schedule("50.00")

    # when
    ledger = replay(schedule, [pay("p1", "1000.00", date(2024, 2, 20))], Params())

    # then
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("p1", 1, date(2024, 2, 20), "borrower", D("50.00"), D("100.00"), D("850.00")),
    ]
    first = compute(schedule, [pay("p1", "1000.00", date(2024, 2, 20))], Params(), date(2024, 2, 20)).installments[0]
    assert first.total == D("1050.00")
    assert first.remaining == D("50.00")
    assert first.missed is True


def test_e19_paying_the_rest_settles_but_keeps_the_miss():
    schedule = fixture_schedule("50.00")
    payments = [
        pay("p1", "1000.00", date(2024, 2, 20)),
        pay("p2", "50.00", date(2024, 2, 22)),
    ]

    result = compute(schedule, payments, Params(), date(2024, 2, 22))

    first = result.installments[0]
    assert (first.paid_fees, first.paid_interest, first.paid_principal) == (
        D("50.00"),
        D("100.00"),
        D("900.00"),
    )
    assert first.remaining == D("0.00")
    assert first.settled is True
    assert first.paid_on == date(2024, 2, 22)
    assert first.missed is True
    assert result.cumulative_missed_installments == 1


def test_e20_short_payment_detail():
    ledger = replay(SCHEDULE, [pay("p1", "920.00", date(2024, 2, 15))], Params())

    assert payment_allocation(ledger, "p1", date(2024, 3, 10)) == {
        "allocations": [
            {
                "installment": 1,
                "fees": D("0.00"),
                "interest": D("100.00"),
                "principal": D("820.00"),
            }
        ],
        "suspense": D("0.00"),
    }
    result = evaluate(SCHEDULE, ledger, ledger.payments, Params(), date(2024, 3, 10))
    assert result.installments[0].remaining == D("80.00")
    assert result.overdue_principal == D("80.00")


def test_e22_dealer_pays_both_installments_but_borrower_misses_remain():
    # given #1 and #2 missed, then a dealer advance
    payments = [pay("d1", "2000.00", date(2024, 3, 20), payer="dealer")]

    # when
    ledger = replay(SCHEDULE, payments, Params())
    result = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 3, 20))

    # then
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("d1", 1, date(2024, 3, 20), "dealer", D("0.00"), D("100.00"), D("900.00")),
        ("d1", 2, date(2024, 3, 20), "dealer", D("0.00"), D("100.00"), D("900.00")),
    ]
    assert [(s.settled, s.missed, s.borrower_paid_by_deadline) for s in result.installments[:2]] == [
        (True, True, D("0.00")),
        (True, True, D("0.00")),
    ]
    assert result.max_consecutive_missed == 2
    assert result.guarantor_cure_on == date(2024, 3, 20)


def test_e23_early_payment_waits_in_suspense_until_the_due_date():
    # given 1,000.00 paid five days before the first due date
    payments = [pay("p1", "1000.00", date(2024, 2, 10))]

    # when
    ledger = replay(SCHEDULE, payments, Params())

    # then
    assert payment_allocation(ledger, "p1", date(2024, 2, 10)) == {
        "allocations": [],
        "suspense": D("1000.00"),
    }
    assert payment_allocation(ledger, "p1", date(2024, 2, 15))["suspense"] == D("0.00")
    assert evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 2, 14)).suspense_balance == D("1000.00")
    result = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 2, 16))
    first = result.installments[0]
    assert first.paid_on == date(2024, 2, 15)
    assert first.missed is False
    assert first.borrower_paid_by_deadline == D("1000.00")
    assert result.suspense_balance == D("0.00")


def test_e26_letter_itemisation_for_e06_data():
    result = compute(SCHEDULE, [pay("p1", "950.00", date(2024, 2, 15))], Params(), date(2024, 3, 1))

    assert result.overdue_principal == D("50.00")
    assert result.overdue_interest == D("0.00")
    assert result.overdue_fees == D("0.00")
    assert result.overdue_amount == D("50.00")
    assert result.outstanding_principal == D("9950.00")


# --------------------------------------------------------------------------- #
# Allocation mechanics
# --------------------------------------------------------------------------- #
def test_suspense_is_applied_fifo_and_keeps_each_lots_payer():
    # given a dealer and then the borrower paying before the first due date
    payments = [
        pay("b1", "800.00", date(2024, 2, 5)),
        pay("d1", "500.00", date(2024, 2, 1), payer="dealer"),
    ]

    # when
    ledger = replay(SCHEDULE, payments, Params())

    # then the dealer's older lot goes first, the borrower's rest waits for #2
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("d1", 1, date(2024, 2, 15), "dealer", D("0.00"), D("100.00"), D("400.00")),
        ("b1", 1, date(2024, 2, 15), "borrower", D("0.00"), D("0.00"), D("500.00")),
        ("b1", 2, date(2024, 3, 15), "borrower", D("0.00"), D("100.00"), D("200.00")),
    ]
    assert payment_allocation(ledger, "b1", date(2024, 2, 20))["suspense"] == D("300.00")
    result = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 2, 20))
    assert result.installments[0].settled is True
    assert result.installments[0].missed is True  # only 500.00 of the borrower's money by the deadline
    assert result.suspense_balance == D("300.00")


def test_suspense_is_applied_before_that_days_payments():
    # given money in suspense and a payment on #2's due date
    payments = [
        pay("early", "1300.00", date(2024, 2, 15)),
        pay("today", "1000.00", date(2024, 3, 15)),
    ]

    # when
    ledger = replay(SCHEDULE, payments, Params())

    # then on 03-15 the suspense (300) goes to #2 first, then today's payment
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        (
            "early",
            1,
            date(2024, 2, 15),
            "borrower",
            D("0.00"),
            D("100.00"),
            D("900.00"),
        ),
        (
            "early",
            2,
            date(2024, 3, 15),
            "borrower",
            D("0.00"),
            D("100.00"),
            D("200.00"),
        ),
        ("today", 2, date(2024, 3, 15), "borrower", D("0.00"), D("0.00"), D("700.00")),
        (
            "today",
            3,
            date(2024, 4, 15),
            "borrower",
            D("0.00"),
            D("100.00"),
            D("200.00"),
        ),
    ]
    assert payment_allocation(ledger, "today", date(2024, 3, 15))["suspense"] == D("300.00")


def test_payments_on_the_same_day_follow_arrival_order():
    payments = [
        pay("second", "600.00", date(2024, 2, 15), arrival=2),
        pay("first", "600.00", date(2024, 2, 15), arrival=1),
    ]

    ledger = replay(SCHEDULE, payments, Params())

    assert [alloc_tuple(a) for a in ledger.allocations] == [
        (
            "first",
            1,
            date(2024, 2, 15),
            "borrower",
            D("0.00"),
            D("100.00"),
            D("500.00"),
        ),
        ("second", 1, date(2024, 2, 15), "borrower", D("0.00"), D("0.00"), D("400.00")),
        (
            "second",
            2,
            date(2024, 3, 15),
            "borrower",
            D("0.00"),
            D("100.00"),
            D("100.00"),
        ),
    ]
    assert payment_allocation(ledger, "second", date(2024, 2, 15))["suspense"] == D("200.00")


def test_prepay_applies_the_excess_at_once_to_the_next_installments():
    # given 2,500.00 on #1's due date with excess_handling = prepay
    payments = [pay("p1", "2500.00", date(2024, 2, 15))]
    params = Params(excess_handling="prepay")

    # when
    ledger = replay(SCHEDULE, payments, params)
    result = evaluate(SCHEDULE, ledger, payments, params, date(2024, 4, 16))

    # then
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("p1", 1, date(2024, 2, 15), "borrower", D("0.00"), D("100.00"), D("900.00")),
        ("p1", 2, date(2024, 2, 15), "borrower", D("0.00"), D("100.00"), D("900.00")),
        ("p1", 3, date(2024, 2, 15), "borrower", D("0.00"), D("100.00"), D("400.00")),
    ]
    assert result.suspense_balance == D("0.00")
    assert result.outstanding_principal == D("8600.00")
    assert result.installments[1].paid_on == date(2024, 2, 15)
    assert result.installments[1].missed is False
    assert result.days_past_due == 1  # #3 due 04-15 still 500.00 short
    assert result.installments[2].missed is True


def test_suspense_mode_holds_the_same_excess_until_each_due_date():
    payments = [pay("p1", "2500.00", date(2024, 2, 15))]

    ledger = replay(SCHEDULE, payments, Params())

    assert [(a.installment_number, a.effective_date, a.total) for a in ledger.allocations] == [
        (1, date(2024, 2, 15), D("1000.00")),
        (2, date(2024, 3, 15), D("1000.00")),
        (3, date(2024, 4, 15), D("500.00")),
    ]
    assert payment_allocation(ledger, "p1", date(2024, 3, 14))["suspense"] == D("1500.00")


def test_prepay_sends_only_what_exceeds_the_whole_schedule_to_suspense():
    payments = [pay("p1", "12500.00", date(2024, 2, 15))]

    ledger = replay(SCHEDULE, payments, Params(excess_handling="prepay"))
    result = evaluate(SCHEDULE, ledger, payments, Params(excess_handling="prepay"), date(2024, 2, 15))

    assert len(ledger.allocations) == 12
    assert result.outstanding_principal == D("0.00")
    assert result.suspense_balance == D("500.00")
    assert payment_allocation(ledger, "p1", date(2030, 1, 1))["suspense"] == D("500.00")


def test_payment_before_the_first_due_date_goes_to_suspense():
    payments = [pay("p1", "400.00", date(2024, 1, 20))]

    ledger = replay(SCHEDULE, payments, Params())
    before = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 2, 14))
    after = evaluate(SCHEDULE, ledger, payments, Params(), date(2024, 2, 15))

    assert before.suspense_balance == D("400.00")
    assert before.outstanding_principal == D("10800.00")
    assert after.suspense_balance == D("0.00")
    assert after.outstanding_principal == D("10500.00")
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("p1", 1, date(2024, 2, 15), "borrower", D("0.00"), D("100.00"), D("300.00")),
    ]


def test_money_goes_first_to_a_remainder_that_tolerance_already_settled():
    # given #1 settled by tolerance with 50.00 left
    payments = [
        pay("p1", "950.00", date(2024, 2, 15)),
        pay("p2", "1000.00", date(2024, 3, 15)),
    ]
    params = Params(tolerance=D("50.00"))

    # when
    ledger = replay(SCHEDULE, payments, params)
    result = evaluate(SCHEDULE, ledger, payments, params, date(2024, 3, 16))

    # then the oldest remainder is paid first
    assert [alloc_tuple(a) for a in ledger.allocations if a.payment_key == "p2"] == [
        ("p2", 1, date(2024, 3, 15), "borrower", D("0.00"), D("0.00"), D("50.00")),
        ("p2", 2, date(2024, 3, 15), "borrower", D("0.00"), D("100.00"), D("850.00")),
    ]
    assert [s.remaining for s in result.installments[:2]] == [D("0.00"), D("50.00")]
    assert [s.missed for s in result.installments[:2]] == [False, False]
    assert result.days_past_due == 0
    assert result.overdue_amount == D("50.00")


def test_tolerance_is_inclusive_and_one_cent_more_is_a_miss():
    params = Params(tolerance=D("50.00"))

    at_limit = compute(SCHEDULE, [pay("p", "950.00", date(2024, 2, 15))], params, date(2024, 3, 1))
    over_limit = compute(SCHEDULE, [pay("p", "949.99", date(2024, 2, 15))], params, date(2024, 3, 1))

    assert (at_limit.days_past_due, at_limit.cumulative_missed_installments) == (0, 0)
    assert (over_limit.days_past_due, over_limit.cumulative_missed_installments) == (
        15,
        1,
    )


def test_grace_decides_the_miss_but_never_lowers_days_past_due():
    # given a payment inside the 3-day grace period
    params = Params(grace_days=3)
    payments = [pay("p", "1000.00", date(2024, 2, 18))]

    # when
    inside = compute(SCHEDULE, payments, params, date(2024, 2, 17))
    after = compute(SCHEDULE, payments, params, date(2024, 2, 20))

    # then
    assert inside.days_past_due == 2
    assert inside.installments[0].deadline == date(2024, 2, 18)
    assert inside.installments[0].missed is None
    assert after.days_past_due == 0
    assert after.installments[0].missed is False
    assert after.installments[0].borrower_paid_by_deadline == D("1000.00")


def test_late_borrower_money_does_not_count_as_paid_by_the_deadline():
    payments = [pay("p", "1000.00", date(2024, 2, 16))]

    result = compute(SCHEDULE, payments, Params(), date(2024, 3, 1))

    assert result.installments[0].borrower_paid_by_deadline == D("0.00")
    assert result.installments[0].missed is True
    assert result.days_past_due == 0


def test_payments_after_as_of_do_not_count():
    payments = [pay("p", "1000.00", date(2024, 3, 2))]

    result = compute(SCHEDULE, payments, Params(), date(2024, 3, 1))

    assert result.days_past_due == 15
    assert result.suspense_balance == D("0.00")
    assert result.installments[0].paid_total == D("0.00")


def test_days_past_due_after_maturity_counts_from_the_oldest_unpaid_installment():
    payments = on_due_dates(*range(1, 12))  # #12 never paid

    result = compute(SCHEDULE, payments, Params(), date(2025, 3, 1))

    assert result.days_past_due == 45
    assert result.overdue_installments == 1
    assert result.outstanding_principal == D("900.00")


def test_installment_states_before_the_deadline_are_not_evaluated():
    result = compute(SCHEDULE, [], Params(), date(2024, 2, 15))

    first = result.installments[0]
    assert first.missed is None
    assert first.borrower_paid_by_deadline == D("0.00")
    assert [s.number for s in result.installments] == list(range(1, 13))
    assert all(s.missed is None for s in result.installments)


def test_reversal_is_the_same_as_never_posting_the_payment():
    # given two payments, the first of which bounces
    first = pay("a", "1000.00", date(2024, 2, 15))
    second = pay("b", "1000.00", date(2024, 3, 15))
    as_of = date(2024, 3, 20)
    posted = compute(SCHEDULE, [first, second], Params(), as_of)

    # when the first is reversed (dropped) and the loan replayed
    reversed_ = compute(SCHEDULE, [second], Params(), as_of)
    ledger = replay(SCHEDULE, [second], Params())

    # then the second payment now pays #1 instead of #2, exactly as if "a" never existed
    assert posted.days_past_due == 0
    assert reversed_.days_past_due == 5
    assert reversed_.cumulative_missed_installments == 2
    assert [alloc_tuple(a) for a in ledger.allocations] == [
        ("b", 1, date(2024, 3, 15), "borrower", D("0.00"), D("100.00"), D("900.00")),
    ]
    never_posted = compute(SCHEDULE, [pay("b", "1000.00", date(2024, 3, 15))], Params(), as_of)
    assert reversed_ == never_posted


def test_reversing_e13s_payment_restores_the_unpaid_picture():
    as_of = date(2024, 4, 20)

    reversed_ = compute(SCHEDULE, [], Params(), as_of)

    assert reversed_.days_past_due == 65
    assert reversed_.overdue_installments == 3
    assert reversed_.rule_3_6 is True


# --------------------------------------------------------------------------- #
# Guarantor cure
# --------------------------------------------------------------------------- #
def test_guarantor_cure_on_is_the_dealer_cure_day_and_stays_after_relapse():
    payments = [pay("d1", "2000.00", date(2024, 3, 20), payer="dealer")]

    assert compute(SCHEDULE, payments, Params(), date(2024, 3, 19)).guarantor_cure_on is None
    assert compute(SCHEDULE, payments, Params(), date(2024, 3, 20)).guarantor_cure_on == date(2024, 3, 20)
    later = compute(SCHEDULE, payments, Params(), date(2024, 5, 20))
    assert later.days_past_due == 35
    assert later.guarantor_cure_on == date(2024, 3, 20)


def test_guarantor_cure_on_counts_insurer_but_not_borrower_or_guarantor():
    as_of = date(2024, 3, 20)

    def cure(payer):
        return compute(SCHEDULE, [pay("x", "2000.00", as_of, payer=payer)], Params(), as_of).guarantor_cure_on

    assert cure("insurer") == as_of
    assert cure("borrower") is None
    assert cure("guarantor") is None
    assert cure("collateral_sale") is None


def test_partial_dealer_payment_is_not_a_cure():
    payments = [pay("d1", "1500.00", date(2024, 3, 20), payer="dealer")]

    result = compute(SCHEDULE, payments, Params(), date(2024, 3, 20))

    assert result.days_past_due == 5
    assert result.guarantor_cure_on is None


def test_dealer_payment_on_a_current_loan_is_not_a_cure():
    payments = [pay("d1", "1000.00", date(2024, 2, 15), payer="dealer")]

    assert compute(SCHEDULE, payments, Params(), date(2024, 3, 1)).guarantor_cure_on is None


def test_dealer_money_applied_from_suspense_to_a_current_loan_is_not_a_cure():
    # given #1 unpaid since 02-15; the borrower catches up, then a dealer lot
    # waits in suspense and is applied on #2's due date
    payments = [
        pay("b1", "1000.00", date(2024, 3, 10)),  # cures #1 on 03-10 (borrower)
        pay("d1", "1000.00", date(2024, 3, 12), payer="dealer"),  # waits for #2's due date
    ]

    result = compute(SCHEDULE, payments, Params(), date(2024, 3, 31))

    # DPD was already 0 on 03-14 and stays 0 on 03-15: no dealer cure
    assert result.days_past_due == 0
    assert result.guarantor_cure_on is None


# --------------------------------------------------------------------------- #
# payment_allocation, compute/evaluate consistency
# --------------------------------------------------------------------------- #
def test_payment_allocation_groups_by_installment_and_reports_suspense():
    payments = [pay("p1", "2500.00", date(2024, 2, 15))]
    ledger = replay(SCHEDULE, payments, Params())

    assert payment_allocation(ledger, "p1", date(2024, 3, 15)) == {
        "allocations": [
            {
                "installment": 1,
                "fees": D("0.00"),
                "interest": D("100.00"),
                "principal": D("900.00"),
            },
            {
                "installment": 2,
                "fees": D("0.00"),
                "interest": D("100.00"),
                "principal": D("900.00"),
            },
        ],
        "suspense": D("500.00"),
    }
    assert payment_allocation(ledger, "p1", date(2024, 2, 14)) == {
        "allocations": [],
        "suspense": D("0.00"),
    }


def test_payment_allocation_unknown_key_raises_key_error():
    ledger = replay(SCHEDULE, [pay("p1", "10.00", date(2024, 2, 15))], Params())

    with pytest.raises(KeyError):
        payment_allocation(ledger, "nope", date(2024, 2, 15))


def test_compute_equals_evaluate_of_replay():
    payments = [
        pay(1, "700.00", date(2024, 2, 10)),
        pay(2, "1500.00", date(2024, 4, 1), payer="insurer"),
    ]
    params = Params(grace_days=2, tolerance=D("5.00"))

    for as_of in (date(2024, 2, 1), date(2024, 3, 20), date(2024, 6, 1)):
        assert compute(SCHEDULE, payments, params, as_of) == evaluate(
            SCHEDULE, replay(SCHEDULE, payments, params), payments, params, as_of
        )


def test_results_are_two_place_decimals():
    result = compute(SCHEDULE, [pay("p", "950", date(2024, 2, 15))], Params(), date(2024, 3, 1))

    assert str(result.overdue_principal) == "50.00"
    assert str(result.suspense_balance) == "0.00"
    assert str(result.installments[0].paid_principal) == "850.00"


def test_any_objects_with_the_right_attributes_are_accepted():
    # given schedule lines and payments that are not the engine's dataclasses
    lines = [
        SimpleNamespace(
            number=i.number,
            due_date=i.due_date,
            principal=i.principal,
            interest=i.interest,
            fees=i.fees,
        )
        for i in SCHEDULE
    ]
    rows = [
        SimpleNamespace(
            key=7,
            amount=D("950.00"),
            value_date=date(2024, 2, 15),
            payer="borrower",
            arrival=0,
        )
    ]

    # when / then
    assert compute(lines, rows, Params(), date(2024, 3, 1)) == compute(
        SCHEDULE, [pay(7, "950.00", date(2024, 2, 15))], Params(), date(2024, 3, 1)
    )


def test_schedule_order_does_not_matter():
    shuffled = list(reversed(SCHEDULE))

    assert compute(shuffled, [], Params(), date(2024, 4, 16)) == compute(SCHEDULE, [], Params(), date(2024, 4, 16))


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #
def inst(number: int, due_date: date, principal="1.00", interest="1.00", fees="0.00"):
    return Installment(number, due_date, D(principal), D(interest), D(fees))


FEB, MAR = date(2024, 2, 15), date(2024, 3, 15)
INVALID_INPUTS = [
    # id, schedule, payments, params, message pattern
    (
        "equal-due-dates",
        [inst(1, FEB), inst(2, FEB)],
        [],
        Params(),
        "strictly increase",
    ),
    (
        "decreasing-due-dates",
        [inst(1, MAR), inst(2, FEB)],
        [],
        Params(),
        "strictly increase",
    ),
    (
        "duplicate-number",
        [inst(1, FEB), inst(1, MAR)],
        [],
        Params(),
        "duplicate installment",
    ),
    ("negative-principal", [inst(1, FEB, principal="-1.00")], [], Params(), "negative"),
    ("negative-interest", [inst(1, FEB, interest="-0.01")], [], Params(), "negative"),
    ("negative-fees", [inst(1, FEB, fees="-5")], [], Params(), "negative"),
    ("zero-amount", SCHEDULE, [pay("p", "0.00", FEB)], Params(), "positive"),
    ("negative-amount", SCHEDULE, [pay("p", "-10.00", FEB)], Params(), "positive"),
    (
        "unknown-payer",
        SCHEDULE,
        [pay("p", "10.00", FEB, payer="bank")],
        Params(),
        "payer",
    ),
    (
        "duplicate-payment-key",
        SCHEDULE,
        [pay("p", "10.00", FEB), pay("p", "5.00", MAR)],
        Params(),
        "duplicate payment key",
    ),
    (
        "three-decimals",
        SCHEDULE,
        [pay("p", "10.001", FEB)],
        Params(),
        "2 decimal places",
    ),
    (
        "unknown-excess-handling",
        SCHEDULE,
        [],
        Params(excess_handling="refund"),
        "excess_handling",
    ),
    ("negative-tolerance", SCHEDULE, [], Params(tolerance=D("-1.00")), "tolerance"),
    ("negative-grace", SCHEDULE, [], Params(grace_days=-1), "grace_days"),
]


@pytest.mark.parametrize(
    ("schedule", "payments", "params", "message"),
    [row[1:] for row in INVALID_INPUTS],
    ids=[row[0] for row in INVALID_INPUTS],
)
def test_invalid_input_raises_value_error(schedule, payments, params, message):
    with pytest.raises(ValueError, match=message):
        replay(schedule, payments, params)
    with pytest.raises(ValueError, match=message):
        compute(schedule, payments, params, date(2024, 6, 1))


def test_float_money_is_rejected():
    with pytest.raises(TypeError):
        replay(SCHEDULE, [Payment("p", 10.5, date(2024, 2, 15))], Params())
    with pytest.raises(TypeError):
        replay([Installment(1, date(2024, 2, 15), 900.0, D("100.00"))], [], Params())


def test_evaluate_rejects_allocations_to_unknown_installments():
    ledger = Ledger(allocations=(Allocation("p", 99, date(2024, 2, 15), "borrower", D("0"), D("0"), D("1")),))

    with pytest.raises(ValueError, match="unknown installment"):
        evaluate(SCHEDULE, ledger, [], Params(), date(2024, 3, 1))


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "91-180"),
        (180, "91-180"),
        (181, "181-270"),
        (270, "181-270"),
        (271, "271-360"),
        (360, "271-360"),
        (361, "361+"),
        (5000, "361+"),
    ],
)
def test_bucket_for_boundaries(dpd, bucket):
    assert bucket_for(dpd) == bucket


@pytest.mark.parametrize(
    ("dpd", "classification"),
    [
        (0, "normal"),
        (1, "special_mention"),
        (90, "special_mention"),
        (91, "substandard"),
        (270, "substandard"),
        (271, "doubtful"),
        (360, "doubtful"),
        (361, "loss"),
    ],
)
def test_classification_for_boundaries(dpd, classification):
    assert classification_for(dpd, Params()) == classification


@pytest.mark.parametrize(("dpd", "stage"), [(0, 1), (30, 1), (31, 2), (90, 2), (91, 3)])
def test_ifrs9_stage_for_boundaries(dpd, stage):
    assert ifrs9_stage_for(dpd, Params()) == stage


def test_helpers_follow_the_parameters():
    params = Params(special_mention_min_dpd=8, substandard_dpd_gt=60, ifrs9_stage2_dpd_gt=10)

    assert classification_for(7, params) == "normal"
    assert classification_for(8, params) == "special_mention"
    assert classification_for(61, params) == "substandard"
    assert ifrs9_stage_for(11, params) == 2


def test_helpers_reject_negative_days():
    with pytest.raises(ValueError, match="days_past_due"):
        bucket_for(-1)


# --------------------------------------------------------------------------- #
# Speed
# --------------------------------------------------------------------------- #
def test_360_installments_and_400_payments_replay_and_evaluate_fast():
    # given a 30-year monthly-ish loan and 400 random payments from every payer
    rng = random.Random(20240115)  # noqa: S311 - test data, not security
    start = date(2020, 1, 1)
    schedule = [
        Installment(n, start + timedelta(days=30 * n), D("100.00"), D("10.00"), D("1.00")) for n in range(1, 361)
    ]
    payments = [
        Payment(
            k,
            D(rng.randint(1, 30000)) / 100,
            start + timedelta(days=rng.randint(0, 11000)),
            rng.choice(PAYERS),
            rng.randint(0, 3),
        )
        for k in range(400)
    ]
    as_of = start + timedelta(days=11000)

    # when
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        ledger = replay(schedule, payments, Params())
        evaluate(schedule, ledger, payments, Params(), as_of)
        best = min(best, time.perf_counter() - began)

    # then
    assert best < 0.05
