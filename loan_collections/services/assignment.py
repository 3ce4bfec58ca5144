"""Collector assignment: a case's collector is the loan's officer unless reassigned here."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loan_collections.models import CollectionCase
from loanops.core.exceptions import PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.scoping import can_see_branch, for_user

REASSIGN_ROLES = frozenset({Role.BRANCH_MANAGER, Role.CREDIT_HEAD, Role.RISK, Role.ADMIN})
COLLECTOR_ROLES = frozenset({Role.COLLECTOR, Role.CREDIT_OFFICER})


def can_reassign(user) -> bool:
    if not user.is_authenticated or user.is_read_only:
        return False
    return user.is_superuser or user.role in REASSIGN_ROLES


def can_collect(user) -> bool:
    """May be a case's collector (branch aside)."""
    return user.is_active and user.role in COLLECTOR_ROLES


@transaction.atomic
def cases_reassign(*, cases: Iterable[CollectionCase], collector, acting_user) -> int:
    """Give every case to COLLECTOR; returns the number of cases whose collector changed.

    All or nothing: one case the acting user cannot see, a closed case, or a branch the collector
    cannot see rejects the whole request.
    """
    if not can_reassign(acting_user):
        raise PermissionDenied(
            _("Only branch managers, the credit department head, risk or an administrator reassign cases.")
        )
    case_ids = sorted({case.id for case in cases})
    if not case_ids:
        raise ValidationFailed(_("No case selected."), extra={"cases": [_("Select at least one case.")]})
    locked = list(
        for_user(CollectionCase.objects.all(), acting_user)
        .filter(id__in=case_ids)
        .select_related("loan__branch")
        .select_for_update(of=("self",))
        .order_by("id")
    )
    errors: dict[str, list[str]] = {}
    if len(locked) != len(case_ids):
        errors["cases"] = [_("Some selected cases do not exist or are outside your branches.")]
    closed = [case.id for case in locked if case.status != CollectionCase.Status.OPEN]
    if closed:
        errors.setdefault("cases", []).append(
            _("Closed cases cannot be reassigned: %(ids)s.") % {"ids": ", ".join(map(str, closed))}
        )
    if not can_collect(collector):
        errors["collector"] = [_("The collector must be an active collector or credit officer.")]
    else:
        outside = sorted({case.loan.branch.code for case in locked if not can_see_branch(collector, case.loan.branch)})
        if outside:
            errors["collector"] = [
                _("%(user)s cannot see branch %(branches)s.")
                % {"user": collector.username, "branches": ", ".join(outside)}
            ]
    if errors:
        raise ValidationFailed(_("Reassignment rejected."), extra=errors)
    return (
        CollectionCase.objects.filter(id__in=case_ids)
        .exclude(collector_id=collector.id)
        .update(collector=collector, updated_at=timezone.now())
    )
