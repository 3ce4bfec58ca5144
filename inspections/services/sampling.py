"""Random spot checks: a quarterly sample of active loans, stratified by branch, reproducible.

`draw_plan(population, seed, rate)` is a pure function: the same seed and the same population
give the same list, so anyone can re-draw a stored sample and compare.

* sample size n = rate × N rounded half up (at least 1 when the population is not empty);
* proportional allocation per branch (Hamilton / largest remainder): each branch gets the floor of
  n × N_h / N, and the seats left go to the largest remainders, ties to the branch code first in
  alphabetical order;
* within a branch, `random.Random(f"{seed}:{branch code}").sample(...)` over the branch's loan
  numbers in sorted order.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inspections.models import (
    CLOSED_STATES,
    SPOT_CHECK_DAYS,
    SPOT_CHECK_RATE,
    Inspection,
    InspectionState,
    InspectionType,
    SpotCheckSample,
    SpotCheckSampleItem,
)
from loanops.core.exceptions import Conflict, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import HEAD_OFFICE_ROLES, Role
from loans.models import Loan

MAX_SEED = 2**62


def can_draw_sample(user) -> bool:
    """Head office draws, reviews and assigns the sample."""
    return user.is_authenticated and not user.is_read_only and (user.is_superuser or user.role in HEAD_OFFICE_ROLES)


def can_view_samples(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.role in HEAD_OFFICE_ROLES)


def quarter_of(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def sample_size(population: int, rate: Decimal) -> int:
    if population <= 0:
        return 0
    n = int((Decimal(population) * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return max(1, min(n, population))


def allocate(strata: dict[str, int], rate: Decimal) -> dict[str, int]:
    """Seats per stratum (proportional, largest remainder, ties by code)."""
    total = sum(strata.values())
    n = sample_size(total, rate)
    if n == 0:
        return {code: 0 for code in strata}
    quotas = {code: Fraction(n * size, total) for code, size in strata.items()}
    seats = {code: q.numerator // q.denominator for code, q in quotas.items()}
    left = n - sum(seats.values())
    by_remainder = sorted(strata, key=lambda code: (-(quotas[code] - seats[code]), code))
    for code in by_remainder[:left]:
        seats[code] += 1
    return seats


@dataclass(frozen=True)
class Draw:
    seats: dict[str, int]
    picks: list[tuple[str, str]]  # (branch code, loan number) in draw order


def draw_plan(population: dict[str, list[str]], *, seed: int, rate: Decimal) -> Draw:
    """POPULATION: branch code → loan numbers. Pure and reproducible."""
    seats = allocate({code: len(numbers) for code, numbers in population.items()}, rate)
    picks: list[tuple[str, str]] = []
    for code in sorted(population):
        rng = random.Random(f"{seed}:{code}")  # noqa: S311  (reproducible by design, not secret)
        picks.extend((code, number) for number in rng.sample(sorted(population[code]), seats[code]))
    return Draw(seats=seats, picks=picks)


def sample_population(*, on: date) -> dict[str, list[str]]:
    """Active loans disbursed on or before ON, by branch code."""
    population: dict[str, list[str]] = {}
    rows = (
        Loan.objects.filter(status=Loan.Status.ACTIVE, disbursement_date__lte=on)
        .values_list("branch__code", "number")
        .order_by("branch__code", "number")
    )
    for code, number in rows:
        population.setdefault(code, []).append(number)
    return population


def _clean_rate(rate) -> Decimal:
    try:
        value = Decimal(str(rate))
    except Exception:  # noqa: BLE001  (any unparsable input is a validation error)
        value = Decimal(-1)
    if not value.is_finite() or value <= 0 or value > 1 or value != value.quantize(Decimal("0.0001")):
        raise ValidationFailed(_("Invalid rate."), extra={"rate": [_("Enter a rate between 0.0001 and 1.")]})
    return value


@transaction.atomic
def spot_check_sample_draw(
    *, acting_user, quarter: str | None = None, seed: int | None = None, rate=SPOT_CHECK_RATE
) -> SpotCheckSample:
    """Draw (or re-draw, while not assigned) the quarter's sample and keep its list."""
    if not can_draw_sample(acting_user):
        raise PermissionDenied(_("Only head office draws the spot-check sample."))
    today = business_date()
    quarter = quarter or quarter_of(today)
    if quarter != quarter_of(today):
        raise ValidationFailed(_("Invalid quarter."), extra={"quarter": [_("Only the current quarter can be drawn.")]})
    rate = _clean_rate(rate)
    if seed is None:
        seed = secrets.randbelow(MAX_SEED)
    if not (0 <= int(seed) < MAX_SEED):
        raise ValidationFailed(_("Invalid seed."), extra={"seed": [_("Enter a whole number from 0 to 2^62 - 1.")]})
    existing = SpotCheckSample.objects.select_for_update().filter(quarter=quarter).first()
    if existing is not None and existing.state != SpotCheckSample.State.DRAWN:
        raise Conflict(_("This quarter's sample is already assigned."))
    population = sample_population(on=today)
    draw = draw_plan(population, seed=int(seed), rate=rate)
    strata = {code: {"population": len(numbers), "sample": draw.seats[code]} for code, numbers in population.items()}
    fields = {
        "seed": int(seed), "rate": rate, "drawn_on": today, "population_size": sum(len(v) for v in population.values()),
        "strata": strata, "drawn_by": acting_user,
    }  # fmt: skip
    if existing is None:
        sample = SpotCheckSample.objects.create(quarter=quarter, **fields)
    else:
        sample = existing
        for name, value in fields.items():
            setattr(sample, name, value)
        sample.save()
        sample.items.all().delete()
    loans = dict(Loan.objects.filter(number__in=[n for _c, n in draw.picks]).values_list("number", "id"))
    branches = dict(Loan.objects.filter(number__in=list(loans)).values_list("number", "branch_id"))
    SpotCheckSampleItem.objects.bulk_create(
        SpotCheckSampleItem(sample=sample, loan_id=loans[number], branch_id=branches[number], position=k)
        for k, (_code, number) in enumerate(draw.picks, start=1)
    )
    return sample


def sample_loan_numbers(sample: SpotCheckSample) -> list[str]:
    return list(sample.items.order_by("position").values_list("loan__number", flat=True))


@transaction.atomic
def spot_check_sample_assign(*, sample: SpotCheckSample, acting_user, independent: bool = False) -> int:
    """Create the spot-check inspections of the sample, due in SPOT_CHECK_DAYS. Each goes to the
    loan's officer or, with INDEPENDENT, to another credit officer of the branch (round robin)
    when there is one. Returns how many inspections were created."""
    from inspections.selectors import officers_for_branch

    if not can_draw_sample(acting_user):
        raise PermissionDenied(_("Only head office assigns the spot-check sample."))
    sample = SpotCheckSample.objects.select_for_update().get(id=sample.id)
    if sample.state != SpotCheckSample.State.DRAWN:
        raise Conflict(_("This sample is already assigned."))
    today = business_date()
    due = today + timedelta(days=SPOT_CHECK_DAYS)
    created = 0
    officers_cache: dict[int, list] = {}
    turn: dict[int, int] = {}
    items = sample.items.select_related("loan__branch", "loan__officer").order_by("position")
    for item in items:
        loan = item.loan
        if loan.status != Loan.Status.ACTIVE:
            continue
        if (
            Inspection.objects.filter(loan=loan, type=InspectionType.SPOT_CHECK)
            .exclude(state__in=CLOSED_STATES)
            .exists()
        ):
            continue
        officer = loan.officer
        if independent:
            if loan.branch_id not in officers_cache:
                officers_cache[loan.branch_id] = list(officers_for_branch(loan.branch))
            others = [o for o in officers_cache[loan.branch_id] if o.id != loan.officer_id]
            if others:
                k = turn.get(loan.branch_id, 0)
                officer = others[k % len(others)]
                turn[loan.branch_id] = k + 1
        if officer is not None and officer.role != Role.CREDIT_OFFICER:
            officer = None
        try:
            with transaction.atomic():
                Inspection.objects.create(
                    loan=loan, type=InspectionType.SPOT_CHECK, due_date=due, scheduled_on=today, sample=sample,
                    officer=officer, state=InspectionState.ASSIGNED if officer else InspectionState.SCHEDULED,
                    reason=f"spot-check sample {sample.quarter}",
                )  # fmt: skip
        except IntegrityError:
            continue
        created += 1
    sample.state = SpotCheckSample.State.ASSIGNED
    sample.assigned_by = acting_user
    sample.assigned_at = timezone.now()
    sample.save(update_fields=["state", "assigned_by", "assigned_at", "updated_at"])
    return created
