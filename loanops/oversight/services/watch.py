"""The NPL ratio watch (domain.md duty 1, domain-research.md §9.3).

The *rule state* of an institution is a pure function of its monthly reports, in month order:
NORMAL → RESTRICTED on a report above the limit; RESTRICTED → NORMAL once
`lift_consecutive_reports` (default 2) reports in a row are at or below it. The *signed state*
(`InstitutionRestriction`) changes only when head-office risk signs a proposal off: after each
report, if the rule state differs from the signed state a proposal is opened (one pending per
institution); if they agree again, a pending proposal is superseded. The proposer never signs.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loanops.core.exceptions import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.oversight.models import (
    InstitutionRestriction,
    MonthlyReport,
    RestrictionProposal,
    RestrictionState,
)
from loanops.oversight.permissions import can_sign_restrictions

ONE = "1.000000"


def rule_state(flags: list[bool], *, lift_after: int) -> str:
    """The state after a sequence of reports (True = above the limit), oldest first."""
    state, clean_run = RestrictionState.NORMAL, 0
    for above in flags:
        if above:
            state, clean_run = RestrictionState.RESTRICTED, 0
        else:
            clean_run += 1
            if state == RestrictionState.RESTRICTED and clean_run >= lift_after:
                state = RestrictionState.NORMAL
    return state


def _restriction_for_update(institution, *, since) -> InstitutionRestriction:
    InstitutionRestriction.objects.get_or_create(
        institution=institution, defaults={"state": RestrictionState.NORMAL, "since": since, "authority_factor": ONE}
    )
    return InstitutionRestriction.objects.select_for_update().get(institution=institution)


@transaction.atomic
def restriction_evaluate(*, report: MonthlyReport) -> RestrictionProposal | None:
    """After REPORT (if it is its institution's latest), open or supersede a proposal so that a
    pending proposal exists exactly when the rule state differs from the signed state. Returns
    the proposal opened by this call (None when nothing new was opened). Idempotent."""
    institution = report.institution
    reports = list(
        MonthlyReport.objects.filter(institution=institution).order_by("month").values_list("id", "above_limit")
    )
    if not reports or reports[-1][0] != report.id:
        return None
    first = MonthlyReport.objects.filter(institution=institution).order_by("month").values_list("as_of", flat=True)[0]
    restriction = _restriction_for_update(institution, since=first)
    desired = rule_state([above for _id, above in reports], lift_after=report.parameters.lift_consecutive_reports)
    pending = (
        RestrictionProposal.objects.select_for_update()
        .filter(institution=institution, status=RestrictionProposal.Status.PENDING)
        .first()
    )
    kind = (
        RestrictionProposal.Kind.RESTRICT if desired == RestrictionState.RESTRICTED else RestrictionProposal.Kind.LIFT
    )
    if pending is not None and (desired == restriction.state or pending.kind != kind):
        _set_status(pending, RestrictionProposal.Status.SUPERSEDED, note=_("Superseded by the %(month)s report.")
                    % {"month": f"{report.month:%Y-%m}"})  # fmt: skip
        pending = None
    if desired == restriction.state or pending is not None:
        return None
    parameters = report.parameters
    ratio = f"{report.npl_ratio * 100:.2f} %" if report.npl_ratio is not None else "—"
    limit = f"{report.npl_ratio_limit * 100:.2f} %"
    if kind == RestrictionProposal.Kind.RESTRICT:
        reason = _("NPL ratio %(ratio)s above the limit of %(limit)s in the %(month)s report.")
        factor, suspended = parameters.authority_factor, list(parameters.suspended_business_types)
    else:
        reason = _(
            "NPL ratio %(ratio)s in the %(month)s report: %(n)s consecutive reports at or below the limit of %(limit)s."
        )
        factor, suspended = ONE, []
    return RestrictionProposal.objects.create(
        institution=institution,
        kind=kind,
        report=report,
        reason=reason % {"ratio": ratio, "limit": limit, "month": f"{report.month:%Y-%m}",
                         "n": parameters.lift_consecutive_reports},
        authority_factor=factor,
        suspended_business_types=suspended,
    )  # fmt: skip


def _set_status(proposal: RestrictionProposal, status: str, *, user=None, note: str = "") -> None:
    if status not in RestrictionProposal.TRANSITIONS.get(proposal.status, set()):
        raise InvalidTransition(_("This proposal was already decided."))
    proposal.status = status
    proposal.decided_by = user
    proposal.decided_at = timezone.now()
    proposal.decision_note = note[:500]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])


@transaction.atomic
def restriction_proposal_decide(*, proposal_id: int, approve: bool, note: str = "", acting_user) -> RestrictionProposal:
    """Head-office risk signs a proposal off (the restriction changes at once) or rejects it
    (a note is required). The proposer may not decide their own proposal."""
    if not can_sign_restrictions(acting_user):
        raise PermissionDenied(_("Only head-office risk signs restriction changes off."))
    proposal = RestrictionProposal.objects.select_for_update().filter(id=proposal_id).first()
    if proposal is None:
        raise NotFound(_("Proposal not found."))
    if proposal.status != RestrictionProposal.Status.PENDING:
        raise InvalidTransition(_("This proposal was already decided."))
    if proposal.proposed_by_id is not None and proposal.proposed_by_id == acting_user.id:
        raise PermissionDenied(_("Four eyes: the proposer cannot sign their own proposal."))
    note = (note or "").strip()
    if not approve:
        if not note:
            raise ValidationFailed(_("Invalid input."), extra={"note": [_("Say why the proposal is rejected.")]})
        _set_status(proposal, RestrictionProposal.Status.REJECTED, user=acting_user, note=note)
        return proposal
    restriction = _restriction_for_update(proposal.institution, since=business_date())
    restricted = proposal.kind == RestrictionProposal.Kind.RESTRICT
    restriction.state = RestrictionState.RESTRICTED if restricted else RestrictionState.NORMAL
    restriction.since = business_date()
    restriction.authority_factor = proposal.authority_factor
    restriction.suspended_business_types = list(proposal.suspended_business_types) if restricted else []
    restriction.proposal = proposal
    restriction.signed_by = acting_user
    restriction.signed_at = timezone.now()
    restriction.save(
        update_fields=[
            "state", "since", "authority_factor", "suspended_business_types", "proposal", "signed_by", "signed_at",
            "updated_at",
        ]
    )  # fmt: skip
    _set_status(proposal, RestrictionProposal.Status.APPROVED, user=acting_user, note=note)
    return proposal
