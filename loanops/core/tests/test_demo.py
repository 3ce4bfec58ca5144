"""The demo data: `seed_demo`, `demo_logins` and the demo-step extension point."""

from datetime import datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from loanops.core import demo
from loanops.core.models import JobRun
from loanops.core.nightly import nightly_steps
from loanops.core.testing import restore_reference_data
from loanops.org.models import Branch, Role, User
from loans.models import (
    Allocation,
    Borrower,
    Bucket,
    Collateral,
    Dealer,
    Guarantor,
    Installment,
    InsurancePolicy,
    Insurer,
    Loan,
    LoanDelinquency,
    Payment,
)
from loans.selectors import loan_delinquency_live

pytestmark = pytest.mark.django_db

LOANS = 60
# A Monday in spring: the business date every test runs on (Europe/Madrid).
NOW = datetime(2026, 3, 16, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))
TODAY = NOW.date()
YESTERDAY = TODAY - timedelta(days=1)


@pytest.fixture(autouse=True)
def _business_date():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(scope="class")
def seeded(django_db_setup, django_db_blocker):
    """The demo seeded once for the class, inside a transaction rolled back at its end;
    each test of the class runs in a savepoint of it, as usual."""
    with django_db_blocker.unblock(), time_machine.travel(NOW, tick=False), transaction.atomic():
        restore_reference_data()  # a browser test may have flushed the tables before this class
        output = seed()
        yield output
        transaction.set_rollback(True)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--loans", str(LOANS), *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = (
        Branch,
        User,
        Borrower,
        Guarantor,
        Dealer,
        Insurer,
        InsurancePolicy,
        Loan,
        Collateral,
        Installment,
        Payment,
        Allocation,
    )
    return {model.__name__: model.objects.count() for model in models} | {
        "reversed": Payment.objects.filter(reversed_at__isnull=False).count(),
        "closed": Loan.objects.filter(status=Loan.Status.CLOSED).count(),
    }


def test_once_loads_an_empty_database():
    # when
    out = seed("--once")
    # then
    assert Loan.objects.count() == LOANS
    assert JobRun.objects.get(job=demo.DEMO_JOB, business_date=demo.DEMO_MARKER_DATE).status == JobRun.Status.DONE
    assert "loans=60" in out


def test_the_plan_is_reproducible():
    # given
    first = demo.plan_portfolio(loans=LOANS, seed=7, today=TODAY)
    # then: same seed, same portfolio; another seed, another; fewer loans, a prefix
    assert demo.plan_portfolio(loans=LOANS, seed=7, today=TODAY) == first
    assert demo.plan_portfolio(loans=LOANS, seed=8, today=TODAY) != first
    assert demo.plan_portfolio(loans=20, seed=7, today=TODAY) == first[:20]
    assert {p.profile for p in first} >= set(demo.STOPPED)


def test_demo_logins_before_seeding_says_what_to_do():
    out = StringIO()
    call_command("demo_logins", stdout=out)
    assert "seed_demo" in out.getvalue()


def test_registered_demo_steps_run_after_the_core_step_in_order(monkeypatch):
    # given
    demo.demo_steps()  # import every app's demo module now, so none registers into the dict below
    monkeypatch.setattr(demo, "_STEPS", {})
    calls = []

    @demo.demo_step(order=20)
    def later(*, rng, context):
        calls.append(("later", rng.random()))

    @demo.demo_step(order=10)
    def first(*, rng, context):
        calls.append(("first", len(context.loans), context.today, len(context.users[Role.COLLECTOR])))

    # when
    context = demo.build_demo(loans=3, seed=1)
    # then
    assert [c[0] for c in calls] == ["first", "later"]
    assert calls[0][1:] == (3, TODAY, 6)
    assert set(context.profiles) == {demo.demo_loan_number(i) for i in (1, 2, 3)}
    assert [u.username for u in context.users_with(Role.CREDIT_HEAD, "NOR-BIL")] == ["credithead.norte"]
    assert [u.username for u in context.users_with(Role.COLLECTOR, "SUR-SEV")] == ["collector.sevilla"]
    # each step draws from its own reproducible stream
    again = []
    monkeypatch.setattr(demo, "_STEPS", {})
    demo.demo_step(order=20, name=f"{later.__module__}.{later.__qualname__}")(
        lambda *, rng, context: again.append(rng.random())
    )
    demo.build_demo(loans=3, seed=1)
    assert again == [calls[1][1]]


class TestTheSeededDemo:
    """Tests that share one seeded demo (seeding is the slow part)."""

    def test_seeding_again_gives_the_same_rows(self, seeded):
        # given
        before = counts()
        # when
        second = seed()
        # then
        assert counts() == before
        assert before["Loan"] == LOANS
        assert before["Payment"] > 5 * LOANS
        assert before["reversed"] >= 1
        assert before["closed"] >= 1
        assert before["Dealer"] == len(demo.DEALERS)
        assert before["Insurer"] == len(demo.INSURERS)
        assert set(Loan.objects.values_list("number", flat=True)) == {
            demo.demo_loan_number(i) for i in range(1, LOANS + 1)
        }
        for out in (seeded, second):
            summary = out.strip().splitlines()[-1]
            assert summary.startswith("seed_demo:")
            assert "loans=60" in summary
            assert f"as_of={TODAY}" in summary

    def test_once_does_nothing_when_already_loaded(self, seeded):
        # given
        before = counts()
        stamp = Loan.objects.get(number=demo.demo_loan_number(1)).updated_at
        # when
        out = seed("--once")
        # then
        assert "already loaded" in out
        assert counts() == before
        assert Loan.objects.get(number=demo.demo_loan_number(1)).updated_at == stamp

    def test_once_resumes_a_run_that_did_not_finish(self, seeded):
        # given: a first run that crashed half-way (its marker is not done)
        JobRun.objects.filter(job=demo.DEMO_JOB).update(status=JobRun.Status.FAILED)
        # when
        out = seed("--once")
        # then
        assert "already loaded" not in out
        assert JobRun.objects.get(job=demo.DEMO_JOB).status == JobRun.Status.DONE

    def test_a_later_run_rebuilds_the_portfolio_of_the_first_business_date(self, seeded):
        # given
        before = counts()
        # when: run again two weeks later; the stored portfolio stays the one built for TODAY
        with time_machine.travel(NOW + timedelta(days=14), tick=False):
            out = seed()
        # then
        assert f"as_of={TODAY}" in out
        assert counts() == before

    def test_another_seed_is_refused_once_loaded(self, seeded):
        with pytest.raises(CommandError, match="--seed 2026"):
            seed("--seed", "2")

    def test_every_role_has_a_user_who_can_log_in(self, seeded):
        for role in Role:
            assert User.objects.filter(role=role, is_active=True).exists(), role
        for user in User.objects.exclude(role=Role.API_CLIENT):
            assert user.check_password(demo.DEMO_PASSWORD), user.username
            validate_password(demo.DEMO_PASSWORD, user)  # raises if a validator rejects it
        admin = User.objects.get(role=Role.ADMIN)
        assert admin.is_staff
        assert admin.is_superuser
        assert not User.objects.get(role=Role.API_CLIENT).has_usable_password()
        officer = User.objects.get(username="officer1.bilbao")
        assert list(officer.branches.values_list("code", flat=True)) == ["NOR-BIL"]

    def test_the_branch_tree_is_head_office_institutions_branches(self, seeded):
        assert Branch.objects.get(code="HO").depth == 0
        assert sorted(Branch.objects.filter(depth=1).values_list("code", flat=True)) == ["CENTRO", "NORTE", "SUR"]
        for institution in ("NORTE", "SUR", "CENTRO"):
            assert Branch.objects.filter(parent__code=institution, depth=2).count() == 2

    def test_the_portfolio_covers_every_arrears_bucket(self, seeded):
        # when: the live engine, so that this does not depend on the nightly sweep
        buckets = {}
        for loan in Loan.objects.filter(status=Loan.Status.ACTIVE):
            state, _ = loan_delinquency_live(loan=loan, as_of=YESTERDAY)
            buckets.setdefault(state.bucket, []).append(loan.number)
        # then
        assert set(buckets) == set(Bucket.values)
        assert len(buckets[Bucket.CURRENT]) > LOANS // 2

    def test_the_portfolio_mixes_payers_parties_and_languages(self, seeded):
        payers = set(Payment.objects.values_list("payer", flat=True))
        assert {"borrower", "dealer", "insurer"} <= payers
        assert Loan.objects.filter(guarantors__isnull=False).exists()
        assert Collateral.objects.filter(kind="vehicle").exists()
        assert set(Borrower.objects.values_list("language", flat=True)) == {"es", "en"}
        assert Borrower.objects.filter(language="es").count() > Borrower.objects.filter(language="en").count()
        assert not Payment.objects.filter(value_date__gt=TODAY).exists()
        for loan in Loan.objects.select_related("product"):
            assert 6000 <= loan.principal <= 45000
            assert 12 <= loan.term_months <= 60
            assert loan.amortization == "annuity"
            assert loan.product.code == "AUTO"
            assert TODAY - timedelta(days=3 * 365 + 90) <= loan.disbursement_date < TODAY

    def test_the_nightly_run_stores_every_active_loans_state(self, seeded):
        assert "loans.sweep" in {step.name for step in nightly_steps()}
        active = Loan.objects.filter(status=Loan.Status.ACTIVE)
        stored = LoanDelinquency.objects.filter(loan__in=active, as_of=YESTERDAY)
        assert stored.count() == active.count()
        assert set(stored.values_list("bucket", flat=True)) == set(Bucket.values)

    def test_demo_logins_lists_one_login_per_role(self, seeded):
        # given
        out = StringIO()
        # when
        call_command("demo_logins", "--url", "http://localhost:9000/", stdout=out)
        # then
        text = out.getvalue()
        assert "http://localhost:9000/" in text
        assert demo.DEMO_PASSWORD in text
        logins = demo.demo_logins()
        assert [role for role, _ in logins] == list(Role)
        for role, user in logins:
            assert str(role.label) in text
            assert user.username in text

    def test_collectors_have_a_day_of_work(self, seeded):
        from loan_collections.models import CollectionCase, ContactLog, PromiseToPay

        open_cases = CollectionCase.objects.filter(status="open")
        assert open_cases.filter(collector__role=Role.COLLECTOR).exists()
        assert ContactLog.objects.filter(case__in=open_cases).count() >= 5
        assert {"active", "kept", "broken"} <= set(PromiseToPay.objects.values_list("state", flat=True))

    def test_enforcement_tracks_and_write_offs_in_every_state(self, seeded):
        from loan_collections.models import CollectionCase, EnforcementTrack, WriteOff
        from loan_collections.services.writeoffs import writeoff_recovered_total

        # a case with tracks in several states
        states = set(EnforcementTrack.objects.values_list("state", flat=True))
        assert {"preparing", "preservation"} <= states
        assert len(states) >= 3
        # a write-off in review and a posted one with a recovery, its case still open
        in_review = WriteOff.objects.get(state=WriteOff.State.RISK_REVIEW)
        assert in_review.steps.count() == 3
        posted = WriteOff.objects.get(state=WriteOff.State.POSTED)
        assert posted.posted_on == TODAY - timedelta(days=30)
        assert Loan.objects.get(id=posted.loan_id).status == Loan.Status.WRITTEN_OFF
        assert writeoff_recovered_total(write_off=posted) == Decimal("300.00")
        assert CollectionCase.objects.get(id=posted.case_id).status == CollectionCase.Status.OPEN
        # seeding again changes nothing of it
        before = (EnforcementTrack.objects.count(), WriteOff.objects.count(), sorted(states))
        seed()
        after = (
            EnforcementTrack.objects.count(),
            WriteOff.objects.count(),
            sorted(set(EnforcementTrack.objects.values_list("state", flat=True))),
        )
        assert after == before
