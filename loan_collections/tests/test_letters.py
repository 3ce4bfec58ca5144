"""Collection letters: the outbox written by the nightly step, numbering, the frozen content
(E26), rendering, print batches, delivery evidence and the limitation period."""

from datetime import date
from decimal import Decimal

import pytest

from loan_collections.letters import install_default_wording, limitation_expiry, mask_id
from loan_collections.models import CollectionCase, DeliveryEvidence, Letter, LetterTemplate, PrintBatch, Stage
from loan_collections.services import letters as letters_service
from loan_collections.services.letters import (
    letter_delivery_record,
    letter_html,
    letter_request,
    letter_retry,
    letters_issue_due,
    letters_render_all,
    letters_render_due,
    print_batch_create,
    print_batch_render,
    print_batches_create_due,
)
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.nightly import run_nightly
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.services.sweep import delinquency_sweep

pytestmark = pytest.mark.django_db

FAKE_PDF = b"%PDF-1.7 fake letter"


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


@pytest.fixture
def fake_pdf(monkeypatch):
    """WeasyPrint is the edge: service tests check HTML and state, one smoke test renders for real."""
    calls = []

    def fake(html):
        calls.append(html)
        return FAKE_PDF

    monkeypatch.setattr(letters_service, "html_to_pdf", fake)
    monkeypatch.setattr(letters_service, "htmls_to_one_pdf", lambda htmls: FAKE_PDF + str(len(htmls)).encode())
    return calls


def _e06(admin, officer=None, number="E06", **kwargs):
    loan = make_loan(number, admin=admin, officer=officer, **kwargs)
    pay(loan, admin, "950.00", date(2024, 2, 15))
    return loan


# --- outbox ------------------------------------------------------------------------------------


def test_entering_first_letter_writes_one_pending_first_notice(admin):
    # given: E06 reaches 15 days past due on 2024-03-01
    loan = _e06(admin)
    night(date(2024, 2, 16))
    assert not Letter.objects.exists()  # phone reminder: no letter
    # when
    night(date(2024, 3, 1))
    # then
    letter = Letter.objects.get()
    assert (letter.case.loan_id, letter.stage, letter.letter_type, letter.recipient, letter.origin, letter.state) == (
        loan.id, Stage.FIRST_LETTER, "first_notice", "borrower", "ladder", "pending",
    )  # fmt: skip
    assert (letter.requested_on, letter.number, letter.branch.code) == (date(2024, 3, 1), None, "BR-A")


def test_running_the_night_twice_creates_no_second_letter(admin):
    # given
    _e06(admin)
    run_nightly(as_of=date(2024, 3, 1))
    assert Letter.objects.count() == 1
    # when: the sweep twice, the beat twice
    run_nightly(as_of=date(2024, 3, 1))
    delinquency_sweep(as_of=date(2024, 3, 1))
    run_nightly(as_of=date(2024, 3, 1))
    # then
    assert Letter.objects.count() == 1


def test_a_case_stepping_down_and_up_again_gets_no_second_letter_for_the_stage(admin):
    # given: first letter on 03-01 (DPD 15)
    loan = make_loan("UPDOWN", admin=admin, dealer=False)
    night(date(2024, 3, 1))
    night(date(2024, 3, 16))  # DPD 30 -> second letter
    assert set(Letter.objects.values_list("stage", flat=True)) == {"first_letter", "second_letter"}
    # when: a payment clears #1 (DPD 2: phone reminder), then DPD 15 again enters the first letter
    pay(loan, admin, "1000.00", date(2024, 3, 17))
    night(date(2024, 3, 17))
    night(date(2024, 3, 30))
    case = CollectionCase.objects.get(loan=loan)
    assert case.stage == Stage.FIRST_LETTER
    # then
    assert Letter.objects.filter(stage="first_letter").count() == 1


def test_stage_letters_by_recipient(admin):
    # given: a dealer loan with insurance and one without either
    dealer_loan = make_loan("DI", admin=admin, insurer=True)
    plain_loan = make_loan("PL", admin=admin, dealer=False)
    # when: E11 (DPD 60, final demand) then E12 (3/6: enforcement)
    night(date(2024, 3, 16))
    night(date(2024, 4, 15))
    night(date(2024, 4, 16))

    # then
    def kinds(loan):
        return set(Letter.objects.filter(case__loan=loan).values_list("stage", "letter_type", "recipient"))

    assert kinds(dealer_loan) == {
        ("dealer_advance_request", "dealer_advance_notice", "dealer"),
        ("final_demand", "final_demand", "borrower"),
        ("enforcement", "acceleration_notice", "borrower"),
        ("enforcement", "guarantee_call", "dealer"),
        ("enforcement", "insurer_claim_notice", "insurer"),
    }
    assert kinds(plain_loan) == {
        ("second_letter", "second_notice", "borrower"),
        ("final_demand", "final_demand", "borrower"),
        ("enforcement", "acceleration_notice", "borrower"),
    }


def test_outbox_enqueues_rendering_after_commit(admin, monkeypatch, django_capture_on_commit_callbacks):
    # given
    enqueued = []
    monkeypatch.setattr(letters_service, "enqueue_render", lambda copies=1: enqueued.append(copies))
    _e06(admin)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        night(date(2024, 3, 1))
    # then
    assert enqueued == [1]


# --- issue: numbers and the frozen content (E26) -------------------------------------------------


def test_e26_first_notice_deadline_and_itemisation(admin, alice, fake_pdf):
    # given: E06-like data as of 2024-03-01, an English-speaking borrower
    loan = _e06(admin, officer=alice)
    loan.borrower.language = "en"
    loan.borrower.national_id = "X1234567"
    loan.borrower.save(update_fields=["language", "national_id"])
    night(date(2024, 3, 1))
    # when: issued on 2024-03-01
    letters_render_due(today=date(2024, 3, 1))
    # then
    letter = Letter.objects.get()
    s = letter.snapshot
    assert (letter.state, letter.number, letter.issued_on, letter.deadline_on, letter.language) == (
        "rendered", "BR-A-2024-000001", date(2024, 3, 1), date(2024, 3, 11), "en",
    )  # fmt: skip
    assert s["deadline_on"] == "2024-03-11"
    assert s["amounts"] == {
        "overdue_principal": "50.00", "overdue_interest": "0.00", "overdue_fees": "0.00", "overdue_total": "50.00",
        "outstanding_principal": "9950.00", "amount_due": "50.00",
    }  # fmt: skip
    assert (s["as_of"], s["days_past_due"], s["overdue_installments"]) == ("2024-03-01", 15, 1)
    assert s["overdue_lines"] == [{"number": 1, "due_date": "2024-02-15", "unpaid": "50.00"}]
    assert s["borrower"]["masked_id"] == "****4567"
    assert s["contract"]["number"] == "E06"
    assert s["collateral"] == []
    assert s["officer"]["name"] in {"alice", alice.get_full_name()}
    # the printed letter
    html = fake_pdf[0]
    assert "2024-03-11" in html
    assert "BR-A-2024-000001" in html
    for figure in ("50.00 EUR", "0.00 EUR", "9,950.00 EUR"):
        assert figure in html
    assert "Notice of overdue payment" in html
    assert "X1234567" not in html


def test_spanish_borrower_gets_spanish_wording_and_number_format(admin, fake_pdf):
    # given: the default borrower language is es
    _e06(admin)
    night(date(2024, 3, 1))
    # when
    letters_render_due(today=date(2024, 3, 1))
    # then
    html = fake_pdf[0]
    assert 'lang="es"' in html
    assert "Requerimiento de pago" in html
    assert "9\xa0950,00 EUR" in html  # Django's Spanish grouping: a non-breaking space
    assert "2024-03-11" in html


def test_wording_edited_by_an_administrator_is_used_and_frozen(admin, fake_pdf):
    # given: the migration's wording rows (a transactional test elsewhere may have flushed them)
    install_default_wording(LetterTemplate)
    LetterTemplate.objects.filter(letter_type="first_notice", language="es").update(
        title="Aviso editado", opening="Hola {borrower}, pague {total_due} antes del {deadline}."
    )
    loan = _e06(admin)
    night(date(2024, 3, 1))
    # when
    letters_render_due(today=date(2024, 3, 1))
    LetterTemplate.objects.filter(letter_type="first_notice", language="es").update(title="Otra vez editado")
    # then: the letter keeps the wording of its issue
    letter = Letter.objects.get()
    assert letter.snapshot["wording"]["title"] == "Aviso editado"
    assert letter.snapshot["wording"]["opening"] == f"Hola {loan.borrower.name}, pague 50,00 EUR antes del 2024-03-11."
    assert "Aviso editado" in letter_html(letter.snapshot)


def test_numbers_are_gapless_per_branch_and_year(admin, fake_pdf):
    # given: three loans in branch A, one in B, entering the first letter the same night
    for number in ("A1", "A2", "A3"):
        _e06(admin, number=number)
    _e06(admin, number="B1", branch="BR-B")
    night(date(2024, 3, 1))
    # when: issued in chunks of two
    while letters_issue_due(today=date(2024, 3, 1), batch_size=2):
        pass
    # then
    numbers = sorted(Letter.objects.values_list("number", flat=True))
    assert numbers == ["BR-A-2024-000001", "BR-A-2024-000002", "BR-A-2024-000003", "BR-B-2024-000001"]
    # a new year starts again at 1
    letter_request(case=CollectionCase.objects.get(loan__number="A1"), letter_type="reminder", acting_user=admin)
    letters_issue_due(today=date(2025, 1, 2))
    assert Letter.objects.filter(origin="ad_hoc").get().number == "BR-A-2025-000001"


def test_a_claimed_letter_is_skipped_by_another_worker(admin, fake_pdf):
    # given: a letter already rendered (claim taken and finished)
    _e06(admin)
    night(date(2024, 3, 1))
    assert letters_render_due(today=date(2024, 3, 1)) == 1
    # when: another worker comes along
    handled = letters_render_due(today=date(2024, 3, 1))
    # then: nothing to do, one PDF
    assert handled == 0
    assert len(fake_pdf) == 1


def test_guarantee_call_claims_the_buy_back_price(admin, fake_pdf):
    # given: E12/E34, nothing paid, dealer loan
    make_loan("E34", admin=admin)
    night(date(2024, 4, 16))
    # when
    letters_render_all(today=date(2024, 4, 16))
    # then: unpaid principal + past-due interest = 10,800 + 300
    call = Letter.objects.get(letter_type="guarantee_call")
    assert call.snapshot["amounts"]["amount_due"] == "11100.00"
    assert call.snapshot["recipient"] == {"kind": "dealer", "name": "Autos Norte", "address": ""}
    assert call.snapshot["wording"]["legal_basis"]
    assert Letter.objects.get(letter_type="acceleration_notice").snapshot["amounts"]["amount_due"] == "11100.00"


def test_a_failing_letter_is_retried_then_marked_failed_never_lost(admin, monkeypatch, alice):
    # given
    def broken(html):
        raise RuntimeError("font missing")

    monkeypatch.setattr(letters_service, "html_to_pdf", broken)
    _e06(admin, officer=alice)
    night(date(2024, 3, 1))
    # when
    letters_render_all(today=date(2024, 3, 1))
    # then
    letter = Letter.objects.get()
    assert (letter.state, letter.attempts, letter.number) == ("failed", 5, "BR-A-2024-000001")
    assert "font missing" in letter.last_error
    # and a person puts it back; its number is kept
    monkeypatch.setattr(letters_service, "html_to_pdf", lambda html: FAKE_PDF)
    letter_retry(letter=letter, acting_user=alice)
    letters_render_all(today=date(2024, 3, 2))
    letter.refresh_from_db()
    assert (letter.state, letter.number, letter.issued_on) == ("rendered", "BR-A-2024-000001", date(2024, 3, 1))
    with pytest.raises(InvalidTransition):
        letter_retry(letter=letter, acting_user=alice)


def test_real_pdf_smoke(admin):
    # given
    _e06(admin)
    night(date(2024, 3, 1))
    # when: WeasyPrint for real
    letters_render_due(today=date(2024, 3, 1))
    # then
    letter = Letter.objects.get()
    content = letter.pdf.read()
    assert content.startswith(b"%PDF")
    assert letter.pdf.name == "letters/BR-A/2024/BR-A-2024-000001.pdf"
    import hashlib

    assert letter.pdf_sha256 == hashlib.sha256(content).hexdigest()


# --- ad-hoc letters ----------------------------------------------------------------------------


def test_collector_sends_an_ad_hoc_reminder(admin, alice, bob, charlie):
    # given
    _e06(admin, officer=alice)
    night(date(2024, 2, 16))
    case = CollectionCase.objects.get()
    # when
    letter = letter_request(case=case, letter_type="reminder", note="As agreed on the phone.", acting_user=alice)
    # then
    assert (letter.origin, letter.letter_type, letter.recipient, letter.requested_by_id, letter.state) == (
        "ad_hoc", "reminder", "borrower", alice.id, "pending",
    )  # fmt: skip
    letter_request(case=case, letter_type="reminder", acting_user=bob)  # a supervisor, again: a separate row
    assert Letter.objects.filter(case=case).count() == 2
    with pytest.raises(PermissionDenied):
        letter_request(case=case, letter_type="reminder", acting_user=charlie)


def test_ad_hoc_letter_validation(admin, alice):
    # given: a loan without dealer nor insurer
    make_loan("ND", admin=admin, dealer=False, officer=alice)
    night(date(2024, 2, 16))
    case = CollectionCase.objects.get()
    # when / then
    with pytest.raises(ValidationFailed) as error:
        letter_request(case=case, letter_type="guarantee_call", acting_user=alice)
    assert "letter_type" in error.value.extra
    with pytest.raises(ValidationFailed):
        letter_request(case=case, letter_type="nonsense", acting_user=alice)
    assert not Letter.objects.exists()


def test_auditor_cannot_request(admin, alice, org):
    _e06(admin, officer=alice)
    night(date(2024, 2, 16))
    auditor = UserFactory(username="audit", role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        letter_request(case=CollectionCase.objects.get(), letter_type="reminder", acting_user=auditor)


# --- print batches -----------------------------------------------------------------------------


def test_daily_print_batch_per_branch(admin, fake_pdf):
    # given: two letters in A, one in B, issued on 03-01
    for number in ("A1", "A2"):
        _e06(admin, number=number)
    _e06(admin, number="B1", branch="BR-B")
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    # when
    created = print_batches_create_due(on_date=date(2024, 3, 1))
    # then: one batch per branch, and a second run creates none
    assert created == 2
    assert print_batches_create_due(on_date=date(2024, 3, 1)) == 0
    batch = PrintBatch.objects.get(branch__code="BR-A")
    assert (batch.letter_count, batch.state, batch.sequence) == (2, "pending", 1)
    assert print_batch_render(batch_id=batch.id) is True
    assert print_batch_render(batch_id=batch.id) is False  # claim already taken
    batch.refresh_from_db()
    assert batch.state == "rendered"
    assert batch.pdf.read() == FAKE_PDF + b"2"


def test_print_batch_scope(admin, charlie, fake_pdf, org):
    _e06(admin)
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    with pytest.raises(PermissionDenied):
        print_batch_create(branch=org["a"], on_date=date(2024, 3, 1), acting_user=charlie)
    assert print_batch_create(branch=org["b"], on_date=date(2024, 3, 1), acting_user=charlie) is None


def test_real_print_batch_smoke(admin):
    for number in ("A1", "A2"):
        _e06(admin, number=number)
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    batch = print_batch_create(branch=Letter.objects.first().branch, on_date=date(2024, 3, 1))
    print_batch_render(batch_id=batch.id)
    batch.refresh_from_db()
    assert batch.pdf.read().startswith(b"%PDF")


# --- delivery evidence and the limitation period -------------------------------------------------


def test_delivery_evidence_restarts_the_limitation_period(admin, alice, fake_pdf):
    # given
    _e06(admin, officer=alice)
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    letter = Letter.objects.get()
    # when: returned first, then delivered with a signature
    letter_delivery_record(
        letter=letter, channel="registered_mail", delivered_on=date(2024, 3, 4), recipient_name="—",
        acknowledgement="returned", tracking_number="RR123", acting_user=alice, today=date(2024, 3, 10),
    )  # fmt: skip
    letter.refresh_from_db()
    assert letter.limitation_expiry is None
    letter_delivery_record(
        letter=letter, channel="registered_mail", delivered_on=date(2024, 3, 6), recipient_name="Ana Ruiz",
        acknowledgement="signed", tracking_number="RR124", acting_user=alice, today=date(2024, 3, 10),
    )  # fmt: skip
    # then
    letter.refresh_from_db()
    assert letter.limitation_expiry == date(2027, 3, 6)
    assert DeliveryEvidence.objects.filter(letter=letter).count() == 2


def test_delivery_evidence_validation(admin, alice, charlie, fake_pdf):
    _e06(admin, officer=alice)
    night(date(2024, 3, 1))
    letters_render_all(today=date(2024, 3, 1))
    letter = Letter.objects.get()
    with pytest.raises(ValidationFailed) as error:
        letter_delivery_record(
            letter=letter, channel="pigeon", delivered_on=date(2024, 2, 1), recipient_name=" ",
            acknowledgement="signed", acting_user=alice, today=date(2024, 3, 10),
        )  # fmt: skip
    assert set(error.value.extra) == {"channel", "delivered_on", "recipient_name"}
    with pytest.raises(PermissionDenied):
        letter_delivery_record(
            letter=letter, channel="post", delivered_on=date(2024, 3, 2), recipient_name="x",
            acknowledgement="signed", acting_user=charlie, today=date(2024, 3, 10),
        )  # fmt: skip
    assert not DeliveryEvidence.objects.exists()


def test_pure_helpers():
    assert mask_id("X1234567") == "****4567"
    assert mask_id("") == ""
    assert mask_id("AB") == "***B"
    assert limitation_expiry(date(2024, 2, 29)) == date(2027, 2, 28)
    assert limitation_expiry(date(2024, 3, 6)) == date(2027, 3, 6)
    assert Decimal("1") == Decimal("1.00")


def test_default_wording_covers_every_type_in_both_languages():
    # given / when: the data migration's rows (installed again if a flush removed them)
    install_default_wording(LetterTemplate)
    # then
    from loan_collections.models import LetterType

    rows = LetterTemplate.objects.all()
    assert {(row.letter_type, row.language) for row in rows} == {
        (t, lang) for t in LetterType.values for lang in ("es", "en")
    }
    assert all(row.title and row.opening and row.rights and row.payment_channels for row in rows)
    assert all(row.legal_basis for row in rows if row.letter_type in {"final_demand", "guarantee_call"})
    assert install_default_wording(LetterTemplate) == 0  # never overwrites


def test_sweeper_re_enqueues_only_while_work_is_pending(admin, monkeypatch, fake_pdf):
    # given: a pending letter whose enqueue was lost (Redis down at commit)
    from loan_collections import tasks

    enqueued, batches = [], []
    monkeypatch.setattr(letters_service, "enqueue_render", lambda copies=1: enqueued.append(copies))
    monkeypatch.setattr(tasks.render_print_batch, "apply_async", lambda args, **kw: batches.append(args))
    _e06(admin)
    night(date(2024, 3, 1))
    # when / then
    assert letters_service.letters_sweep() == {"letters": 1, "batches": 0}
    assert enqueued == [1]
    letters_render_all(today=date(2024, 3, 1))
    print_batches_create_due(on_date=date(2024, 3, 1))
    assert letters_service.letters_sweep() == {"letters": 0, "batches": 1}
    assert enqueued == [1]
    assert batches == [[PrintBatch.objects.get().id]]  # (the on-commit enqueue does not run inside a test transaction)
