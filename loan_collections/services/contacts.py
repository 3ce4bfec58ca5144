"""The contact log (domain.md "Collections"): calls, visits, SMS, letters and emails with outcome
codes and who did it; only the borrower and the loan's guarantors are contacted, and calls,
visits and SMS only between 08:00 and 21:00 bank time."""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loan_collections.models import CaseAction, CollectionCase, ContactLog
from loan_collections.services.assignment import REASSIGN_ROLES
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.core.time import business_date
from loanops.org.scoping import for_user
from loans.models import Guarantor

CONTACT_HOURS = (time(8, 0), time(21, 0))  # inclusive, bank time (TIME_ZONE)
TIMED_CHANNELS = frozenset({ContactLog.Channel.CALL, ContactLog.Channel.VISIT, ContactLog.Channel.SMS})
FUTURE_SKEW = timedelta(minutes=5)
FOLLOW_UP_MAX_DAYS = 60


def can_work_case(user, case: CollectionCase) -> bool:
    """The case's collector, the loan's officer and supervisors log contacts and promises."""
    if not user.is_authenticated or user.is_read_only:
        return False
    if user.is_superuser or user.role in REASSIGN_ROLES:
        return True
    return user.id in (case.collector_id, case.loan.officer_id)


def lock_case_for(user, case: CollectionCase) -> CollectionCase:
    """The case, locked, if USER may work it; PermissionDenied otherwise."""
    locked = (
        for_user(CollectionCase.objects.all(), user)
        .select_for_update(of=("self",))
        .select_related("loan")
        .filter(id=case.id)
        .first()
    )
    if locked is None or not can_work_case(user, locked):
        raise PermissionDenied(_("You do not work this case."))
    return locked


def contact_hours_ok(moment: datetime) -> bool:
    local = timezone.localtime(moment).time()
    return CONTACT_HOURS[0] <= local <= CONTACT_HOURS[1]


@transaction.atomic
def contact_log(
    *,
    case: CollectionCase,
    channel: str,
    party: str,
    outcome: str,
    contacted_at: datetime,
    acting_user,
    guarantor: Guarantor | None = None,
    notes: str = "",
    follow_up_on: date | None = None,
) -> ContactLog:
    case = lock_case_for(acting_user, case)
    if case.status != CollectionCase.Status.OPEN:
        raise InvalidTransition(_("Contacts are logged on open cases only."))
    errors: dict[str, list[str]] = {}
    if channel not in ContactLog.Channel.values:
        errors["channel"] = [_("Choose a channel from the list.")]
    if outcome not in ContactLog.Outcome.values:
        errors["outcome"] = [_("Choose an outcome from the list.")]
    if party == ContactLog.Party.BORROWER:
        guarantor = None
    elif party == ContactLog.Party.GUARANTOR:
        if guarantor is None or not case.loan.guarantors.filter(id=guarantor.id).exists():
            errors["guarantor"] = [_("Only the loan's own guarantors may be contacted.")]
    else:
        errors["party"] = [_("Only the borrower and the loan's guarantors may be contacted.")]
    if timezone.is_naive(contacted_at):
        contacted_at = timezone.make_aware(contacted_at)
    if contacted_at > timezone.now() + FUTURE_SKEW:
        errors["contacted_at"] = [_("A contact cannot be logged in the future.")]
    elif channel in TIMED_CHANNELS and not contact_hours_ok(contacted_at):
        errors["contacted_at"] = [
            _("Calls, visits and SMS are allowed only between %(start)s and %(end)s.")
            % {"start": CONTACT_HOURS[0].strftime("%H:%M"), "end": CONTACT_HOURS[1].strftime("%H:%M")}
        ]
    today = business_date()
    if follow_up_on is not None and not today <= follow_up_on <= today + timedelta(days=FOLLOW_UP_MAX_DAYS):
        errors["follow_up_on"] = [
            _("The follow-up date must be between today and %(days)d days ahead.") % {"days": FOLLOW_UP_MAX_DAYS}
        ]
    if errors:
        raise ValidationFailed(_("The contact was not logged."), extra=errors)
    contact = ContactLog.objects.create(
        case=case, channel=channel, party=party, guarantor=guarantor, outcome=outcome, notes=notes.strip(),
        contacted_at=contacted_at, follow_up_on=follow_up_on, by=acting_user,
    )  # fmt: skip
    if channel in (ContactLog.Channel.CALL, ContactLog.Channel.VISIT):
        # The stage's call task is done once somebody actually called or visited.
        CaseAction.objects.filter(
            case=case, stage=case.stage, kind=CaseAction.Kind.CALL_TASK, status=CaseAction.Status.PENDING
        ).update(status=CaseAction.Status.DONE, updated_at=timezone.now())
    return contact
