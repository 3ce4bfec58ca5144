"""E31 and E32 (domain-research.md §12.1), the aggregate step's idempotence, and the property
that the figures read from the aggregates equal the figures computed directly from snapshots."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loanops.core.nightly import nightly_steps
from loanops.dashboards.models import AggregateDay, PortfolioAggregate, RollRateAggregate, VintageAggregate
from loanops.dashboards.selectors import Scope, percent, quality_on, roll_matrix, vintages
from loanops.dashboards.services.aggregates import aggregates_refresh
from loanops.dashboards.tests.helpers import make_loan, snapshot
from loans.models import DelinquencySnapshot, Loan

pytestmark = pytest.mark.django_db
EVERYTHING = Scope(branch_ids=None)


def test_the_step_is_registered_after_the_others():
    steps = {s.name: s.order for s in nightly_steps()}
    assert steps["dashboards.aggregates"] == 90


def test_e31_portfolio_metrics(org):
    as_of = date(2024, 3, 31)
    for principal, dpd, cls in [
        ("500000", 0, "normal"), ("300000", 0, "normal"), ("100000", 20, "special_mention"),
        ("60000", 45, "special_mention"), ("25000", 100, "substandard"), ("15000", 300, "doubtful"),
    ]:  # fmt: skip
        loan = make_loan(branch=org["a"], principal=principal)
        snapshot(loan, as_of, outstanding=principal, dpd=dpd, classification=cls)
    aggregates_refresh(as_of=as_of)

    q = quality_on(EVERYTHING, as_of)
    assert q.principal == Decimal("1000000.00")
    assert q.npl_ratio == Decimal("4.00")
    assert q.par30 == Decimal("10.00")
    assert q.par90 == Decimal("4.00")
    assert q.par0 == Decimal("20.00")
    assert q.special_mention_ratio == Decimal("16.00")
    # Coverage and provision ratio need the reserves (not held by LoanOps yet): 60,000 / 40,000.
    assert percent(Decimal("60000"), q.npl_principal) == Decimal("150.00")
    assert percent(Decimal("60000"), q.principal) == Decimal("6.00")


def test_e32_roll_rate_and_cure_rate(org):
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    for principal, feb_dpd in (("55000", 0), ("15000", 20), ("30000", 45)):
        loan = make_loan(branch=org["a"], principal=principal)
        snapshot(loan, jan, outstanding=principal, dpd=10)
        snapshot(loan, feb, outstanding=principal, dpd=feb_dpd)
    # a mid-month night does not change the reference date
    aggregates_refresh(as_of=jan)
    aggregates_refresh(as_of=feb)

    matrix = roll_matrix(EVERYTHING, feb)
    assert matrix.from_as_of == jan
    assert matrix.totals["1-30"] == Decimal("100000.00")
    assert matrix.rate("1-30", "31-60") == Decimal("30.00")
    assert matrix.roll_forward_rate("1-30") == Decimal("30.00")
    assert matrix.cure_rate("1-30") == Decimal("55.00")
    assert matrix.rate("1-30", "1-30") == Decimal("15.00")


def test_a_loan_gone_at_month_end_rolls_to_exit(org):
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    loan = make_loan(branch=org["a"], principal="1000")
    snapshot(loan, jan, outstanding="1000", dpd=40)
    aggregates_refresh(as_of=feb)
    assert roll_matrix(EVERYTHING, feb).rate("31-60", "exit") == Decimal("100.00")


def test_running_twice_changes_nothing_and_a_change_is_picked_up(org, alice):
    as_of = date(2024, 3, 31)
    loan = make_loan(branch=org["a"], principal="1000", officer=alice)
    other = make_loan(branch=org["b"], principal="2000")
    snapshot(loan, as_of, outstanding="900", dpd=0)
    snapshot(other, as_of, outstanding="2000", dpd=95, rule_3_6=True)
    assert aggregates_refresh(as_of=as_of) > 0
    rows = sorted(PortfolioAggregate.objects.values_list("id", flat=True))
    assert aggregates_refresh(as_of=as_of) == 0
    assert sorted(PortfolioAggregate.objects.values_list("id", flat=True)) == rows

    DelinquencySnapshot.objects.filter(loan=loan).update(outstanding_principal=Decimal("800.00"))
    assert aggregates_refresh(as_of=as_of) == 4  # portfolio and vintage: one row out, one in each
    q = quality_on(EVERYTHING, as_of)
    assert q.principal == Decimal("2800.00")
    assert q.rule_3_6_loans == 1
    assert q.rule_3_6_principal == Decimal("2000.00")
    assert AggregateDay.objects.get(as_of=as_of).loans == 2


def test_written_off_loans_leave_the_denominator_and_show_recoveries(org, admin_user):
    from loans.models import Payment

    as_of = date(2024, 6, 30)
    good = make_loan(branch=org["a"], principal="1000")
    gone = make_loan(branch=org["a"], principal="5000", status=Loan.Status.WRITTEN_OFF, closed_on=date(2024, 5, 1))
    snapshot(good, as_of, outstanding="1000")
    snapshot(gone, as_of, outstanding="5000", dpd=400)
    Payment.objects.create(external_id="R1", loan=gone, amount=Decimal("300.00"), value_date=date(2024, 6, 1),
                           request_fingerprint="x")  # fmt: skip
    aggregates_refresh(as_of=as_of)
    q = quality_on(EVERYTHING, as_of)
    assert q.principal == Decimal("1000.00")
    assert q.written_off_loans == 1
    assert q.recovered == Decimal("300.00")


def test_vintages(org):
    as_of = date(2024, 3, 31)
    a = make_loan(branch=org["a"], principal="1000", disbursed=date(2024, 1, 10))
    b = make_loan(branch=org["a"], principal="3000", disbursed=date(2024, 1, 20))
    snapshot(a, as_of, outstanding="800", dpd=45)
    snapshot(b, as_of, outstanding="2500", dpd=0)
    aggregates_refresh(as_of=as_of)
    cohorts = vintages(EVERYTHING, [as_of])
    (point,) = cohorts[date(2024, 1, 1)]
    assert point.months_on_book == 2
    assert point.disbursed == Decimal("4000.00")
    assert point.ratio_30 == Decimal("20.00")
    assert point.ratio_60 == Decimal("0.00")
    assert VintageAggregate.objects.count() == 1


# ------------------------------------------------------------------------------------------- property
LOAN = st.tuples(
    st.integers(min_value=0, max_value=3),  # branch/officer/dealer combination
    st.integers(min_value=1, max_value=10_000_000).map(lambda cents: Decimal(cents) / 100),
    st.sampled_from([0, 0, 0, 5, 31, 61, 95, 200, 300, 400]),
    st.booleans(),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(portfolio=st.lists(st.tuples(LOAN, LOAN), min_size=1, max_size=25))
def test_aggregates_equal_a_direct_computation_from_snapshots(org, alice, charlie, portfolio):
    from loans.models import Dealer

    DelinquencySnapshot.objects.all().delete()
    for model in (PortfolioAggregate, RollRateAggregate, VintageAggregate, AggregateDay):
        model.objects.all().delete()
    dealer, _ = Dealer.objects.get_or_create(external_id="D-P", defaults={"name": "Dealer P"})
    combos = [(org["a"], alice, dealer), (org["a"], None, None), (org["b"], charlie, dealer), (org["b"], None, None)]
    jan, feb = date(2024, 1, 31), date(2024, 2, 29)
    for (c1, p1, d1, r1), (_c2, p2, d2, r2) in portfolio:
        branch, officer, deal = combos[c1]
        loan = make_loan(branch=branch, principal=str(max(p1, p2)), officer=officer, dealer=deal)
        snapshot(loan, jan, outstanding=p1, dpd=d1, rule_3_6=r1)
        if p2 > 3:  # some loans are gone in February
            snapshot(loan, feb, outstanding=p2, dpd=d2, rule_3_6=r2)
    aggregates_refresh(as_of=jan)
    aggregates_refresh(as_of=feb)

    for scope in (EVERYTHING, Scope(branch_ids=(org["a"].id,)), Scope(branch_ids=None, officer_id=alice.id),
                  Scope(branch_ids=(org["b"].id,), dealer_id=dealer.id)):  # fmt: skip
        snaps = DelinquencySnapshot.objects.filter(as_of=feb)
        if scope.branch_ids is not None:
            snaps = snaps.filter(branch_id__in=scope.branch_ids)
        if scope.officer_id:
            snaps = snaps.filter(officer_id=scope.officer_id)
        if scope.dealer_id:
            snaps = snaps.filter(dealer_id=scope.dealer_id)
        snaps = list(snaps)
        total = sum((s.outstanding_principal for s in snaps), Decimal("0.00"))
        npl = sum((s.outstanding_principal for s in snaps if s.is_npl), Decimal("0.00"))
        q = quality_on(scope, feb)
        assert q.loans == len(snaps)
        assert q.principal == total
        assert q.npl_ratio == percent(npl, total)
        for days in (0, 30, 60, 90):
            direct = sum((s.outstanding_principal for s in snaps if s.days_past_due > days), Decimal("0.00"))
            assert q.par(days) == percent(direct, total)
        assert q.rule_3_6_loans == sum(1 for s in snaps if s.rule_3_6)

        # roll rates: February's bucket of January's money
        before = DelinquencySnapshot.objects.filter(as_of=jan, outstanding_principal__gt=0)
        if scope.branch_ids is not None:
            before = before.filter(branch_id__in=scope.branch_ids)
        if scope.officer_id:
            before = before.filter(officer_id=scope.officer_id)
        if scope.dealer_id:
            before = before.filter(dealer_id=scope.dealer_id)
        after = {s.loan_id: s.bucket for s in DelinquencySnapshot.objects.filter(as_of=feb)}
        matrix = roll_matrix(scope, feb)
        for source in {s.bucket for s in before}:
            base = sum((s.outstanding_principal for s in before if s.bucket == source), Decimal("0.00"))
            cured = sum((s.outstanding_principal for s in before if s.bucket == source and after.get(s.loan_id) == "current"),
                        Decimal("0.00"))  # fmt: skip
            assert matrix.rate(source, "current") == percent(cured, base)
