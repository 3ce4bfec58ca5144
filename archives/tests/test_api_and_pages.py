"""The credit-files feed, the archives pages, the loan panel, and who sees which form."""

import pytest

from archives.models import CreditFile
from archives.services.files import credit_file_check, credit_file_handoff_submit
from archives.tests.helpers import complete
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/credit-files"
State = CreditFile.State


# --- API --------------------------------------------------------------------------------------


def test_feed_lists_files_with_the_contract_fields(api, file_a, file_b):
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    row = next(r for r in body["results"] if r["loan_number"] == "L-A")
    assert set(row) == {"loan_number", "state", "documents"}
    assert row["state"] == "collecting"
    assert row["documents"][0] == {
        "code": "contract", "level": 2, "required": True, "present": False, "location": "",
    }  # fmt: skip
    assert [d["code"] for d in row["documents"] if d["level"] == 1] == [
        "vehicle_registration",
        "mortgage_registration",
    ]


def test_feed_filters(api, file_a, file_b, alice):
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    assert [r["loan_number"] for r in api.get(URL, {"state": "officer_checked"}).json()["results"]] == ["L-A"]
    assert [r["loan_number"] for r in api.get(URL, {"loan_number": "L-B"}).json()["results"]] == ["L-B"]
    assert api.get(URL, {"state": "archived"}).json()["count"] == 0


def test_feed_rejects_an_unknown_state(api, file_a):
    response = api.get(URL, {"state": "lost"})
    assert response.status_code == 400
    assert "state" in response.json()["errors"]


def test_feed_is_scoped_to_the_clients_branches(api_a, file_a, file_b):
    assert [r["loan_number"] for r in api_a.get(URL).json()["results"]] == ["L-A"]
    assert api_a.get(URL, {"loan_number": "L-B"}).json()["count"] == 0


def test_feed_needs_a_token_and_is_paginated(client, api, file_a, file_b, django_assert_max_num_queries):
    assert client.get(URL).status_code == 401
    with django_assert_max_num_queries(8):
        body = api.get(URL, {"page_size": 1}).json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"]


# --- pages ------------------------------------------------------------------------------------


def test_desk_shows_only_the_users_branches(client, alice, file_a, file_b, django_assert_max_num_queries):
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        response = client.get("/archives/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "L-A" in html
    assert "L-B" not in html
    assert "L-A" not in client.get("/archives/", {"state": "archived"}).content.decode()
    assert 'data-testid="filter-errors"' in client.get("/archives/", {"state": "lost"}).content.decode()


def test_desk_pages_without_count(admin, file_a, file_b):
    from archives.selectors import credit_file_page_list

    page = credit_file_page_list(user=admin, filters={}, page=1, page_size=1)
    assert len(page.rows) == 1
    assert page.has_next
    page = credit_file_page_list(user=admin, filters={}, page=2, page_size=1)
    assert len(page.rows) == 1
    assert not page.has_next


def test_file_page_is_scoped(client, alice, charlie, file_a):
    client.force_login(alice)
    response = client.get(f"/archives/{file_a.id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/loans/L-A/" in html
    assert "Vehicle registration certificate with the mortgage entry" in html
    client.force_login(charlie)
    assert client.get(f"/archives/{file_a.id}/").status_code == 404
    assert client.post(f"/archives/{file_a.id}/check/").status_code == 404


def test_anonymous_users_are_sent_to_login(client, file_a):
    assert client.get("/archives/").status_code == 302
    assert client.get(f"/archives/{file_a.id}/").status_code == 302
    assert client.post(f"/archives/{file_a.id}/check/").status_code == 302


def test_officer_assembles_through_the_page(client, alice, file_a):
    client.force_login(alice)
    html = client.get(f"/archives/{file_a.id}/").content.decode()
    assert 'data-testid="check-form"' in html
    assert 'data-testid="accept-form"' not in html
    # tick a document
    response = client.post(f"/archives/{file_a.id}/documents/contract/", {"present": "on", "pages": "5"}, follow=True)
    assert response.status_code == 200
    assert file_a.documents.get(code="contract").pages == 5
    # the check shows what is missing, never a 500
    response = client.post(f"/archives/{file_a.id}/check/", follow=True)
    html = response.content.decode()
    assert "alert-danger" in html
    assert "The file is incomplete" in html
    assert "Proof of income" in html
    # confirm contract elements
    client.post(f"/archives/{file_a.id}/contract/", {"amount": "on", "seal": "on"})
    file_a.refresh_from_db()
    assert (file_a.contract_amount, file_a.contract_seal, file_a.contract_rate) == (True, True, False)


def test_forms_follow_role_and_state(client, alice, archivist, file_a):
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    client.force_login(alice)
    assert 'data-testid="submit-form"' in client.get(f"/archives/{file_a.id}/").content.decode()
    client.post(f"/archives/{file_a.id}/handoff/submit/")
    file_a.refresh_from_db()
    assert file_a.state == State.HANDOFF_PENDING
    # the officer neither sees nor uses the receiving forms
    assert 'data-testid="accept-form"' not in client.get(f"/archives/{file_a.id}/").content.decode()
    assert client.post(f"/archives/{file_a.id}/handoff/accept/", {"archive_location": "ARCHIVE/A"}).status_code == 403
    # the archivist receives
    client.force_login(archivist)
    html = client.get(f"/archives/{file_a.id}/").content.decode()
    assert 'data-testid="accept-form"' in html
    assert 'data-testid="check-form"' not in html
    response = client.post(
        f"/archives/{file_a.id}/handoff/accept/",
        {"vault_location": "VAULT/ROOM1/CAB2/SHELF3/BOX4", "archive_location": "ARCHIVE/ROOM2/SHELF1"},
        follow=True,
    )
    assert response.status_code == 200
    file_a.refresh_from_db()
    assert file_a.state == State.ARCHIVED
    assert "Document stored" in response.content.decode()


def test_archivist_rejects_through_the_page(client, alice, archivist, file_a):
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    client.force_login(archivist)
    client.post(f"/archives/{file_a.id}/handoff/reject/", {"defects": "Seal missing on page 3"})
    file_a.refresh_from_db()
    assert (file_a.state, file_a.defects) == (State.COLLECTING, "Seal missing on page 3")


def test_post_only_actions(client, alice, file_a):
    client.force_login(alice)
    assert client.get(f"/archives/{file_a.id}/check/").status_code == 405


def test_nav_entry_for_staff_only(alice):
    from loanops.core.navigation import navigation_for

    assert "/archives/" in [item["url"] for item in navigation_for(alice)]
    api_user = UserFactory(role=Role.API_CLIENT)
    assert "/archives/" not in [item["url"] for item in navigation_for(api_user)]


def test_loan_panel_shows_state_and_missing_items(client, alice, file_a):
    client.force_login(alice)
    html = client.get("/loans/L-A/").content.decode()
    assert 'id="credit-file"' in html
    assert 'data-testid="credit-file-panel"' in html
    assert f"/archives/{file_a.id}/" in html
    assert "Missing document: Proof of income" in html
    assert "Contract element not confirmed: Seal" in html
