"""The inspection lifecycle (domain-research.md §7.3) with its sign-off order:

    scheduled → assigned → in_progress → submitted → reviewed → acknowledged → completed
                                              ↘ returned → in_progress
    (scheduled, assigned, in_progress, returned) → cancelled when the loan closes (nightly step)

The officer assigned writes and submits the report; only a credit department head reviews or
returns it, never its author; only a branch manager (the manager in charge) acknowledges it, and
only once reviewed. The review applies the report: the estimated value revalues the inspected
collateral, and a proposed classification worse than the loan's effective class becomes a manual
downgrade (`loans.services.classification.loan_classification_downgrade`, signed by the reviewing
credit head, who is an approver of classification changes). Completion renders the signed PDF,
files it into the loan's credit file (level 2) and schedules the next routine inspection.
"""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from inspections.models import (
    CANCELLABLE_STATES,
    CLOSED_STATES,
    EDITABLE_STATES,
    EVENT_DAYS,
    FREQ_DAYS,
    AdverseEvent,
    CollateralCondition,
    EmploymentStatus,
    FollowUpTask,
    Inspection,
    InspectionAttachment,
    InspectionState,
    InspectionType,
    SignOff,
)
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Role, User
from loanops.org.scoping import can_see_branch
from loans.models import CLASS_RANK, Classification, Collateral, Loan, LoanDelinquency

S = InspectionState

ASSIGNER_ROLES = frozenset({Role.BRANCH_MANAGER, Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})
EVENT_RECORDER_ROLES = frozenset({Role.CREDIT_OFFICER, Role.CREDIT_HEAD, Role.BRANCH_MANAGER})

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
# Allowed attachments: extension → (content type, leading bytes the file must start with).
ATTACHMENT_TYPES = {
    "jpg": ("image/jpeg", b"\xff\xd8\xff"),
    "jpeg": ("image/jpeg", b"\xff\xd8\xff"),
    "png": ("image/png", b"\x89PNG\r\n\x1a\n"),
    "pdf": ("application/pdf", b"%PDF-"),
}

# The report's fields, by kind, as the form and the service accept them.
BOOL_FIELDS = (
    "funds_use_ok", "covenants_ok", "insurance_in_force", "bureau_checked", "other_lenders_arrears",
    "collateral_registration_ok", "guarantor_solvent", "file_materials_ok", "account_flows_ok",
)  # fmt: skip
TEXT_FIELDS = (
    "compliance_notes", "credit_notes", "income_notes", "collateral_location", "guarantor_notes", "dealer_notes",
    "file_notes", "risk_signals", "analysis", "suggestions",
)  # fmt: skip
MONEY_FIELDS = ("other_lenders_arrears_amount", "collateral_estimated_value")
CHOICE_FIELDS = {
    "employment_status": EmploymentStatus.values,
    "collateral_condition": CollateralCondition.values,
    "proposed_classification": Classification.values,
}
REPORT_FIELDS = BOOL_FIELDS + TEXT_FIELDS + MONEY_FIELDS + tuple(CHOICE_FIELDS) + ("collateral_mileage", "collateral")


# --- permission helpers (the pages decide what to show with these) ----------------------------


def _visible(user, inspection: Inspection) -> bool:
    return can_see_branch(user, inspection.loan.branch)


def can_work_on(user, inspection: Inspection) -> bool:
    """The assigned officer writes, starts and submits the report."""
    return (
        user.is_authenticated
        and not user.is_read_only
        and inspection.officer_id == user.id
        and _visible(user, inspection)
    )


def can_review(user, inspection: Inspection | None = None) -> bool:
    """Only a credit department head reviews (signs or returns), and never their own report."""
    if not user.is_authenticated or user.role != Role.CREDIT_HEAD:
        return False
    if inspection is None:
        return True
    return _visible(user, inspection) and inspection.submitted_by_id != user.id


def can_acknowledge(user, inspection: Inspection | None = None) -> bool:
    """The manager in charge: a branch manager of the loan's branch."""
    if not user.is_authenticated or user.role != Role.BRANCH_MANAGER:
        return False
    return inspection is None or _visible(user, inspection)


def can_assign(user, inspection: Inspection | None = None) -> bool:
    if not user.is_authenticated or user.is_read_only:
        return False
    if not (user.is_superuser or user.role in ASSIGNER_ROLES):
        return False
    return inspection is None or _visible(user, inspection)


def can_record_event(user, loan: Loan) -> bool:
    return (
        user.is_authenticated
        and not user.is_read_only
        and (user.is_superuser or user.role in EVENT_RECORDER_ROLES)
        and can_see_branch(user, loan.branch)
    )


# --- internals ---------------------------------------------------------------------------------


def _lock(inspection: Inspection) -> Inspection:
    return Inspection.objects.select_for_update(of=("self",)).select_related("loan__branch").get(id=inspection.id)


def _require(inspection: Inspection, states, message: str) -> None:
    if inspection.state not in states:
        raise InvalidTransition(message, extra={"state": [message]})


def _signoff(inspection: Inspection, step: str, user, comment: str = "") -> SignOff:
    return SignOff.objects.create(
        inspection=inspection, step=step, by=user, role=user.role, at=timezone.now(), comment=comment
    )


def _set_state(inspection: Inspection, state: str, **fields) -> None:
    inspection.state = state
    for name, value in fields.items():
        setattr(inspection, name, value)
    inspection.save(update_fields=["state", "updated_at", *fields])


def next_routine_due(*, loan: Loan, after: date) -> date:
    state = LoanDelinquency.objects.filter(loan=loan).only("classification").first()
    classification = state.classification if state else Classification.NORMAL
    return after + timedelta(days=FREQ_DAYS.get(classification, FREQ_DAYS[Classification.NORMAL]))


# --- assignment and work ----------------------------------------------------------------------


@transaction.atomic
def inspection_assign(*, inspection: Inspection, officer: User, acting_user) -> Inspection:
    if not can_assign(acting_user, inspection):
        raise PermissionDenied(_("Only a branch manager, a credit head or head-office risk assigns inspections."))
    inspection = _lock(inspection)
    _require(inspection, (S.SCHEDULED, S.ASSIGNED), _("Only a scheduled or assigned inspection can be assigned."))
    if (
        officer.role != Role.CREDIT_OFFICER
        or not officer.is_active
        or not can_see_branch(officer, inspection.loan.branch)
    ):
        raise ValidationFailed(
            _("Invalid officer."), extra={"officer": [_("Choose an active credit officer of the loan's branch.")]}
        )
    _set_state(inspection, S.ASSIGNED, officer=officer)
    return inspection


@transaction.atomic
def inspection_start(*, inspection: Inspection, acting_user) -> Inspection:
    """The officer starts the work (assigned → in progress) or resumes a returned report."""
    if not can_work_on(acting_user, inspection):
        raise PermissionDenied(_("Only the officer assigned works on this inspection."))
    inspection = _lock(inspection)
    _require(inspection, (S.ASSIGNED, S.RETURNED), _("Only an assigned or returned inspection can be started."))
    fields = {} if inspection.started_at else {"started_at": timezone.now()}
    _set_state(inspection, S.IN_PROGRESS, **fields)
    return inspection


def _clean_report(inspection: Inspection, data: dict) -> dict:
    """Validate the report fields in DATA (all optional here); returns the clean values."""
    errors: dict[str, list[str]] = {}
    clean: dict = {}
    for name in BOOL_FIELDS:
        if name in data:
            value = data[name]
            if value in ("", None):
                clean[name] = None
            elif value in (True, "true", "True", "1", "yes"):
                clean[name] = True
            elif value in (False, "false", "False", "0", "no"):
                clean[name] = False
            else:
                errors[name] = [_("Answer yes, no or leave it empty.")]
    for name in TEXT_FIELDS:
        if name in data:
            clean[name] = str(data[name] or "").strip()
    if "collateral_location" in clean and len(clean["collateral_location"]) > 200:
        errors["collateral_location"] = [_("At most 200 characters.")]
    for name in MONEY_FIELDS:
        if name in data:
            raw = data[name]
            if raw in ("", None):
                clean[name] = None
                continue
            try:
                value = Decimal(str(raw))
            except InvalidOperation:
                errors[name] = [_("Enter an amount.")]
                continue
            if (
                not value.is_finite()
                or value < 0
                or value != value.quantize(Decimal("0.01"))
                or value >= Decimal("1e15")
            ):
                errors[name] = [_("Enter a non-negative amount with at most 2 decimals.")]
            else:
                clean[name] = value.quantize(Decimal("0.01"))
    for name, allowed in CHOICE_FIELDS.items():
        if name in data:
            value = data[name] or ""
            if value and value not in allowed:
                errors[name] = [_("Choose one of the options.")]
            else:
                clean[name] = value
    if "collateral_mileage" in data:
        raw = data["collateral_mileage"]
        if raw in ("", None):
            clean["collateral_mileage"] = None
        else:
            try:
                mileage = int(raw)
                if mileage < 0 or mileage > 2_000_000_000:
                    raise ValueError
                clean["collateral_mileage"] = mileage
            except (TypeError, ValueError):
                errors["collateral_mileage"] = [_("Enter a whole number of kilometres.")]
    if "collateral" in data:
        raw = data["collateral"]
        if raw in ("", None):
            clean["collateral"] = None
        else:
            collateral_id = raw.id if isinstance(raw, Collateral) else raw
            collateral = Collateral.objects.filter(loan_id=inspection.loan_id, id=collateral_id).first()
            if collateral is None:
                errors["collateral"] = [_("Choose a collateral of this loan.")]
            else:
                clean["collateral"] = collateral
    if errors:
        raise ValidationFailed(_("The report has errors."), extra=errors)
    return clean


@transaction.atomic
def inspection_report_save(*, inspection: Inspection, data: dict, acting_user) -> Inspection:
    """Save the report fields in DATA (a draft: nothing is required until submission)."""
    if not can_work_on(acting_user, inspection):
        raise PermissionDenied(_("Only the officer assigned writes this report."))
    inspection = _lock(inspection)
    _require(inspection, EDITABLE_STATES, _("Start the inspection before writing the report."))
    clean = _clean_report(inspection, data)
    if inspection.state == S.RETURNED:
        clean["state"] = S.IN_PROGRESS
    for name, value in clean.items():
        setattr(inspection, name, value)
    inspection.save(update_fields=[*clean, "updated_at"])
    return inspection


def report_missing(inspection: Inspection) -> dict[str, list[str]]:
    """Required fields still empty, by field (the submission check)."""
    required = _("This field is required.")
    missing: dict[str, list[str]] = {}
    if not inspection.analysis.strip():
        missing["analysis"] = [_("A written analysis is required.")]
    if not inspection.suggestions.strip():
        missing["suggestions"] = [_("Suggestions are required.")]
    if not inspection.proposed_classification:
        missing["proposed_classification"] = [required]
    if inspection.type == InspectionType.FIRST and inspection.funds_use_ok is None:
        missing["funds_use_ok"] = [required]
    if inspection.type == InspectionType.SPOT_CHECK:
        for name in ("file_materials_ok", "account_flows_ok"):
            if getattr(inspection, name) is None:
                missing[name] = [required]
    if inspection.other_lenders_arrears and inspection.other_lenders_arrears_amount is None:
        missing["other_lenders_arrears_amount"] = [required]
    needs_condition = inspection.type in (InspectionType.SPOT_CHECK, InspectionType.FIRST)
    no_condition = needs_condition and not inspection.collateral_condition
    if no_condition and Collateral.objects.filter(loan_id=inspection.loan_id).exists():
        missing["collateral_condition"] = [required]
    if inspection.collateral_estimated_value is not None and not inspection.collateral_id:
        missing["collateral"] = [_("Say which collateral the estimated value is for.")]
    return missing


@transaction.atomic
def inspection_submit(*, inspection: Inspection, acting_user) -> Inspection:
    if not can_work_on(acting_user, inspection):
        raise PermissionDenied(_("Only the officer assigned submits this report."))
    inspection = _lock(inspection)
    _require(inspection, (S.IN_PROGRESS,), _("Only a report in progress can be submitted."))
    missing = report_missing(inspection)
    if missing:
        raise ValidationFailed(_("The report is incomplete."), extra=missing)
    _set_state(inspection, S.SUBMITTED, submitted_at=timezone.now(), submitted_by=acting_user)
    _signoff(inspection, SignOff.Step.SUBMITTED, acting_user)
    return inspection


# --- sign-off ---------------------------------------------------------------------------------


def _require_reviewer(inspection: Inspection, acting_user) -> None:
    if not can_review(acting_user):
        raise PermissionDenied(_("Only the credit department head reviews inspection reports."))
    if not _visible(acting_user, inspection):
        raise PermissionDenied(_("This loan is outside your branches."))
    if inspection.submitted_by_id == acting_user.id or inspection.officer_id == acting_user.id:
        raise PermissionDenied(_("The author of a report cannot review it."))


@transaction.atomic
def inspection_return(*, inspection: Inspection, comments: str, acting_user) -> Inspection:
    inspection = _lock(inspection)
    _require_reviewer(inspection, acting_user)
    _require(inspection, (S.SUBMITTED,), _("Only a submitted report can be returned."))
    comments = (comments or "").strip()
    if not comments:
        raise ValidationFailed(
            _("Say what to fix."), extra={"comments": [_("Comments are required to return a report.")]}
        )
    _set_state(inspection, S.RETURNED, review_comments=comments, return_count=inspection.return_count + 1)
    _signoff(inspection, SignOff.Step.RETURNED, acting_user, comments)
    return inspection


@transaction.atomic
def inspection_review(*, inspection: Inspection, comments: str = "", acting_user) -> Inspection:
    """The credit head signs the report and its proposals take effect."""
    inspection = _lock(inspection)
    _require_reviewer(inspection, acting_user)
    _require(inspection, (S.SUBMITTED,), _("Only a submitted report can be reviewed."))
    today = business_date()
    comments = (comments or "").strip()
    _set_state(
        inspection, S.REVIEWED, reviewed_at=timezone.now(), reviewed_by=acting_user,
        review_comments=comments or inspection.review_comments,
    )  # fmt: skip
    _signoff(inspection, SignOff.Step.REVIEWED, acting_user, comments)
    _apply_review(inspection, acting_user=acting_user, today=today)
    return inspection


def _apply_review(inspection: Inspection, *, acting_user, today: date) -> None:
    from loans.services.classification import loan_classification_downgrade

    if inspection.collateral_estimated_value is not None and inspection.collateral_id:
        Collateral.objects.filter(id=inspection.collateral_id, loan_id=inspection.loan_id).update(
            value=inspection.collateral_estimated_value, valued_on=today
        )
        FollowUpTask.objects.create(
            inspection=inspection, kind=FollowUpTask.Kind.REVALUATION, owner=acting_user, due_date=today,
            done_on=today, done_by=acting_user, created_by=acting_user,
            description=_("Collateral revalued at %(value)s from the inspection report.")
            % {"value": inspection.collateral_estimated_value},
        )  # fmt: skip
    proposed = inspection.proposed_classification
    state = LoanDelinquency.objects.filter(loan_id=inspection.loan_id).only("classification").first()
    current = state.classification if state else Classification.NORMAL
    if proposed and CLASS_RANK.get(proposed, 0) > CLASS_RANK.get(current, 0):
        loan_classification_downgrade(
            loan=inspection.loan, classification=proposed, effective_from=today, acting_user=acting_user,
            reason=_("Inspection #%(id)s (%(type)s) reviewed: %(analysis)s")
            % {"id": inspection.id, "type": inspection.get_type_display(), "analysis": inspection.analysis[:500]},
        )  # fmt: skip
        FollowUpTask.objects.create(
            inspection=inspection, kind=FollowUpTask.Kind.RECLASSIFICATION, owner=acting_user, due_date=today,
            done_on=today, done_by=acting_user, created_by=acting_user,
            description=_("Downgrade to %(cls)s recorded on the loan (effective from the next sweep).")
            % {"cls": Classification(proposed).label},
        )  # fmt: skip


@transaction.atomic
def inspection_acknowledge(
    *, inspection: Inspection, comments: str = "", acting_user, complete: bool = True
) -> Inspection:
    """The manager in charge acknowledges a reviewed report; the report is then completed (unless
    COMPLETE is False: `inspection_complete` files it later)."""
    if not can_acknowledge(acting_user, inspection):
        raise PermissionDenied(_("Only the branch manager in charge acknowledges inspection reports."))
    inspection = _lock(inspection)
    _require(inspection, (S.REVIEWED,), _("A report is acknowledged only after the credit head's review."))
    _set_state(inspection, S.ACKNOWLEDGED, acknowledged_at=timezone.now(), acknowledged_by=acting_user)
    _signoff(inspection, SignOff.Step.ACKNOWLEDGED, acting_user, (comments or "").strip())
    if not complete:
        return inspection
    return inspection_complete(inspection=inspection, acting_user=acting_user)


@transaction.atomic
def inspection_complete(*, inspection: Inspection, acting_user) -> Inspection:
    """Render the signed PDF, file it into the credit file and schedule the next routine one."""
    from archives.services.files import file_document_file_generated
    from inspections.pdf import report_filename, report_language, report_pdf

    inspection = _lock(inspection)
    if not (can_acknowledge(acting_user, inspection) or acting_user.is_superuser):
        raise PermissionDenied(_("Only the branch manager in charge completes inspection reports."))
    _require(inspection, (S.ACKNOWLEDGED,), _("Only an acknowledged report can be completed."))
    today = business_date()
    language = report_language(inspection, acting_user)
    content = report_pdf(inspection, language=language)
    document = file_document_file_generated(
        loan=inspection.loan, code=inspection.document_code,
        name=_("Inspection report #%(id)s (%(type)s)") % {"id": inspection.id, "type": inspection.get_type_display()},
        content=content, filename=report_filename(inspection), by=acting_user,
        reason=_("Signed inspection report filed"),
    )  # fmt: skip
    _set_state(inspection, S.COMPLETED, completed_on=today, document_id=document.id)
    _schedule_next_routine(inspection, today=today)
    return inspection


def _schedule_next_routine(inspection: Inspection, *, today: date) -> Inspection | None:
    loan = inspection.loan
    if loan.status != Loan.Status.ACTIVE:
        return None
    if Inspection.objects.filter(loan=loan, type=InspectionType.ROUTINE).exclude(state__in=CLOSED_STATES).exists():
        return None
    due = next_routine_due(loan=loan, after=today)
    try:
        with transaction.atomic():
            return Inspection.objects.create(
                loan=loan, type=InspectionType.ROUTINE, due_date=due, scheduled_on=today, previous=inspection,
                officer=loan.officer, state=S.ASSIGNED if loan.officer_id else S.SCHEDULED,
                reason="after last inspection",
            )  # fmt: skip
    except IntegrityError:  # the nightly step made it meanwhile
        return None


@transaction.atomic
def inspection_cancel(*, inspection: Inspection, reason: str, acting_user) -> Inspection:
    """A manager cancels an inspection not yet submitted (e.g. made redundant by another one)."""
    if not can_assign(acting_user, inspection):
        raise PermissionDenied(_("Only a branch manager, a credit head or head-office risk cancels inspections."))
    inspection = _lock(inspection)
    _require(inspection, CANCELLABLE_STATES, _("Only an inspection not yet submitted can be cancelled."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("A reason is required."), extra={"reason": [_("A reason is required.")]})
    _set_state(inspection, S.CANCELLED, cancelled_on=business_date(), cancel_reason=reason[:200])
    return inspection


# --- adverse events, attachments, follow-up tasks --------------------------------------------


@transaction.atomic
def adverse_event_record(*, loan: Loan, kind: str, occurred_on: date, description: str, acting_user) -> AdverseEvent:
    """Record an adverse event; an event inspection is due within 7 days (or an open one is
    brought forward to that date)."""
    if not can_record_event(acting_user, loan):
        raise PermissionDenied(_("Only officers, credit heads and managers of the branch record adverse events."))
    today = business_date()
    errors = {}
    if kind not in AdverseEvent.Kind.values:
        errors["kind"] = [_("Choose one of the options.")]
    if not (description or "").strip():
        errors["description"] = [_("Describe the event.")]
    if occurred_on is None or occurred_on > today:
        errors["occurred_on"] = [_("The date cannot be in the future.")]
    if loan.status != Loan.Status.ACTIVE:
        errors["loan"] = [_("The loan is not active.")]
    if errors:
        raise ValidationFailed(_("Invalid adverse event."), extra=errors)
    Loan.objects.select_for_update(of=("self",)).get(id=loan.id)
    event = AdverseEvent.objects.create(
        loan=loan, kind=kind, occurred_on=occurred_on, description=description.strip(), recorded_by=acting_user
    )
    due = today + timedelta(days=EVENT_DAYS)
    open_event = (
        Inspection.objects.select_for_update()
        .filter(loan=loan, type=InspectionType.EVENT)
        .exclude(state__in=CLOSED_STATES)
        .first()
    )
    if open_event is None:
        Inspection.objects.create(
            loan=loan, type=InspectionType.EVENT, due_date=due, scheduled_on=today, adverse_event=event,
            officer=loan.officer, state=S.ASSIGNED if loan.officer_id else S.SCHEDULED,
            reason=f"adverse event: {event.kind}",
        )  # fmt: skip
    elif open_event.due_date > due:
        open_event.due_date = due
        open_event.save(update_fields=["due_date", "updated_at"])
    return event


def _check_upload(upload) -> tuple[str, str]:
    name = (getattr(upload, "name", "") or "").rsplit("/", 1)[-1][:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ATTACHMENT_TYPES:
        raise ValidationFailed(
            _("File type not allowed."), extra={"file": [_("Upload a JPEG or PNG photo or a PDF statement.")]}
        )
    if upload.size > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed(_("File too large."), extra={"file": [_("The file is larger than 10 MB.")]})
    if upload.size == 0:
        raise ValidationFailed(_("Empty file."), extra={"file": [_("The file is empty.")]})
    content_type, magic = ATTACHMENT_TYPES[extension]
    upload.seek(0)
    head = upload.read(len(magic))
    upload.seek(0)
    if head != magic:
        raise ValidationFailed(
            _("File type not allowed."), extra={"file": [_("The file's content does not match its type.")]}
        )
    return name, content_type


@transaction.atomic
def attachment_add(*, inspection: Inspection, upload, kind: str, acting_user) -> InspectionAttachment:
    if not can_work_on(acting_user, inspection):
        raise PermissionDenied(_("Only the officer assigned adds attachments."))
    inspection = _lock(inspection)
    _require(inspection, EDITABLE_STATES, _("Attachments are added while the report is being written."))
    if kind not in InspectionAttachment.Kind.values:
        raise ValidationFailed(_("Invalid attachment."), extra={"kind": [_("Choose one of the options.")]})
    name, content_type = _check_upload(upload)
    attachment = InspectionAttachment(
        inspection=inspection, kind=kind, original_name=name, content_type=content_type, size=upload.size,
        uploaded_by=acting_user,
    )  # fmt: skip
    attachment.file.save(name, upload, save=False)
    attachment.save()
    return attachment


@transaction.atomic
def followup_task_add(
    *, inspection: Inspection, kind: str, description: str, owner: User, due_date: date, acting_user
) -> FollowUpTask:
    allowed = (
        can_work_on(acting_user, inspection)
        or can_review(acting_user, inspection)
        or can_acknowledge(acting_user, inspection)
    )
    if not allowed:
        raise PermissionDenied(_("Only the officer, the credit head or the manager raise follow-up tasks."))
    inspection = _lock(inspection)
    if inspection.state in CLOSED_STATES and inspection.state != S.COMPLETED:
        raise InvalidTransition(_("The inspection is cancelled."))
    errors = {}
    if kind not in FollowUpTask.Kind.values:
        errors["kind"] = [_("Choose one of the options.")]
    if not (description or "").strip():
        errors["description"] = [_("Describe the task.")]
    elif len(description.strip()) > 300:
        errors["description"] = [_("At most 300 characters.")]
    if (
        owner is None
        or not owner.is_active
        or not owner.is_back_office
        or not can_see_branch(owner, inspection.loan.branch)
    ):
        errors["owner"] = [_("Choose a colleague who works on the loan's branch.")]
    if due_date is None or due_date < business_date():
        errors["due_date"] = [_("The due date cannot be in the past.")]
    if errors:
        raise ValidationFailed(_("Invalid task."), extra=errors)
    return FollowUpTask.objects.create(
        inspection=inspection, kind=kind, description=description.strip(), owner=owner, due_date=due_date,
        created_by=acting_user,
    )  # fmt: skip


@transaction.atomic
def followup_task_done(*, task: FollowUpTask, acting_user) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().select_related("inspection__loan__branch").get(id=task.id)
    if acting_user.id != task.owner_id and not can_assign(acting_user, task.inspection):
        raise PermissionDenied(_("Only the task's owner or a manager closes it."))
    if task.done_on is None:
        task.done_on = business_date()
        task.done_by = acting_user
        task.save(update_fields=["done_on", "done_by", "updated_at"])
    return task
