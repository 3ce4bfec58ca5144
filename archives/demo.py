"""Demo data for credit-file custody: storage locations in every branch, files archived through the
real handoff, files pending handoff, files on loan (one overdue), borrowing requests waiting for
approval or for the custodian, an open incident, a consultation, and paid-off loans released and
moved to the closed archive. Runs before the demo's nightly history (which then raises the
overdue and late-handoff alerts); idempotent: a branch whose files are no longer all being
collected is left as it is."""

import random
from datetime import timedelta

from archives.models import CONTRACT_ELEMENTS, Area, BorrowRequest, CreditFile, ReleaseSignature, StorageLocation
from archives.services.custody import (
    borrow_approve,
    borrow_release,
    borrow_request_create,
    borrow_return,
    credit_file_close,
    credit_file_release,
    file_consult,
    release_sign,
    storage_location_create,
)
from archives.services.files import (
    HANDOFF_DAYS,
    credit_file_check,
    credit_file_handoff_accept,
    credit_file_handoff_submit,
    file_contract_confirm,
    file_document_mark,
)
from loanops.core.demo import LOAN_PREFIX, DemoContext, demo_step
from loanops.org.models import Role
from loans.models import Loan

State = CreditFile.State
ARCHIVED_PER_BRANCH = 6
LOCATIONS = (
    (Area.VAULT, "CAMARA-1", "ARM-A", "BAL-1", "CAJA-01"),
    (Area.ARCHIVE, "SALA-2", "ARM-B", "BAL-1", "CAJA-01"),
    (Area.ARCHIVE, "SALA-2", "ARM-B", "BAL-2", "CAJA-02"),
    (Area.CLOSED, "SOTANO", "ARM-H", "BAL-1", ""),
)


def _first(context: DemoContext, role: str, branch_code: str):
    users = context.users_with(role, branch_code)
    return users[0] if users else None


def _locations(context: DemoContext, branch, archivist) -> dict[str, StorageLocation]:
    found = {}
    for area, room, cabinet, shelf, box in LOCATIONS:
        path = StorageLocation.build_path(area, room, cabinet, shelf, box)
        location = StorageLocation.objects.filter(branch=branch, path=path).first() or storage_location_create(
            branch=branch, area=area, room=room, cabinet=cabinet, shelf=shelf, box=box, acting_user=archivist
        )
        found.setdefault(area, location)
    return found


def _in_place(file: CreditFile, codes) -> bool:
    return file.state == State.ARCHIVED and file.documents.filter(code__in=codes).exclude(location="").count() == len(
        codes
    )


def _assemble(file: CreditFile, officer, rng: random.Random) -> None:
    for doc in file.documents.all():
        if (doc.required or rng.random() < 0.5) and not doc.present:
            file_document_mark(file=file, code=doc.code, present=True, pages=rng.randint(1, 12), acting_user=officer)
    file_contract_confirm(file=file, elements=dict.fromkeys(CONTRACT_ELEMENTS, True), acting_user=officer)
    credit_file_check(file=file, acting_user=officer)


def _archive(file: CreditFile, officer, custodian, places, rng: random.Random) -> None:
    if file.state == State.COLLECTING:
        _assemble(file, officer, rng)
    file.refresh_from_db()
    if file.state == State.OFFICER_CHECKED:
        credit_file_handoff_submit(file=file, acting_user=officer)
    file.refresh_from_db()
    if file.state == State.HANDOFF_PENDING:
        credit_file_handoff_accept(
            file=file, acting_user=custodian, locations={1: places[Area.VAULT], 2: places[Area.ARCHIVE]}
        )


@demo_step(order=30)
def credit_file_custody(*, rng: random.Random, context: DemoContext) -> None:
    today = context.today
    loans = list(
        Loan.objects.filter(
            number__startswith=LOAN_PREFIX, disbursement_date__lte=today - timedelta(days=HANDOFF_DAYS + 1)
        )
        .select_related("branch", "borrower", "credit_file")
        .order_by("number")
    )
    by_branch: dict[str, list[Loan]] = {}
    for loan in loans:
        by_branch.setdefault(loan.branch.code, []).append(loan)
    archived = on_loan = 0
    for code, branch_loans in sorted(by_branch.items()):
        officer = _first(context, Role.CREDIT_OFFICER, code)
        archivist = _first(context, Role.ARCHIVIST, code)
        vault1 = _first(context, Role.VAULT_CUSTODIAN, code)
        manager = _first(context, Role.BRANCH_MANAGER, code)
        head = _first(context, Role.CREDIT_HEAD, code)
        if not all((officer, archivist, vault1, manager, head)):
            continue
        # Done once per branch: a later run (whose loan statuses may have moved on) changes nothing.
        if CreditFile.objects.filter(loan__branch__code=code).exclude(state=State.COLLECTING).exists():
            continue
        places = _locations(context, branch_loans[0].branch, archivist)
        closed = [loan for loan in branch_loans if loan.status == Loan.Status.CLOSED][:2]
        active = [loan for loan in branch_loans if loan.status == Loan.Status.ACTIVE]
        to_archive = active[:ARCHIVED_PER_BRANCH] + closed
        for loan in to_archive:
            _archive(loan.credit_file, officer, archivist, places, rng)
            archived += 1
        # two files waiting for the archivist, one checked by the officer only
        for index, loan in enumerate(active[ARCHIVED_PER_BRANCH : ARCHIVED_PER_BRANCH + 3]):
            file = loan.credit_file
            if file.state == State.COLLECTING:
                _assemble(file, officer, rng)
                file.refresh_from_db()
            if file.state == State.OFFICER_CHECKED and index < 2:
                credit_file_handoff_submit(file=file, acting_user=officer)
        files = [CreditFile.objects.get(id=loan.credit_file.id) for loan in active[:ARCHIVED_PER_BRANCH]]
        if len(files) < ARCHIVED_PER_BRANCH or BorrowRequest.objects.filter(file__in=files).exists():
            continue
        if not all(_in_place(file, ("contract", "repayment_schedule", "vehicle_registration")) for file in files):
            continue  # a checklist without these documents: nothing to lend
        on_loan += _borrowing(files, officer, archivist, manager, head, today)
        file_consult(
            file=files[5], reader=f"{head.get_full_name()} ({head.get_role_display()})",
            purpose="Revisión trimestral de expedientes", document_codes=["contract"], acting_user=archivist,
        )  # fmt: skip
        for index, loan in enumerate(closed):
            _release_and_close(loan, officer, archivist, vault1, places, close=index == 1)
    context.counts["credit_files_archived"] = archived
    context.counts["credit_files_on_loan"] = on_loan


def _borrowing(files, officer, archivist, manager, head, today) -> int:
    """File 0 on loan and overdue; 1 on loan on time; 2 level-1 with one approval of two; 3 approved,
    waiting for the custodian; 4 returned with a document missing (an open incident)."""
    level_two = ["contract", "repayment_schedule"]

    def lend(file, codes, days):
        request = borrow_request_create(
            file=file, document_codes=codes, purpose=BorrowRequest.Purpose.AUDIT, reason="Auditoría interna",
            return_on=today + timedelta(days=days), acting_user=officer,
        )  # fmt: skip
        borrow_approve(request=request, acting_user=manager)
        return borrow_release(request=request, acting_user=archivist)

    overdue = lend(files[0], level_two, 10)
    # The demo's history: this one went out two weeks ago and was due back four days ago.
    BorrowRequest.objects.filter(id=overdue.id).update(
        released_on=today - timedelta(days=14),
        requested_return_on=today - timedelta(days=4),
        return_due=today - timedelta(days=4),
    )
    lend(files[1], ["contract"], 7)
    level_one = borrow_request_create(
        file=files[2], document_codes=["vehicle_registration"], purpose=BorrowRequest.Purpose.LITIGATION,
        reason="Demanda de ejecución: el juzgado pide el original", return_on=today + timedelta(days=3),
        acting_user=officer,
    )  # fmt: skip
    borrow_approve(request=level_one, acting_user=manager)
    waiting = borrow_request_create(
        file=files[3], document_codes=level_two, purpose=BorrowRequest.Purpose.INSPECTION, reason="",
        return_on=today + timedelta(days=5), acting_user=officer,
    )  # fmt: skip
    borrow_approve(request=waiting, acting_user=head)
    returned = lend(files[4], level_two, 5)
    borrow_return(request=returned, returned_codes=["contract"], acting_user=archivist)
    return 2


def _release_and_close(loan, officer, archivist, custodian, places, *, close: bool) -> None:
    file = CreditFile.objects.get(loan=loan)
    if file.state != State.ARCHIVED:
        return
    signed = set(ReleaseSignature.objects.filter(file=file).values_list("party", flat=True))
    if "officer" not in signed:
        release_sign(file=file, party="officer", acting_user=officer)
    if "custodian" not in signed:
        release_sign(file=file, party="custodian", acting_user=custodian)
    if "borrower" not in signed:
        release_sign(
            file=file, party="borrower", borrower_name=loan.borrower.name,
            borrower_id_document=loan.borrower.external_id, acting_user=custodian,
        )  # fmt: skip
    if file.documents.filter(level=1, present=True, released_on__isnull=True).exclude(location="").exists():
        credit_file_release(file=file, acting_user=custodian)
    if close:
        credit_file_close(file=file, location=places[Area.CLOSED], acting_user=archivist)
