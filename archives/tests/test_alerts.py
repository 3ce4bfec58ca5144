"""The nightly step `archives.custody_alerts`: a daily alert per overdue file to its borrower and
the archivists, in the app and by email, once per day; the late-handoff alert to the branch head."""

from datetime import date

import pytest
import time_machine
from django.core import mail

from archives.models import CustodyAlert
from archives.selectors import alerts_for_user
from archives.services.alerts import custody_alerts_raise
from archives.services.custody import borrow_approve, borrow_release, borrow_request_create, borrow_return
from archives.services.files import credit_files_update_due
from archives.tests.helpers import archive
from loanops.core.nightly import nightly_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_loan(file_a, alice, bob, archivist):
    file = archive(file_a, alice, archivist)
    with time_machine.travel(date(2024, 3, 1), tick=False):
        request = borrow_request_create(
            file=file, document_codes=["contract"], purpose="audit", reason="", return_on=date(2024, 3, 11),
            acting_user=alice,
        )  # fmt: skip
        borrow_approve(request=request, acting_user=bob)
        return borrow_release(request=request, acting_user=archivist)


def test_the_step_runs_after_the_file_steps():
    orders = {step.name: step.order for step in nightly_steps()}
    assert orders["archives.custody_alerts"] == 35
    assert orders["archives.open_missing"] < orders["archives.custody_alerts"]


def test_e28_overdue_alert_to_the_borrower_and_the_archivist_once_a_day(on_loan, alice, archivist, charlie):
    # on the due date nothing is overdue
    assert custody_alerts_raise(as_of=date(2024, 3, 11)) == 0
    assert mail.outbox == []
    # when: 03-12, still on loan
    assert custody_alerts_raise(as_of=date(2024, 3, 12)) == 2
    # then: in the app
    alerts = CustodyAlert.objects.order_by("recipient__username")
    assert [(a.kind, a.recipient.username, a.alert_date, a.borrow_id) for a in alerts] == [
        ("overdue", "alice", date(2024, 3, 12), on_loan.id),
        ("overdue", "archie", date(2024, 3, 12), on_loan.id),
    ]
    assert [a.file_id for a in alerts_for_user(user=alice)] == [on_loan.file_id]
    assert alerts_for_user(user=archivist, mine=False).count() == 2
    assert not alerts_for_user(user=charlie, mine=False).exists()
    # and by email
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@bank.test", "archie@bank.test"]
    assert "L-A" in mail.outbox[0].subject
    assert "2024-03-11" in mail.outbox[0].body
    # running again the same night changes nothing
    assert custody_alerts_raise(as_of=date(2024, 3, 12)) == 0
    assert len(mail.outbox) == 2
    # the next day: a new alert each
    assert custody_alerts_raise(as_of=date(2024, 3, 13)) == 2
    assert len(mail.outbox) == 4


def test_no_alert_once_returned(on_loan, archivist):
    borrow_return(request=on_loan, returned_codes=["contract"], acting_user=archivist)
    assert custody_alerts_raise(as_of=date(2024, 3, 12)) == 0


def test_email_in_the_recipients_language(on_loan, alice):
    alice.language = "es"
    alice.save(update_fields=["language"])
    custody_alerts_raise(as_of=date(2024, 3, 12))
    to_alice = next(m for m in mail.outbox if m.to == ["alice@bank.test"])
    to_archie = next(m for m in mail.outbox if m.to == ["archie@bank.test"])
    assert to_alice.subject.strip()
    assert "L-A" in to_alice.subject
    assert to_archie.subject.startswith("Credit file of loan L-A")


def test_one_email_per_recipient_with_every_new_alert(loans_ab, locations, bob, admin):
    from archives.tests.helpers import make_loan

    make_loan("L-C", admin=admin)
    credit_files_update_due(as_of=date(2024, 1, 23))
    assert custody_alerts_raise(as_of=date(2024, 1, 23)) == 2  # L-A and L-C of branch A
    assert [m.to for m in mail.outbox] == [["bob@bank.test"]]
    assert mail.outbox[0].subject == "2 credit-file custody alerts"
    assert "L-A" in mail.outbox[0].body
    assert "L-C" in mail.outbox[0].body


def test_late_handoff_alerts_the_branch_manager_once(file_a, bob, alice):
    # given: disbursed 2024-01-15, never handed off
    credit_files_update_due(as_of=date(2024, 1, 23))
    # when
    assert custody_alerts_raise(as_of=date(2024, 1, 23)) == 1
    assert custody_alerts_raise(as_of=date(2024, 1, 24)) == 0
    # then
    alert = CustodyAlert.objects.get()
    assert (alert.kind, alert.recipient_id) == ("handoff_late", bob.id)
    assert [m.to for m in mail.outbox] == [["bob@bank.test"]]
    assert not alerts_for_user(user=alice).exists()
