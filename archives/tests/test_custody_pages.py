"""Custody pages: desk, scan, labels (page and PDF), locations, borrowing through the pages,
consultation, incidents, release and close, alerts and the two reports."""

from datetime import date, timedelta

import pytest
import time_machine

from archives.labels import document_label_code, file_label_code, parse_label_code
from archives.models import BorrowRequest, CreditFile, CustodyAlert, CustodyEvent, Incident, StorageLocation
from archives.services.alerts import custody_alerts_raise
from archives.services.custody import borrow_approve, borrow_release, borrow_request_create
from archives.services.files import credit_file_check, credit_file_handoff_accept, credit_file_handoff_submit
from archives.tests.helpers import ARCHIVE, archive, complete, pay_off
from loanops.core.time import business_date

pytestmark = pytest.mark.django_db

State = CreditFile.State


@pytest.fixture
def archived(file_a, alice, archivist):
    return archive(file_a, alice, archivist)


def _approved(file, alice, bob, *, codes=("contract",), return_on=None):
    request = borrow_request_create(
        file=file, document_codes=list(codes), purpose="audit", reason="",
        return_on=return_on or business_date() + timedelta(days=5), acting_user=alice,
    )  # fmt: skip
    return borrow_approve(request=request, acting_user=bob)


def test_label_codes():
    assert file_label_code(12) == "CF-000012"
    assert document_label_code(7) == "CD-000007"
    assert parse_label_code("cf-000012\n") == ("CF", 12)
    assert parse_label_code("CD 7") == ("CD", 7)
    assert parse_label_code("XX-1") is None
    assert parse_label_code("") is None


def test_scan_opens_the_right_action(client, file_a, alice, bob, archivist, charlie):
    client.force_login(archivist)
    page = client.get("/archives/scan/")
    assert 'data-testid="scan-input"' in page.content.decode()
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    code = file_label_code(file_a.id)
    # pending handoff → receive
    assert client.get("/archives/scan/", {"code": code}).url == f"/archives/{file_a.id}/?action=receive#receive"
    credit_file_handoff_accept(
        file=file_a, acting_user=archivist, locations={1: "VAULT/ROOM1/CAB2/SHELF3/BOX4", 2: ARCHIVE}
    )
    # archived, nothing requested → consult; a document's label leads to its file
    doc = file_a.documents.get(code="contract")
    assert client.get("/archives/scan/", {"code": document_label_code(doc.id)}).url.endswith("?action=consult#consult")
    # an approved request → lend
    request = _approved(file_a, alice, bob)
    assert client.get("/archives/scan/", {"code": code}).url == f"/archives/borrowing/{request.id}/#lend"
    # on loan → return
    borrow_release(request=request, acting_user=archivist)
    assert client.get("/archives/scan/", {"code": code}).url == f"/archives/borrowing/{request.id}/#return"
    # unknown, or another branch's file: stays on the scan page with a message
    response = client.get("/archives/scan/", {"code": "CF-999999"})
    assert response.status_code == 200
    assert "CF-999999" in response.content.decode()
    client.force_login(charlie)
    assert client.get("/archives/scan/", {"code": code}).status_code == 200


def test_labels_page_and_pdf(client, archived, archivist, charlie):
    client.force_login(archivist)
    html = client.get(f"/archives/{archived.id}/labels/").content.decode()
    assert file_label_code(archived.id) in html
    assert html.count("data:image/svg+xml") == 1 + archived.documents.filter(present=True).count()
    response = client.get(f"/archives/labels.pdf?file={archived.id}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    client.force_login(charlie)
    assert client.get(f"/archives/{archived.id}/labels.pdf").status_code == 404


def test_desk_shows_each_list_and_the_overdue_file(client, archived, alice, bob, archivist, charlie, file_b):
    with time_machine.travel(date(2024, 3, 1), tick=False):
        request = _approved(archived, alice, bob, return_on=date(2024, 3, 11))
        borrow_release(request=request, acting_user=archivist)
    custody_alerts_raise(as_of=date(2024, 3, 12))
    client.force_login(archivist)
    with time_machine.travel(date(2024, 3, 12), tick=False):
        html = client.get("/archives/desk/").content.decode()
    assert 'data-testid="overdue-badge"' in html
    assert "L-A" in html
    assert ARCHIVE in html
    assert "File on loan overdue" in html
    client.force_login(charlie)
    with time_machine.travel(date(2024, 3, 12), tick=False):
        html = client.get("/archives/desk/").content.decode()
    assert "L-A" not in html


def test_borrowing_through_the_pages(client, archived, alice, bob, archivist):
    # the officer asks; bad input changes nothing and gives no 500
    client.force_login(alice)
    assert 'data-testid="borrow-form"' in client.get(f"/archives/{archived.id}/").content.decode()
    bad = client.post(f"/archives/{archived.id}/borrow/", {"documents": ["contract"], "purpose": "audit"})
    assert bad.status_code == 302
    assert not BorrowRequest.objects.exists()
    too_long = client.post(
        f"/archives/{archived.id}/borrow/",
        {
            "documents": ["contract"],
            "purpose": "audit",
            "return_on": (business_date() + timedelta(days=30)).isoformat(),
        },
    )
    assert too_long.status_code == 302
    assert not BorrowRequest.objects.exists()
    response = client.post(
        f"/archives/{archived.id}/borrow/",
        {"documents": ["contract"], "purpose": "audit", "return_on": (business_date() + timedelta(days=3)).isoformat()},
    )
    request = BorrowRequest.objects.get()
    assert response.url == f"/archives/borrowing/{request.id}/"
    # the officer cannot approve or lend
    assert client.post(f"/archives/borrowing/{request.id}/approve/").status_code == 403
    assert client.post(f"/archives/borrowing/{request.id}/lend/").status_code == 403
    # the manager approves
    client.force_login(bob)
    assert 'data-testid="approve-form"' in client.get(f"/archives/borrowing/{request.id}/").content.decode()
    client.post(f"/archives/borrowing/{request.id}/approve/")
    # the archivist lends, then takes the return
    client.force_login(archivist)
    assert 'data-testid="lend-form"' in client.get(f"/archives/borrowing/{request.id}/").content.decode()
    client.post(f"/archives/borrowing/{request.id}/lend/")
    request.refresh_from_db()
    assert request.state == BorrowRequest.State.ON_LOAN
    html = client.get(f"/archives/borrowing/{request.id}/").content.decode()
    assert 'data-testid="return-form"' in html
    client.post(f"/archives/borrowing/{request.id}/return/", {"returned": []}, follow=True)
    request.refresh_from_db()
    archived.refresh_from_db()
    assert request.state == BorrowRequest.State.RETURNED
    assert archived.state == State.INCIDENT
    incident = Incident.objects.get()
    # resolve through the file page
    html = client.get(f"/archives/{archived.id}/").content.decode()
    assert f'data-testid="resolve-form-{incident.id}"' in html
    client.post(f"/archives/incidents/{incident.id}/resolve/", {"resolution": "recovered", "note": "Found"})
    archived.refresh_from_db()
    assert archived.state == State.ARCHIVED


def test_consultation_and_incident_through_the_file_page(client, archived, archivist, alice):
    client.force_login(archivist)
    client.post(f"/archives/{archived.id}/consult/", {"reader": "Auditor", "purpose": "Review", "documents": []})
    assert CustodyEvent.objects.filter(file=archived, kind=CustodyEvent.Kind.VIEWED).count() == 1
    client.post(f"/archives/{archived.id}/consult/", {"reader": "", "purpose": ""})
    assert CustodyEvent.objects.filter(file=archived, kind=CustodyEvent.Kind.VIEWED).count() == 1
    client.force_login(alice)
    assert client.post(f"/archives/{archived.id}/consult/", {"reader": "x", "purpose": "y"}).status_code == 403
    client.post(
        f"/archives/{archived.id}/incidents/", {"document": "contract", "kind": "damaged", "description": "Torn"}
    )
    archived.refresh_from_db()
    assert archived.state == State.INCIDENT


def test_release_and_close_through_the_file_page(client, archived, alice, archivist, custodian, locations):
    pay_off(archived.loan)
    client.force_login(alice)
    html = client.get(f"/archives/{archived.id}/").content.decode()
    assert 'data-testid="sign-form"' in html
    client.post(f"/archives/{archived.id}/release/sign/", {"party": "officer"})
    client.post(
        f"/archives/{archived.id}/release/sign/",
        {"party": "borrower", "borrower_name": "B", "borrower_id_document": "1"},
    )
    client.force_login(custodian)
    client.post(f"/archives/{archived.id}/release/")  # two of three: blocked
    archived.refresh_from_db()
    assert archived.state == State.ARCHIVED
    client.post(f"/archives/{archived.id}/release/sign/", {"party": "custodian"})
    client.post(f"/archives/{archived.id}/release/")
    archived.refresh_from_db()
    assert archived.state == State.RELEASED
    client.post(f"/archives/{archived.id}/close/", {"location": locations["closed"].path})
    archived.refresh_from_db()
    assert archived.state == State.CLOSED_ARCHIVE


def test_locations_page(client, org, archivist, alice, locations):
    client.force_login(archivist)
    html = client.get("/archives/locations/").content.decode()
    assert "VAULT/ROOM1/CAB2/SHELF3/BOX4" in html
    assert "VAULT/ROOM1/CAB1" not in html  # branch B
    client.post(
        "/archives/locations/",
        {"branch": org["a"].id, "area": "VAULT", "room": "r7", "cabinet": "c1", "shelf": "", "box": ""},
    )
    assert StorageLocation.objects.filter(branch=org["a"], path="VAULT/R7/C1").exists()
    client.post("/archives/locations/", {"branch": org["a"].id, "area": "VAULT", "room": ""})
    assert StorageLocation.objects.count() == 6
    client.force_login(alice)
    assert 'data-testid="location-form"' not in client.get("/archives/locations/").content.decode()
    assert client.post("/archives/locations/", {"branch": org["a"].id, "area": "VAULT", "room": "X"}).status_code == 403
    assert client.get(f"/archives/locations/{locations['vault'].id}/").status_code == 200
    assert client.get(f"/archives/locations/{locations['vault_b'].id}/").status_code == 404


def test_alerts_page_and_reports(client, archived, alice, bob, archivist):
    with time_machine.travel(date(2024, 3, 1), tick=False):
        request = _approved(archived, alice, bob, return_on=date(2024, 3, 11))
        borrow_release(request=request, acting_user=archivist)
    custody_alerts_raise(as_of=date(2024, 3, 12))
    client.force_login(alice)
    html = client.get("/archives/alerts/").content.decode()
    assert "File on loan overdue" in html
    client.post("/archives/alerts/")
    assert not CustodyAlert.objects.filter(recipient=alice, read_at__isnull=True).exists()
    assert CustodyAlert.objects.filter(recipient=archivist, read_at__isnull=True).exists()
    client.force_login(archivist)
    assert 'data-testid="no-discrepancy"' in client.get("/archives/reports/custody/").content.decode()
    assert client.get("/archives/destruction/").status_code == 200


def test_feed_reports_the_custody_states(api, archived, alice, bob, archivist):
    request = _approved(archived, alice, bob)
    borrow_release(request=request, acting_user=archivist)
    body = api.get("/api/v1/credit-files", {"state": "on_loan"}).json()
    assert [row["loan_number"] for row in body["results"]] == ["L-A"]
    documents = {doc["code"]: doc for doc in body["results"][0]["documents"]}
    assert documents["contract"]["location"] == ""  # out with the borrower
    assert documents["repayment_schedule"]["location"] == ARCHIVE
    for state in (
        "collecting",
        "officer_checked",
        "handoff_pending",
        "archived",
        "released",
        "closed_archive",
        "incident",
    ):
        assert api.get("/api/v1/credit-files", {"state": state}).status_code == 200
