"""Enforcement pages: the case page's tracks and write-off sections, moving a track, the tracks
and dealer advance lists, the write-off queue, detail and actions; manual track moves."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loan_collections.models import CollectionCase, EnforcementTrack, TrackEvent, TrackState, WriteOff
from loan_collections.services.enforcement import track_transition
from loan_collections.services.tracks import enforcement_update_due
from loan_collections.services.writeoffs import writeoff_propose, writeoff_submit
from loan_collections.tests.helpers import make_loan, night
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.navigation import navigation_for
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime(2024, 4, 30, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture(autouse=True)
def _business_date():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def head(org):
    return UserFactory(username="hector", role=Role.CREDIT_HEAD, branches=[org["north"]])


@pytest.fixture
def collector(org):
    return UserFactory(username="colin", role=Role.COLLECTOR, branches=[org["a"]])


@pytest.fixture
def enforced(admin):
    """An insured dealer loan in enforcement since 04-16 and a dealer loan of branch B asked for an advance."""
    loan = make_loan("ENF-1", admin=admin, insurer=True)
    other = make_loan("ADV-B", admin=admin, branch="BR-B")
    night(date(2024, 3, 16))  # ADV-B enters the dealer advance stage (and ENF-1)
    night(date(2024, 4, 16))
    enforcement_update_due(as_of=date(2024, 4, 16))
    return CollectionCase.objects.get(loan=loan), CollectionCase.objects.get(loan=other)


def track(case, kind, against):
    return EnforcementTrack.objects.get(case=case, kind=kind, against=against)


# --- moving tracks (services) --------------------------------------------------------------------


def test_legal_action_moves_through_its_states(enforced, head):
    case, _ = enforced
    legal = track(case, "legal", "borrower")
    with pytest.raises(ValidationFailed, match="Invalid"):
        track_transition(track=legal, to_state="filed", acting_user=head)  # no court reference
    track_transition(track=legal, to_state="filed", reference="PO 118/2024", acting_user=head, note="Filed in Bilbao")
    track_transition(track=legal, to_state="preservation", acting_user=head)
    with pytest.raises(InvalidTransition, match="cannot move") as exc:
        track_transition(track=legal, to_state="preparing", acting_user=head)
    assert "to_state" in exc.value.extra
    track_transition(track=legal, to_state="judgment", acting_user=head)
    track_transition(track=legal, to_state="enforcement", acting_user=head)
    track_transition(track=legal, to_state="concluded_recovered", amount=Decimal("2500.00"), acting_user=head)
    legal.refresh_from_db()
    assert (legal.state, legal.reference, legal.amount_recovered, legal.closed_on) == (
        "concluded_recovered", "PO 118/2024", Decimal("2500.00"), date(2024, 4, 30),
    )  # fmt: skip
    assert list(TrackEvent.objects.filter(track=legal).values_list("to_state", "by__username")) == [
        ("preparing", None), ("filed", "hector"), ("preservation", "hector"), ("judgment", "hector"),
        ("enforcement", "hector"), ("concluded_recovered", "hector"),
    ]  # fmt: skip
    with pytest.raises(InvalidTransition):
        track_transition(track=legal, to_state="filed", acting_user=head)


def test_who_moves_which_track(enforced, head, collector, org):
    case, _ = enforced
    manager = UserFactory(role=Role.BRANCH_MANAGER, branches=[org["a"]])
    with pytest.raises(PermissionDenied, match="legal"):
        track_transition(track=track(case, "legal", "borrower"), to_state="filed", reference="x", acting_user=manager)
    with pytest.raises(PermissionDenied):
        track_transition(track=track(case, "insurer_claim", "insurer"), to_state="approved", acting_user=collector)
    auditor = UserFactory(role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        track_transition(track=track(case, "insurer_claim", "insurer"), to_state="approved", acting_user=auditor)
    other = UserFactory(role=Role.BRANCH_MANAGER, branches=[org["b"]])
    with pytest.raises(PermissionDenied, match="outside"):
        track_transition(track=track(case, "insurer_claim", "insurer"), to_state="approved", acting_user=other)
    # the supervisor moves the insurer claim; the approved amount becomes the claim
    claim = track_transition(
        track=track(case, "insurer_claim", "insurer"), to_state="documents_requested", acting_user=manager
    )
    claim = track_transition(track=claim, to_state="approved", amount=Decimal("9000.00"), acting_user=manager)
    assert (claim.state, claim.amount_claimed) == ("approved", Decimal("9000.00"))
    with pytest.raises(InvalidTransition):
        track_transition(track=claim, to_state="paid", acting_user=manager)  # money comes from payments


def test_a_refused_guarantee_call_proposes_legal_action_against_the_dealer(enforced, org):
    case, _ = enforced
    manager = UserFactory(role=Role.BRANCH_MANAGER, branches=[org["a"]])
    call = track_transition(
        track=track(case, "dealer_guarantee", "dealer"), to_state="refused", acting_user=manager, note="Letter"
    )
    assert call.state == TrackState.REFUSED
    against_dealer = track(case, "legal", "dealer")
    assert (against_dealer.state, against_dealer.amount_claimed) == ("preparing", Decimal("11100.00"))
    # the nightly lapse later changes nothing more on this case
    events = TrackEvent.objects.filter(track__case=case).count()
    enforcement_update_due(as_of=date(2024, 4, 26))
    assert TrackEvent.objects.filter(track__case=case).count() == events
    assert EnforcementTrack.objects.filter(case=case).count() == 4


# --- pages ----------------------------------------------------------------------------------------


def test_case_page_shows_tracks_with_history_and_forms(client, enforced, head, collector):
    case, _ = enforced
    client.force_login(head)
    html = client.get(f"/collections/{case.id}/").content.decode()
    assert 'data-testid="section-enforcement"' in html
    assert 'data-testid="track-dealer_guarantee-dealer"' in html
    assert "Opened on entering enforcement" in html
    assert html.count('data-testid="track-move-form"') == 3  # the credit head moves every track
    assert 'data-testid="writeoff-propose-form"' in html
    client.force_login(collector)
    html = client.get(f"/collections/{case.id}/").content.decode()
    assert 'data-testid="track-move-form"' not in html
    assert 'data-testid="writeoff-propose-form"' in html


def test_moving_a_track_from_the_page(client, enforced, head):
    case, _ = enforced
    legal = track(case, "legal", "borrower")
    client.force_login(head)
    prefix = f"t{legal.id}"
    url = f"/collections/enforcement/{legal.id}/move/"
    # an invalid move changes nothing and says why
    response = client.post(url, {f"{prefix}-to_state": "judgment"}, follow=True)
    assert response.status_code == 200
    assert "cannot move" in response.content.decode()
    # bad input never gives a 500
    response = client.post(url, {f"{prefix}-to_state": "filed", f"{prefix}-amount": "abc"}, follow=True)
    assert response.status_code == 200
    legal.refresh_from_db()
    assert legal.state == "preparing"
    # a valid one
    response = client.post(url, {f"{prefix}-to_state": "filed", f"{prefix}-reference": "PO 7/2024"}, follow=True)
    assert "Track updated." in response.content.decode()
    legal.refresh_from_db()
    assert (legal.state, legal.reference) == ("filed", "PO 7/2024")


def test_tracks_list_filters_and_scoping(client, enforced, head, org):
    client.force_login(head)
    html = client.get("/collections/enforcement/").content.decode()
    assert html.count('data-testid="track-row"') == 3
    html = client.get("/collections/enforcement/", {"kind": "insurer_claim"}).content.decode()
    assert html.count('data-testid="track-row"') == 1
    html = client.get("/collections/enforcement/", {"branch": "BR-B"}).content.decode()
    assert html.count('data-testid="track-row"') == 0
    html = client.get("/collections/enforcement/", {"state": "nonsense"}).content.decode()
    assert 'data-testid="filter-errors"' in html
    client.force_login(UserFactory(role=Role.CREDIT_OFFICER, branches=[org["b"]]))
    html = client.get("/collections/enforcement/").content.decode()
    assert "ADV-B" in html
    assert "ENF-1" not in html


def test_dealer_advances_list_highlights_overdue_requests(client, enforced, admin):
    client.force_login(admin)
    html = client.get("/collections/dealer-advances/").content.decode()
    # both loans were asked on 03-16 (deadline 03-21); today is 04-30: overdue
    assert html.count('data-testid="advance-row"') == 2
    assert html.count('data-overdue="1"') == 2
    html = client.get("/collections/dealer-advances/", {"branch": "SUR"}).content.decode()
    assert html.count('data-testid="advance-row"') == 1
    assert "ADV-B" in html


def test_write_off_pages(client, enforced, collector, org):
    case, _ = enforced
    manager = UserFactory(username="mona", role=Role.BRANCH_MANAGER, branches=[org["a"]])
    client.force_login(collector)
    # propose from the case page: bad input first
    response = client.post(f"/collections/{case.id}/write-off/", {"ground": "no_assets", "evidence": ""}, follow=True)
    assert response.status_code == 200
    assert not WriteOff.objects.exists()
    response = client.post(
        f"/collections/{case.id}/write-off/", {"ground": "no_assets", "evidence": "No assets found"}, follow=True
    )
    write_off = WriteOff.objects.get()
    assert response.redirect_chain[-1][0] == f"/collections/write-offs/{write_off.id}/"
    assert 'data-testid="writeoff-action-submit"' in response.content.decode()
    html = client.get("/collections/write-offs/").content.decode()
    assert f"/collections/write-offs/{write_off.id}/" in html
    client.post(f"/collections/write-offs/{write_off.id}/submit/", {})
    write_off.refresh_from_db()
    assert write_off.state == "branch_review"
    # the manager sees it waiting; returning needs a comment
    client.force_login(manager)
    html = client.get("/collections/write-offs/").content.decode()
    assert 'data-testid="writeoffs-awaiting"' in html
    assert f"/collections/write-offs/{write_off.id}/" in html
    response = client.post(f"/collections/write-offs/{write_off.id}/return/", {"comment": ""}, follow=True)
    assert response.status_code == 200
    write_off.refresh_from_db()
    assert write_off.state == "branch_review"
    client.post(f"/collections/write-offs/{write_off.id}/approve/", {"comment": "Checked"})
    write_off.refresh_from_db()
    assert write_off.state == "risk_review"
    # the proposer cannot act; an unknown action is a 404
    client.force_login(collector)
    response = client.post(f"/collections/write-offs/{write_off.id}/approve/", {}, follow=True)
    assert "Four-eyes" in response.content.decode() or "risk" in response.content.decode()
    assert client.post(f"/collections/write-offs/{write_off.id}/nonsense/", {}).status_code == 404
    html = client.get(f"/collections/write-offs/{write_off.id}/").content.decode()
    assert 'data-testid="writeoff-steps"' in html
    # another branch does not see it
    client.force_login(UserFactory(role=Role.BRANCH_MANAGER, branches=[org["b"]]))
    assert client.get(f"/collections/write-offs/{write_off.id}/").status_code == 404


def test_nav_entries(enforced, collector):
    urls = [item["url"] for item in navigation_for(collector)]
    assert {"/collections/enforcement/", "/collections/dealer-advances/", "/collections/write-offs/"} <= set(urls)
    api_user = UserFactory(role=Role.API_CLIENT)
    assert "/collections/write-offs/" not in [item["url"] for item in navigation_for(api_user)]


def test_case_page_write_off_section_for_a_submitted_proposal(client, enforced, collector):
    case, _ = enforced
    write_off = writeoff_propose(case=case, ground="no_assets", evidence="x", acting_user=collector)
    writeoff_submit(write_off=write_off, acting_user=collector)
    client.force_login(collector)
    html = client.get(f"/collections/{case.id}/").content.decode()
    assert 'data-testid="case-write-offs"' in html
    assert 'data-testid="writeoff-propose-form"' not in html
