"""The inspections feed of api.md, the inspection pages and the loan page's panel."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from inspections.models import Inspection, InspectionType, SpotCheckSample
from inspections.services import inspections as svc
from inspections.tests.helpers import GOOD_REPORT, make_loan, night, on
from loanops.core.time import business_date

pytestmark = pytest.mark.django_db

URL = "/api/v1/inspections"


@pytest.fixture
def two(admin, alice, charlie):
    a = make_loan("L-A", admin=admin, officer=alice)
    b = make_loan("L-B", admin=admin, branch="BR-B", officer=charlie)
    night(date(2024, 1, 15))
    return Inspection.objects.get(loan=a), Inspection.objects.get(loan=b)


# --- API --------------------------------------------------------------------------------------


def test_feed_lists_inspections_with_the_contract_fields(api, two):
    body = api.get(URL).json()
    assert body["count"] == 2
    assert body["results"][0] == {
        "id": two[0].id, "loan_number": "L-A", "type": "first", "state": "assigned", "due_date": "2024-02-14",
        "officer": "alice",
    }  # fmt: skip


def test_feed_filters_and_rejects_bad_values(api, two):
    assert [r["loan_number"] for r in api.get(URL, {"loan_number": "L-B"}).json()["results"]] == ["L-B"]
    assert api.get(URL, {"type": "first", "state": "assigned"}).json()["count"] == 2
    assert api.get(URL, {"type": "routine"}).json()["count"] == 0
    for params in ({"type": "yearly"}, {"state": "done"}):
        response = api.get(URL, params)
        assert response.status_code == 400
        assert set(params) <= set(response.json()["errors"])


def test_feed_is_scoped_and_needs_a_token(api_a, client, two):
    assert [r["loan_number"] for r in api_a.get(URL).json()["results"]] == ["L-A"]
    assert client.get(URL).status_code == 401


# --- pages ------------------------------------------------------------------------------------


def test_my_inspections_shows_overdue_and_the_flag(client, alice, two, admin):
    other = make_loan("L-C", admin=admin, officer=alice)
    night(date(2024, 1, 16))
    client.force_login(alice)
    page = client.get("/inspections/").content.decode()
    # today is long after 2024-02-14: both first inspections are overdue → alice is flagged
    assert "L-A" in page
    assert other.number in page
    assert "L-B" not in page
    assert 'data-testid="officer-flag"' in page
    overdue = client.get("/inspections/overdue/").content.decode()
    assert 'data-testid="flag-alice"' in overdue
    assert "charlie" not in overdue


def test_detail_is_branch_scoped(client, charlie, two):
    client.force_login(charlie)
    assert client.get(f"/inspections/{two[0].id}/").status_code == 404
    assert client.get(f"/inspections/{two[1].id}/").status_code == 200


def test_the_officer_writes_and_submits_through_the_page(client, alice, two):
    inspection = two[0]
    client.force_login(alice)
    client.post(f"/inspections/{inspection.id}/start/")
    page = client.get(f"/inspections/{inspection.id}/").content.decode()
    assert 'data-testid="report-form"' in page
    # a bad value changes nothing
    client.post(f"/inspections/{inspection.id}/report/", {"collateral_estimated_value": "-1", "analysis": "x"})
    inspection.refresh_from_db()
    assert inspection.analysis == ""
    data = {k: ("true" if v is True else "false" if v is False else v) for k, v in GOOD_REPORT.items()}
    response = client.post(f"/inspections/{inspection.id}/report/", {**data, "then": "submit"})
    assert response.status_code == 302
    inspection.refresh_from_db()
    assert (inspection.state, inspection.analysis) == ("submitted", GOOD_REPORT["analysis"])
    # an attachment upload of a bad type is refused with a message, not a 500
    client.post(
        f"/inspections/{inspection.id}/attachments/", {"kind": "photo", "file": SimpleUploadedFile("x.exe", b"MZ")}
    )
    assert inspection.attachments.count() == 0


def test_queues_and_sign_off_through_the_pages(client, alice, bob, dave, two):
    inspection = two[0]
    with on(date(2024, 2, 10)):
        svc.inspection_start(inspection=inspection, acting_user=alice)
        svc.inspection_report_save(inspection=inspection, data=GOOD_REPORT, acting_user=alice)
        svc.inspection_submit(inspection=inspection, acting_user=alice)
    client.force_login(bob)
    assert client.get("/inspections/review/").status_code == 403
    client.post(f"/inspections/{inspection.id}/acknowledge/")  # before review: refused, nothing changes
    inspection.refresh_from_db()
    assert inspection.state == "submitted"
    client.force_login(dave)
    assert f"/inspections/{inspection.id}/" in client.get("/inspections/review/").content.decode()
    client.post(f"/inspections/{inspection.id}/return/", {"comments": ""})
    inspection.refresh_from_db()
    assert inspection.state == "submitted"
    client.post(f"/inspections/{inspection.id}/review/", {"comments": "Fine."})
    inspection.refresh_from_db()
    assert inspection.state == "reviewed"
    client.force_login(bob)
    assert f"/inspections/{inspection.id}/" in client.get("/inspections/acknowledge/").content.decode()
    client.post(f"/inspections/{inspection.id}/acknowledge/", {"comments": ""})
    inspection.refresh_from_db()
    assert inspection.state == "completed"
    response = client.get(f"/inspections/{inspection.id}/report.pdf")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_calendar_shows_the_month_grid(client, alice, two):
    client.force_login(alice)
    page = client.get("/inspections/calendar/", {"year": 2024, "month": 2}).content.decode()
    assert "L-A" in page
    assert "L-B" not in page
    assert client.get("/inspections/calendar/", {"year": "x", "month": 13}).status_code == 200


def test_loan_panel_and_adverse_event(client, alice, two):
    client.force_login(alice)
    page = client.get("/loans/L-A/").content.decode()
    assert 'data-testid="inspections-panel"' in page
    assert 'hx-get="/inspections/loans/L-A/panel/"' in page
    panel = client.get("/inspections/loans/L-A/panel/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="inspections-panel-content"' in panel
    assert "<html" not in panel
    assert "First" in panel
    assert 'data-testid="adverse-event-form"' in panel
    assert "<html" in client.get("/inspections/loans/L-A/panel/").content.decode()
    assert client.get("/inspections/loans/L-B/panel/").status_code == 404
    response = client.post(
        "/inspections/loans/L-A/adverse-events/",
        {"kind": "accident", "occurred_on": business_date().isoformat(), "description": "Crash"},
    )
    assert response.status_code == 302
    assert Inspection.objects.filter(loan__number="L-A", type=InspectionType.EVENT).exists()
    assert client.post("/inspections/loans/L-B/adverse-events/", {}).status_code == 404


def test_head_office_draws_and_assigns_a_sample(client, risk, alice, two):
    client.force_login(alice)
    assert client.get("/inspections/samples/").status_code == 403
    client.force_login(risk)
    response = client.post("/inspections/samples/draw/", {"rate": "0.5", "seed": "7"})
    sample = SpotCheckSample.objects.get()
    assert response.url == f"/inspections/samples/{sample.id}/"
    assert sample.items.count() == 1  # 2 loans × 50 % = 1
    page = client.get(response.url).content.decode()
    assert 'data-testid="sample-items"' in page
    client.post(f"/inspections/samples/{sample.id}/assign/")
    assert Inspection.objects.filter(type=InspectionType.SPOT_CHECK).count() == 1
    # bad input: a message, no 500, nothing changes
    assert client.post("/inspections/samples/draw/", {"rate": "abc"}).status_code == 302


def test_the_form_shows_the_saved_answers_again(client, alice, two):
    inspection = two[0]
    svc.inspection_start(inspection=inspection, acting_user=alice)
    svc.inspection_report_save(inspection=inspection, data=GOOD_REPORT, acting_user=alice)
    client.force_login(alice)
    page = client.get(f"/inspections/{inspection.id}/").content.decode()
    assert page.count('<option value="true" selected>') == sum(1 for v in GOOD_REPORT.values() if v is True)
    assert page.count('<option value="false" selected>') == 1
    assert GOOD_REPORT["analysis"] in page


def test_follow_up_tasks_from_the_page(client, alice, bob, two):
    inspection = two[0]
    client.force_login(alice)
    due = business_date().isoformat()
    client.post(f"/inspections/{inspection.id}/tasks/", {"kind": "watch_list", "description": "", "owner": bob.id})
    assert inspection.tasks.count() == 0
    data = {"kind": "watch_list", "description": "Call the dealer", "owner": bob.id, "due_date": due}
    assert client.post(f"/inspections/{inspection.id}/tasks/", data).status_code == 302
    task = inspection.tasks.get()
    client.force_login(bob)
    assert "Call the dealer" in client.get("/inspections/").content.decode()
    client.post(f"/inspections/{inspection.id}/tasks/{task.id}/done/")
    task.refresh_from_db()
    assert task.done_by == bob
