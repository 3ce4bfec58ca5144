"""The SQL sweep must store exactly what the pure engine computes (domain.md), for every field."""

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from loanops.core.jobs import JobAlreadyRunning
from loanops.core.locks import advisory_lock
from loanops.core.models import JobChunk, JobRun
from loans.models import ClassificationOverride, DelinquencySnapshot, Loan, LoanDelinquency, ParameterSet, Product
from loans.selectors import loan_delinquency_live
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payment_reverse, payments_post
from loans.services.sweep import SWEEP_JOB, delinquency_sweep, sweep_chunk

pytestmark = pytest.mark.django_db

FIELDS = (
    "days_past_due", "overdue_installments", "cumulative_missed_installments", "max_consecutive_missed",
    "overdue_principal", "overdue_interest", "overdue_fees", "overdue_amount", "outstanding_principal",
    "suspense_balance", "bucket", "ifrs9_stage", "rule_3_6",
)  # fmt: skip


def _loan(number, *, admin, branch="BR-A", start=date(2024, 1, 15), n=12, fees=None, product="AUTO"):
    from loans.schedules import add_months

    lines = [
        {"number": k, "due_date": add_months(start, k), "principal": Decimal("900.00"),
         "interest": Decimal("100.00"), "fees": (fees or {}).get(k, Decimal("0.00"))}
        for k in range(1, n + 1)
    ]  # fmt: skip
    data = {
        "branch": branch, "product": product, "principal": Decimal("900.00") * n, "disbursement_date": start,
        "borrower": {"external_id": f"B-{number}", "name": "Borrower"}, "schedule": lines,
    }  # fmt: skip
    return loan_upsert(number=number, data=data, acting_user=admin)[0]


def _pay(loan, admin, *items):
    requests = [
        PaymentRequest(
            external_id=f"{loan.number}-{i}", loan_number=loan.number, amount=Decimal(a), value_date=d, payer=p
        )
        for i, (a, d, p) in enumerate(items)
    ]
    payments_post(requests=requests, acting_user=admin)


@pytest.fixture
def admin(org):
    from loanops.org.models import Role
    from loanops.org.tests.factories import UserFactory

    return UserFactory(username="root", role=Role.ADMIN)


def _assert_matches_engine(loan, as_of):
    stored = DelinquencySnapshot.objects.get(loan=loan, as_of=as_of)
    live, _ = loan_delinquency_live(loan=loan, as_of=as_of)
    for field in FIELDS:
        assert getattr(stored, field) == getattr(live, field), (loan.number, as_of, field)
    assert stored.classification_floor == live.classification


def test_sweep_matches_the_engine_on_a_random_portfolio(admin):
    # given: loans with random payments, payers, fees, reversals and a product with grace and tolerance
    rng = random.Random(20241115)
    grace = Product.objects.create(code="GRACE", name="Grace product")
    ParameterSet.objects.create(product=grace, valid_from=date(2000, 1, 1), grace_days=3, tolerance=Decimal("5.00"))
    loans = []
    for i in range(40):
        fees = {k: Decimal(rng.choice(["0.00", "0.00", "25.50", "50.00"])) for k in range(1, 13)}
        loan = _loan(f"R-{i}", admin=admin, fees=fees, product=rng.choice(["AUTO", "GRACE"]))
        items = []
        for _ in range(rng.randint(0, 14)):
            amount = rng.choice(["1000.00", "500.00", "1050.00", "2000.00", "995.00", "3.33", "1025.50"])
            day = date(2024, 1, 16) + timedelta(days=rng.randint(0, 330))
            payer = rng.choice(["borrower", "borrower", "borrower", "dealer", "insurer", "guarantor"])
            items.append((amount, day, payer))
        _pay(loan, admin, *items)
        if items and rng.random() < 0.3:
            payment_reverse(external_id=f"{loan.number}-0", reason="returned", acting_user=admin)
        loans.append(loan)
    # a new parameter version from June: the stored summaries no longer apply (the ledger is summed)
    ParameterSet.objects.create(product=grace, valid_from=date(2024, 6, 1), grace_days=5, tolerance=Decimal("1.00"))
    # when / then
    for as_of in (date(2024, 2, 15), date(2024, 2, 16), date(2024, 3, 20), date(2024, 6, 1), date(2024, 12, 31),
                  date(2025, 3, 1)):  # fmt: skip
        delinquency_sweep(as_of=as_of, chunk_size=7)
        for loan in loans:
            loan.refresh_from_db()
            if loan.status == Loan.Status.ACTIVE or DelinquencySnapshot.objects.filter(loan=loan, as_of=as_of).exists():
                _assert_matches_engine(loan, as_of)


def test_a_second_run_for_the_same_date_changes_no_row(admin):
    loan = _loan("L-1", admin=admin)
    _pay(loan, admin, ("950.00", date(2024, 2, 15), "borrower"))
    first = delinquency_sweep(as_of=date(2024, 3, 1))
    state = LoanDelinquency.objects.get(loan=loan)
    second = delinquency_sweep(as_of=date(2024, 3, 1))
    assert first.rows_changed == 2  # the snapshot and the current state
    assert second.rows_changed == 0
    assert LoanDelinquency.objects.get(loan=loan).updated_at == state.updated_at
    assert state.days_past_due == 15
    assert state.classification == "special_mention"


def test_a_second_copy_cannot_run_at_the_same_time(admin):
    with advisory_lock(f"job:{SWEEP_JOB}:2024-03-01") as taken:
        assert taken
        # the lock is per session: a second connection is needed to see it held
        from django.db import connections

        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                from loanops.core.locks import lock_id

                cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id(f"job:{SWEEP_JOB}:2024-03-01")])
                assert cursor.fetchone()[0] is False
        finally:
            other.close()


def test_a_crashed_run_resumes_with_the_chunks_not_done(admin, monkeypatch):
    loans = [_loan(f"C-{i}", admin=admin) for i in range(4)]
    calls = []
    crash = {"at": 2}

    def flaky(*, as_of, lo, hi):
        calls.append(lo)
        if len(calls) == crash["at"]:
            raise RuntimeError("worker killed")
        return sweep_chunk(as_of=as_of, lo=lo, hi=hi)

    monkeypatch.setattr("loans.services.sweep.sweep_chunk", flaky)
    with pytest.raises(RuntimeError):
        delinquency_sweep(as_of=date(2024, 3, 1), chunk_size=1)
    run = JobRun.objects.get(job=SWEEP_JOB, business_date=date(2024, 3, 1))
    assert run.status == JobRun.Status.FAILED
    assert JobChunk.objects.filter(run=run, done=True).count() == 1
    calls.clear()
    crash["at"] = None
    delinquency_sweep(as_of=date(2024, 3, 1), chunk_size=1)
    assert len(calls) == 3  # only the chunks not done before
    assert LoanDelinquency.objects.filter(loan__in=loans).count() == 4


def test_dealer_cure_keeps_special_mention_for_three_months(admin):
    # E22: #1 and #2 missed; the dealer advances 2,000.00 on 2024-03-20
    loan = _loan("E22", admin=admin)
    _pay(loan, admin, ("2000.00", date(2024, 3, 20), "dealer"))
    delinquency_sweep(as_of=date(2024, 3, 20))
    state = LoanDelinquency.objects.get(loan=loan)
    assert (state.days_past_due, state.classification_floor, state.classification) == (0, "normal", "special_mention")
    assert state.cumulative_missed_installments == 2
    assert state.guarantor_cure_on == date(2024, 3, 20)


def test_npl_is_sticky_until_an_approved_reclassification(admin):
    loan = _loan("NPL", admin=admin)
    delinquency_sweep(as_of=date(2024, 5, 16))  # E15: 91 days → substandard
    assert LoanDelinquency.objects.get(loan=loan).classification == "substandard"
    _pay(loan, admin, ("4000.00", date(2024, 5, 16), "borrower"))
    delinquency_sweep(as_of=date(2024, 5, 17))
    state = LoanDelinquency.objects.get(loan=loan)
    assert (state.days_past_due, state.classification_floor, state.classification) == (0, "normal", "substandard")
    ClassificationOverride.objects.create(
        loan=loan, kind="reclassification", classification="normal", reason="3 clean months",
        effective_from=date(2024, 5, 18), requested_by=admin, approved_by=admin,
    )  # fmt: skip
    delinquency_sweep(as_of=date(2024, 5, 18))
    assert LoanDelinquency.objects.get(loan=loan).classification == "normal"
    assert ClassificationOverride.objects.get(loan=loan).cleared_on == date(2024, 5, 18)


def test_manual_downgrade_acts_on_the_effective_class(admin):
    loan = _loan("DG", admin=admin)
    ClassificationOverride.objects.create(
        loan=loan, kind="downgrade", classification="doubtful", reason="fraud suspicion",
        effective_from=date(2024, 2, 1), requested_by=admin,
    )  # fmt: skip
    delinquency_sweep(as_of=date(2024, 2, 10))
    state = LoanDelinquency.objects.get(loan=loan)
    assert (state.classification_floor, state.classification, state.is_npl) == ("normal", "doubtful", True)


def test_command_prints_a_one_line_summary(admin, capsys):
    _loan("CMD", admin=admin)
    call_command("sweep_delinquency", "--as-of", "2024-03-01")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("sweep_delinquency as_of=2024-03-01 chunks=1 rows_changed=2")


def test_run_nightly_runs_the_sweep_and_changes_nothing_the_second_time(admin, capsys):
    _loan("N-1", admin=admin)
    call_command("run_nightly", "--as-of", "2024-03-01")
    first = capsys.readouterr().out
    call_command("run_nightly", "--as-of", "2024-03-01")
    second = capsys.readouterr().out
    assert "loans.sweep: 2 rows changed" in first
    assert "loans.sweep: 0 rows changed" in second


def test_a_running_sweep_refuses_a_second_copy(admin):
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            from loanops.core.locks import lock_id

            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id(f"job:{SWEEP_JOB}:2024-03-01")])
        with pytest.raises(JobAlreadyRunning):
            delinquency_sweep(as_of=date(2024, 3, 1))
    finally:
        other.close()
