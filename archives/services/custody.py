"""Custody after the handoff (domain-research.md §8.3): storage locations, borrowing and return,
on-site consultation, incidents, the three-signature release on payoff, the closed archive and
its retention. Every movement writes a `CustodyEvent` in the same transaction."""

from collections.abc import Iterable
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from archives.models import (
    AREA_FOR_LEVEL,
    Area,
    BorrowApproval,
    BorrowRequest,
    CreditFile,
    CustodyEvent,
    FileDocument,
    Incident,
    Level,
    ReleaseSignature,
    StorageLocation,
)
from archives.services.files import _lock, _require_state, _transition, can_assemble_file, can_receive_handoff
from loanops.core.exceptions import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Role
from loanops.org.scoping import can_see_branch
from loans.models import Loan

State = CreditFile.State
Kind = CustodyEvent.Kind

BORROW_DAYS = {Level.ONE: 3, Level.TWO: 10}  # FILE_BORROW_DAYS_L1 / _L2
APPROVALS_NEEDED = {Level.ONE: 2, Level.TWO: 1}
RETENTION_YEARS = 10  # FILE_RETENTION_YEARS_AFTER_SETTLEMENT
APPROVER_ROLES = frozenset({Role.CREDIT_HEAD, Role.BRANCH_MANAGER, Role.RISK, Role.ADMIN})
LOCATION_MANAGER_ROLES = frozenset({Role.ARCHIVIST, Role.VAULT_CUSTODIAN, Role.BRANCH_MANAGER, Role.ADMIN})


# --- permission helpers -----------------------------------------------------------------------


def _writer(user) -> bool:
    return user.is_authenticated and user.is_back_office and not user.is_read_only


def can_manage_locations(user) -> bool:
    return _writer(user) and (user.is_superuser or user.role in LOCATION_MANAGER_ROLES)


def can_request_borrow(user) -> bool:
    return _writer(user)


def can_approve_borrow(user) -> bool:
    return _writer(user) and (user.is_superuser or user.role in APPROVER_ROLES)


def can_report_incident(user) -> bool:
    return can_receive_handoff(user) or can_assemble_file(user) or can_approve_borrow(user)


def can_resolve_incident(user) -> bool:
    return can_receive_handoff(user) or can_approve_borrow(user)


def _require_custodian(user) -> None:
    if not can_receive_handoff(user):
        raise PermissionDenied(_("Only the archivist or the vault custodian does this."))


def _now_event(file: CreditFile, kind: str, by, *, document: FileDocument | None = None, **fields) -> CustodyEvent:
    return CustodyEvent(file=file, document=document, kind=kind, by=by, at=timezone.now(), **fields)


def _require_settled(loan: Loan) -> None:
    if loan.status != Loan.Status.CLOSED:
        raise InvalidTransition(
            _("The loan is not paid off: its documents stay in custody."), extra={"loan": [loan.status]}
        )


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


# --- storage locations ------------------------------------------------------------------------


def storage_location_create(
    *, branch, area: str, room: str, cabinet: str = "", shelf: str = "", box: str = "", acting_user
) -> StorageLocation:
    if not can_manage_locations(acting_user):
        raise PermissionDenied(_("Only the archivist, the vault custodian or the branch manager manages locations."))
    if not can_see_branch(acting_user, branch):
        raise PermissionDenied(_("The branch is outside your branches."))
    errors = {}
    if area not in Area.values:
        errors["area"] = [_("Choose the vault, the archive room or the closed archive.")]
    if not room.strip():
        errors["room"] = [_("Give the room.")]
    if errors:
        raise ValidationFailed(_("Invalid location."), extra=errors)
    path = StorageLocation.build_path(area, room, cabinet, shelf, box)
    if StorageLocation.objects.filter(branch=branch, path=path).exists():
        raise ValidationFailed(_("Invalid location."), extra={"room": [_("%s already exists.") % path]})
    return StorageLocation.objects.create(
        branch=branch,
        area=area,
        room=room.strip().upper(),
        cabinet=cabinet.strip().upper(),
        shelf=shelf.strip().upper(),
        box=box.strip().upper(),
    )


# --- borrowing --------------------------------------------------------------------------------


def _lock_request(request: BorrowRequest, acting_user) -> tuple[CreditFile, BorrowRequest]:
    file = _lock(request.file, acting_user)
    locked = BorrowRequest.objects.select_for_update().get(id=request.id)
    return file, locked


@transaction.atomic
def borrow_request_create(
    *, file: CreditFile, document_codes: Iterable[str], purpose: str, reason: str, return_on: date, acting_user
) -> BorrowRequest:
    """Ask to borrow documents of an archived file until RETURN_ON (at most 10 days for level 2,
    3 days for level 1, which also needs a stated reason)."""
    if not can_request_borrow(acting_user):
        raise PermissionDenied(_("You cannot borrow credit files."))
    file = _lock(file, acting_user)
    if file.state not in (State.ARCHIVED, State.ON_LOAN):
        raise InvalidTransition(_("Only an archived file can be borrowed."), extra={"state": [file.state]})
    codes = sorted(set(document_codes))
    documents = list(
        FileDocument.objects.filter(file=file, code__in=codes, condition=FileDocument.Condition.OK)
        .exclude(location="")
        .order_by("order", "id")
    )
    errors: dict[str, list[str]] = {}
    if not codes:
        errors["documents"] = [_("Choose at least one document.")]
    elif len(documents) != len(codes):
        errors["documents"] = [_("Only documents in the vault or the archive room can be borrowed.")]
    if purpose not in BorrowRequest.Purpose.values:
        errors["purpose"] = [_("Choose the purpose.")]
    level = min((doc.level for doc in documents), default=Level.TWO)
    if level == Level.ONE and not reason.strip():
        errors["reason"] = [_("Level-1 documents are lent only for a stated reason.")]
    today = business_date()
    days = BORROW_DAYS[level]
    if return_on is None or return_on < today or return_on > today + timedelta(days=days):
        errors["return_on"] = [
            _("Give a return date from today to at most %(days)s days away (%(last)s).")
            % {"days": days, "last": today + timedelta(days=days)}
        ]
    if errors:
        raise ValidationFailed(_("Invalid borrowing request."), extra=errors)
    request = BorrowRequest.objects.create(
        file=file,
        level=level,
        purpose=purpose,
        reason=reason.strip(),
        requested_by=acting_user,
        requested_return_on=return_on,
    )
    request.documents.set(documents)
    _now_event(
        file, Kind.BORROW_REQUESTED, acting_user, reason=f"#{request.id} · {request.get_purpose_display()} · {reason}"
    ).save()
    return request


@transaction.atomic
def borrow_approve(*, request: BorrowRequest, acting_user) -> BorrowRequest:
    """One approval; level 2 is approved by one, level 1 by two different people, never the requester."""
    if not can_approve_borrow(acting_user):
        raise PermissionDenied(_("Only the credit department head, the branch manager or head-office risk approves."))
    file, request = _lock_request(request, acting_user)
    if request.state != BorrowRequest.State.REQUESTED:
        raise InvalidTransition(_("Only a pending request can be approved."), extra={"state": [request.state]})
    if request.requested_by_id == acting_user.id:
        raise PermissionDenied(_("You cannot approve your own request."))
    if BorrowApproval.objects.filter(request=request, approver=acting_user).exists():
        raise Conflict(_("You already approved this request: the second approval must come from someone else."))
    BorrowApproval.objects.create(request=request, approver=acting_user)
    if request.approvals.count() >= APPROVALS_NEEDED[request.level]:
        request.state = BorrowRequest.State.APPROVED
        request.save(update_fields=["state", "updated_at"])
    _now_event(file, Kind.BORROW_APPROVED, acting_user, reason=f"#{request.id}").save()
    return request


@transaction.atomic
def borrow_decline(*, request: BorrowRequest, reason: str, acting_user) -> BorrowRequest:
    if not can_approve_borrow(acting_user):
        raise PermissionDenied(_("Only the credit department head, the branch manager or head-office risk declines."))
    if not reason.strip():
        raise ValidationFailed(_("Invalid decision."), extra={"reason": [_("Say why the request is declined.")]})
    file, request = _lock_request(request, acting_user)
    if request.state not in (BorrowRequest.State.REQUESTED, BorrowRequest.State.APPROVED):
        raise InvalidTransition(_("Only a pending request can be declined."), extra={"state": [request.state]})
    request.state = BorrowRequest.State.DECLINED
    request.decline_reason = reason.strip()
    request.save(update_fields=["state", "decline_reason", "updated_at"])
    _now_event(file, Kind.BORROW_DECLINED, acting_user, reason=f"#{request.id} · {request.decline_reason}").save()
    return request


@transaction.atomic
def borrow_release(*, request: BorrowRequest, acting_user) -> BorrowRequest:
    """A custodian hands the documents over. Level 1: the first custodian's signature is logged
    and a second, different custodian completes the release. Returns the request (on loan, or
    still approved waiting for the second custodian)."""
    _require_custodian(acting_user)
    file, request = _lock_request(request, acting_user)
    needed = APPROVALS_NEEDED[request.level]
    if request.state == BorrowRequest.State.REQUESTED:
        raise InvalidTransition(
            _("The request needs %(needed)s approval(s) and has %(count)s.")
            % {"needed": needed, "count": request.approvals.count()},
            extra={"approvals": [str(request.approvals.count())]},
        )
    if request.state != BorrowRequest.State.APPROVED or request.approvals.count() < needed:
        raise InvalidTransition(_("Only an approved request can be released."), extra={"state": [request.state]})
    if request.requested_by_id == acting_user.id:
        raise PermissionDenied(_("A custodian does not release documents to themselves."))
    _require_state(file, State.ARCHIVED, _("The file is not in the archive: it cannot be lent now."))
    if request.level == Level.ONE and request.release_first_by_id is None:
        request.release_first_by = acting_user
        request.save(update_fields=["release_first_by", "updated_at"])
        _now_event(file, Kind.RELEASE_SIGNED, acting_user, reason=f"#{request.id}").save()
        return request
    if request.level == Level.ONE and request.release_first_by_id == acting_user.id:
        raise PermissionDenied(_("Level-1 documents leave the vault with two custodians: a second custodian signs."))
    documents = list(request.documents.select_for_update().order_by("order", "id"))
    absent = [doc.name for doc in documents if not doc.location or doc.condition != FileDocument.Condition.OK]
    if absent:
        raise Conflict(_("Not in place: %s.") % ", ".join(absent), extra={"documents": absent})
    today = business_date()
    events = []
    for doc in documents:
        events.append(
            _now_event(
                file,
                Kind.LENT,
                acting_user,
                document=doc,
                from_location=doc.location,
                from_holder_id=doc.holder_id,
                to_location="",
                to_holder_id=request.requested_by_id,
                reason=f"#{request.id}",
            )
        )
        doc.location = ""
        doc.holder_id = request.requested_by_id
    FileDocument.objects.bulk_update(documents, fields=["location", "holder"])
    request.state = BorrowRequest.State.ON_LOAN
    request.released_by = acting_user
    request.released_on = today
    request.return_due = max(
        today, min(request.requested_return_on, today + timedelta(days=BORROW_DAYS[request.level]))
    )
    request.save(update_fields=["state", "released_by", "released_on", "return_due", "updated_at"])
    _transition(file, State.ON_LOAN)
    CustodyEvent.objects.bulk_create(events)
    return request


@transaction.atomic
def borrow_return(
    *, request: BorrowRequest, returned_codes: Iterable[str], acting_user
) -> tuple[BorrowRequest, list[Incident]]:
    """The custodian checks what comes back against the list lent: returned documents go back to
    their place; each one missing opens a "lost" incident (the file goes to `incident`)."""
    _require_custodian(acting_user)
    file, request = _lock_request(request, acting_user)
    if request.state != BorrowRequest.State.ON_LOAN:
        raise InvalidTransition(_("Only a request on loan can be returned."), extra={"state": [request.state]})
    documents = list(
        request.documents.select_for_update(of=("self",)).select_related("storage").order_by("order", "id")
    )
    codes = set(returned_codes)
    unknown = sorted(codes - {doc.code for doc in documents})
    if unknown:
        raise ValidationFailed(
            _("Invalid return."), extra={"documents": [_("Not lent with this request: %s") % ", ".join(unknown)]}
        )
    today = business_date()
    events = []
    returned = [doc for doc in documents if doc.code in codes]
    for doc in returned:
        to_location = doc.storage.path if doc.storage_id else ""
        events.append(
            _now_event(
                file,
                Kind.RETURNED,
                acting_user,
                document=doc,
                from_location=doc.location,
                from_holder_id=doc.holder_id,
                to_location=to_location,
                to_holder=acting_user,
                reason=f"#{request.id}",
            )
        )
        doc.location = to_location
        doc.holder = acting_user
    FileDocument.objects.bulk_update(returned, fields=["location", "holder"])
    CustodyEvent.objects.bulk_create(events)
    request.state = BorrowRequest.State.RETURNED
    request.returned_on = today
    request.returned_to = acting_user
    request.save(update_fields=["state", "returned_on", "returned_to", "updated_at"])
    if file.state == State.INCIDENT:
        file.state_before_incident = State.ARCHIVED
        file.save(update_fields=["state_before_incident", "updated_at"])
    else:
        _transition(file, State.ARCHIVED)
    incidents = [
        _incident_open(
            file=file,
            document=doc,
            kind=Incident.Kind.LOST,
            description=_("Not returned with borrowing request #%(id)s (borrowed by %(user)s).")
            % {"id": request.id, "user": request.requested_by.get_username()},
            acting_user=acting_user,
            borrow=request,
        )
        for doc in documents
        if doc.code not in codes
    ]
    return request, incidents


@transaction.atomic
def file_consult(
    *, file: CreditFile, reader: str, purpose: str, document_codes: Iterable[str] = (), acting_user
) -> list[CustodyEvent]:
    """Log an on-site consultation (nothing leaves the room): who read what, when and why."""
    _require_custodian(acting_user)
    errors = {}
    if not reader.strip():
        errors["reader"] = [_("Who consulted the file?")]
    if not purpose.strip():
        errors["purpose"] = [_("Give the purpose of the consultation.")]
    if errors:
        raise ValidationFailed(_("Invalid consultation."), extra=errors)
    file = _lock(file, acting_user)
    if file.state not in (State.ARCHIVED, State.RELEASED, State.CLOSED_ARCHIVE, State.INCIDENT):
        raise InvalidTransition(_("Only a file in custody can be consulted."), extra={"state": [file.state]})
    codes = set(document_codes)
    documents = list(FileDocument.objects.filter(file=file, code__in=codes).exclude(location=""))
    if len(documents) != len(codes):
        raise ValidationFailed(
            _("Invalid consultation."), extra={"documents": [_("Only documents in place can be consulted.")]}
        )
    reason = f"{reader.strip()}: {purpose.strip()}"
    events = [_now_event(file, Kind.VIEWED, acting_user, document=doc, reason=reason) for doc in documents] or [
        _now_event(file, Kind.VIEWED, acting_user, reason=reason)
    ]
    return CustodyEvent.objects.bulk_create(events)


# --- incidents --------------------------------------------------------------------------------


def _incident_open(*, file, document, kind, description, acting_user, borrow=None) -> Incident:
    """FILE is locked by the caller."""
    if document.condition != FileDocument.Condition.OK:
        raise Conflict(_("%s already has an open incident.") % document.name)
    incident = Incident.objects.create(
        file=file, document=document, borrow=borrow, kind=kind, description=description, reported_by=acting_user
    )
    event = _now_event(
        file,
        Kind.INCIDENT_OPENED,
        acting_user,
        document=document,
        from_location=document.location,
        from_holder_id=document.holder_id,
        reason=f"{Incident.Kind(kind).label}: {description}",
    )
    if kind == Incident.Kind.LOST:  # nobody knows where it is
        document.location = ""
        document.holder = None
    event.to_location = document.location
    event.to_holder_id = document.holder_id
    document.condition = kind
    document.save(update_fields=["condition", "location", "holder", "updated_at"])
    event.save()
    if file.state != State.INCIDENT:
        file.state_before_incident = file.state
        _transition(file, State.INCIDENT, extra_fields=["state_before_incident"])
    return incident


@transaction.atomic
def incident_open(*, file: CreditFile, document_code: str, kind: str, description: str, acting_user) -> Incident:
    """Report a lost or damaged document: the file goes to `incident` until it is resolved."""
    if not can_report_incident(acting_user):
        raise PermissionDenied(_("You cannot report custody incidents."))
    errors = {}
    if kind not in Incident.Kind.values:
        errors["kind"] = [_("Lost or damaged?")]
    if not description.strip():
        errors["description"] = [_("Describe what happened.")]
    if errors:
        raise ValidationFailed(_("Invalid incident."), extra=errors)
    file = _lock(file, acting_user)
    document = FileDocument.objects.select_for_update().filter(file=file, code=document_code, present=True).first()
    if document is None:
        raise ValidationFailed(_("Invalid incident."), extra={"document": [_("Not a document of this file.")]})
    if State.INCIDENT not in _allowed_from(file.state):
        raise InvalidTransition(_("This file is no longer in custody."), extra={"state": [file.state]})
    return _incident_open(
        file=file, document=document, kind=kind, description=description.strip(), acting_user=acting_user
    )


def _allowed_from(state: str) -> frozenset[str]:
    from archives.services.files import TRANSITIONS

    return TRANSITIONS.get(state, frozenset()) | ({State.INCIDENT} if state == State.INCIDENT else frozenset())


@transaction.atomic
def incident_resolve(*, incident: Incident, resolution: str, note: str, acting_user) -> Incident:
    """Recovered or replaced: the document is back in its place. Written off: it stays lost
    (someone other than the reporter decides). The last resolution returns the file to the state
    the incident interrupted."""
    if not can_resolve_incident(acting_user):
        raise PermissionDenied(_("Only a custodian, the department head or the branch manager resolves incidents."))
    errors = {}
    if resolution not in Incident.Resolution.values:
        errors["resolution"] = [_("Choose a resolution.")]
    if not note.strip():
        errors["note"] = [_("Describe the resolution.")]
    if errors:
        raise ValidationFailed(_("Invalid resolution."), extra=errors)
    file = _lock(incident.file, acting_user)
    incident = Incident.objects.select_for_update().get(id=incident.id)
    if not incident.is_open:
        raise InvalidTransition(_("The incident is already resolved."), extra={"incident": [str(incident.id)]})
    if resolution == Incident.Resolution.WRITTEN_OFF and incident.reported_by_id == acting_user.id:
        raise PermissionDenied(_("Someone other than the reporter writes a document off."))
    document = (
        FileDocument.objects.select_for_update(of=("self",)).select_related("storage").get(id=incident.document_id)
    )
    now = timezone.now()
    event = _now_event(
        file,
        Kind.INCIDENT_RESOLVED,
        acting_user,
        document=document,
        from_location=document.location,
        from_holder_id=document.holder_id,
        reason=f"{Incident.Resolution(resolution).label}: {note.strip()}",
    )
    if resolution != Incident.Resolution.WRITTEN_OFF:
        document.condition = FileDocument.Condition.OK
        if incident.kind == Incident.Kind.LOST and document.storage_id:
            document.location = document.storage.path
            document.holder = acting_user
        document.save(update_fields=["condition", "location", "holder", "updated_at"])
    event.to_location = document.location
    event.to_holder_id = document.holder_id
    event.save()
    incident.resolution = resolution
    incident.resolution_note = note.strip()
    incident.resolved_by = acting_user
    incident.resolved_at = now
    incident.save(update_fields=["resolution", "resolution_note", "resolved_by", "resolved_at", "updated_at"])
    if not Incident.objects.filter(file=file, resolved_at__isnull=True).exists() and file.state == State.INCIDENT:
        back = file.state_before_incident or State.ARCHIVED
        file.state_before_incident = ""
        _transition(file, back, extra_fields=["state_before_incident"])
    return incident


# --- release on payoff and the closed archive -------------------------------------------------


def release_missing_signatures(file: CreditFile) -> list[str]:
    signed = set(ReleaseSignature.objects.filter(file=file).values_list("party", flat=True))
    return [str(party.label) for party in ReleaseSignature.Party if party.value not in signed]


def _level_one_in_custody(file: CreditFile):
    return FileDocument.objects.filter(
        file=file, level=Level.ONE, present=True, released_on__isnull=True, condition=FileDocument.Condition.OK
    ).exclude(location="")


@transaction.atomic
def release_sign(
    *, file: CreditFile, party: str, acting_user, borrower_name: str = "", borrower_id_document: str = ""
) -> ReleaseSignature:
    """One of the three signatures releasing level-1 documents: the officer and the custodian sign
    as themselves; the borrower's signature (name and identity document) is witnessed by either."""
    file = _lock(file, acting_user)
    _require_settled(file.loan)
    if file.state == State.INCIDENT:
        raise InvalidTransition(_("An open incident blocks the release."), extra={"state": [file.state]})
    _require_state(file, State.ARCHIVED, _("Only an archived file is released."))
    if party == ReleaseSignature.Party.OFFICER and not can_assemble_file(acting_user):
        raise PermissionDenied(_("The credit officer signs as the officer."))
    if party == ReleaseSignature.Party.CUSTODIAN and not can_receive_handoff(acting_user):
        raise PermissionDenied(_("The vault custodian signs as the custodian."))
    if party == ReleaseSignature.Party.BORROWER:
        if not (can_assemble_file(acting_user) or can_receive_handoff(acting_user)):
            raise PermissionDenied(_("The officer or the custodian witnesses the borrower's signature."))
        if not borrower_name.strip() or not borrower_id_document.strip():
            raise ValidationFailed(
                _("Invalid signature."),
                extra={"borrower_name": [_("Give the borrower's name and identity document.")]},
            )
    if party not in ReleaseSignature.Party.values:
        raise ValidationFailed(_("Invalid signature."), extra={"party": [_("Borrower, officer or custodian.")]})
    if ReleaseSignature.objects.filter(file=file, party=party).exists():
        raise Conflict(_("This party has already signed."))
    signature = ReleaseSignature.objects.create(
        file=file,
        party=party,
        signed_by=acting_user,
        borrower_name=borrower_name.strip(),
        borrower_id_document=borrower_id_document.strip(),
    )
    _now_event(
        file,
        Kind.RELEASE_SIGNATURE,
        acting_user,
        reason=" · ".join(filter(None, [str(ReleaseSignature.Party(party).label), signature.borrower_name])),
    ).save()
    return signature


@transaction.atomic
def credit_file_release(*, file: CreditFile, acting_user) -> CreditFile:
    """archived → released: level-1 documents go back to the borrower, only on payoff, with no
    open incident and the three signatures (borrower, officer, custodian)."""
    _require_custodian(acting_user)
    file = _lock(file, acting_user)
    _require_settled(file.loan)
    if file.state == State.INCIDENT or Incident.objects.filter(file=file, resolved_at__isnull=True).exists():
        raise InvalidTransition(_("An open incident blocks the release."), extra={"state": [file.state]})
    _require_state(file, State.ARCHIVED, _("Only an archived file is released."))
    missing = release_missing_signatures(file)
    if missing:
        raise ValidationFailed(
            _("The release needs three signatures; missing: %s.") % ", ".join(missing), extra={"signatures": missing}
        )
    documents = list(_level_one_in_custody(file).select_for_update().order_by("order", "id"))
    if not documents:
        raise InvalidTransition(_("The file holds no level-1 document to release."), extra={"documents": []})
    borrower = ReleaseSignature.objects.get(file=file, party=ReleaseSignature.Party.BORROWER)
    today = business_date()
    events = []
    for doc in documents:
        events.append(
            _now_event(
                file,
                Kind.RELEASED,
                acting_user,
                document=doc,
                from_location=doc.location,
                from_holder_id=doc.holder_id,
                reason=f"{borrower.borrower_name} · {borrower.borrower_id_document}",
            )
        )
        doc.location = ""
        doc.holder = None
        doc.released_on = today
    FileDocument.objects.bulk_update(documents, fields=["location", "holder", "released_on"])
    CustodyEvent.objects.bulk_create(events)
    file.released_on = today
    _transition(file, State.RELEASED, extra_fields=["released_on"])
    return file


@transaction.atomic
def credit_file_close(*, file: CreditFile, location=None, acting_user) -> CreditFile:
    """archived / released → closed archive on payoff: level-2 documents move to a location of
    the closed archive, kept 10 years after settlement (then on the destruction list)."""
    _require_custodian(acting_user)
    file = _lock(file, acting_user)
    _require_settled(file.loan)
    if file.state == State.INCIDENT or Incident.objects.filter(file=file, resolved_at__isnull=True).exists():
        raise InvalidTransition(_("An open incident blocks closing the file."), extra={"state": [file.state]})
    if file.state not in (State.ARCHIVED, State.RELEASED):
        raise InvalidTransition(_("Only an archived or released file is closed."), extra={"state": [file.state]})
    if _level_one_in_custody(file).exists():
        raise InvalidTransition(
            _("Release the level-1 documents to the borrower first."), extra={"documents": [str(Level.ONE)]}
        )
    documents = list(
        FileDocument.objects.select_for_update()
        .filter(file=file, level=Level.TWO, present=True)
        .exclude(location="")
        .order_by("order", "id")
    )
    target = None
    if documents:
        qs = StorageLocation.objects.filter(branch_id=file.loan.branch_id, area=Area.CLOSED, active=True)
        if isinstance(location, StorageLocation):
            target = qs.filter(id=location.id).first()
        elif isinstance(location, int):
            target = qs.filter(id=location).first()
        elif location:
            target = qs.filter(path=str(location).strip().upper()).first()
        if target is None:
            raise ValidationFailed(
                _("Invalid location."), extra={"location": [_("Choose a location of the closed archive.")]}
            )
    today = business_date()
    events = []
    for doc in documents:
        events.append(
            _now_event(
                file,
                Kind.CLOSED,
                acting_user,
                document=doc,
                from_location=doc.location,
                from_holder_id=doc.holder_id,
                to_location=target.path,
                to_holder=acting_user,
            )
        )
        doc.location = target.path
        doc.storage = target
        doc.holder = acting_user
    FileDocument.objects.bulk_update(documents, fields=["location", "storage", "holder"])
    CustodyEvent.objects.bulk_create(events)
    file.closed_on = today
    file.retention_until = add_years(file.loan.closed_on or today, RETENTION_YEARS)
    _transition(file, State.CLOSED_ARCHIVE, extra_fields=["closed_on", "retention_until"])
    return file


# Level of a file's documents, for pages that choose the right location area.
def area_for_level(level: int) -> str:
    return AREA_FOR_LEVEL[level]
