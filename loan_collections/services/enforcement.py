"""Enforcement: leaving it (only a full cure plus a supervisor's approval, domain.md: sticky), moving
its tracks by hand (legal action, dealer guarantee call, insurer claim) and reading them."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loan_collections.models import CaseStageChange, CollectionCase, EnforcementTrack, Stage, TrackEvent, TrackState
from loan_collections.services.assignment import REASSIGN_ROLES
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.models import Role
from loanops.org.scoping import for_user
from loans.models import LoanDelinquency

RELEASE_ROLES = frozenset({Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})


def can_release_from_enforcement(user) -> bool:
    if not user.is_authenticated or user.is_read_only:
        return False
    return user.is_superuser or user.role in RELEASE_ROLES


@transaction.atomic
def case_release_from_enforcement(*, case: CollectionCase, acting_user, reason: str) -> CollectionCase:
    """Approve a fully cured case's move from enforcement to cure monitoring."""
    if not can_release_from_enforcement(acting_user):
        raise PermissionDenied(_("Only the credit department head, risk or an administrator releases enforcement."))
    if not reason.strip():
        raise ValidationFailed(_("Invalid release."), extra={"reason": [_("A reason is required.")]})
    case = (
        for_user(CollectionCase.objects.all(), acting_user).select_for_update(of=("self",)).filter(id=case.id).first()
    )
    if case is None:
        raise PermissionDenied(_("The case is outside your branches."))
    if case.status != CollectionCase.Status.OPEN or case.stage != Stage.ENFORCEMENT:
        raise InvalidTransition(_("Only an open case in enforcement can be released."))
    state = LoanDelinquency.objects.filter(loan_id=case.loan_id).first()
    if state is None or state.days_past_due != 0 or state.overdue_installments != 0:
        raise InvalidTransition(
            _("The loan is not fully cured (days past due and overdue installments must both be 0)."),
            extra={"case": [_("The loan is not fully cured.")]},
        )
    today = business_date()
    CaseStageChange.objects.create(
        case=case, from_stage=case.stage, to_stage=Stage.CURE_MONITORING, on=today,
        reason=CaseStageChange.Reason.RELEASED, note=reason.strip(), by=acting_user,
    )  # fmt: skip
    case.stage = Stage.CURE_MONITORING
    case.stage_since = today
    case.cure_started_on = today
    case.enforcement_since = None
    case.updated_at = timezone.now()
    case.save(update_fields=["stage", "stage_since", "cure_started_on", "enforcement_since", "updated_at"])
    return case


# --- moving enforcement tracks by hand -----------------------------------------------------------

# Legal action: credit department head, head-office risk, administrator. Guarantee calls and
# insurer claims: the collectors' supervisors (who also reassign cases).
LEGAL_ROLES = frozenset({Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})
GUARANTEE_ROLES = REASSIGN_ROLES

_K = EnforcementTrack.Kind
_S = TrackState
_CONCLUDED = (_S.CONCLUDED_RECOVERED, _S.CONCLUDED_TERMINATED)

# Moves a person makes (domain-research §6.2). Money states of the guarantee call (paid, partly
# paid) and of the insurer claim (paid) come from the payments API through the nightly run.
TRACK_TRANSITIONS: dict[str, dict[str, tuple[str, ...]]] = {
    _K.LEGAL: {
        _S.PREPARING: (_S.FILED, _S.CONCLUDED_TERMINATED),
        _S.FILED: (_S.PRESERVATION, _S.JUDGMENT, *_CONCLUDED),
        _S.PRESERVATION: (_S.JUDGMENT, *_CONCLUDED),
        _S.JUDGMENT: (_S.ENFORCEMENT, *_CONCLUDED),
        _S.ENFORCEMENT: _CONCLUDED,
    },
    _K.DEALER_GUARANTEE: {
        _S.NOTICE_SENT: (_S.REFUSED,),
        _S.PARTLY_PAID: (_S.REFUSED,),
    },
    _K.INSURER_CLAIM: {
        _S.FILED: (_S.DOCUMENTS_REQUESTED, _S.APPROVED, _S.REJECTED),
        _S.DOCUMENTS_REQUESTED: (_S.FILED, _S.APPROVED, _S.REJECTED),
        _S.APPROVED: (_S.REJECTED,),
    },
}
FINAL_STATES = frozenset({*_CONCLUDED, _S.PAID, _S.REJECTED})


def can_move_track(user, kind: str) -> bool:
    if not user.is_authenticated or user.is_read_only:
        return False
    roles = LEGAL_ROLES if kind == _K.LEGAL else GUARANTEE_ROLES
    return user.is_superuser or user.role in roles


def track_next_states(track: EnforcementTrack) -> tuple[str, ...]:
    return TRACK_TRANSITIONS.get(track.kind, {}).get(track.state, ())


@transaction.atomic
def track_transition(
    *, track: EnforcementTrack, to_state: str, acting_user, reference: str = "", amount=None, note: str = ""
) -> EnforcementTrack:
    """Move TRACK to TO_STATE with an optional reference (court file, claim number), amount and note.

    The amount is what the move is about: recovered (legal action concluded with recovery), the
    approved amount (insurer claim approved); otherwise it is only recorded on the event.
    A guarantee call refused proposes the legal action against the dealer and opens the insurer
    claim of an insured loan (as a lapsed call does at night)."""
    if not can_move_track(acting_user, track.kind):
        if track.kind == _K.LEGAL:
            raise PermissionDenied(_("Only the credit department head, risk or an administrator move legal actions."))
        raise PermissionDenied(
            _("Only branch managers, the credit department head, risk or an administrator move this track.")
        )
    track = (
        for_user(EnforcementTrack.objects.all(), acting_user)
        .select_for_update(of=("self",))
        .select_related("case", "case__loan")
        .filter(id=track.id)
        .first()
    )
    if track is None:
        raise PermissionDenied(_("The track is outside your branches."))
    reference, note = (reference or "").strip(), (note or "").strip()
    errors: dict[str, list[str]] = {}
    if amount is not None and amount < 0:
        errors["amount"] = [_("The amount cannot be negative.")]
    if len(reference) > 100:
        errors["reference"] = [_("At most 100 characters.")]
    if len(note) > 500:
        errors["note"] = [_("At most 500 characters.")]
    if errors:
        raise ValidationFailed(_("Invalid track change."), extra=errors)
    if track.case.status != CollectionCase.Status.OPEN:
        raise InvalidTransition(_("The case is closed: its tracks no longer move."))
    allowed = track_next_states(track)
    if to_state not in allowed:
        labels = dict(TrackState.choices)
        message = _("%(track)s in state “%(state)s” cannot move to “%(to)s”.") % {
            "track": track.get_kind_display(),
            "state": track.get_state_display(),
            "to": labels.get(to_state, to_state),
        }
        if allowed:
            message += " " + _("Allowed: %(states)s.") % {"states": ", ".join(str(labels[s]) for s in allowed)}
        raise InvalidTransition(message, extra={"to_state": [message]})
    if to_state == _S.FILED and track.kind == _K.LEGAL and not (reference or track.reference):
        raise ValidationFailed(
            _("Invalid track change."), extra={"reference": [_("Filing needs the court file reference.")]}
        )
    today = business_date()
    from_state = track.state
    track.state = to_state
    if reference:
        track.reference = reference
    if amount is not None and to_state == _S.CONCLUDED_RECOVERED:
        track.amount_recovered = amount
    if amount is not None and to_state == _S.APPROVED:
        track.amount_claimed = amount
    if to_state in FINAL_STATES:
        track.closed_on = today
    track.save(update_fields=["state", "reference", "amount_recovered", "amount_claimed", "closed_on", "updated_at"])
    TrackEvent.objects.create(
        track=track, from_state=from_state, to_state=to_state, on=today, amount=amount, note=note, by=acting_user
    )
    if track.kind == _K.DEALER_GUARANTEE and to_state == _S.REFUSED:
        _escalate_refused_guarantee(track=track, on=today, acting_user=acting_user)
    return track


def _escalate_refused_guarantee(*, track: EnforcementTrack, on, acting_user) -> None:
    from loan_collections.services.tracks import NOTE_INSURER_AFTER_REFUSAL, NOTE_REFUSED_DEALER

    remaining = max(track.amount_claimed - track.amount_recovered, Decimal("0.00"))
    opened = [
        (_K.LEGAL, EnforcementTrack.Against.DEALER, _S.PREPARING, remaining, NOTE_REFUSED_DEALER),
    ]
    if track.case.loan.insurer_id:
        opened.append(
            (_K.INSURER_CLAIM, EnforcementTrack.Against.INSURER, _S.FILED, track.amount_claimed,
             NOTE_INSURER_AFTER_REFUSAL)
        )  # fmt: skip
    for kind, against, state, amount, note in opened:
        new, created = EnforcementTrack.objects.get_or_create(
            case=track.case, kind=kind, against=against,
            defaults={"state": state, "opened_on": on, "amount_claimed": amount},
        )  # fmt: skip
        if created:
            TrackEvent.objects.create(track=new, from_state="", to_state=state, on=on, amount=amount, note=note,
                                      by=acting_user)  # fmt: skip


# --- reads ---------------------------------------------------------------------------------------


def tracks_for_user(*, user, filters: dict | None = None):
    """FILTERS: kind, state, branch (code, with its sub-branches), open_only."""
    from loan_collections.services.dealer_advances import branch_code_q

    filters = filters or {}
    qs = for_user(EnforcementTrack.objects.all(), user).select_related(
        "case", "case__loan", "case__loan__branch", "case__loan__dealer", "case__loan__insurer"
    )
    if filters.get("kind"):
        qs = qs.filter(kind=filters["kind"])
    if filters.get("state"):
        qs = qs.filter(state=filters["state"])
    if filters.get("branch"):
        qs = qs.filter(branch_code_q("case__loan__branch", filters["branch"]))
    if filters.get("open_only"):
        qs = qs.filter(closed_on__isnull=True)
    return qs.order_by("-opened_on", "-id")


def case_tracks(*, case: CollectionCase) -> list[EnforcementTrack]:
    """The case's tracks, each with its events (`track.history_events`), oldest first."""
    tracks = list(EnforcementTrack.objects.filter(case=case).order_by("opened_on", "id"))
    events: dict[int, list[TrackEvent]] = {track.id: [] for track in tracks}
    for event in TrackEvent.objects.filter(track__case=case).select_related("by").order_by("on", "id"):
        events[event.track_id].append(event)
    for track in tracks:
        track.history_events = events[track.id]
    return tracks
