"""Enforcement tracks and dealer advances opened and followed by the nightly run; example E34."""

from datetime import date
from decimal import Decimal

import pytest

from loan_collections.models import (
    ClosureReason,
    CollectionCase,
    DealerAdvanceRequest,
    EnforcementTrack,
    Stage,
    TrackEvent,
    TrackState,
)
from loan_collections.services.tracks import enforcement_update_due
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.nightly import run_nightly
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.services.payments import payment_reverse

pytestmark = pytest.mark.django_db

K = EnforcementTrack.Kind
A = EnforcementTrack.Against


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


def full_night(as_of: date) -> int:
    """The sweep, the cases step and the enforcement step for AS_OF."""
    changed = night(as_of)
    return changed + enforcement_update_due(as_of=as_of)


def tracks(loan) -> dict[tuple[str, str], EnforcementTrack]:
    return {(t.kind, t.against): t for t in EnforcementTrack.objects.filter(case__loan=loan)}


def case_of(loan) -> CollectionCase:
    return CollectionCase.objects.filter(loan=loan).latest("id")


# --- entering enforcement ----------------------------------------------------------------------


def test_entering_enforcement_opens_legal_guarantee_and_insurer_tracks(admin):
    # given: the E12 loan, dealer-guaranteed and insured
    loan = make_loan("E12", admin=admin, insurer=True)
    # when
    full_night(date(2024, 4, 16))
    # then
    case = case_of(loan)
    assert case.stage == Stage.ENFORCEMENT
    by_key = tracks(loan)
    assert set(by_key) == {(K.LEGAL, A.BORROWER), (K.DEALER_GUARANTEE, A.DEALER), (K.INSURER_CLAIM, A.INSURER)}
    legal, call, claim = (
        by_key[K.LEGAL, A.BORROWER],
        by_key[K.DEALER_GUARANTEE, A.DEALER],
        by_key[K.INSURER_CLAIM, A.INSURER],
    )
    assert (legal.state, legal.opened_on, legal.amount_claimed) == (
        TrackState.PREPARING,
        date(2024, 4, 16),
        Decimal("11100.00"),
    )
    assert (call.state, call.deadline_on, call.amount_claimed) == (
        TrackState.NOTICE_SENT, date(2024, 4, 26), Decimal("11100.00"),
    )  # fmt: skip
    assert (claim.state, claim.amount_claimed) == (TrackState.FILED, Decimal("11100.00"))
    for track in by_key.values():
        [event] = TrackEvent.objects.filter(track=track)
        assert (event.from_state, event.to_state, event.on, event.by) == ("", track.state, date(2024, 4, 16), None)


def test_a_loan_without_dealer_or_insurer_gets_only_the_legal_track(admin):
    loan = make_loan("PLAIN", admin=admin, dealer=False)
    full_night(date(2024, 4, 16))
    assert set(tracks(loan)) == {(K.LEGAL, A.BORROWER)}


def test_opening_tracks_twice_changes_nothing(admin):
    # given
    loan = make_loan("TWICE", admin=admin, insurer=True)
    full_night(date(2024, 4, 16))
    events = TrackEvent.objects.count()
    # when: the whole chain again for the same date, and the next night
    results = dict(run_nightly(as_of=date(2024, 4, 16)))
    # then
    assert results["collections.cases"] == 0
    assert results["collections.enforcement"] == 0
    assert len(tracks(loan)) == 3
    assert TrackEvent.objects.count() == events
    full_night(date(2024, 4, 17))
    assert len(tracks(loan)) == 3
    assert TrackEvent.objects.count() == events


# --- E34: the dealer buy-back --------------------------------------------------------------------


def test_e34_dealer_buy_back(admin):
    # given: the E12 loan; the guarantee call goes out on entering enforcement
    loan = make_loan("E34", admin=admin, insurer=True)
    full_night(date(2024, 4, 16))
    call = tracks(loan)[K.DEALER_GUARANTEE, A.DEALER]
    assert (call.state, call.opened_on, call.deadline_on) == (
        TrackState.NOTICE_SENT,
        date(2024, 4, 16),
        date(2024, 4, 26),
    )
    assert call.amount_claimed == Decimal("11100.00")  # 10,800 unpaid principal + 300 past-due interest
    # when: nothing paid by the deadline
    full_night(date(2024, 4, 25))
    assert tracks(loan)[K.DEALER_GUARANTEE, A.DEALER].state == TrackState.NOTICE_SENT
    assert (K.LEGAL, A.DEALER) not in tracks(loan)
    full_night(date(2024, 4, 26))
    # then: the call lapsed: refused, legal action against the dealer proposed, the insurer claim open
    by_key = tracks(loan)
    assert by_key[K.DEALER_GUARANTEE, A.DEALER].state == TrackState.REFUSED
    against_dealer = by_key[K.LEGAL, A.DEALER]
    assert (against_dealer.state, against_dealer.opened_on, against_dealer.amount_claimed) == (
        TrackState.PREPARING, date(2024, 4, 26), Decimal("11100.00"),
    )  # fmt: skip
    assert by_key[K.LEGAL, A.BORROWER].state == TrackState.PREPARING
    assert by_key[K.INSURER_CLAIM, A.INSURER].state == TrackState.FILED
    lapse = TrackEvent.objects.get(track=by_key[K.DEALER_GUARANTEE, A.DEALER], to_state=TrackState.REFUSED)
    assert (lapse.from_state, lapse.on, lapse.note) == (
        TrackState.NOTICE_SENT,
        date(2024, 4, 26),
        "Not paid by the deadline",
    )
    assert case_of(loan).status == CollectionCase.Status.OPEN
    # when: the dealer pays the buy-back price on 05-02 through the payments API
    pay(loan, admin, "11100.00", date(2024, 5, 2), payer="dealer")
    full_night(date(2024, 5, 2))
    # then: paid, the case closed as settled by the guarantor
    call = tracks(loan)[K.DEALER_GUARANTEE, A.DEALER]
    assert (call.state, call.amount_recovered, call.closed_on) == (
        TrackState.PAID,
        Decimal("11100.00"),
        date(2024, 5, 2),
    )
    paid = TrackEvent.objects.get(track=call, to_state=TrackState.PAID)
    assert (paid.from_state, paid.amount, paid.on) == (TrackState.REFUSED, Decimal("11100.00"), date(2024, 5, 2))
    case = case_of(loan)
    assert (case.status, case.closed_on, case.closure_reason) == (
        "closed",
        date(2024, 5, 2),
        ClosureReason.GUARANTOR_SETTLED,
    )
    assert all(t.closed_on == date(2024, 5, 2) for t in tracks(loan).values())
    # and: the next nights change nothing and open no new case
    assert enforcement_update_due(as_of=date(2024, 5, 2)) == 0
    full_night(date(2024, 5, 3))
    assert CollectionCase.objects.filter(loan=loan).count() == 1


def test_a_partial_dealer_payment_then_the_rest(admin):
    # given
    loan = make_loan("PART", admin=admin)
    full_night(date(2024, 4, 16))
    # when: 5,000 before the deadline
    pay(loan, admin, "5000.00", date(2024, 4, 20), payer="dealer")
    full_night(date(2024, 4, 20))
    # then
    call = tracks(loan)[K.DEALER_GUARANTEE, A.DEALER]
    assert (call.state, call.amount_recovered) == (TrackState.PARTLY_PAID, Decimal("5000.00"))
    # when: the deadline passes with 6,100 still unpaid
    full_night(date(2024, 4, 26))
    by_key = tracks(loan)
    assert by_key[K.DEALER_GUARANTEE, A.DEALER].state == TrackState.PARTLY_PAID
    assert by_key[K.LEGAL, A.DEALER].amount_claimed == Decimal("6100.00")
    assert (K.INSURER_CLAIM, A.INSURER) not in by_key  # not insured
    # when: the rest arrives
    pay(loan, admin, "6100.00", date(2024, 4, 30), payer="dealer")
    full_night(date(2024, 4, 30))
    assert tracks(loan)[K.DEALER_GUARANTEE, A.DEALER].state == TrackState.PAID
    assert case_of(loan).closure_reason == ClosureReason.GUARANTOR_SETTLED


def test_borrower_money_and_reversed_dealer_money_do_not_count(admin):
    # given
    loan = make_loan("REV", admin=admin)
    full_night(date(2024, 4, 16))
    pay(loan, admin, "1000.00", date(2024, 4, 18), payer="borrower")
    pay(loan, admin, "2000.00", date(2024, 4, 18), payer="dealer", suffix="d")
    full_night(date(2024, 4, 18))
    assert tracks(loan)[K.DEALER_GUARANTEE, A.DEALER].amount_recovered == Decimal("2000.00")
    # when: the dealer's payment is reversed
    payment_reverse(external_id=f"{loan.number}-2024-04-18-d", reason="returned", acting_user=admin)
    full_night(date(2024, 4, 19))
    # then
    call = tracks(loan)[K.DEALER_GUARANTEE, A.DEALER]
    assert (call.state, call.amount_recovered) == (TrackState.NOTICE_SENT, Decimal("0.00"))
    assert list(TrackEvent.objects.filter(track=call).values_list("from_state", "to_state")) == [
        ("", "notice_sent"), ("notice_sent", "partly_paid"), ("partly_paid", "notice_sent"),
    ]  # fmt: skip


def test_the_insurer_paying_its_claim_settles_the_case(admin):
    # given: an insured loan without a dealer
    loan = make_loan("INS", admin=admin, dealer=False, insurer=True)
    full_night(date(2024, 4, 16))
    # when
    pay(loan, admin, "11100.00", date(2024, 5, 10), payer="insurer")
    full_night(date(2024, 5, 10))
    # then
    claim = tracks(loan)[K.INSURER_CLAIM, A.INSURER]
    assert (claim.state, claim.amount_recovered) == (TrackState.PAID, Decimal("11100.00"))
    assert case_of(loan).closure_reason == ClosureReason.GUARANTOR_SETTLED


# --- dealer advance requests ---------------------------------------------------------------------


def test_entering_the_dealer_advance_stage_requests_the_overdue_amount(admin):
    # given: E24-like, dealer loan at 30 days past due
    loan = make_loan("ADV", admin=admin)
    full_night(date(2024, 3, 16))
    # then
    [request] = DealerAdvanceRequest.objects.filter(case__loan=loan)
    assert case_of(loan).stage == Stage.DEALER_ADVANCE_REQUEST
    assert (request.requested_on, request.deadline_on, request.amount_requested, request.state) == (
        date(2024, 3, 16), date(2024, 3, 21), Decimal("2000.00"), DealerAdvanceRequest.State.REQUESTED,
    )  # fmt: skip
    assert request.dealer_id == loan.dealer_id
    # a second run and the next night add nothing
    assert full_night(date(2024, 3, 16)) == 0
    full_night(date(2024, 3, 17))
    assert DealerAdvanceRequest.objects.filter(case__loan=loan).count() == 1


def test_e22_like_the_dealer_advances_the_overdue_amount(admin):
    # given
    loan = make_loan("ADV-PAID", admin=admin)
    full_night(date(2024, 3, 16))
    # when
    pay(loan, admin, "2000.00", date(2024, 3, 20), payer="dealer")
    full_night(date(2024, 3, 20))
    # then
    request = DealerAdvanceRequest.objects.get(case__loan=loan)
    assert (request.state, request.amount_paid, request.resolved_on) == ("paid", Decimal("2000.00"), date(2024, 3, 20))
    assert full_night(date(2024, 3, 20)) == 0


def test_an_advance_not_paid_by_its_deadline(admin):
    loan = make_loan("ADV-LATE", admin=admin)
    full_night(date(2024, 3, 16))
    full_night(date(2024, 3, 20))
    assert DealerAdvanceRequest.objects.get(case__loan=loan).state == "requested"
    full_night(date(2024, 3, 21))
    request = DealerAdvanceRequest.objects.get(case__loan=loan)
    assert (request.state, request.resolved_on) == ("unpaid", date(2024, 3, 21))
    # late partial money still counts
    pay(loan, admin, "500.00", date(2024, 3, 25), payer="dealer")
    full_night(date(2024, 3, 25))
    request.refresh_from_db()
    assert (request.state, request.amount_paid) == ("partly_paid", Decimal("500.00"))
