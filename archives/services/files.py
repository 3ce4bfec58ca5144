"""Credit file custody: opening, assembly by the officer, the officer's check and the two-signature
handoff to the archivist / vault custodian (domain-research.md §8.2–8.3). Every movement writes a
`CustodyEvent` in the same transaction."""

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from archives.models import (
    AREA_FOR_LEVEL,
    CONTRACT_ELEMENTS,
    Area,
    ChecklistItem,
    CreditFile,
    CustodyEvent,
    FileDocument,
    Level,
    StorageLocation,
)
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Role
from loanops.org.scoping import for_user
from loans.models import Loan

State = CreditFile.State

# The custody state machine (domain-research.md §8.3). Level-1 documents are released on payoff
# (released), then level 2 goes to the closed archive; an incident returns to the state it
# interrupted once resolved. Borrowing, incidents and release live in services/custody.py.
TRANSITIONS: dict[str, frozenset[str]] = {
    State.COLLECTING: frozenset({State.OFFICER_CHECKED, State.INCIDENT}),
    State.OFFICER_CHECKED: frozenset({State.HANDOFF_PENDING, State.COLLECTING, State.INCIDENT}),
    State.HANDOFF_PENDING: frozenset({State.ARCHIVED, State.COLLECTING, State.INCIDENT}),
    State.ARCHIVED: frozenset({State.ON_LOAN, State.RELEASED, State.CLOSED_ARCHIVE, State.INCIDENT}),
    State.ON_LOAN: frozenset({State.ARCHIVED, State.INCIDENT}),
    State.INCIDENT: frozenset(
        {State.COLLECTING, State.OFFICER_CHECKED, State.HANDOFF_PENDING, State.ARCHIVED, State.ON_LOAN}
    ),
    State.RELEASED: frozenset({State.CLOSED_ARCHIVE}),
    State.CLOSED_ARCHIVE: frozenset(),
}

HANDOFF_DAYS = 7  # FILE_HANDOFF_DAYS: calendar days after disbursement
ASSEMBLER_ROLES = frozenset({Role.CREDIT_OFFICER, Role.CREDIT_HEAD, Role.BRANCH_MANAGER})
CUSTODIAN_ROLES = frozenset({Role.ARCHIVIST, Role.VAULT_CUSTODIAN})
OPEN_BATCH = 1000


# --- permission helpers (pages decide which forms to show with these) --------------------------


def can_assemble_file(user) -> bool:
    """Completing the file, confirming the contract, the check and submitting the handoff."""
    if not user.is_authenticated or user.is_read_only:
        return False
    return user.is_superuser or user.role in ASSEMBLER_ROLES


def can_receive_handoff(user) -> bool:
    """Only the archivist or the vault custodian signs the receiving side of the register."""
    return user.is_authenticated and not user.is_read_only and user.role in CUSTODIAN_ROLES


# --- helpers ----------------------------------------------------------------------------------


def _event(*, file: CreditFile, kind: str, by, document: FileDocument | None = None, **fields) -> CustodyEvent:
    return CustodyEvent.objects.create(file=file, document=document, kind=kind, by=by, at=timezone.now(), **fields)


def _lock(file: CreditFile, acting_user) -> CreditFile:
    locked = (
        for_user(CreditFile.objects.all(), acting_user)
        .select_for_update(of=("self",))
        .select_related("loan")
        .filter(id=file.id)
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("The credit file is outside your branches."))
    return locked


def _transition(file: CreditFile, to: str, *, extra_fields: Iterable[str] = ()) -> None:
    if to not in TRANSITIONS.get(file.state, frozenset()):
        raise InvalidTransition(
            _("A credit file cannot go from “%(from)s” to “%(to)s”.")
            % {"from": State(file.state).label, "to": State(to).label},
            extra={"state": [file.state]},
        )
    file.state = to
    file.updated_at = timezone.now()
    file.save(update_fields=["state", "updated_at", *extra_fields])


def _require_state(file: CreditFile, state: str, message: str) -> None:
    if file.state != state:
        raise InvalidTransition(message, extra={"state": [file.state]})


def _require_assembler(user) -> None:
    if not can_assemble_file(user):
        raise PermissionDenied(
            _("Only the credit officer, the department head or the branch manager assembles a file.")
        )


def checklist_for_product(product_id: int, items: list[ChecklistItem] | None = None) -> list[ChecklistItem]:
    """The product's own checklist, or the default one when it has none. ITEMS: every checklist
    item, already loaded (set-based callers), else they are read."""
    if items is None:
        items = list(ChecklistItem.objects.filter(Q(product_id=product_id) | Q(product__isnull=True)))
    own = [item for item in items if item.product_id == product_id]
    return own or [item for item in items if item.product_id is None]


def _documents_for(file_id: int, checklist: list[ChecklistItem]) -> list[FileDocument]:
    return [
        FileDocument(
            file_id=file_id, code=item.code, name=item.name, level=item.level, required=item.required, order=item.order
        )
        for item in checklist
    ]


# --- opening ----------------------------------------------------------------------------------


@transaction.atomic
def credit_file_open(*, loan: Loan) -> CreditFile:
    """The loan's credit file with its checklist documents; opening twice changes nothing."""
    file, created = CreditFile.objects.get_or_create(loan=loan)
    if created:
        FileDocument.objects.bulk_create(
            _documents_for(file.id, checklist_for_product(loan.product_id)), ignore_conflicts=True
        )
    return file


def credit_files_open_missing(*, batch_size: int = OPEN_BATCH) -> int:
    """Open a file for every loan without one (loans created before the app or by any path
    that skipped the signal). Set-based and idempotent; returns how many files were opened."""
    opened = 0
    all_items = list(ChecklistItem.objects.all())
    while True:
        missing = list(
            Loan.objects.filter(~Exists(CreditFile.objects.filter(loan_id=OuterRef("id"))))
            .order_by("id")
            .values_list("id", "product_id")[:batch_size]
        )
        if not missing:
            return opened
        with transaction.atomic():
            CreditFile.objects.bulk_create(
                [CreditFile(loan_id=loan_id) for loan_id, _p in missing], ignore_conflicts=True
            )
            product_by_loan = dict(missing)
            files = CreditFile.objects.filter(loan_id__in=product_by_loan).values_list("id", "loan_id")
            documents = []
            for file_id, loan_id in files:
                documents += _documents_for(file_id, checklist_for_product(product_by_loan[loan_id], all_items))
            FileDocument.objects.bulk_create(documents, ignore_conflicts=True)
        opened += len(missing)


def credit_files_flag_late(*, as_of: date) -> int:
    """Flag the files not handed off within HANDOFF_DAYS of disbursement; returns the rows flagged."""
    return CreditFile.objects.filter(
        flagged_late=False,
        handed_off_on__isnull=True,
        loan__disbursement_date__lt=as_of - timedelta(days=HANDOFF_DAYS),
    ).update(flagged_late=True, updated_at=timezone.now())


def credit_files_update_due(*, as_of: date) -> int:
    """The nightly step: open missing files, then flag late ones. Running it twice changes nothing."""
    return credit_files_open_missing() + credit_files_flag_late(as_of=as_of)


# --- assembly by the officer ------------------------------------------------------------------


@transaction.atomic
def file_document_mark(*, file: CreditFile, code: str, present: bool, pages: int, acting_user) -> FileDocument:
    """Tick (or untick) one document of the checklist while the file is being collected."""
    _require_assembler(acting_user)
    file = _lock(file, acting_user)
    _require_state(file, State.COLLECTING, _("Documents can only be changed while the file is being collected."))
    document = FileDocument.objects.select_for_update().filter(file=file, code=code).first()
    if document is None:
        raise ValidationFailed(_("Invalid document."), extra={"code": [_("Not on this file's checklist.")]})
    if pages < 0 or (present and pages < 1):
        raise ValidationFailed(_("Invalid document."), extra={"pages": [_("A present document has at least 1 page.")]})
    if present == document.present and pages == document.pages:
        return document
    was_present = document.present
    document.present = present
    document.pages = pages if present else 0
    if present != was_present:  # the holder only changes with a custody event
        document.holder = acting_user if present else None
    document.updated_at = timezone.now()
    document.save(update_fields=["present", "pages", "holder", "updated_at"])
    if present != was_present:
        _event(
            file=file,
            document=document,
            kind=CustodyEvent.Kind.COLLECTED if present else CustodyEvent.Kind.UNCOLLECTED,
            by=acting_user,
            to_holder=acting_user if present else None,
            from_holder=None if present else acting_user,
        )
    return document


@transaction.atomic
def file_contract_confirm(*, file: CreditFile, elements: Mapping[str, bool], acting_user) -> CreditFile:
    """Confirm (True) or un-confirm (False) contract elements: amount, rate, term, signatures,
    dates, seal, collateral."""
    _require_assembler(acting_user)
    unknown = sorted(set(elements) - set(CONTRACT_ELEMENTS))
    if unknown:
        raise ValidationFailed(
            _("Invalid contract elements."), extra={"elements": [_("Unknown: %s") % ", ".join(unknown)]}
        )
    file = _lock(file, acting_user)
    _require_state(file, State.COLLECTING, _("The contract can only be confirmed while the file is being collected."))
    fields = []
    for name, value in elements.items():
        field = CONTRACT_ELEMENTS[name][0]
        setattr(file, field, bool(value))
        fields.append(field)
    file.updated_at = timezone.now()
    file.save(update_fields=[*fields, "updated_at"])
    return file


def credit_file_missing(file: CreditFile, documents: Iterable[FileDocument] | None = None) -> dict[str, list[str]]:
    """What keeps the file from the officer's check: required documents not present and contract
    elements not confirmed (names and labels, in checklist order)."""
    documents = documents if documents is not None else file.documents.order_by("order", "id")
    missing = {
        "documents": [doc.name for doc in documents if doc.required and not doc.present],
        "contract": [str(label) for field, label in CONTRACT_ELEMENTS.values() if not getattr(file, field)],
    }
    return {key: value for key, value in missing.items() if value}


@transaction.atomic
def credit_file_check(*, file: CreditFile, acting_user) -> CreditFile:
    """collecting → officer_checked, only when nothing required is missing."""
    _require_assembler(acting_user)
    file = _lock(file, acting_user)
    _require_state(file, State.COLLECTING, _("Only a file being collected can be checked."))
    missing = credit_file_missing(file)
    if missing:
        parts = []
        if "documents" in missing:
            parts.append(_("missing documents: %s") % ", ".join(missing["documents"]))
        if "contract" in missing:
            parts.append(_("unconfirmed contract elements: %s") % ", ".join(missing["contract"]))
        raise ValidationFailed(_("The file is incomplete: %s.") % "; ".join(parts), extra=missing)
    file.checked_by = acting_user
    _transition(file, State.OFFICER_CHECKED, extra_fields=["checked_by"])
    _event(file=file, kind=CustodyEvent.Kind.CHECKED, by=acting_user)
    return file


# --- the handoff register ---------------------------------------------------------------------


@transaction.atomic
def credit_file_handoff_submit(*, file: CreditFile, acting_user) -> CreditFile:
    """officer_checked → handoff_pending: the officer's signature on the register entry."""
    _require_assembler(acting_user)
    file = _lock(file, acting_user)
    _require_state(file, State.OFFICER_CHECKED, _("Only a checked file can be submitted for handoff."))
    file.handoff_submitted_by = acting_user
    file.handoff_submitted_at = timezone.now()
    _transition(file, State.HANDOFF_PENDING, extra_fields=["handoff_submitted_by", "handoff_submitted_at"])
    _event(file=file, kind=CustodyEvent.Kind.HANDOFF_SUBMITTED, by=acting_user, from_holder=acting_user)
    return file


def _require_receiver(file: CreditFile, acting_user) -> None:
    if not can_receive_handoff(acting_user):
        raise PermissionDenied(_("Only the archivist or the vault custodian receives a handoff."))
    if file.handoff_submitted_by_id == acting_user.id:
        raise PermissionDenied(_("The handoff needs a second signature: you submitted this file yourself."))


def storage_location_resolve(*, file: CreditFile, level: int, value) -> StorageLocation | None:
    """The active location of the file's branch, in the area of LEVEL, named by VALUE (a
    StorageLocation, its id or its path); None when there is none."""
    qs = StorageLocation.objects.filter(branch_id=file.loan.branch_id, area=AREA_FOR_LEVEL[level], active=True)
    if isinstance(value, StorageLocation):
        return qs.filter(id=value.id).first()
    if isinstance(value, int):
        return qs.filter(id=value).first()
    text = str(value or "").strip().upper()
    return qs.filter(path=text).first() if text else None


@transaction.atomic
def credit_file_handoff_accept(*, file: CreditFile, acting_user, locations: Mapping[int, object]) -> CreditFile:
    """handoff_pending → archived: the receiving signature. LOCATIONS maps a level to the storage
    location (object, id or path) its present documents go to: level 1 in the vault, level 2 in
    the archive room, both of the loan's branch."""
    file = _lock(file, acting_user)
    _require_state(file, State.HANDOFF_PENDING, _("Only a file pending handoff can be accepted."))
    _require_receiver(file, acting_user)
    documents = list(FileDocument.objects.select_for_update().filter(file=file, present=True).order_by("order", "id"))
    errors: dict[str, list[str]] = {}
    resolved: dict[int, StorageLocation] = {}
    for level in sorted({doc.level for doc in documents}):
        location = storage_location_resolve(file=file, level=level, value=locations.get(level))
        if location is None:
            errors[f"level_{level}"] = [
                _("Choose a location of the %(area)s of this branch.") % {"area": Area(AREA_FOR_LEVEL[level]).label}
            ]
        else:
            resolved[level] = location
    if errors:
        raise ValidationFailed(_("Invalid locations."), extra=errors)
    now = timezone.now()
    events = []
    for doc in documents:
        storage = resolved[doc.level]
        events.append(
            CustodyEvent(
                file=file,
                document=doc,
                kind=CustodyEvent.Kind.STORED,
                from_location=doc.location,
                to_location=storage.path,
                from_holder_id=doc.holder_id,
                to_holder=acting_user,
                by=acting_user,
                at=now,
            )
        )
        doc.location = storage.path
        doc.storage = storage
        doc.holder = acting_user
        doc.updated_at = now
    FileDocument.objects.bulk_update(documents, fields=["location", "storage", "holder", "updated_at"])
    file.handoff_accepted_by = acting_user
    file.handed_off_on = business_date()
    file.defects = ""
    _transition(file, State.ARCHIVED, extra_fields=["handoff_accepted_by", "handed_off_on", "defects"])
    CustodyEvent.objects.bulk_create(
        [
            CustodyEvent(
                file=file,
                kind=CustodyEvent.Kind.HANDOFF_ACCEPTED,
                from_holder_id=file.handoff_submitted_by_id,
                to_holder=acting_user,
                by=acting_user,
                at=now,
            ),
            *events,
        ]
    )
    return file


@transaction.atomic
def credit_file_handoff_reject(*, file: CreditFile, defects: str, acting_user) -> CreditFile:
    """handoff_pending → collecting, with the defects found item by item."""
    if not defects.strip():
        raise ValidationFailed(_("Invalid rejection."), extra={"defects": [_("List the defects found.")]})
    file = _lock(file, acting_user)
    _require_state(file, State.HANDOFF_PENDING, _("Only a file pending handoff can be rejected."))
    _require_receiver(file, acting_user)
    file.defects = defects.strip()
    file.checked_by = None
    submitter_id = file.handoff_submitted_by_id
    file.handoff_submitted_by = None
    file.handoff_submitted_at = None
    _transition(
        file,
        State.COLLECTING,
        extra_fields=["defects", "checked_by", "handoff_submitted_by", "handoff_submitted_at"],
    )
    _event(
        file=file,
        kind=CustodyEvent.Kind.HANDOFF_REJECTED,
        by=acting_user,
        to_holder_id=submitter_id,
        reason=file.defects,
    )
    return file


def file_document_file_generated(
    *, loan: Loan, code: str, name: str, content: bytes, filename: str, by=None, reason: str = ""
) -> FileDocument:
    """File a document the system produced (an inspection report's signed PDF, …) as a level-2
    document of the loan's credit file, opening the file if the loan has none yet. Filing the same
    code again replaces the stored copy; both filings stay in the custody log."""
    from django.core.files.base import ContentFile

    with transaction.atomic():
        file = CreditFile.objects.filter(loan=loan).first() or credit_file_open(loan=loan)
        file = CreditFile.objects.select_for_update().get(id=file.id)
        document, _created = FileDocument.objects.get_or_create(
            file=file,
            code=code,
            defaults={"name": name[:200], "level": Level.TWO, "required": False, "order": 900},
        )
        document.name = name[:200]
        document.present = True
        document.attachment.save(filename, ContentFile(content), save=False)
        document.save(update_fields=["name", "present", "attachment", "updated_at"])
        _event(file=file, document=document, kind=CustodyEvent.Kind.FILED, by=by, reason=reason or name)
    return document
