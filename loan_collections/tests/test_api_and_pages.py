"""The collection-cases feed, the collections pages, the loan panel and reassignment permissions."""

from datetime import date

import pytest

from loan_collections.models import CaseStageChange, CollectionCase, Stage
from loan_collections.services.assignment import cases_reassign
from loan_collections.services.enforcement import case_release_from_enforcement
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/collection-cases"


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def cases(admin, alice, charlie):
    a = make_loan("L-A", admin=admin, officer=alice)
    b = make_loan("L-B", admin=admin, branch="BR-B", officer=charlie, dealer=False)
    night(date(2024, 3, 16))
    return CollectionCase.objects.get(loan=a), CollectionCase.objects.get(loan=b)


# --- API --------------------------------------------------------------------------------------


def test_feed_lists_cases_with_the_contract_fields(api, cases):
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    row = next(r for r in body["results"] if r["loan_number"] == "L-A")
    assert row == {
        "id": cases[0].id, "loan_number": "L-A", "status": "open", "stage": "dealer_advance_request",
        "stage_since": "2024-03-16", "opened_on": "2024-03-16", "collector": "alice",
    }  # fmt: skip


def test_feed_filters(api, cases):
    assert [r["loan_number"] for r in api.get(URL, {"stage": "second_letter"}).json()["results"]] == ["L-B"]
    assert [r["loan_number"] for r in api.get(URL, {"collector": "alice"}).json()["results"]] == ["L-A"]
    assert [r["loan_number"] for r in api.get(URL, {"loan_number": "L-B"}).json()["results"]] == ["L-B"]
    assert api.get(URL, {"status": "closed"}).json()["count"] == 0


def test_feed_rejects_an_unknown_stage(api, cases):
    response = api.get(URL, {"stage": "nonsense"})
    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


def test_feed_is_scoped_to_the_clients_branches(api_a, cases):
    body = api_a.get(URL).json()
    assert [r["loan_number"] for r in body["results"]] == ["L-A"]
    assert api_a.get(URL, {"loan_number": "L-B"}).json()["count"] == 0


def test_feed_needs_a_token(client, cases):
    assert client.get(URL).status_code == 401


def test_feed_is_paginated(api, cases):
    body = api.get(URL, {"page_size": 1}).json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"]


# --- pages ------------------------------------------------------------------------------------


def test_list_shows_only_the_users_branch(client, alice, cases, django_assert_max_num_queries):
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        response = client.get("/collections/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "L-A" in html
    assert "L-B" not in html
    assert 'data-testid="reassign-form"' not in html  # an officer does not reassign


def test_list_filters_and_invalid_filters(client, bob, cases):
    client.force_login(bob)
    assert "L-A" not in client.get("/collections/", {"stage": "first_letter"}).content.decode()
    response = client.get("/collections/", {"stage": "nonsense"})
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert 'data-testid="reassign-form"' in client.get("/collections/").content.decode()


def test_list_pages_without_count(client, admin, cases):
    from loan_collections.selectors import case_page_list

    page = case_page_list(user=admin, filters={}, page=1, page_size=1)
    assert len(page.rows) == 1
    assert page.has_next
    page = case_page_list(user=admin, filters={}, page=2, page_size=1)
    assert len(page.rows) == 1
    assert not page.has_next


def test_case_page(client, alice, charlie, cases):
    client.force_login(alice)
    response = client.get(f"/collections/{cases[0].id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/loans/L-A/" in html
    assert "Dealer advance request" in html
    assert "Dealer advance notice" in html
    # another branch's case is not found
    client.force_login(charlie)
    assert client.get(f"/collections/{cases[0].id}/").status_code == 404


def test_anonymous_users_are_sent_to_login(client, cases):
    assert client.get("/collections/").status_code == 302
    assert client.get(f"/collections/{cases[0].id}/").status_code == 302


def test_nav_entry_for_staff_only(client, alice, cases):
    from loanops.core.navigation import navigation_for

    assert "/collections/" in [item["url"] for item in navigation_for(alice)]
    api_user = UserFactory(role=Role.API_CLIENT)
    assert "/collections/" not in [item["url"] for item in navigation_for(api_user)]


def test_loan_panel_shows_the_open_case(client, alice, cases):
    client.force_login(alice)
    html = client.get("/loans/L-A/").content.decode()
    assert 'id="collection-case"' in html
    assert 'data-testid="collection-case-panel"' in html
    assert f"/collections/{cases[0].id}/" in html


def test_loan_api_shows_the_open_case_stage(api, cases):
    body = api.get("/api/v1/loans/L-A").json()
    assert "dealer_advance_request" in str(body)


# --- reassignment -----------------------------------------------------------------------------


def test_manager_reassigns_in_bulk(client, bob, alice, cases):
    collector = UserFactory(username="carla", role=Role.COLLECTOR, branches=[alice.branches.first()])
    client.force_login(bob)
    response = client.post("/collections/reassign/", {"cases": [cases[0].id], "collector": collector.id}, follow=True)
    assert response.status_code == 200
    assert "1 case reassigned to carla." in response.content.decode()
    cases[0].refresh_from_db()
    assert cases[0].collector_id == collector.id


def test_reassign_errors_are_shown_never_500(client, bob, charlie, cases):
    client.force_login(bob)
    # a case of another branch, and a collector bob cannot choose
    response = client.post("/collections/reassign/", {"cases": [cases[1].id], "collector": charlie.id}, follow=True)
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    response = client.post("/collections/reassign/", {"cases": ["x"], "collector": "y"}, follow=True)
    assert response.status_code == 200
    assert "alert-danger" in response.content.decode()
    cases[1].refresh_from_db()
    assert cases[1].collector_id == charlie.id


def test_officers_cannot_reassign(client, alice, cases):
    client.force_login(alice)
    assert client.post("/collections/reassign/", {"cases": [cases[0].id], "collector": alice.id}).status_code == 403
    assert client.get("/collections/reassign/").status_code == 405


def test_reassign_service_rules(admin, alice, bob, charlie, cases):
    # the collector must see the case's branch
    with pytest.raises(ValidationFailed) as exc:
        cases_reassign(cases=[cases[0]], collector=charlie, acting_user=admin)
    assert "collector" in exc.value.extra
    # the collector must be a collector or credit officer
    with pytest.raises(ValidationFailed):
        cases_reassign(cases=[cases[0]], collector=bob, acting_user=admin)
    # a manager cannot touch another branch's cases
    with pytest.raises(ValidationFailed):
        cases_reassign(cases=[cases[1]], collector=charlie, acting_user=bob)
    with pytest.raises(PermissionDenied):
        cases_reassign(cases=[cases[0]], collector=alice, acting_user=alice)
    # same collector: nothing changes
    assert cases_reassign(cases=[cases[0]], collector=alice, acting_user=bob) == 0


# --- release from enforcement -----------------------------------------------------------------


def test_release_from_enforcement_needs_a_full_cure_and_a_supervisor(admin, bob):
    loan = make_loan("ENF", admin=admin)
    night(date(2024, 4, 16))
    case = CollectionCase.objects.get(loan=loan)
    assert case.stage == Stage.ENFORCEMENT
    head = UserFactory(username="hd", role=Role.CREDIT_HEAD, branches=[loan.branch])
    # not cured
    with pytest.raises(InvalidTransition):
        case_release_from_enforcement(case=case, acting_user=head, reason="cured")
    # fully cured, but the nightly step keeps it in enforcement
    pay(loan, admin, "3000.00", date(2024, 4, 20))
    assert night(date(2024, 4, 20)) == 0
    case.refresh_from_db()
    assert case.stage == Stage.ENFORCEMENT
    with pytest.raises(PermissionDenied):
        case_release_from_enforcement(case=case, acting_user=bob, reason="cured")
    # when
    case = case_release_from_enforcement(case=case, acting_user=head, reason="Paid in full")
    # then
    assert case.stage == Stage.CURE_MONITORING
    change = case.stage_changes.last()
    assert (change.reason, change.by_id, change.note) == (CaseStageChange.Reason.RELEASED, head.id, "Paid in full")
