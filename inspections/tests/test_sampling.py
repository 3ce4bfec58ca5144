"""The quarterly spot-check sample: stratification, reproducibility from the seed, assignment."""

from datetime import date
from decimal import Decimal

import pytest

from inspections.models import Inspection, InspectionType, SpotCheckSample
from inspections.services.sampling import (
    allocate,
    draw_plan,
    sample_loan_numbers,
    spot_check_sample_assign,
    spot_check_sample_draw,
)
from inspections.tests.helpers import make_loan, on
from loanops.core.exceptions import Conflict, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

RATE = Decimal("0.05")


def population(sizes: dict[str, int]) -> dict[str, list[str]]:
    return {code: [f"{code}-{k:04d}" for k in range(size)] for code, size in sizes.items()}


def test_proportional_allocation_with_largest_remainder():
    # 5 % of 210 = 10.5 → 11 seats; quotas 5.238 / 3.667 / 2.095 → floors 5/3/2, the seat left to B (0.667)
    assert allocate({"A": 100, "B": 70, "C": 40}, RATE) == {"A": 5, "B": 4, "C": 2}
    # ties go to the first code
    assert allocate({"X": 10, "Y": 10}, RATE) == {"X": 1, "Y": 0}
    assert allocate({}, RATE) == {}
    assert allocate({"A": 0}, RATE) == {"A": 0}


def test_the_same_seed_and_population_give_the_same_list():
    pop = population({"BR-A": 300, "BR-B": 120, "BR-C": 45})
    first = draw_plan(pop, seed=12345, rate=RATE)
    assert draw_plan(pop, seed=12345, rate=RATE) == first
    # the population's order does not matter
    shuffled = {code: list(reversed(numbers)) for code, numbers in reversed(list(pop.items()))}
    assert draw_plan(shuffled, seed=12345, rate=RATE) == first
    assert draw_plan(pop, seed=54321, rate=RATE).picks != first.picks
    # stratified: each branch's picks are its own loans, as many as allocated
    assert first.seats == {"BR-A": 15, "BR-B": 6, "BR-C": 2}
    for code, seats in first.seats.items():
        picks = [n for c, n in first.picks if c == code]
        assert len(picks) == len(set(picks)) == seats
        assert all(n.startswith(code) for n in picks)


@pytest.mark.django_db
def test_draw_keeps_the_list_and_assigning_creates_spot_checks(admin, alice, charlie, risk, org):
    loans = [make_loan(f"L-A{k:02d}", admin=admin, officer=alice) for k in range(30)]
    loans += [make_loan(f"L-B{k:02d}", admin=admin, officer=charlie, branch="BR-B") for k in range(12)]
    with on(date(2024, 5, 2)):
        with pytest.raises(PermissionDenied):
            spot_check_sample_draw(acting_user=alice)
        with pytest.raises(ValidationFailed):
            spot_check_sample_draw(acting_user=risk, rate="0")
        sample = spot_check_sample_draw(acting_user=risk, seed=99, rate="0.10")
        assert (sample.quarter, sample.population_size) == ("2024-Q2", 42)
        assert sample.strata == {"BR-A": {"population": 30, "sample": 3}, "BR-B": {"population": 12, "sample": 1}}
        kept = sample_loan_numbers(sample)
        # reproducible: re-drawing with the stored seed gives the same list
        expected = draw_plan(
            {"BR-A": [f"L-A{k:02d}" for k in range(30)], "BR-B": [f"L-B{k:02d}" for k in range(12)]},
            seed=99, rate=Decimal("0.10"),
        )  # fmt: skip
        assert kept == [n for _c, n in expected.picks]
        again = spot_check_sample_draw(acting_user=risk, seed=99, rate="0.10")
        assert again.id == sample.id
        assert sample_loan_numbers(again) == kept
        # assignment: to another officer of the branch when independent (round robin), else the loan's
        UserFactory(username="bea", role=Role.CREDIT_OFFICER, branches=[org["a"]])
        created = spot_check_sample_assign(sample=again, acting_user=risk, independent=True)
        assert created == 4
        with pytest.raises(Conflict):
            spot_check_sample_draw(acting_user=risk)
        with pytest.raises(Conflict):
            spot_check_sample_assign(sample=again, acting_user=risk)
    checks = Inspection.objects.filter(type=InspectionType.SPOT_CHECK, sample=again)
    assert sorted(checks.values_list("loan__number", flat=True)) == sorted(kept)
    assert {i.officer.username for i in checks if i.loan.branch.code == "BR-A"} == {"bea"}
    assert {i.officer.username for i in checks if i.loan.branch.code == "BR-B"} == {"charlie"}
    assert {(i.state, i.due_date) for i in checks} == {("assigned", date(2024, 6, 1))}
    assert SpotCheckSample.objects.get().state == "assigned"
