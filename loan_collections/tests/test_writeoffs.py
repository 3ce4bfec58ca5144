"""Write-off: proposal, reviews, approval by band, posting, recoveries and closing (E33); four-eyes."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loan_collections.models import (
    ClosureReason,
    CollectionCase,
    EnforcementTrack,
    Stage,
    TrackEvent,
    WriteOff,
    WriteOffStep,
)
from loan_collections.services.enforcement import track_transition
from loan_collections.services.tracks import enforcement_update_due
from loan_collections.services.writeoffs import (
    band_for,
    writeoff_available_actions,
    writeoff_close,
    writeoff_decide,
    writeoff_post,
    writeoff_propose,
    writeoff_record_accountability,
    writeoff_recovered_total,
    writeoff_recoveries,
    writeoff_submit,
    writeoffs_awaiting,
)
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.exceptions import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import Loan

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def on(day: date):
    """The business date is DAY (services date their steps with it)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, 0, tzinfo=MADRID), tick=False)


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def people(org):
    return {
        "collector": UserFactory(username="colin", role=Role.COLLECTOR, branches=[org["a"]]),
        "manager": UserFactory(username="mona", role=Role.BRANCH_MANAGER, branches=[org["a"]]),
        "head": UserFactory(username="hector", role=Role.CREDIT_HEAD, branches=[org["north"]]),
        "risk": UserFactory(username="rita", role=Role.RISK),
        "risk2": UserFactory(username="rafa", role=Role.RISK),
        "board": UserFactory(username="bea", role=Role.ADMIN),
        "auditor": UserFactory(username="aud", role=Role.AUDITOR),
        "other_manager": UserFactory(username="otto", role=Role.BRANCH_MANAGER, branches=[org["b"]]),
    }


def full_night(as_of: date) -> None:
    night(as_of)
    enforcement_update_due(as_of=as_of)


@pytest.fixture
def e17_case(admin, people):
    """The E17 loan (nothing paid, after maturity), legal action concluded with enforcement
    terminated (终结执行) and the vehicle sold for 4,000.00 (payer collateral_sale)."""
    loan = make_loan("E17", admin=admin)
    full_night(date(2024, 4, 16))
    full_night(date(2025, 2, 10))
    case = CollectionCase.objects.get(loan=loan)
    legal = EnforcementTrack.objects.get(case=case, kind="legal", against="borrower")
    with on(date(2025, 2, 12)):
        for state in ("filed", "judgment", "enforcement", "concluded_terminated"):
            track_transition(track=legal, to_state=state, reference="EJ-2024-118", acting_user=people["head"])
    pay(loan, admin, "4000.00", date(2025, 2, 20), payer="collateral_sale")
    full_night(date(2025, 2, 20))
    case.refresh_from_db()
    return case


def propose(case, user, ground="enforcement_terminated"):
    return writeoff_propose(
        case=case, ground=ground, evidence="Auto de terminación EJ-2024-118; vehicle sold 4,000.00", acting_user=user
    )


def approved(case, people) -> WriteOff:
    write_off = propose(case, people["collector"])
    writeoff_submit(write_off=write_off, acting_user=people["collector"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    write_off.refresh_from_db()
    return write_off


# --- E33 ----------------------------------------------------------------------------------------


def test_e33_write_off_workflow(e17_case, people, admin):
    # given: after the sale, 7,200 principal and 800 interest are left
    case = e17_case
    assert case.stage == Stage.ENFORCEMENT
    # when: proposed with evidence, then through every step
    with on(date(2025, 3, 1)):
        write_off = propose(case, people["collector"])
    assert (write_off.state, write_off.principal, write_off.interest, write_off.fees) == (
        "draft", Decimal("7200.00"), Decimal("800.00"), Decimal("0.00"),
    )  # fmt: skip
    assert (write_off.total, write_off.band, write_off.proposed_on) == (Decimal("8000.00"), "branch", date(2025, 3, 1))
    with on(date(2025, 3, 2)):
        writeoff_submit(write_off=write_off, acting_user=people["collector"])
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"], comment="ok")
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk"])
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    write_off.refresh_from_db()
    assert write_off.state == WriteOff.State.APPROVED
    with on(date(2025, 3, 3)):
        writeoff_post(write_off=write_off, acting_user=people["head"])
    # then: posted, the loan written off, the case still open (recovery)
    write_off.refresh_from_db()
    loan = Loan.objects.get(id=case.loan_id)
    assert (write_off.state, write_off.posted_on) == ("posted", date(2025, 3, 3))
    assert (loan.status, loan.closed_on) == (Loan.Status.WRITTEN_OFF, date(2025, 3, 3))
    assert list(WriteOffStep.objects.filter(write_off=write_off).values_list("action", "from_state", "to_state", "by__username")) == [
        ("propose", "", "draft", "colin"),
        ("submit", "draft", "branch_review", "colin"),
        ("approve", "branch_review", "risk_review", "hector"),
        ("approve", "risk_review", "approval", "rita"),
        ("approve", "approval", "approved", "mona"),
        ("post", "approved", "posted", "hector"),
    ]  # fmt: skip
    full_night(date(2025, 3, 4))
    case.refresh_from_db()
    assert case.status == CollectionCase.Status.OPEN
    # when: 300.00 recovered 6 months later
    pay(loan, admin, "300.00", date(2025, 9, 3))
    full_night(date(2025, 9, 3))
    # then: booked as a recovery; the case stays open in recovery; the loan stays written off
    assert [(p.amount, p.value_date) for p in writeoff_recoveries(write_off=write_off)] == [
        (Decimal("300.00"), date(2025, 9, 3))
    ]
    assert writeoff_recovered_total(write_off=write_off) == Decimal("300.00")
    case.refresh_from_db()
    loan.refresh_from_db()
    assert case.status == CollectionCase.Status.OPEN
    assert loan.status == Loan.Status.WRITTEN_OFF
    # when: closing without an accountability review → rejected
    with on(date(2025, 10, 1)), pytest.raises(InvalidTransition, match="accountability review"):
        writeoff_close(write_off=write_off, acting_user=people["risk"])
    write_off.refresh_from_db()
    assert write_off.state == "posted"
    # when: with the review recorded, it closes, and the case with it
    with on(date(2025, 10, 1)):
        writeoff_record_accountability(
            write_off=write_off, review="No officer fault: the borrower emigrated.", acting_user=people["risk"]
        )
        writeoff_close(write_off=write_off, acting_user=people["risk"])
    write_off.refresh_from_db()
    case.refresh_from_db()
    assert (write_off.state, write_off.closed_on) == ("closed", date(2025, 10, 1))
    assert (case.status, case.closed_on, case.closure_reason) == (
        "closed",
        date(2025, 10, 1),
        ClosureReason.WRITE_OFF_CLOSED,
    )
    # and its tracks close with it the next night
    enforcement_update_due(as_of=date(2025, 10, 1))
    assert not EnforcementTrack.objects.filter(case=case, closed_on__isnull=True).exists()
    assert TrackEvent.objects.filter(track__case=case, note="The case was closed").count() == 2


# --- four-eyes and roles -------------------------------------------------------------------------


def test_the_proposer_never_reviews_or_approves(e17_case, people):
    # given: the credit head proposes
    write_off = propose(e17_case, people["head"])
    write_off = writeoff_submit(write_off=write_off, acting_user=people["head"])
    # then
    with pytest.raises(PermissionDenied, match="proposer"):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"])
    assert writeoff_available_actions(write_off=write_off, user=people["head"]) == []
    assert writeoff_available_actions(write_off=write_off, user=people["manager"]) == ["approve", "return", "reject"]


def test_the_same_person_never_takes_two_consecutive_steps(org, admin, people):
    # given: a head-office band write-off (approved by risk): rita reviews, then tries to approve
    write_off = WriteOff.objects.create(
        loan=make_loan("BIG", admin=admin), state="risk_review", ground="no_assets", evidence="x",
        principal=Decimal("120000.00"), band="head_office", proposed_by=people["collector"], proposed_on=date(2025, 1, 1),
    )  # fmt: skip
    WriteOffStep.objects.create(write_off=write_off, from_state="draft", to_state="branch_review", action="submit", by=people["collector"])  # fmt: skip
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk"])
    with pytest.raises(PermissionDenied, match="previous step"):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk"])
    # the branch manager does not approve the head-office band
    with pytest.raises(PermissionDenied, match="head-office risk"):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["risk2"])
    write_off.refresh_from_db()
    assert write_off.state == "approved"
    # rafa approved: he does not post it; rita does
    with pytest.raises(PermissionDenied, match="previous step"):
        writeoff_post(write_off=write_off, acting_user=people["risk2"])


def test_roles_for_each_step(e17_case, people):
    write_off = propose(e17_case, people["collector"])
    writeoff_submit(write_off=write_off, acting_user=people["collector"])
    for user in (people["risk"], people["auditor"], people["collector"]):
        with pytest.raises(PermissionDenied):
            writeoff_decide(write_off=write_off, decision="approve", acting_user=user)
    # a manager of another branch does not even see it
    with pytest.raises(PermissionDenied, match="outside your branches"):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["other_manager"])
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    with pytest.raises(PermissionDenied, match="head-office risk"):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["head"])


def test_return_sends_it_back_to_draft_and_reject_ends_it(e17_case, people):
    # given
    write_off = propose(e17_case, people["collector"])
    writeoff_submit(write_off=write_off, acting_user=people["collector"])
    # when: returned without a comment → refused; with one → draft
    with pytest.raises(ValidationFailed):
        writeoff_decide(write_off=write_off, decision="return", acting_user=people["manager"])
    writeoff_decide(write_off=write_off, decision="return", acting_user=people["manager"], comment="Add the ruling.")
    write_off.refresh_from_db()
    assert write_off.state == "draft"
    # only the proposer resubmits, with better evidence
    with pytest.raises(PermissionDenied):
        writeoff_submit(write_off=write_off, acting_user=people["manager"])
    writeoff_submit(write_off=write_off, acting_user=people["collector"], evidence="Ruling EJ-2024-118 attached.")
    # a new round: the manager may review again
    writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    writeoff_decide(write_off=write_off, decision="reject", acting_user=people["risk"], comment="Recovery likely.")
    write_off.refresh_from_db()
    assert (write_off.state, write_off.evidence) == ("rejected", "Ruling EJ-2024-118 attached.")
    with pytest.raises(InvalidTransition):
        writeoff_decide(write_off=write_off, decision="approve", acting_user=people["manager"])
    # the case stays in enforcement; a new proposal is possible
    e17_case.refresh_from_db()
    assert (e17_case.status, e17_case.stage) == ("open", Stage.ENFORCEMENT)
    assert propose(e17_case, people["collector"]).state == "draft"


def test_one_live_write_off_per_loan_and_only_in_enforcement(e17_case, people, admin):
    propose(e17_case, people["collector"])
    with pytest.raises(Conflict):
        propose(e17_case, people["collector"])
    # a case below enforcement
    other = make_loan("EARLY", admin=admin)
    night(date(2024, 2, 20))
    with pytest.raises(InvalidTransition, match="enforcement"):
        propose(CollectionCase.objects.get(loan=other), people["collector"])


def test_a_proposal_needs_ground_and_evidence(e17_case, people):
    with pytest.raises(ValidationFailed) as exc:
        writeoff_propose(case=e17_case, ground="nonsense", evidence="  ", acting_user=people["collector"])
    assert set(exc.value.extra) == {"ground", "evidence"}
    with pytest.raises(PermissionDenied):
        propose(e17_case, people["auditor"])


def test_approval_bands():
    assert band_for(Decimal("50000.00")) == "branch"
    assert band_for(Decimal("50000.01")) == "head_office"
    assert band_for(Decimal("500000.00")) == "head_office"
    assert band_for(Decimal("500000.01")) == "board"


def test_the_queue_shows_what_awaits_each_person(e17_case, people):
    write_off = propose(e17_case, people["collector"])
    assert writeoffs_awaiting(user=people["collector"]) == [write_off]
    assert writeoffs_awaiting(user=people["manager"]) == []
    write_off = writeoff_submit(write_off=write_off, acting_user=people["collector"])
    assert writeoffs_awaiting(user=people["collector"]) == []
    assert writeoffs_awaiting(user=people["manager"]) == [write_off]
    assert writeoffs_awaiting(user=people["head"]) == [write_off]
    assert writeoffs_awaiting(user=people["risk"]) == []
    assert writeoffs_awaiting(user=people["auditor"]) == []


def test_posting_twice_is_refused_and_the_nightly_run_keeps_the_case_open(e17_case, people):
    write_off = approved(e17_case, people)
    writeoff_post(write_off=write_off, acting_user=people["head"])
    with pytest.raises(InvalidTransition):
        writeoff_post(write_off=write_off, acting_user=people["risk"])
    full_night(date(2025, 2, 21))
    e17_case.refresh_from_db()
    assert e17_case.status == "open"
    assert EnforcementTrack.objects.filter(case=e17_case, closed_on__isnull=True).exists()
