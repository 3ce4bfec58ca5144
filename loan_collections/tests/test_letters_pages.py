"""Letters pages: list, one letter, PDF downloads (branch scope only), the case section with the
ad-hoc letter form, delivery evidence and print batches. Alice (officer, A) / Bob (manager, A) /
Charlie (officer, B)."""

from datetime import date

import pytest

from loan_collections.models import CollectionCase, DeliveryEvidence, Letter, PrintBatch
from loan_collections.services import letters as letters_service
from loan_collections.services.letters import letters_render_all
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def letter(admin, alice, monkeypatch):
    monkeypatch.setattr(letters_service, "html_to_pdf", lambda html: b"%PDF-1.7 page test")
    monkeypatch.setattr(letters_service, "enqueue_render", lambda copies=1: None)
    loan = make_loan("PG", admin=admin, officer=alice)
    pay(loan, admin, "950.00", date(2024, 2, 15))
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    return Letter.objects.get()


def _login(client, user):
    client.force_login(user)
    return client


def test_list_shows_the_letters_of_the_users_branches(client, letter, alice, charlie, django_assert_max_num_queries):
    with django_assert_max_num_queries(30):
        response = _login(client, alice).get("/collections/letters/")
    assert response.status_code == 200
    assert letter.number in response.content.decode()
    response = _login(client, charlie).get("/collections/letters/")
    assert letter.number not in response.content.decode()


def test_list_filters_and_bad_filters(client, letter, alice):
    client = _login(client, alice)
    assert (
        letter.number
        in client.get("/collections/letters/", {"letter_type": "first_notice", "branch": "BR-A"}).content.decode()
    )
    assert letter.number not in client.get("/collections/letters/", {"state": "pending"}).content.decode()
    response = client.get("/collections/letters/", {"date_from": "2024-03-02", "date_to": "2024-03-01"})
    assert response.status_code == 200
    assert 'data-testid="filter-errors"' in response.content.decode()
    assert client.get("/collections/letters/", {"letter_type": "nonsense"}).status_code == 200


def test_pdf_is_served_only_within_branch_scope(client, letter, alice, charlie):
    response = _login(client, alice).get(f"/collections/letters/{letter.id}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert _login(client, charlie).get(f"/collections/letters/{letter.id}/pdf/").status_code == 404
    client.logout()
    assert client.get(f"/collections/letters/{letter.id}/pdf/").status_code == 302
    assert _login(client, alice).post(f"/collections/letters/{letter.id}/pdf/").status_code == 405


def test_letter_page_and_delivery_form(client, letter, alice, charlie):
    client = _login(client, alice)
    page = client.get(f"/collections/letters/{letter.id}/").content.decode()
    assert 'data-testid="delivery-form"' in page
    # invalid: nothing changes
    response = client.post(f"/collections/letters/{letter.id}/delivery/", {"channel": "pigeon"})
    assert response.status_code == 302
    assert not DeliveryEvidence.objects.exists()
    # valid
    response = client.post(
        f"/collections/letters/{letter.id}/delivery/",
        {"channel": "registered_mail", "delivered_on": "2024-03-05", "recipient_name": "Ana Ruiz",
         "tracking_number": "RR1", "acknowledgement": "signed"},
    )  # fmt: skip
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.limitation_expiry == date(2027, 3, 5)
    assert "2027-03-05" in client.get(f"/collections/letters/{letter.id}/").content.decode()
    # another branch
    assert _login(client, charlie).get(f"/collections/letters/{letter.id}/").status_code == 404
    assert _login(client, charlie).post(f"/collections/letters/{letter.id}/delivery/", {}).status_code == 404


def test_case_section_lists_letters_and_sends_an_ad_hoc_letter(client, letter, alice, charlie):
    case = CollectionCase.objects.get()
    client = _login(client, alice)
    page = client.get(f"/collections/{case.id}/").content.decode()
    assert 'data-testid="section-letters"' in page
    assert f"/collections/letters/{letter.id}/pdf/" in page
    assert 'data-testid="adhoc-letter-form"' in page
    # invalid type: nothing changes
    client.post(f"/collections/{case.id}/letters/", {"letter_type": "nonsense"})
    assert Letter.objects.count() == 1
    # valid
    response = client.post(f"/collections/{case.id}/letters/", {"letter_type": "reminder", "note": "Por favor."})
    assert response.status_code == 302
    assert Letter.objects.filter(origin="ad_hoc", letter_type="reminder", note="Por favor.").count() == 1
    # another branch
    assert (
        _login(client, charlie).post(f"/collections/{case.id}/letters/", {"letter_type": "reminder"}).status_code == 404
    )


def test_a_same_branch_user_who_is_not_the_collector_cannot_send(client, letter, org):
    other = UserFactory(username="dave", role=Role.COLLECTOR, branches=[org["a"]])
    case = CollectionCase.objects.get()
    client = _login(client, other)
    assert 'data-testid="adhoc-letter-form"' not in client.get(f"/collections/{case.id}/").content.decode()
    assert client.post(f"/collections/{case.id}/letters/", {"letter_type": "reminder"}).status_code == 403


def test_print_batch_button_and_download(client, letter, bob, charlie, org, monkeypatch):
    monkeypatch.setattr(letters_service, "htmls_to_one_pdf", lambda htmls: b"%PDF-1.7 batch")
    client = _login(client, bob)
    response = client.post("/collections/letters/batches/", {"branch": org["a"].id, "on_date": "2024-03-01"})
    assert response.status_code == 302
    batch = PrintBatch.objects.get()
    assert batch.letter_count == 1
    letters_service.print_batch_render(batch_id=batch.id)
    response = client.get(f"/collections/letters/batches/{batch.id}/pdf/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 batch"
    assert _login(client, charlie).get(f"/collections/letters/batches/{batch.id}/pdf/").status_code == 404
    # a branch outside the form's choices changes nothing
    _login(client, charlie).post("/collections/letters/batches/", {"branch": org["a"].id, "on_date": "2024-03-01"})
    assert PrintBatch.objects.count() == 1


def test_auditor_reads_but_cannot_print(client, letter, org):
    auditor = UserFactory(username="audit", role=Role.AUDITOR)
    client = _login(client, auditor)
    page = client.get("/collections/letters/").content.decode()
    assert letter.number in page
    assert 'data-testid="print-batch-form"' not in page
    assert (
        client.post("/collections/letters/batches/", {"branch": org["a"].id, "on_date": "2024-03-01"}).status_code
        == 403
    )
