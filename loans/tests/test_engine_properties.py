"""Property-based tests for the arrears engine (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from loans.engine import (
    PAYERS,
    Installment,
    Params,
    Payment,
    compute,
    evaluate,
    payment_allocation,
    replay,
    replay_one,
)

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
BASE = date(2024, 1, 1)

ANY_PAYER = st.sampled_from(PAYERS)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)


def cents(low: int, high: int):
    return st.integers(min_value=low, max_value=high).map(lambda c: Decimal(c) * CENT)


@st.composite
def schedules(draw, max_installments: int = 8) -> list[Installment]:
    count = draw(st.integers(min_value=1, max_value=max_installments))
    due = BASE + timedelta(days=draw(st.integers(min_value=0, max_value=20)))
    items = []
    for number in range(1, count + 1):
        items.append(
            Installment(
                number=number,
                due_date=due,
                principal=draw(cents(0, 150_000)),
                interest=draw(cents(0, 20_000)),
                fees=draw(st.one_of(st.just(ZERO), cents(0, 5_000))),
            )
        )
        due += timedelta(days=draw(st.integers(min_value=1, max_value=40)))
    return items


def span_end(schedule: list[Installment]) -> date:
    return schedule[-1].due_date + timedelta(days=60)


@st.composite
def payment_lists(draw, schedule, payers=ANY_PAYER, max_size: int = 8, dates=None) -> list[Payment]:
    last = (span_end(schedule) - BASE).days
    day_offsets = dates if dates is not None else st.integers(min_value=-15, max_value=last)
    size = draw(st.integers(min_value=0, max_value=max_size))
    return [
        Payment(
            key=f"p{k}",
            amount=draw(cents(1, 300_000)),
            value_date=BASE + timedelta(days=draw(day_offsets)),
            payer=draw(payers),
            arrival=draw(st.integers(min_value=0, max_value=3)),
        )
        for k in range(size)
    ]


params_strategy = st.builds(
    Params,
    grace_days=st.integers(min_value=0, max_value=5),
    tolerance=st.one_of(st.just(ZERO), cents(0, 2_000)),
    excess_handling=st.sampled_from(("suspense", "prepay")),
)


@st.composite
def loans(draw, payers=ANY_PAYER):
    schedule = draw(schedules())
    payments = draw(payment_lists(schedule, payers=payers))
    params = draw(params_strategy)
    last = (span_end(schedule) - BASE).days + 30
    as_of = BASE + timedelta(days=draw(st.integers(min_value=-20, max_value=last)))
    return schedule, payments, params, as_of


def reference_allocations(schedule, payments, params) -> dict:
    """Naive day-by-day allocation.

    Returns {(key, installment, effective_date, payer): [fees, interest, principal]}.
    """
    owed = {inst.number: [inst.fees, inst.interest, inst.principal] for inst in schedule}
    ordered = sorted(enumerate(payments), key=lambda t: (t[1].value_date, t[1].arrival, t[0]))
    result: dict = defaultdict(lambda: [ZERO, ZERO, ZERO])
    lots: list[list] = []

    def pay_into(key, payer, amount, day, horizon):
        for inst in schedule:
            if inst.due_date > horizon:
                break
            for c in range(3):
                take = min(amount, owed[inst.number][c])
                if take:
                    owed[inst.number][c] -= take
                    result[(key, inst.number, day, payer)][c] += take
                    amount -= take
        return amount

    first = min([i.due_date for i in schedule] + [p.value_date for p in payments])
    last = max([i.due_date for i in schedule] + [p.value_date for p in payments])
    day = first
    while day <= last:
        if any(inst.due_date == day for inst in schedule):
            for lot in lots:
                lot[2] = pay_into(lot[0], lot[1], lot[2], day, day)
            lots = [lot for lot in lots if lot[2] > 0]
        for _, p in ordered:
            if p.value_date == day:
                horizon = date.max if params.excess_handling == "prepay" else day
                left = pay_into(p.key, p.payer, p.amount, day, horizon)
                if left > 0:
                    lots.append([p.key, p.payer, left])
        day += timedelta(days=1)
    return dict(result)


# --------------------------------------------------------------------------- #
# Properties
# --------------------------------------------------------------------------- #
@PROPERTY_SETTINGS
@given(loans())
def test_money_is_conserved_per_payment(loan):
    # given
    schedule, payments, params, as_of = loan

    # when
    ledger = replay(schedule, payments, params)
    result = evaluate(schedule, ledger, payments, params, as_of)

    # then every payment received by D is allocated or in suspense, never negative
    suspense_total = ZERO
    for p in payments:
        allocated = sum(
            (a.total for a in ledger.allocations if a.payment_key == p.key and a.effective_date <= as_of),
            ZERO,
        )
        detail = payment_allocation(ledger, p.key, as_of)
        itemised = sum(
            (r["fees"] + r["interest"] + r["principal"] for r in detail["allocations"]),
            ZERO,
        )
        assert itemised == allocated
        if p.value_date <= as_of:
            assert allocated + detail["suspense"] == p.amount
            assert detail["suspense"] >= 0
        else:
            assert allocated == ZERO
            assert detail["suspense"] == ZERO
        suspense_total += detail["suspense"]
    assert result.suspense_balance == suspense_total
    # and no installment is ever overpaid, no row is empty or negative
    for state in result.installments:
        assert ZERO <= state.paid_total <= state.total
        assert state.remaining == state.total - state.paid_total
    for a in ledger.allocations:
        assert min(a.fees, a.interest, a.principal) >= 0
        assert a.total > 0


@PROPERTY_SETTINGS
@given(loans())
def test_replay_matches_a_naive_day_by_day_reference(loan):
    schedule, payments, params, _ = loan

    ledger = replay(schedule, payments, params)

    got = {}
    for a in ledger.allocations:
        row = (a.payment_key, a.installment_number, a.effective_date, a.payer)
        assert row not in got  # one row per (payment, installment, effective date)
        got[row] = [a.fees, a.interest, a.principal]
    assert got == reference_allocations(schedule, payments, params)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_adding_a_payment_never_raises_days_past_due(data):
    # given a loan and one more payment of any payer
    schedule, payments, params, as_of = data.draw(loans())
    extra = replace(data.draw(payment_lists(schedule, max_size=1).filter(bool))[0], key="extra")

    # when
    before = compute(schedule, payments, params, as_of)
    after = compute(schedule, [*payments, extra], params, as_of)

    # then
    assert after.days_past_due <= before.days_past_due
    assert after.overdue_installments <= before.overdue_installments
    assert after.overdue_amount <= before.overdue_amount
    assert after.outstanding_principal <= before.outstanding_principal


@PROPERTY_SETTINGS
@given(data=st.data())
def test_arrival_order_within_a_value_date_changes_nothing_for_borrower_payments(data):
    # given borrower payments crowded onto a few value dates
    schedule = data.draw(schedules())
    last = (span_end(schedule) - BASE).days
    few_dates = st.sampled_from(
        sorted(
            {
                0,
                last // 3,
                last // 2,
                last,
                *[(i.due_date - BASE).days for i in schedule],
            }
        )
    )
    payments = data.draw(payment_lists(schedule, payers=st.just("borrower"), dates=few_dates))
    params = data.draw(params_strategy)
    as_of = BASE + timedelta(days=data.draw(st.integers(min_value=-5, max_value=last + 30)))
    permutation = data.draw(st.permutations(range(len(payments))))

    # when the arrival order (and the list order) is shuffled
    in_order = [replace(p, arrival=k) for k, p in enumerate(payments)]
    shuffled = [replace(p, arrival=permutation[k]) for k, p in enumerate(payments)]
    shuffled.reverse()

    # then the whole Delinquency is identical
    assert compute(schedule, shuffled, params, as_of) == compute(schedule, in_order, params, as_of)


@PROPERTY_SETTINGS
@given(data=st.data())
def test_arrival_order_with_mixed_payers_only_changes_attribution(data):
    schedule, payments, params, as_of = data.draw(loans())
    permutation = data.draw(st.permutations(range(len(payments))))
    shuffled = [replace(p, arrival=permutation[k]) for k, p in enumerate(payments)]

    a = compute(schedule, payments, params, as_of)
    b = compute(schedule, shuffled, params, as_of)

    # the money per installment and date is the same; only attribution may move
    same_day_only = all(p.value_date != q.value_date or p is q for p in payments for q in payments)
    if same_day_only:
        assert a == b
    for field_name in (
        "days_past_due",
        "overdue_installments",
        "overdue_principal",
        "overdue_interest",
        "overdue_fees",
        "overdue_amount",
        "outstanding_principal",
        "suspense_balance",
        "bucket",
        "classification",
        "ifrs9_stage",
        "is_npl",
    ):
        assert getattr(a, field_name) == getattr(b, field_name), field_name
    assert [(s.paid_total, s.settled, s.paid_on) for s in a.installments] == [
        (s.paid_total, s.settled, s.paid_on) for s in b.installments
    ]


@PROPERTY_SETTINGS
@given(loans())
def test_full_horizon_ledger_is_causal(loan):
    # given
    schedule, payments, params, as_of = loan
    known = [p for p in payments if p.value_date <= as_of]

    # when
    full = replay(schedule, payments, params)
    partial = replay(schedule, known, params)

    # then the full ledger read at D equals computing with only what was known at D
    assert evaluate(schedule, full, payments, params, as_of) == compute(schedule, known, params, as_of)
    assert [a for a in full.allocations if a.effective_date <= as_of] == [
        a for a in partial.allocations if a.effective_date <= as_of
    ]


@st.composite
def owed_schedules(draw) -> list[Installment]:
    """What is still owed after older money: fully paid installments first (all zero), then
    partly paid ones, then untouched ones; any component may be zero."""
    schedule = draw(schedules())
    paid_through = draw(st.integers(min_value=0, max_value=len(schedule)))
    owed = []
    for k, inst in enumerate(schedule):
        if k < paid_through:
            inst = replace(inst, principal=ZERO, interest=ZERO, fees=ZERO)
        elif k == paid_through and draw(st.booleans()):
            inst = replace(inst, fees=ZERO, interest=draw(cents(0, int(inst.interest / CENT))))
        owed.append(inst)
    return owed


@PROPERTY_SETTINGS
@given(data=st.data())
def test_replay_one_equals_replay(data):
    # given a schedule of what is owed and one new payment
    owed = data.draw(owed_schedules())
    payment = data.draw(payment_lists(owed, max_size=1).filter(len))[0]
    if data.draw(st.booleans()):  # on a due date: due that day counts as due
        payment = replace(payment, value_date=data.draw(st.sampled_from([i.due_date for i in owed])))
    params = data.draw(params_strategy)

    # when / then the single-payment walk allocates exactly what the full replay does
    assert replay_one(owed, payment, params) == replay(owed, [payment], params)
