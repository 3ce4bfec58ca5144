"""The nightly step `archives.custody_alerts`: files on loan past their return date raise a daily
alert to the borrower of the file and the archivists of its branch (vault custodians too for
level 1); files flagged as not handed off in time alert the branch manager once. Alerts are shown
in the app and sent by email; running the step twice for a date creates and sends nothing more."""

from collections import defaultdict
from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from archives.models import BorrowRequest, CreditFile, CustodyAlert, Level
from loanops.org.models import Role, User

PRE_ARCHIVE_STATES = (
    CreditFile.State.COLLECTING,
    CreditFile.State.OFFICER_CHECKED,
    CreditFile.State.HANDOFF_PENDING,
)
EMAIL_BATCH = 500


def _members(branch_ids: set[int], roles: set[str]) -> dict[int, set[int]]:
    """branch id → active users of ROLES who belong to it."""
    members: dict[int, set[int]] = defaultdict(set)
    rows = User.objects.filter(is_active=True, role__in=roles, branches__in=branch_ids).values_list("id", "branches")
    for user_id, branch_id in rows:
        members[branch_id].add(user_id)
    return members


def custody_alerts_raise(*, as_of: date) -> int:
    """Create the day's alerts (idempotent) and email the ones not emailed yet; returns how many
    alerts were created."""
    before = CustodyAlert.objects.count()
    alerts: list[CustodyAlert] = []

    overdue = list(
        BorrowRequest.objects.filter(state=BorrowRequest.State.ON_LOAN, return_due__lt=as_of).values_list(
            "id", "file_id", "level", "requested_by_id", "file__loan__branch_id"
        )
    )
    archivists = _members({row[4] for row in overdue}, {Role.ARCHIVIST})
    custodians = _members({row[4] for row in overdue if row[2] == Level.ONE}, {Role.VAULT_CUSTODIAN})
    for borrow_id, file_id, level, borrower_id, branch_id in overdue:
        recipients = {borrower_id} | archivists.get(branch_id, set())
        if level == Level.ONE:
            recipients |= custodians.get(branch_id, set())
        alerts += [
            CustodyAlert(
                kind=CustodyAlert.Kind.OVERDUE,
                file_id=file_id,
                borrow_id=borrow_id,
                recipient_id=user_id,
                alert_date=as_of,
            )
            for user_id in sorted(recipients)
        ]

    late = list(
        CreditFile.objects.filter(flagged_late=True, state__in=PRE_ARCHIVE_STATES)
        .exclude(alerts__kind=CustodyAlert.Kind.HANDOFF_LATE)
        .values_list("id", "loan__branch_id")
    )
    heads = _members({branch_id for _id, branch_id in late}, {Role.BRANCH_MANAGER})
    for file_id, branch_id in late:
        alerts += [
            CustodyAlert(kind=CustodyAlert.Kind.HANDOFF_LATE, file_id=file_id, recipient_id=user_id, alert_date=as_of)
            for user_id in sorted(heads.get(branch_id, set()))
        ]

    CustodyAlert.objects.bulk_create(alerts, batch_size=1000, ignore_conflicts=True)
    custody_alerts_email()
    return CustodyAlert.objects.count() - before


def custody_alerts_email() -> int:
    """Email the alerts not emailed yet: one message per recipient with an address (a digest of
    their new alerts), in their language. Returns how many messages were sent."""
    sent = 0
    while True:
        with transaction.atomic():
            batch = list(
                CustodyAlert.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(emailed_at__isnull=True)
                .exclude(recipient__email="")
                .select_related("recipient", "file__loan", "borrow__requested_by")
                .order_by("recipient_id", "id")[:EMAIL_BATCH]
            )
            if not batch:
                return sent
            by_recipient: dict[int, list[CustodyAlert]] = defaultdict(list)
            for alert in batch:
                by_recipient[alert.recipient_id].append(alert)
            messages = []
            for alerts in by_recipient.values():
                recipient = alerts[0].recipient
                with translation.override(recipient.language or settings.LANGUAGE_CODE):
                    context = {"alerts": alerts, "recipient": recipient}
                    subject = " ".join(render_to_string("archives/email/alert_subject.txt", context).split())
                    body = render_to_string("archives/email/alert_body.txt", context)
                messages.append(EmailMessage(subject, body, to=[recipient.email]))
            get_connection().send_messages(messages)
            CustodyAlert.objects.filter(id__in=[a.id for a in batch]).update(emailed_at=timezone.now())
            sent += len(messages)
