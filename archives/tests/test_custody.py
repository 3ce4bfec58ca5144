"""Custody after the handoff: locations, borrowing (E28), two approvals and two custodians, returns
verified against the list, consultation, incidents, the three-signature release, the closed
archive and its retention, and the report of documents whose events do not add up."""

from datetime import date

import pytest
import time_machine
from django.db import connection

from archives.models import Area, BorrowRequest, CreditFile, CustodyEvent, FileDocument, Incident, ReleaseSignature
from archives.selectors import custody_discrepancies_for_user, destruction_list_for_user, inventory_for_user
from archives.services.custody import (
    borrow_approve,
    borrow_decline,
    borrow_release,
    borrow_request_create,
    borrow_return,
    credit_file_close,
    credit_file_release,
    file_consult,
    incident_open,
    incident_resolve,
    release_sign,
    storage_location_create,
)
from archives.tests.helpers import ARCHIVE, VAULT, archive, pay_off
from loanops.core.exceptions import Conflict, InvalidTransition, PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db

State = CreditFile.State
Kind = CustodyEvent.Kind
L2_DOCS = ["contract", "repayment_schedule"]
L1_DOCS = ["vehicle_registration"]


@pytest.fixture
def archived(file_a, alice, archivist):
    return archive(file_a, alice, archivist)


def _doc(file, code) -> FileDocument:
    return FileDocument.objects.get(file=file, code=code)


def _lend_level_two(file, alice, bob, archivist, *, on=date(2024, 3, 1), return_on=date(2024, 3, 11)):
    with time_machine.travel(on, tick=False):
        request = borrow_request_create(
            file=file, document_codes=L2_DOCS, purpose="audit", reason="", return_on=return_on, acting_user=alice
        )
        borrow_approve(request=request, acting_user=bob)
        return borrow_release(request=request, acting_user=archivist)


# --- locations --------------------------------------------------------------------------------


def test_locations_are_paths_of_room_cabinet_shelf_box(org, archivist, alice, locations):
    location = storage_location_create(
        branch=org["a"], area=Area.VAULT, room="room 5", cabinet="c1", shelf="s2", box="b3", acting_user=archivist
    )
    assert location.path == "VAULT/ROOM 5/C1/S2/B3"
    with pytest.raises(ValidationFailed) as exc:
        storage_location_create(
            branch=org["a"], area=Area.VAULT, room="ROOM 5", cabinet="C1", shelf="S2", box="B3", acting_user=archivist
        )
    assert "room" in exc.value.extra
    with pytest.raises(ValidationFailed):
        storage_location_create(branch=org["a"], area="ATTIC", room="R", acting_user=archivist)
    with pytest.raises(PermissionDenied):
        storage_location_create(branch=org["a"], area=Area.VAULT, room="R9", acting_user=alice)
    with pytest.raises(PermissionDenied):  # another branch
        storage_location_create(branch=org["b"], area=Area.VAULT, room="R9", acting_user=archivist)


def test_inventory_counts_documents_in_place_and_out(archived, alice, bob, archivist):
    rows = {row.path: row for row in inventory_for_user(user=archivist)}
    assert (rows[VAULT].in_place, rows[ARCHIVE].in_place) == (2, 8)
    _lend_level_two(archived, alice, bob, archivist)
    rows = {row.path: row for row in inventory_for_user(user=archivist, area=Area.ARCHIVE)}
    assert (rows[ARCHIVE].in_place, rows[ARCHIVE].out) == (6, 2)
    assert VAULT not in rows


# --- borrowing: E28 ---------------------------------------------------------------------------


def test_e28_level_two_borrowed_for_ten_days_is_overdue_on_the_twelfth(archived, alice, bob, archivist):
    # when: borrowed on 2024-03-01 with a 10-day term
    request = _lend_level_two(archived, alice, bob, archivist)
    # then
    assert request.state == BorrowRequest.State.ON_LOAN
    assert request.return_due == date(2024, 3, 11)
    assert not request.is_overdue(date(2024, 3, 11))
    assert request.is_overdue(date(2024, 3, 12))
    archived.refresh_from_db()
    assert archived.state == State.ON_LOAN
    contract = _doc(archived, "contract")
    assert (contract.location, contract.holder_id, contract.storage.path) == ("", alice.id, ARCHIVE)
    lent = CustodyEvent.objects.filter(file=archived, kind=Kind.LENT)
    assert lent.count() == 2
    assert set(lent.values_list("from_location", "to_holder")) == {(ARCHIVE, alice.id)}


def test_e28_level_one_with_a_single_approval_is_refused(archived, alice, bob, head, custodian, custodian2):
    with time_machine.travel(date(2024, 3, 1), tick=False):
        request = borrow_request_create(
            file=archived, document_codes=L1_DOCS, purpose="litigation", reason="Court order 12/2024",
            return_on=date(2024, 3, 4), acting_user=alice,
        )  # fmt: skip
        assert request.level == 1
        borrow_approve(request=request, acting_user=bob)
        request.refresh_from_db()
        assert request.state == BorrowRequest.State.REQUESTED
        # one approval: the vault does not release
        with pytest.raises(InvalidTransition) as exc:
            borrow_release(request=request, acting_user=custodian)
        assert "2" in exc.value.message
        # the same approver twice does not count
        with pytest.raises(Conflict):
            borrow_approve(request=request, acting_user=bob)
        # the requester cannot approve
        with pytest.raises(PermissionDenied):
            borrow_approve(request=request, acting_user=alice)
        borrow_approve(request=request, acting_user=head)
        request.refresh_from_db()
        assert request.state == BorrowRequest.State.APPROVED
        # two custodians: the first signature alone releases nothing
        borrow_release(request=request, acting_user=custodian)
        assert _doc(archived, "vehicle_registration").location == VAULT
        with pytest.raises(PermissionDenied):
            borrow_release(request=request, acting_user=custodian)
        request = borrow_release(request=request, acting_user=custodian2)
    assert request.state == BorrowRequest.State.ON_LOAN
    assert request.return_due == date(2024, 3, 4)  # 3 days
    assert request.release_first_by_id == custodian.id
    assert request.released_by_id == custodian2.id
    assert CustodyEvent.objects.filter(file=archived, kind=Kind.RELEASE_SIGNED, by=custodian).count() == 1


def test_level_one_needs_a_reason_and_at_most_three_days(archived, alice):
    with time_machine.travel(date(2024, 3, 1), tick=False), pytest.raises(ValidationFailed) as exc:
        borrow_request_create(
            file=archived, document_codes=L1_DOCS, purpose="audit", reason=" ",
            return_on=date(2024, 3, 5), acting_user=alice,
        )  # fmt: skip
    assert set(exc.value.extra) == {"reason", "return_on"}
    with time_machine.travel(date(2024, 3, 1), tick=False), pytest.raises(ValidationFailed) as exc:
        borrow_request_create(
            file=archived, document_codes=L2_DOCS, purpose="nope", reason="",
            return_on=date(2024, 3, 12), acting_user=alice,
        )  # fmt: skip
    assert set(exc.value.extra) == {"purpose", "return_on"}
    assert not BorrowRequest.objects.exists()


def test_a_file_not_archived_cannot_be_borrowed_and_a_declined_request_is_not_released(
    file_a, archived, alice, bob, archivist
):
    with time_machine.travel(date(2024, 3, 1), tick=False):
        request = borrow_request_create(
            file=archived, document_codes=L2_DOCS, purpose="audit", reason="", return_on=date(2024, 3, 5),
            acting_user=alice,
        )  # fmt: skip
        borrow_decline(request=request, reason="Use the scanned copy", acting_user=bob)
        with pytest.raises(InvalidTransition):
            borrow_release(request=request, acting_user=archivist)
    assert CustodyEvent.objects.filter(kind=Kind.BORROW_DECLINED).count() == 1


def test_return_is_verified_against_the_list_and_a_missing_document_opens_an_incident(archived, alice, bob, archivist):
    request = _lend_level_two(archived, alice, bob, archivist)
    with pytest.raises(ValidationFailed):  # not lent with this request
        borrow_return(request=request, returned_codes=["contract", "borrower_id"], acting_user=archivist)
    # when: only the contract comes back
    request, incidents = borrow_return(request=request, returned_codes=["contract"], acting_user=archivist)
    # then
    assert request.state == BorrowRequest.State.RETURNED
    contract, schedule = _doc(archived, "contract"), _doc(archived, "repayment_schedule")
    assert (contract.location, contract.holder_id) == (ARCHIVE, archivist.id)
    assert (schedule.location, schedule.holder_id, schedule.condition) == ("", None, FileDocument.Condition.LOST)
    assert [i.document_id for i in incidents] == [schedule.id]
    archived.refresh_from_db()
    assert archived.state == State.INCIDENT
    assert archived.state_before_incident == State.ARCHIVED
    # resolving: found again, back in its box, file archived
    incident_resolve(incident=incidents[0], resolution="recovered", note="Found in the audit room", acting_user=bob)
    schedule.refresh_from_db()
    archived.refresh_from_db()
    assert (schedule.location, schedule.condition) == (ARCHIVE, FileDocument.Condition.OK)
    assert archived.state == State.ARCHIVED
    assert not custody_discrepancies_for_user(user=archivist).exists()


def test_consultation_is_logged_without_moving_anything(archived, archivist, alice):
    with pytest.raises(ValidationFailed):
        file_consult(file=archived, reader="", purpose="", acting_user=archivist)
    with pytest.raises(PermissionDenied):
        file_consult(file=archived, reader="x", purpose="y", acting_user=alice)
    events = file_consult(
        file=archived, reader="Internal audit (M. Ruiz)", purpose="Quarterly review", document_codes=["contract"],
        acting_user=archivist,
    )  # fmt: skip
    assert [(e.kind, e.document.code, e.reason) for e in events] == [
        (Kind.VIEWED, "contract", "Internal audit (M. Ruiz): Quarterly review")
    ]
    assert _doc(archived, "contract").location == ARCHIVE


# --- incidents, release and the closed archive ------------------------------------------------


def test_e28_release_with_two_of_three_signatures_is_blocked(archived, alice, archivist, custodian):
    with pytest.raises(InvalidTransition):  # not paid off
        release_sign(file=archived, party="officer", acting_user=alice)
    pay_off(archived.loan)
    release_sign(file=archived, party="officer", acting_user=alice)
    release_sign(
        file=archived,
        party="borrower",
        borrower_name="Borrower L-A",
        borrower_id_document="X123",
        acting_user=custodian,
    )
    with pytest.raises(ValidationFailed) as exc:
        credit_file_release(file=archived, acting_user=custodian)
    assert exc.value.extra["signatures"] == [str(ReleaseSignature.Party.CUSTODIAN.label)]
    assert _doc(archived, "vehicle_registration").location == VAULT
    with pytest.raises(PermissionDenied):  # the officer does not sign for the custodian
        release_sign(file=archived, party="custodian", acting_user=alice)
    release_sign(file=archived, party="custodian", acting_user=custodian)
    with pytest.raises(Conflict):
        release_sign(file=archived, party="custodian", acting_user=custodian)
    # when
    file = credit_file_release(file=archived, acting_user=custodian)
    # then: level 1 is out, level 2 stays until the closed archive
    assert file.state == State.RELEASED
    registration = _doc(archived, "vehicle_registration")
    assert (registration.location, registration.holder_id, registration.released_on) == ("", None, file.released_on)
    assert _doc(archived, "contract").location == ARCHIVE
    assert CustodyEvent.objects.filter(file=archived, kind=Kind.RELEASED).count() == 2


def test_an_open_incident_blocks_release_until_resolved(archived, alice, bob, archivist, custodian):
    pay_off(archived.loan)
    for party, user in (("officer", alice), ("custodian", custodian)):
        release_sign(file=archived, party=party, acting_user=user)
    release_sign(file=archived, party="borrower", borrower_name="B", borrower_id_document="1", acting_user=alice)
    incident = incident_open(
        file=archived, document_code="vehicle_registration", kind="damaged", description="Water damage",
        acting_user=custodian,
    )  # fmt: skip
    archived.refresh_from_db()
    assert archived.state == State.INCIDENT
    with pytest.raises(InvalidTransition):
        credit_file_release(file=archived, acting_user=custodian)
    with pytest.raises(Conflict):  # one open incident per document
        incident_open(
            file=archived, document_code="vehicle_registration", kind="lost", description="x", acting_user=bob
        )
    with pytest.raises(ValidationFailed):
        incident_resolve(incident=incident, resolution="", note="", acting_user=bob)
    incident_resolve(incident=incident, resolution="replaced", note="Certified copy from the registry", acting_user=bob)
    incident.refresh_from_db()
    assert incident.resolved_by_id == bob.id
    assert not incident.is_open
    assert credit_file_release(file=archived, acting_user=custodian).state == State.RELEASED


def test_write_off_needs_someone_else_and_keeps_the_document_lost(archived, bob, archivist):
    incident = incident_open(
        file=archived, document_code="contract", kind="lost", description="Not in its box", acting_user=archivist
    )
    with pytest.raises(PermissionDenied):
        incident_resolve(incident=incident, resolution="written_off", note="Gone", acting_user=archivist)
    incident_resolve(incident=incident, resolution="written_off", note="Declared lost", acting_user=bob)
    contract = _doc(archived, "contract")
    archived.refresh_from_db()
    assert (contract.condition, contract.location, archived.state) == ("lost", "", State.ARCHIVED)
    assert Incident.objects.get().resolution == "written_off"


def test_closed_archive_and_the_destruction_list(archived, alice, archivist, custodian, locations):
    pay_off(archived.loan, on=date(2024, 12, 15))
    with pytest.raises(InvalidTransition):  # level 1 still in the vault
        credit_file_close(file=archived, location=locations["closed"], acting_user=archivist)
    for party, user in (("officer", alice), ("custodian", custodian)):
        release_sign(file=archived, party=party, acting_user=user)
    release_sign(file=archived, party="borrower", borrower_name="B", borrower_id_document="1", acting_user=alice)
    credit_file_release(file=archived, acting_user=custodian)
    with pytest.raises(ValidationFailed):  # an archive-room box is not the closed archive
        credit_file_close(file=archived, location=ARCHIVE, acting_user=archivist)
    # when
    file = credit_file_close(file=archived, location="closed/room3/shelf1", acting_user=archivist)
    # then
    assert file.state == State.CLOSED_ARCHIVE
    assert file.retention_until == date(2034, 12, 15)
    assert set(FileDocument.objects.filter(file=file, level=2, present=True).values_list("location", flat=True)) == {
        "CLOSED/ROOM3/SHELF1"
    }
    assert list(destruction_list_for_user(user=archivist, as_of=date(2034, 12, 14))) == []
    assert list(destruction_list_for_user(user=archivist, as_of=date(2034, 12, 15))) == [file]
    assert not custody_discrepancies_for_user(user=archivist).exists()


def test_a_file_without_level_one_goes_straight_to_the_closed_archive(archived, archivist, locations):
    FileDocument.objects.filter(file=archived, level=1).update(present=False, location="", holder=None)
    pay_off(archived.loan)
    assert credit_file_close(file=archived, location=locations["closed"], acting_user=archivist).state == (
        State.CLOSED_ARCHIVE
    )


# --- the custody report -----------------------------------------------------------------------


def test_documents_whose_events_do_not_add_up_are_reported(archived, alice, bob, archivist, charlie):
    _lend_level_two(archived, alice, bob, archivist)
    assert not custody_discrepancies_for_user(user=archivist).exists()
    # given: rows changed behind the register's back (raw SQL)
    contract, deed = _doc(archived, "contract"), _doc(archived, "borrower_id")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE archives_filedocument SET location = %s WHERE id = %s", [ARCHIVE, contract.id])
        cursor.execute("UPDATE archives_filedocument SET holder_id = %s WHERE id = %s", [bob.id, deed.id])
    # then
    rows = {doc.code: doc for doc in custody_discrepancies_for_user(user=archivist)}
    assert set(rows) == {"contract", "borrower_id"}
    assert (rows["contract"].expected_location, rows["contract"].expected_holder_id) == ("", alice.id)
    assert (rows["borrower_id"].expected_location, rows["borrower_id"].expected_holder_id) == (ARCHIVE, archivist.id)
    assert not custody_discrepancies_for_user(user=charlie).exists()  # branch B sees none of it
