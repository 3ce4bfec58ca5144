"""Leaving enforcement: only a full cure plus a supervisor's approval (domain.md: sticky)."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loan_collections.models import CaseStageChange, CollectionCase, Stage
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
