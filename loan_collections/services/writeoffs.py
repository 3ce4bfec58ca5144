"""Write-off (domain.md "Collections"; domain-research §10): proposal with evidence → branch review
→ risk review → approval by amount band → posted (the loan is written off, the case stays open
and collecting: recoveries) → closed (after the accountability review).

Four-eyes at every step: the proposer never reviews, approves, posts, closes, returns or rejects;
the same person never takes two consecutive steps of the chain (reviews, approval, posting,
closing). A return sends the write-off back to draft (its proposer edits and submits it again);
a rejection ends it. Every step writes a `WriteOffStep`.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loan_collections.models import ClosureReason, CollectionCase, Stage, WriteOff, WriteOffStep
from loanops.core.exceptions import Conflict, InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Role
from loanops.org.scoping import for_user
from loans.locks import loan_lock
from loans.models import Loan, LoanDelinquency, Payment

# WO_APPROVAL_MATRIX (domain-research §3.4): up to 50k the branch committee, up to 500k the
# head-office risk committee, above that the board.
BAND_BRANCH_MAX = Decimal("50000.00")
BAND_HEAD_OFFICE_MAX = Decimal("500000.00")

PROPOSE_ROLES = frozenset(
    {Role.COLLECTOR, Role.CREDIT_OFFICER, Role.CREDIT_HEAD, Role.BRANCH_MANAGER, Role.RISK, Role.ADMIN}
)
BRANCH_REVIEW_ROLES = frozenset({Role.BRANCH_MANAGER, Role.CREDIT_HEAD})
RISK_REVIEW_ROLES = frozenset({Role.RISK})
APPROVAL_ROLES = {
    WriteOff.Band.BRANCH: frozenset({Role.BRANCH_MANAGER}),
    WriteOff.Band.HEAD_OFFICE: frozenset({Role.RISK}),
    WriteOff.Band.BOARD: frozenset({Role.ADMIN}),
}
POST_ROLES = frozenset({Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})
CLOSE_ROLES = frozenset({Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})

S = WriteOff.State


class Action:
    PROPOSE = "propose"
    SUBMIT = "submit"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    POST = "post"
    ACCOUNTABILITY = "accountability"
    CLOSE = "close"


# The chain of decisions where four-eyes between consecutive steps applies.
CHAIN_ACTIONS = frozenset({Action.APPROVE, Action.POST, Action.CLOSE})
ACTION_LABELS = {
    Action.PROPOSE: gettext_lazy("Proposed"),
    Action.SUBMIT: gettext_lazy("Submitted"),
    Action.APPROVE: gettext_lazy("Approved"),
    Action.RETURN: gettext_lazy("Returned to draft"),
    Action.REJECT: gettext_lazy("Rejected"),
    Action.POST: gettext_lazy("Posted"),
    Action.ACCOUNTABILITY: gettext_lazy("Accountability review recorded"),
    Action.CLOSE: gettext_lazy("Closed"),
}
# What "approve" leads to from each review state.
_NEXT = {S.BRANCH_REVIEW: S.RISK_REVIEW, S.RISK_REVIEW: S.APPROVAL, S.APPROVAL: S.APPROVED}
REVIEW_STATES = frozenset(_NEXT)


def band_for(total: Decimal) -> str:
    if total <= BAND_HEAD_OFFICE_MAX:
        return WriteOff.Band.BRANCH if total <= BAND_BRANCH_MAX else WriteOff.Band.HEAD_OFFICE
    return WriteOff.Band.BOARD


def _allowed(user, roles) -> bool:
    if not user.is_authenticated or user.is_read_only or not user.is_active:
        return False
    return user.role in roles or (user.is_superuser and Role.ADMIN in roles)


def can_propose(user) -> bool:
    return _allowed(user, PROPOSE_ROLES)


def review_roles(write_off: WriteOff) -> frozenset:
    """Who decides in the write-off's current review state (empty outside review)."""
    if write_off.state == S.BRANCH_REVIEW:
        return BRANCH_REVIEW_ROLES
    if write_off.state == S.RISK_REVIEW:
        return RISK_REVIEW_ROLES
    if write_off.state == S.APPROVAL:
        return APPROVAL_ROLES[write_off.band]
    return frozenset()


def _last_chain_actor_id(write_off: WriteOff) -> int | None:
    """Who took the previous step of the current round's chain (none since the last submit)."""
    steps = sorted(write_off.steps.all(), key=lambda step: (step.at, step.id), reverse=True)
    for step in steps:
        if step.action == Action.SUBMIT:
            return None
        if step.action in CHAIN_ACTIONS:
            return step.by_id
    return None


def _four_eyes_problem(write_off: WriteOff, user) -> str | None:
    if user.id == write_off.proposed_by_id:
        return _("Four-eyes: the proposer of a write-off never reviews, approves, posts or closes it.")
    if _last_chain_actor_id(write_off) == user.id:
        return _("Four-eyes: you took the previous step of this write-off; another person must take this one.")
    return None


def writeoff_available_actions(*, write_off: WriteOff, user) -> list[str]:
    """The actions USER may take on WRITE_OFF now (for the pages; the services check again)."""
    if not user.is_authenticated or user.is_read_only:
        return []
    state = write_off.state
    if state == S.DRAFT:
        return [Action.SUBMIT] if user.id == write_off.proposed_by_id and can_propose(user) else []
    if state in (S.REJECTED, S.CLOSED):
        return []
    if _four_eyes_problem(write_off, user):
        return []
    if state in REVIEW_STATES:
        return [Action.APPROVE, Action.RETURN, Action.REJECT] if _allowed(user, review_roles(write_off)) else []
    if state == S.APPROVED:
        return [Action.POST] if _allowed(user, POST_ROLES) else []
    if state == S.POSTED:
        return [Action.ACCOUNTABILITY, Action.CLOSE] if _allowed(user, CLOSE_ROLES) else []
    return []


@dataclass(frozen=True)
class Amounts:
    principal: Decimal
    interest: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees


def writeoff_amounts(*, loan: Loan) -> Amounts:
    """From the stored arrears state: outstanding principal, overdue interest, overdue fees."""
    state = LoanDelinquency.objects.filter(loan_id=loan.id).first()
    if state is None:
        raise ValidationFailed(
            _("The loan has no stored arrears state yet."),
            extra={"loan": [_("Run the nightly sweep before proposing a write-off.")]},
        )
    return Amounts(principal=state.outstanding_principal, interest=state.overdue_interest, fees=state.overdue_fees)


def _business_day(on: date | None) -> date:
    today = business_date()
    if on is None:
        return today
    if on > today:
        message = _("The date cannot be in the future.")
        raise ValidationFailed(message, extra={"on": [message]})
    return on


def _check_evidence(ground: str, evidence: str) -> tuple[str, str]:
    errors: dict[str, list[str]] = {}
    if ground not in WriteOff.Ground.values:
        errors["ground"] = [_("Choose a ground from the list.")]
    evidence = (evidence or "").strip()
    if not evidence:
        errors["evidence"] = [_("Describe the evidence (rulings, certificates, collection history, disposal).")]
    if errors:
        raise ValidationFailed(_("Invalid write-off proposal."), extra=errors)
    return ground, evidence


def _lock(write_off: WriteOff, user) -> WriteOff:
    locked = (
        for_user(WriteOff.objects.all(), user)
        .select_for_update(of=("self",))
        .select_related("loan", "case")
        .filter(id=write_off.id)
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("The write-off is outside your branches."))
    return locked


def _step(write_off: WriteOff, *, from_state: str, action: str, by, comment: str = "") -> None:
    WriteOffStep.objects.create(
        write_off=write_off, from_state=from_state, to_state=write_off.state, action=action,
        comment=(comment or "").strip(), by=by,
    )  # fmt: skip


@transaction.atomic
def writeoff_propose(
    *, case: CollectionCase, ground: str, evidence: str, acting_user, on: date | None = None
) -> WriteOff:
    """A draft write-off of the case's loan, its amounts taken from the stored arrears state.
    ON: the proposal date (default today; earlier only for data loads such as the demo)."""
    on = _business_day(on)
    if not can_propose(acting_user):
        raise PermissionDenied(_("Your role does not propose write-offs."))
    ground, evidence = _check_evidence(ground, evidence)
    case = (
        for_user(CollectionCase.objects.all(), acting_user)
        .select_for_update(of=("self",))
        .select_related("loan")
        .filter(id=case.id)
        .first()
    )
    if case is None:
        raise PermissionDenied(_("The case is outside your branches."))
    if case.status != CollectionCase.Status.OPEN or case.stage != Stage.ENFORCEMENT:
        raise InvalidTransition(_("Only an open case in enforcement can be proposed for write-off."))
    if case.loan.status != Loan.Status.ACTIVE:
        raise InvalidTransition(_("The loan is not active (already closed or written off)."))
    amounts = writeoff_amounts(loan=case.loan)
    if amounts.total <= 0:
        raise InvalidTransition(_("Nothing is left to write off."))
    try:
        with transaction.atomic():
            write_off = WriteOff.objects.create(
                loan=case.loan, case=case, state=S.DRAFT, ground=ground, evidence=evidence,
                principal=amounts.principal, interest=amounts.interest, fees=amounts.fees,
                band=band_for(amounts.total), proposed_by=acting_user, proposed_on=on,
            )  # fmt: skip
    except IntegrityError as exc:
        message = _("This loan already has a write-off in progress.")
        raise Conflict(message, extra={"case": [message]}) from exc
    _step(write_off, from_state="", action=Action.PROPOSE, by=acting_user)
    return write_off


@transaction.atomic
def writeoff_submit(
    *, write_off: WriteOff, acting_user, ground: str | None = None, evidence: str | None = None, comment: str = ""
) -> WriteOff:
    """Draft → branch review, by its proposer (who may correct the ground and evidence first).
    The amounts and the band are taken again from the stored arrears state."""
    write_off = _lock(write_off, acting_user)
    if write_off.state != S.DRAFT:
        raise InvalidTransition(_("Only a draft write-off can be submitted."))
    if acting_user.id != write_off.proposed_by_id or not can_propose(acting_user):
        raise PermissionDenied(_("Only the proposer submits a write-off."))
    if write_off.loan.status != Loan.Status.ACTIVE:
        raise InvalidTransition(_("The loan is not active (already closed or written off)."))
    write_off.ground, write_off.evidence = _check_evidence(
        write_off.ground if ground is None else ground, write_off.evidence if evidence is None else evidence
    )
    amounts = writeoff_amounts(loan=write_off.loan)
    write_off.principal, write_off.interest, write_off.fees = amounts.principal, amounts.interest, amounts.fees
    write_off.band = band_for(amounts.total)
    write_off.state = S.BRANCH_REVIEW
    write_off.save()
    _step(write_off, from_state=S.DRAFT, action=Action.SUBMIT, by=acting_user, comment=comment)
    return write_off


def _check_actor(write_off: WriteOff, user, roles, denied: str) -> None:
    if not _allowed(user, roles):
        raise PermissionDenied(denied)
    problem = _four_eyes_problem(write_off, user)
    if problem:
        raise PermissionDenied(problem)


def _review_denied(write_off: WriteOff) -> str:
    if write_off.state == S.BRANCH_REVIEW:
        return _("The branch review is taken by the branch manager or the credit department head.")
    if write_off.state == S.RISK_REVIEW:
        return _("The risk review is taken by head-office risk.")
    return {
        WriteOff.Band.BRANCH: _("This write-off (branch band) is approved by the branch manager."),
        WriteOff.Band.HEAD_OFFICE: _("This write-off (head-office band) is approved by head-office risk."),
        WriteOff.Band.BOARD: _("This write-off (board band) is approved by an administrator for the board."),
    }[write_off.band]


@transaction.atomic
def writeoff_decide(*, write_off: WriteOff, decision: str, acting_user, comment: str = "") -> WriteOff:
    """In branch review, risk review or approval: approve (next state), return (to draft) or reject."""
    write_off = _lock(write_off, acting_user)
    if write_off.state not in REVIEW_STATES:
        raise InvalidTransition(
            _("The write-off is “%(state)s”: nothing to review or approve.") % {"state": write_off.get_state_display()}
        )
    if decision not in (Action.APPROVE, Action.RETURN, Action.REJECT):
        raise ValidationFailed(_("Invalid decision."), extra={"decision": [_("Approve, return or reject.")]})
    _check_actor(write_off, acting_user, review_roles(write_off), _review_denied(write_off))
    comment = (comment or "").strip()
    if decision in (Action.RETURN, Action.REJECT) and not comment:
        raise ValidationFailed(_("Invalid decision."), extra={"comment": [_("Say why (a comment is required).")]})
    from_state = write_off.state
    write_off.state = {Action.APPROVE: _NEXT[from_state], Action.RETURN: S.DRAFT, Action.REJECT: S.REJECTED}[decision]
    write_off.save(update_fields=["state", "updated_at"])
    _step(write_off, from_state=from_state, action=decision, by=acting_user, comment=comment)
    return write_off


@transaction.atomic
def writeoff_post(*, write_off: WriteOff, acting_user, comment: str = "", on: date | None = None) -> WriteOff:
    """Approved → posted: the loan becomes written off (closed_on = the posting date); the case
    stays open in recovery (账销案存) and keeps collecting. ON: the accounting date of the
    posting (default today; never before the proposal)."""
    on = _business_day(on)
    write_off = _lock(write_off, acting_user)
    if write_off.state != S.APPROVED:
        raise InvalidTransition(_("Only an approved write-off can be posted."))
    _check_actor(write_off, acting_user, POST_ROLES,
                 _("Write-offs are posted by the credit department head, risk or an administrator."))  # fmt: skip
    loan = loan_lock(write_off.loan_id)
    if loan.status != Loan.Status.ACTIVE:
        raise InvalidTransition(_("The loan is not active (already closed or written off)."))
    if on < write_off.proposed_on:
        message = _("The posting date cannot be before the proposal date.")
        raise ValidationFailed(message, extra={"on": [message]})
    loan.status, loan.closed_on = Loan.Status.WRITTEN_OFF, on
    loan.save(update_fields=["status", "closed_on", "updated_at"])
    write_off.state, write_off.posted_on = S.POSTED, on
    write_off.save(update_fields=["state", "posted_on", "updated_at"])
    _step(write_off, from_state=S.APPROVED, action=Action.POST, by=acting_user, comment=comment)
    return write_off


@transaction.atomic
def writeoff_record_accountability(*, write_off: WriteOff, review: str, acting_user) -> WriteOff:
    """The accountability review (责任认定), required before the write-off closes."""
    write_off = _lock(write_off, acting_user)
    if write_off.state != S.POSTED:
        raise InvalidTransition(_("The accountability review is recorded on a posted write-off."))
    denied = _("The credit department head, risk or an administrator record the accountability review.")
    _check_actor(write_off, acting_user, CLOSE_ROLES, denied)
    review = (review or "").strip()
    if not review:
        message = _("Write the accountability review.")
        raise ValidationFailed(message, extra={"accountability_review": [message]})
    write_off.accountability_review = review
    write_off.save(update_fields=["accountability_review", "updated_at"])
    _step(write_off, from_state=S.POSTED, action=Action.ACCOUNTABILITY, by=acting_user, comment=review)
    return write_off


@transaction.atomic
def writeoff_close(*, write_off: WriteOff, acting_user, accountability_review: str = "", comment: str = "") -> WriteOff:
    """Posted → closed (recoveries exhausted, claim extinguished): only with an accountability
    review; the case closes too (write_off_closed)."""
    write_off = _lock(write_off, acting_user)
    if write_off.state != S.POSTED:
        raise InvalidTransition(_("Only a posted write-off can be closed."))
    _check_actor(write_off, acting_user, CLOSE_ROLES,
                 _("Write-offs are closed by the credit department head, risk or an administrator."))  # fmt: skip
    review = (accountability_review or "").strip() or write_off.accountability_review.strip()
    if not review:
        message = _("A write-off is closed only after its accountability review is recorded.")
        raise InvalidTransition(message, extra={"accountability_review": [message]})
    today = business_date()
    write_off.accountability_review = review
    write_off.state, write_off.closed_on = S.CLOSED, today
    write_off.save(update_fields=["accountability_review", "state", "closed_on", "updated_at"])
    _step(write_off, from_state=S.POSTED, action=Action.CLOSE, by=acting_user, comment=comment)
    if write_off.case_id:
        CollectionCase.objects.filter(id=write_off.case_id, status=CollectionCase.Status.OPEN).update(
            status=CollectionCase.Status.CLOSED, closed_on=today, closure_reason=ClosureReason.WRITE_OFF_CLOSED,
            updated_at=timezone.now(),
        )  # fmt: skip
    return write_off


def writeoff_act(*, write_off: WriteOff, action: str, acting_user, comment: str = "", text: str = "") -> WriteOff:
    """One entry point for the pages: ACTION as listed by `writeoff_available_actions`."""
    if action == Action.SUBMIT:
        return writeoff_submit(write_off=write_off, acting_user=acting_user, comment=comment)
    if action in (Action.APPROVE, Action.RETURN, Action.REJECT):
        return writeoff_decide(write_off=write_off, decision=action, acting_user=acting_user, comment=comment)
    if action == Action.POST:
        return writeoff_post(write_off=write_off, acting_user=acting_user, comment=comment)
    if action == Action.ACCOUNTABILITY:
        return writeoff_record_accountability(write_off=write_off, review=text, acting_user=acting_user)
    if action == Action.CLOSE:
        return writeoff_close(write_off=write_off, acting_user=acting_user, accountability_review=text, comment=comment)
    raise ValidationFailed(_("Unknown action."), extra={"action": [_("Unknown action.")]})


# --- reads ---------------------------------------------------------------------------------------


def writeoff_recoveries(*, write_off: WriteOff) -> QuerySet[Payment]:
    """Money received on the written-off loan after posting (booked as recoveries), any payer."""
    if write_off.posted_on is None:
        return Payment.objects.none()
    return Payment.objects.filter(
        loan_id=write_off.loan_id, reversed_at__isnull=True, value_date__gt=write_off.posted_on
    ).order_by("value_date", "id")


def writeoff_recovered_total(*, write_off: WriteOff) -> Decimal:
    total = writeoff_recoveries(write_off=write_off).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")


def writeoffs_for_user(*, user, state: str = "") -> QuerySet[WriteOff]:
    qs = for_user(WriteOff.objects.all(), user).select_related("loan", "loan__branch", "loan__borrower", "proposed_by")
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("-proposed_on", "-id")


def writeoffs_awaiting(*, user) -> list[WriteOff]:
    """The write-offs waiting for USER: drafts they proposed, reviews and approvals their role takes
    (four-eyes applied), posting and closing."""
    if not user.is_authenticated or user.is_read_only:
        return []
    live = writeoffs_for_user(user=user).exclude(state__in=[S.REJECTED, S.CLOSED])
    return [w for w in live.prefetch_related("steps")[:500] if writeoff_available_actions(write_off=w, user=user)]


def writeoff_steps(*, write_off: WriteOff) -> QuerySet[WriteOffStep]:
    return WriteOffStep.objects.filter(write_off=write_off).select_related("by").order_by("at", "id")


def writeoff_nav_visible(user) -> bool:
    """Every staff role that takes part in write-offs, and the read-only auditors."""
    if not user.is_authenticated or not user.is_back_office:
        return False
    return user.is_read_only or user.is_superuser or user.role in PROPOSE_ROLES | POST_ROLES | BRANCH_REVIEW_ROLES
