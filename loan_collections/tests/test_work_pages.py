"""The collector's day in the browser's terms: the work queue, the case page's contact and promise
forms (bad input → form errors, nothing changes), and the collectors' load for managers."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loan_collections.models import CollectionCase, ContactLog, PromiseToPay
from loan_collections.tests.helpers import make_loan, night
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")
TODAY = datetime(2024, 3, 16, 11, 0, tzinfo=MADRID)


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def clock():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def cases(admin, alice, charlie):
    a1 = make_loan("Q-1", admin=admin, officer=alice)
    a2 = make_loan("Q-2", admin=admin, officer=alice, dealer=False)
    b = make_loan("Q-B", admin=admin, branch="BR-B", officer=charlie)
    night(date(2024, 2, 16))
    night(date(2024, 3, 16))
    return [CollectionCase.objects.get(loan=loan) for loan in (a1, a2, b)]


def test_the_queue_ranks_a_promise_due_first(client, alice, cases, clock):
    # given: Q-2 has a promise due today
    PromiseToPay.objects.create(
        case=cases[1], amount="100.00", recorded_on=date(2024, 3, 10), promised_date=date(2024, 3, 16),
        recorded_by=alice,
    )  # fmt: skip
    client.force_login(alice)
    # when
    response = client.get("/collections/queue/")
    # then
    assert response.status_code == 200
    rows = response.context["page"].rows
    assert [case.loan.number for case in rows] == ["Q-2", "Q-1"]
    assert rows[0].promise_due is True
    assert "Q-B" not in response.content.decode()


def test_a_collector_cannot_open_another_collectors_queue(client, alice, cases, clock):
    client.force_login(alice)
    assert client.get("/collections/queue/", {"collector": "charlie"}).status_code in (200, 403)
    response = client.get("/collections/queue/", {"collector": "charlie"})
    # charlie is outside alice's branches: not even a valid choice, so alice sees her own queue
    assert response.context["collector"] == alice


def test_a_manager_opens_a_collectors_queue_and_sees_the_load(client, bob, alice, cases, clock):
    client.force_login(bob)
    response = client.get("/collections/queue/", {"collector": "alice"})
    assert response.status_code == 200
    assert response.context["collector"] == alice
    assert len(response.context["page"].rows) == 2
    load = client.get("/collections/load/")
    assert load.status_code == 200
    [row] = load.context["rows"]
    assert (row["collector__username"], row["open_cases"]) == ("alice", 2)


def test_a_collector_does_not_see_the_load_page(client, alice, cases):
    client.force_login(alice)
    assert client.get("/collections/load/").status_code == 403


def test_logging_a_contact_from_the_case_page(client, alice, cases, clock):
    client.force_login(alice)
    case = cases[0]
    page = client.get(f"/collections/{case.id}/")
    assert b'data-testid="contact-form"' in page.content
    response = client.post(
        f"/collections/{case.id}/contacts/",
        {"channel": "call", "party": "borrower", "outcome": "promise_to_pay", "contacted_at": "2024-03-16T10:30",
         "notes": "Will pay on Friday"},
    )  # fmt: skip
    assert response.status_code == 302
    contact = ContactLog.objects.get()
    assert (contact.by, contact.outcome, contact.notes) == (alice, "promise_to_pay", "Will pay on Friday")
    assert "Will pay on Friday" in client.get(f"/collections/{case.id}/").content.decode()


@pytest.mark.parametrize(
    "data",
    [
        {"channel": "call", "party": "borrower", "outcome": "no_answer", "contacted_at": "2024-03-16T22:30"},
        {"channel": "call", "party": "neighbour", "outcome": "no_answer", "contacted_at": "2024-03-16T10:30"},
        {"channel": "fax", "party": "borrower", "outcome": "no_answer", "contacted_at": "2024-03-16T10:30"},
        {"channel": "call", "party": "borrower", "outcome": "no_answer", "contacted_at": "yesterday"},
    ],
)
def test_bad_contacts_show_errors_and_change_nothing(client, alice, cases, clock, data):
    client.force_login(alice)
    response = client.post(f"/collections/{cases[0].id}/contacts/", data, follow=True)
    assert response.status_code == 200
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert not ContactLog.objects.exists()


def test_recording_a_promise_from_the_case_page(client, alice, cases, clock):
    client.force_login(alice)
    case = cases[0]
    response = client.post(
        f"/collections/{case.id}/promises/", {"amount": "2000.00", "promised_date": "2024-03-25"}, follow=True
    )
    assert response.status_code == 200
    promise = PromiseToPay.objects.get()
    assert (promise.state, str(promise.amount), promise.promised_date) == ("active", "2000.00", date(2024, 3, 25))
    assert b'data-testid="open-promise"' in response.content
    assert b'data-testid="promise-form"' not in response.content  # one open promise at a time


@pytest.mark.parametrize(
    "data",
    [
        {"amount": "", "promised_date": "2024-03-20"},
        {"amount": "abc", "promised_date": "2024-03-20"},
        {"amount": "100", "promised_date": "2024-05-20"},
        {"amount": "100", "promised_date": "2024-03-01"},
        {"amount": "-3", "promised_date": "2024-03-20"},
    ],
)
def test_bad_promises_show_errors_and_change_nothing(client, alice, cases, clock, data):
    client.force_login(alice)
    response = client.post(f"/collections/{cases[0].id}/promises/", data, follow=True)
    assert response.status_code == 200
    assert "error" in [m.level_tag for m in response.context["messages"]]
    assert not PromiseToPay.objects.exists()


def test_outside_the_branch_the_case_and_its_forms_are_not_found(client, alice, cases, clock):
    client.force_login(alice)
    other = cases[2]
    assert client.get(f"/collections/{other.id}/").status_code == 404
    data = {"channel": "call", "party": "borrower", "outcome": "no_answer", "contacted_at": "2024-03-16T10:30"}
    assert client.post(f"/collections/{other.id}/contacts/", data).status_code == 404
    assert not ContactLog.objects.exists()


def test_an_auditor_reads_the_case_but_gets_no_forms(client, cases, org):
    auditor = UserFactory(username="audit", role=Role.AUDITOR)
    client.force_login(auditor)
    page = client.get(f"/collections/{cases[0].id}/")
    assert page.status_code == 200
    assert b'data-testid="contact-form"' not in page.content
    data = {"channel": "call", "party": "borrower", "outcome": "no_answer", "contacted_at": "2024-03-16T10:30"}
    assert client.post(f"/collections/{cases[0].id}/contacts/", data).status_code == 403


def test_the_case_page_itemises_the_arrears_and_names_the_next_action(client, alice, cases, clock):
    # given: a follow-up asked for at the last contact, earlier than the pending letter
    case = cases[0]
    ContactLog.objects.create(
        case=case, channel="call", party="borrower", outcome="call_back", by=alice,
        contacted_at=datetime(2024, 3, 15, 10, 0, tzinfo=MADRID), follow_up_on=date(2024, 3, 16),
    )  # fmt: skip
    client.force_login(alice)
    # when
    response = client.get(f"/collections/{case.id}/")
    # then
    assert response.context["next_action"]["on"] == date(2024, 3, 16)
    assert str(response.context["next_action"]["what"]) == "Follow up the last contact"
    html = response.content.decode()
    assert 'data-testid="case-arrears"' in html
    assert "2,000.00" in html  # two installments of 1,000.00 overdue on 2024-03-16
