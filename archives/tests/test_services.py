"""Credit file custody services: opening, the officer's check, the two-signature handoff, the
state machine, the append-only register and the nightly step."""

import importlib
from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction

from archives.checklist import DEFAULT_CHECKLIST
from archives.models import ChecklistItem, CreditFile, CustodyEvent, FileDocument
from archives.services.files import (
    TRANSITIONS,
    credit_file_check,
    credit_file_handoff_accept,
    credit_file_handoff_reject,
    credit_file_handoff_submit,
    credit_file_open,
    credit_files_update_due,
    file_contract_confirm,
    file_document_mark,
)
from archives.tests.helpers import complete, make_loan
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import Product
from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db

State = CreditFile.State
LOCATIONS = {1: "VAULT/ROOM1/CAB2/SHELF3/BOX4", 2: "ARCHIVE/ROOM2/SHELF1/BOX9"}


def test_default_checklist_installed_by_the_data_migration():
    # given: a fresh test database has run every migration; a transactional test elsewhere in this
    # worker may have flushed the table, in which case the migration's own function is re-applied
    migration = importlib.import_module("archives.migrations.0002_default_checklist")
    if not ChecklistItem.objects.exists():
        from django.apps import apps

        migration.forwards(apps, None)
    # then
    rows = list(ChecklistItem.objects.filter(product=None).order_by("order").values_list("code", "level", "required"))
    assert rows == [(code, level, required) for code, _name, level, required in DEFAULT_CHECKLIST]
    assert {code for code, level, _r in rows if level == 1} == {"vehicle_registration", "mortgage_registration"}


def test_a_loan_created_through_the_api_gets_its_credit_file(api, default_checklist):
    # when
    response = api.put("/api/v1/loans/L-NEW", loan_body(), format="json")
    # then
    assert response.status_code == 201
    file = CreditFile.objects.get(loan__number="L-NEW")
    assert file.state == State.COLLECTING
    assert list(file.documents.order_by("order").values_list("code", flat=True)) == [c for c, *_ in DEFAULT_CHECKLIST]
    # replacing the loan keeps the same file
    assert api.put("/api/v1/loans/L-NEW", loan_body(), format="json").status_code == 200
    assert CreditFile.objects.filter(loan__number="L-NEW").count() == 1


def test_a_product_with_its_own_checklist_uses_it(admin, default_checklist):
    # given
    product = Product.objects.create(code="MOTO", name="Motorbike")
    ChecklistItem.objects.create(product=product, code="contract", name="Contract", level=2, order=1)
    ChecklistItem.objects.create(product=product, code="title", name="Title", level=1, order=2)
    # when
    loan = make_loan("L-M", admin=admin, product="MOTO")
    # then
    assert list(loan.credit_file.documents.values_list("code", flat=True)) == ["contract", "title"]
    # opening again changes nothing
    assert credit_file_open(loan=loan).id == loan.credit_file.id
    assert FileDocument.objects.filter(file__loan=loan).count() == 2


def test_check_lists_exactly_what_is_missing(file_a, alice):
    # given: everything but the income proof, and the seal not confirmed
    complete(file_a, alice)
    file_document_mark(file=file_a, code="income_proof", present=False, pages=0, acting_user=alice)
    file_contract_confirm(file=file_a, elements={"seal": False}, acting_user=alice)
    # when
    with pytest.raises(ValidationFailed) as exc:
        credit_file_check(file=file_a, acting_user=alice)
    # then
    assert exc.value.extra == {"documents": ["Proof of income"], "contract": ["Seal"]}
    assert exc.value.message == (
        "The file is incomplete: missing documents: Proof of income; unconfirmed contract elements: Seal."
    )
    file_a.refresh_from_db()
    assert file_a.state == State.COLLECTING


def test_check_of_a_fresh_file_lists_every_required_item(file_a, alice):
    with pytest.raises(ValidationFailed) as exc:
        credit_file_check(file=file_a, acting_user=alice)
    assert "Dealer guarantee" not in exc.value.extra["documents"]  # not required
    assert len(exc.value.extra["documents"]) == 10
    assert len(exc.value.extra["contract"]) == 7


def test_complete_file_is_checked_and_recorded(file_a, alice):
    complete(file_a, alice)
    file = credit_file_check(file=file_a, acting_user=alice)
    assert file.state == State.OFFICER_CHECKED
    assert file.checked_by_id == alice.id
    kinds = list(CustodyEvent.objects.filter(file=file_a).values_list("kind", flat=True))
    assert kinds.count(CustodyEvent.Kind.COLLECTED) == 10
    assert kinds[-1] == CustodyEvent.Kind.CHECKED


def test_two_signature_handoff(file_a, alice, archivist):
    # given
    complete(file_a, alice)
    file_document_mark(file=file_a, code="dealer_guarantee", present=True, pages=1, acting_user=alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    # the officer cannot sign the receiving side
    with pytest.raises(PermissionDenied):
        credit_file_handoff_accept(file=file_a, acting_user=alice, locations=LOCATIONS)
    # when: the archivist signs
    file = credit_file_handoff_accept(file=file_a, acting_user=archivist, locations=LOCATIONS)
    # then
    assert file.state == State.ARCHIVED
    assert file.handoff_submitted_by_id == alice.id
    assert file.handoff_accepted_by_id == archivist.id
    assert file.handed_off_on is not None
    docs = {d.code: d for d in file_a.documents.all()}
    assert docs["vehicle_registration"].location == LOCATIONS[1]
    assert docs["contract"].location == LOCATIONS[2]
    assert docs["vehicle_registration"].storage.area == "VAULT"
    assert docs["contract"].storage.path == LOCATIONS[2]
    assert docs["contract"].holder_id == archivist.id
    stored = CustodyEvent.objects.filter(file=file_a, kind=CustodyEvent.Kind.STORED)
    assert stored.count() == 11
    assert stored.filter(from_holder=alice, to_holder=archivist, by=archivist).count() == 11
    accepted = CustodyEvent.objects.get(file=file_a, kind=CustodyEvent.Kind.HANDOFF_ACCEPTED)
    assert (accepted.from_holder_id, accepted.to_holder_id) == (alice.id, archivist.id)


def test_nobody_accepts_their_own_submission(file_a, org):
    # given: a superuser archivist may both assemble and receive, but not the same handoff
    both = UserFactory(username="both", role=Role.ARCHIVIST, branches=[org["a"]], is_superuser=True)
    complete(file_a, both)
    credit_file_check(file=file_a, acting_user=both)
    credit_file_handoff_submit(file=file_a, acting_user=both)
    # when / then
    with pytest.raises(PermissionDenied, match="second signature"):
        credit_file_handoff_accept(file=file_a, acting_user=both, locations=LOCATIONS)
    with pytest.raises(PermissionDenied, match="second signature"):
        credit_file_handoff_reject(file=file_a, defects="x", acting_user=both)
    file_a.refresh_from_db()
    assert file_a.state == State.HANDOFF_PENDING
    assert not CustodyEvent.objects.filter(file=file_a, kind=CustodyEvent.Kind.STORED).exists()


def test_accept_needs_a_location_of_the_right_kind(file_a, alice, archivist):
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    with pytest.raises(ValidationFailed) as exc:
        credit_file_handoff_accept(file=file_a, acting_user=archivist, locations={1: LOCATIONS[2], 2: LOCATIONS[2]})
    assert set(exc.value.extra) == {"level_1"}
    # another branch's vault, or a box nobody registered, is no place either
    for elsewhere in ("VAULT/ROOM1/CAB1", "VAULT/NOWHERE"):
        with pytest.raises(ValidationFailed) as exc:
            credit_file_handoff_accept(file=file_a, acting_user=archivist, locations={1: elsewhere, 2: LOCATIONS[2]})
        assert set(exc.value.extra) == {"level_1"}
    file_a.refresh_from_db()
    assert file_a.state == State.HANDOFF_PENDING


def test_reject_sends_the_file_back_with_its_defects(file_a, alice, archivist):
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    with pytest.raises(ValidationFailed):
        credit_file_handoff_reject(file=file_a, defects="  ", acting_user=archivist)
    file = credit_file_handoff_reject(file=file_a, defects="Invoice page 2 unreadable", acting_user=archivist)
    assert file.state == State.COLLECTING
    assert file.defects == "Invoice page 2 unreadable"
    event = CustodyEvent.objects.get(file=file_a, kind=CustodyEvent.Kind.HANDOFF_REJECTED)
    assert (event.by_id, event.to_holder_id, event.reason) == (archivist.id, alice.id, "Invoice page 2 unreadable")
    # the officer can correct and check again
    file_document_mark(file=file_a, code="purchase_invoice", present=True, pages=3, acting_user=alice)
    assert credit_file_check(file=file_a, acting_user=alice).state == State.OFFICER_CHECKED


def test_state_machine_refusals(file_a, alice, archivist, bob):
    # nothing to submit or receive while collecting
    with pytest.raises(InvalidTransition):
        credit_file_handoff_submit(file=file_a, acting_user=alice)
    with pytest.raises(InvalidTransition):
        credit_file_handoff_accept(file=file_a, acting_user=archivist, locations=LOCATIONS)
    with pytest.raises(InvalidTransition):
        credit_file_handoff_reject(file=file_a, defects="x", acting_user=archivist)
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    # checked: no second check, no more document changes
    with pytest.raises(InvalidTransition):
        credit_file_check(file=file_a, acting_user=alice)
    with pytest.raises(InvalidTransition):
        file_document_mark(file=file_a, code="contract", present=False, pages=0, acting_user=alice)
    with pytest.raises(InvalidTransition):
        file_contract_confirm(file=file_a, elements={"seal": False}, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    with pytest.raises(InvalidTransition):
        credit_file_handoff_submit(file=file_a, acting_user=bob)
    credit_file_handoff_accept(file=file_a, acting_user=archivist, locations=LOCATIONS)
    with pytest.raises(InvalidTransition):
        credit_file_handoff_reject(file=file_a, defects="late", acting_user=archivist)
    # terminal states go nowhere; every state is in the map
    assert set(TRANSITIONS) == set(State.values)
    assert TRANSITIONS[State.RELEASED] == {State.CLOSED_ARCHIVE}
    assert TRANSITIONS[State.CLOSED_ARCHIVE] == frozenset()


def test_roles_and_branches_are_enforced(file_a, file_b, alice, archivist, charlie, org):
    # an archivist does not assemble; an auditor does nothing
    with pytest.raises(PermissionDenied):
        file_document_mark(file=file_a, code="contract", present=True, pages=1, acting_user=archivist)
    auditor = UserFactory(username="audrey", role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        credit_file_check(file=file_a, acting_user=auditor)
    # another branch's file is out of reach
    with pytest.raises(PermissionDenied):
        file_document_mark(file=file_b, code="contract", present=True, pages=1, acting_user=alice)
    with pytest.raises(PermissionDenied):
        file_document_mark(file=file_a, code="contract", present=True, pages=1, acting_user=charlie)
    # unknown documents, elements and page counts are refused
    with pytest.raises(ValidationFailed):
        file_document_mark(file=file_a, code="nope", present=True, pages=1, acting_user=alice)
    with pytest.raises(ValidationFailed):
        file_document_mark(file=file_a, code="contract", present=True, pages=0, acting_user=alice)
    with pytest.raises(ValidationFailed):
        file_contract_confirm(file=file_a, elements={"colour": True}, acting_user=alice)


def test_custody_events_are_append_only(file_a, alice):
    # given
    file_document_mark(file=file_a, code="contract", present=True, pages=4, acting_user=alice)
    event = CustodyEvent.objects.get(file=file_a)
    # when / then: neither UPDATE nor DELETE gets through, even in raw SQL
    for sql in (
        "UPDATE archives_custodyevent SET reason = 'edited' WHERE id = %s",
        "DELETE FROM archives_custodyevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.id])
    with pytest.raises(DatabaseError), transaction.atomic():
        CustodyEvent.objects.filter(id=event.id).update(reason="edited")
    event.refresh_from_db()
    assert event.reason == ""


def test_nightly_step_opens_missing_files_and_is_idempotent(admin, default_checklist):
    from loanops.core.nightly import nightly_steps

    # given: two loans whose files are missing (created before the app, or by a path without signal)
    loans = [make_loan("L-1", admin=admin), make_loan("L-2", admin=admin)]
    FileDocument.objects.filter(file__loan__in=loans).delete()
    CreditFile.objects.filter(loan__in=loans).delete()
    step = next(step for step in nightly_steps() if step.name == "archives.open_missing")
    assert step.order == 30
    # when
    changed = step.func(as_of=date(2024, 1, 20))
    # then
    assert changed == 2
    assert FileDocument.objects.filter(file__loan__in=loans).count() == 2 * len(DEFAULT_CHECKLIST)
    assert step.func(as_of=date(2024, 1, 20)) == 0


def test_files_not_handed_off_within_7_days_are_flagged_once(file_a, file_b, alice, archivist):
    # given: disbursed 2024-01-15; file A is handed off, file B is not
    complete(file_a, alice)
    credit_file_check(file=file_a, acting_user=alice)
    credit_file_handoff_submit(file=file_a, acting_user=alice)
    credit_file_handoff_accept(file=file_a, acting_user=archivist, locations=LOCATIONS)
    # then: day 7 is still in time, day 8 is late, and a second run changes nothing
    assert credit_files_update_due(as_of=date(2024, 1, 22)) == 0
    assert credit_files_update_due(as_of=date(2024, 1, 23)) == 1
    assert credit_files_update_due(as_of=date(2024, 1, 23)) == 0
    assert list(CreditFile.objects.filter(flagged_late=True).values_list("loan__number", flat=True)) == ["L-B"]
