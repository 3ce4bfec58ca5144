"""Arrears engine: a pure function of (schedule, payments, parameters, as_of).

Standard library only, ``Decimal`` money with 2 places, no float anywhere.

* ``replay`` walks the timeline of days (due dates and payment value dates) and
  allocates every payment: on a due date the suspense is applied first (FIFO by
  lot, each lot keeping its payer and payment key), then that day's payments in
  (value_date, arrival) order, each to the installments already due, oldest
  first, fees -> interest -> principal. What is left goes to suspense (or, with
  ``excess_handling="prepay"``, at once to the next installments). The result
  is a full-horizon ``Ledger``; it is causal: allocations effective on or
  before a day D depend only on payments value-dated on or before D.
* ``evaluate`` reads a ledger as of the end of day D and returns the
  ``Delinquency`` figures defined in ``domain.md`` ("Arrears engine").
* ``compute`` = ``evaluate(replay(...))``. A reversal is handled by leaving the
  reversed payment out and computing again.

Because allocation is strictly sequential (installment n + 1 receives money
only once installment n is fully paid), replay keeps a single cursor and runs
in O(installments + payments).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from itertools import pairwise

__all__ = [
    "BUCKETS",
    "CLASSIFICATIONS",
    "COMPONENTS",
    "EXCESS_HANDLING",
    "PAYERS",
    "Allocation",
    "Delinquency",
    "Installment",
    "InstallmentState",
    "Ledger",
    "Params",
    "Payment",
    "bucket_for",
    "classification_for",
    "compute",
    "evaluate",
    "ifrs9_stage_for",
    "payment_allocation",
    "replay",
    "replay_one",
]

PAYERS = ("borrower", "dealer", "insurer", "guarantor", "collateral_sale")
COMPONENTS = ("fees", "interest", "principal")  # allocation order within an installment
EXCESS_HANDLING = ("suspense", "prepay")
BUCKETS = ("current", "1-30", "31-60", "61-90", "91-180", "181-270", "271-360", "361+")
CLASSIFICATIONS = ("normal", "special_mention", "substandard", "doubtful", "loss")
NPL_CLASSIFICATIONS = frozenset({"substandard", "doubtful", "loss"})
# Payers whose allocations can make a "guarantor cure" (a dealer or insurer cure).
CURE_PAYERS = frozenset({"dealer", "insurer"})

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_ONE_DAY = timedelta(days=1)
# Only additions and subtractions of 2-place amounts happen here; a fixed context
# keeps the caller's thread-local decimal context out of the results.
_CONTEXT = Context(prec=28, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
# Upper bounds (inclusive) of the DPD buckets, in BUCKETS order after "current".
_BUCKET_UPPER = (
    (30, "1-30"),
    (60, "31-60"),
    (90, "61-90"),
    (180, "91-180"),
    (270, "181-270"),
    (360, "271-360"),
)


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Params:
    grace_days: int = 0
    tolerance: Decimal = ZERO
    excess_handling: str = "suspense"  # or "prepay"
    consecutive_trigger: int = 3
    cumulative_trigger: int = 6
    special_mention_min_dpd: int = 1
    substandard_dpd_gt: int = 90
    doubtful_dpd_gt: int = 270
    loss_dpd_gt: int = 360
    ifrs9_stage2_dpd_gt: int = 30
    ifrs9_stage3_dpd_gt: int = 90


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fees: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees


@dataclass(frozen=True)
class Payment:
    key: object  # caller's id (int or str), echoed back in allocations
    amount: Decimal  # > 0
    value_date: date
    payer: str = "borrower"
    arrival: int = 0  # tie-breaker within the same value_date (lower first)


@dataclass(frozen=True)
class Allocation:
    """Money of one payment (directly or from its suspense lot) applied to one
    installment on one effective date."""

    payment_key: object
    installment_number: int
    effective_date: date
    payer: str
    fees: Decimal
    interest: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return self.fees + self.interest + self.principal


@dataclass(frozen=True)
class Ledger:
    """Full-horizon result of ``replay``.

    A payment's suspense at day D is its amount minus its allocations with
    ``effective_date <= D``. ``payments`` holds the validated payments in
    processing order, so that ``payment_allocation`` can work out suspense.
    """

    allocations: tuple[Allocation, ...]
    payments: tuple[Payment, ...] = field(default=())


@dataclass(frozen=True)
class InstallmentState:  # as of D
    number: int
    due_date: date
    deadline: date
    principal: Decimal
    interest: Decimal
    fees: Decimal
    total: Decimal
    paid_principal: Decimal
    paid_interest: Decimal
    paid_fees: Decimal
    paid_total: Decimal
    remaining: Decimal
    settled: bool  # remaining <= tolerance
    paid_on: date | None  # effective date of the allocation that first made it settled
    missed: bool | None  # None while deadline >= D (not yet evaluated)
    borrower_paid_by_deadline: Decimal


@dataclass(frozen=True)
class Delinquency:
    as_of: date
    days_past_due: int
    overdue_installments: int
    cumulative_missed_installments: int
    max_consecutive_missed: int
    overdue_principal: Decimal
    overdue_interest: Decimal
    overdue_fees: Decimal
    overdue_amount: Decimal
    outstanding_principal: Decimal
    suspense_balance: Decimal
    bucket: str
    classification: str  # the DPD floor
    ifrs9_stage: int
    is_npl: bool
    rule_3_6: bool
    guarantor_cure_on: date | None
    installments: tuple[InstallmentState, ...]


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #
def _check_date(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a datetime.date, got {type(value).__name__}")
    return value


def _check_int(value: object, what: str, minimum: int | None = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    return value


def _money(value: object, what: str) -> Decimal:
    """A Decimal (or int) with at most 2 decimal places, returned with exactly 2."""
    if type(value) is Decimal and value.as_tuple().exponent == -2:
        return value  # the common case (database and API amounts): already exact cents
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{what} must be a Decimal, got {type(value).__name__}")
    amount = Decimal(value)
    if not amount.is_finite():
        raise ValueError(f"{what} must be a finite amount, got {value}")
    cents = amount.quantize(CENT)
    if cents != amount:
        raise ValueError(f"{what} has more than 2 decimal places: {value}")
    return cents


def _check_params(params: Params | None) -> Params:
    if params is None:
        return Params()
    if params.excess_handling not in EXCESS_HANDLING:
        raise ValueError(f"unknown excess_handling {params.excess_handling!r}; expected one of {EXCESS_HANDLING}")
    _check_int(params.grace_days, "grace_days")
    if _money(params.tolerance, "tolerance") < 0:
        raise ValueError("tolerance must not be negative")
    for name in (
        "consecutive_trigger",
        "cumulative_trigger",
        "special_mention_min_dpd",
        "substandard_dpd_gt",
        "doubtful_dpd_gt",
        "loss_dpd_gt",
        "ifrs9_stage2_dpd_gt",
        "ifrs9_stage3_dpd_gt",
    ):
        _check_int(getattr(params, name), name)
    return params


def _check_schedule(schedule) -> list[Installment]:
    """Installments sorted by number, amounts normalised to 2 places.

    Accepts any objects with ``number``, ``due_date``, ``principal``,
    ``interest`` and (optionally) ``fees`` attributes.
    """
    items = []
    for raw in schedule:
        number = _check_int(raw.number, "installment number", minimum=None)
        due = _check_date(raw.due_date, f"installment {number} due_date")
        parts = []
        for name in ("principal", "interest", "fees"):
            value = _money(getattr(raw, name, ZERO), f"installment {number} {name}")
            if value < 0:
                raise ValueError(f"installment {number} {name} must not be negative, got {value}")
            parts.append(value)
        items.append(Installment(number, due, parts[0], parts[1], parts[2]))
    items.sort(key=lambda inst: inst.number)
    for prev, cur in pairwise(items):
        if cur.number == prev.number:
            raise ValueError(f"duplicate installment number {cur.number}")
        if cur.due_date <= prev.due_date:
            raise ValueError(
                "due dates must strictly increase with the number: "
                f"#{prev.number} {prev.due_date}, "
                f"#{cur.number} {cur.due_date}"
            )
    return items


def _check_payments(payments) -> list[Payment]:
    """Validated payments in processing order: value_date, arrival, input order."""
    items = []
    seen = set()
    for raw in payments:
        key = raw.key
        try:
            if key in seen:
                raise ValueError(f"duplicate payment key {key!r}")
            seen.add(key)
        except TypeError:  # unhashable key: fall back to a linear check
            if any(p.key == key for p in items):
                raise ValueError(f"duplicate payment key {key!r}") from None
        amount = _money(raw.amount, f"payment {key!r} amount")
        if amount <= 0:
            raise ValueError(f"payment {key!r} amount must be positive, got {amount}")
        value_date = _check_date(raw.value_date, f"payment {key!r} value_date")
        payer = getattr(raw, "payer", "borrower")
        if payer not in PAYERS:
            raise ValueError(f"payment {key!r}: unknown payer {payer!r}; expected one of {PAYERS}")
        arrival = _check_int(getattr(raw, "arrival", 0), f"payment {key!r} arrival", minimum=None)
        items.append(Payment(key, amount, value_date, payer, arrival))
    items.sort(key=lambda p: (p.value_date, p.arrival))  # stable: input order breaks ties
    return items


# --------------------------------------------------------------------------- #
# Small pure helpers
# --------------------------------------------------------------------------- #
def bucket_for(dpd: int) -> str:
    """Delinquency bucket for a number of days past due."""
    _check_int(dpd, "days_past_due")
    if dpd == 0:
        return "current"
    for upper, name in _BUCKET_UPPER:
        if dpd <= upper:
            return name
    return "361+"


def classification_for(dpd: int, params: Params | None = None) -> str:
    """Five-tier classification floor for a number of days past due."""
    _check_int(dpd, "days_past_due")
    p = params or Params()
    if dpd > p.loss_dpd_gt:
        return "loss"
    if dpd > p.doubtful_dpd_gt:
        return "doubtful"
    if dpd > p.substandard_dpd_gt:
        return "substandard"
    if dpd >= p.special_mention_min_dpd and dpd > 0:
        return "special_mention"
    return "normal"


def ifrs9_stage_for(dpd: int, params: Params | None = None) -> int:
    """IFRS 9 stage from days past due alone (no SICR or credit-impaired flags)."""
    _check_int(dpd, "days_past_due")
    p = params or Params()
    if dpd > p.ifrs9_stage3_dpd_gt:
        return 3
    if dpd > p.ifrs9_stage2_dpd_gt:
        return 2
    return 1


# --------------------------------------------------------------------------- #
# Replay
# --------------------------------------------------------------------------- #
def replay(schedule, payments, params: Params | None = None) -> Ledger:
    """Allocate all ``payments`` (reversed ones left out) over the whole horizon."""
    with localcontext(_CONTEXT):
        params = _check_params(params)
        installments = _check_schedule(schedule)
        ordered = _check_payments(payments)

        count = len(installments)
        numbers = [inst.number for inst in installments]
        due_dates = [inst.due_date for inst in installments]
        due_set = set(due_dates)
        # unpaid[k] = [fees, interest, principal] still owed on installment k
        unpaid = [[inst.fees, inst.interest, inst.principal] for inst in installments]
        allocations: list[Allocation] = []
        cursor = 0  # every installment before it is fully paid; none after it has money

        def apply(key: object, payer: str, amount: Decimal, day: date, limit: int) -> Decimal:
            """Pay installments[cursor:limit] oldest first; return what is left."""
            nonlocal cursor
            while cursor < limit and amount > 0:
                owed = unpaid[cursor]
                taken = []
                for c in range(3):
                    take = min(amount, owed[c])
                    owed[c] -= take
                    amount -= take
                    taken.append(take)
                if taken[0] or taken[1] or taken[2]:
                    allocations.append(
                        Allocation(
                            key,
                            numbers[cursor],
                            day,
                            payer,
                            taken[0],
                            taken[1],
                            taken[2],
                        )
                    )
                if owed[0] or owed[1] or owed[2]:
                    break  # the money ran out inside this installment
                cursor += 1
            return amount

        prepay = params.excess_handling == "prepay"
        lots: deque[list] = deque()  # suspense lots: [payment_key, payer, amount], FIFO
        days = sorted(due_set.union(p.value_date for p in ordered))
        n_due = 0  # installments with due_date <= day
        next_payment = 0
        for day in days:
            while n_due < count and due_dates[n_due] <= day:
                n_due += 1
            if day in due_set:
                while lots and cursor < n_due:
                    lot = lots[0]
                    lot[2] = apply(lot[0], lot[1], lot[2], day, n_due)
                    if lot[2] == 0:
                        lots.popleft()
            while next_payment < len(ordered) and ordered[next_payment].value_date == day:
                p = ordered[next_payment]
                next_payment += 1
                left = apply(p.key, p.payer, p.amount, day, count if prepay else n_due)
                if left > 0:
                    lots.append([p.key, p.payer, left])
        return Ledger(allocations=tuple(allocations), payments=tuple(ordered))


def replay_one(owed, payment: Payment, params: Params) -> Ledger:
    """``replay(owed, [payment], params)`` for one payment over a schedule that needs no
    checking (built by the caller from stored, constrained rows: sorted by number, due dates
    increasing, amounts of exactly 2 places, none negative).

    With a single payment and no older suspense, replay reduces to one walk: the money goes
    to the installments oldest first, fees -> interest -> principal, taking effect on the
    value date for those already due (all of them with ``prepay``) and, from suspense, on
    its own due date for each later one. What is left stays in suspense. A property test
    compares it with ``replay`` on random schedules and payments.
    """
    amount = payment.amount
    value_date = payment.value_date
    key, payer = payment.key, payment.payer
    prepay = params.excess_handling == "prepay"
    allocations: list[Allocation] = []
    for inst in owed:
        if amount <= 0:
            break
        fees, interest, principal = inst.fees, inst.interest, inst.principal
        if not (fees or interest or principal):
            continue
        take_fees = fees if fees <= amount else amount
        amount -= take_fees
        take_interest = interest if interest <= amount else amount
        amount -= take_interest
        take_principal = principal if principal <= amount else amount
        amount -= take_principal
        day = value_date if prepay or inst.due_date <= value_date else inst.due_date
        allocations.append(Allocation(key, inst.number, day, payer, take_fees, take_interest, take_principal))
    return Ledger(allocations=tuple(allocations), payments=(payment,))


# --------------------------------------------------------------------------- #
# Evaluation
# --------------------------------------------------------------------------- #
def _effective(allocation: Allocation) -> date:
    return allocation.effective_date


def evaluate(schedule, ledger: Ledger, payments, params: Params | None, as_of: date) -> Delinquency:
    """Delinquency as of the end of day ``as_of``, read from a (full-horizon) ledger.

    ``payments`` is the list the ledger was replayed from (it gives the
    suspense balance); ``None`` means ``ledger.payments``.
    """
    with localcontext(_CONTEXT):
        params = _check_params(params)
        installments = _check_schedule(schedule)
        received = ledger.payments if payments is None else _check_payments(payments)
        as_of = _check_date(as_of, "as_of")
        tolerance = params.tolerance
        grace = timedelta(days=params.grace_days)

        index = {inst.number: k for k, inst in enumerate(installments)}
        per_installment: list[list[Allocation]] = [[] for _ in installments]
        allocated_as_of = ZERO
        cure_days = set()
        for a in ledger.allocations:
            k = index.get(a.installment_number)
            if k is None:
                raise ValueError(f"allocation to unknown installment {a.installment_number}")
            per_installment[k].append(a)
            if a.effective_date <= as_of:
                allocated_as_of += a.total
                if a.payer in CURE_PAYERS:
                    cure_days.add(a.effective_date)

        states: list[InstallmentState] = []
        # Day each installment first became settled in the whole ledger: date.min
        # when settled without money, date.max when never settled.
        settle_dates: list[date] = []
        for inst, allocs in zip(installments, per_installment, strict=True):
            total = inst.total
            deadline = inst.due_date + grace
            borrower_cutoff = min(deadline, as_of)
            paid = [ZERO, ZERO, ZERO]  # fees, interest, principal as of D
            borrower_paid = ZERO
            settle = date.min if total <= tolerance else None
            running = ZERO
            for a in sorted(allocs, key=_effective):
                amount = a.total
                if settle is None:
                    running += amount
                    if total - running <= tolerance:
                        settle = a.effective_date
                if a.effective_date <= as_of:
                    paid[0] += a.fees
                    paid[1] += a.interest
                    paid[2] += a.principal
                    if a.payer == "borrower" and a.effective_date <= borrower_cutoff:
                        borrower_paid += amount
            settle_dates.append(date.max if settle is None else settle)
            paid_total = paid[0] + paid[1] + paid[2]
            remaining = total - paid_total
            settled = remaining <= tolerance
            paid_on = settle if settled and settle not in (None, date.min) else None
            missed = None if deadline >= as_of else (total - borrower_paid > tolerance)
            states.append(
                InstallmentState(
                    number=inst.number,
                    due_date=inst.due_date,
                    deadline=deadline,
                    principal=inst.principal,
                    interest=inst.interest,
                    fees=inst.fees,
                    total=total,
                    paid_principal=paid[2],
                    paid_interest=paid[1],
                    paid_fees=paid[0],
                    paid_total=paid_total,
                    remaining=remaining,
                    settled=settled,
                    paid_on=paid_on,
                    missed=missed,
                    borrower_paid_by_deadline=borrower_paid,
                )
            )

        dpd = 0
        overdue_installments = 0
        overdue = [ZERO, ZERO, ZERO]  # principal, interest, fees
        cumulative_missed = 0
        longest_run = run = 0
        previous_number = None
        paid_principal = ZERO
        total_principal = ZERO
        for s in states:
            total_principal += s.principal
            paid_principal += s.paid_principal
            if s.due_date < as_of:
                if not s.settled and dpd == 0:
                    dpd = (as_of - s.due_date).days
                overdue[0] += s.principal - s.paid_principal
                overdue[1] += s.interest - s.paid_interest
                overdue[2] += s.fees - s.paid_fees
            if s.deadline < as_of and not s.settled:
                overdue_installments += 1
            if s.missed:
                cumulative_missed += 1
                run = run + 1 if previous_number is not None and s.number == previous_number + 1 and run else 1
                longest_run = max(longest_run, run)
            else:
                run = 0
            previous_number = s.number

        suspense = sum((p.amount for p in received if p.value_date <= as_of), ZERO) - allocated_as_of
        classification = classification_for(dpd, params)
        return Delinquency(
            as_of=as_of,
            days_past_due=dpd,
            overdue_installments=overdue_installments,
            cumulative_missed_installments=cumulative_missed,
            max_consecutive_missed=longest_run,
            overdue_principal=overdue[0],
            overdue_interest=overdue[1],
            overdue_fees=overdue[2],
            overdue_amount=overdue[0] + overdue[1] + overdue[2],
            outstanding_principal=total_principal - paid_principal,
            suspense_balance=suspense,
            bucket=bucket_for(dpd),
            classification=classification,
            ifrs9_stage=ifrs9_stage_for(dpd, params),
            is_npl=classification in NPL_CLASSIFICATIONS,
            rule_3_6=(
                overdue_installments >= params.consecutive_trigger or cumulative_missed >= params.cumulative_trigger
            ),
            guarantor_cure_on=_guarantor_cure_on([inst.due_date for inst in installments], settle_dates, cure_days),
            installments=tuple(states),
        )


def _guarantor_cure_on(due_dates: list[date], settle_dates: list[date], cure_days: set[date]) -> date | None:
    """Latest dealer/insurer allocation day on which days past due went > 0 -> 0."""
    # unsettled_until[k]: the latest first-settled day among installments 0..k, so
    # "some installment due before x is unsettled at the end of x" is
    # unsettled_until[j - 1] > x with j = number of installments due before x.
    unsettled_until: list[date] = []
    latest = date.min
    for settled_on in settle_dates:
        latest = max(latest, settled_on)
        unsettled_until.append(latest)

    def past_due(x: date) -> bool:
        j = bisect_left(due_dates, x)
        return j > 0 and unsettled_until[j - 1] > x

    for day in sorted(cure_days, reverse=True):
        if day > date.min and past_due(day - _ONE_DAY) and not past_due(day):
            return day
    return None


def compute(schedule, payments, params: Params | None, as_of: date) -> Delinquency:
    """Replay ``payments`` and evaluate as of the end of day ``as_of``."""
    payments = list(payments)
    return evaluate(schedule, replay(schedule, payments, params), payments, params, as_of)


def payment_allocation(ledger: Ledger, payment_key: object, on: date) -> dict:
    """Where one payment's money is at the end of day ``on``.

    ``{"allocations": [{"installment", "fees", "interest", "principal"}, ...],
    "suspense": Decimal}``, one entry per installment (by number) counting
    allocations effective on or before ``on``. A payment value-dated after
    ``on`` has no allocations and no suspense yet. Raises ``KeyError`` for a key
    that is not among ``ledger.payments``.
    """
    on = _check_date(on, "on")
    payment = next((p for p in ledger.payments if p.key == payment_key), None)
    if payment is None:
        raise KeyError(payment_key)
    with localcontext(_CONTEXT):
        per_installment: dict[int, list[Decimal]] = {}
        allocated = ZERO
        for a in ledger.allocations:
            if a.payment_key == payment_key and a.effective_date <= on:
                parts = per_installment.setdefault(a.installment_number, [ZERO, ZERO, ZERO])
                parts[0] += a.fees
                parts[1] += a.interest
                parts[2] += a.principal
                allocated += a.total
        rows = [
            {
                "installment": number,
                "fees": parts[0],
                "interest": parts[1],
                "principal": parts[2],
            }
            for number, parts in sorted(per_installment.items())
        ]
        suspense = payment.amount - allocated if payment.value_date <= on else ZERO
        return {"allocations": rows, "suspense": suspense}
