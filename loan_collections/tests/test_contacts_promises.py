"""The collector's day: the contact log's rules and promises to pay (domain-research.md §6.4, E25)."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loan_collections.models import CaseAction, CollectionCase, ContactLog, PromiseToPay, Stage
from loan_collections.services.contacts import contact_log
from loan_collections.services.promises import promise_approve, promise_cancel, promise_record
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.exceptions import InvalidTransition, PermissionDenied, ValidationFailed
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import Guarantor

pytestmark = pytest.mark.django_db
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


def at(day: date, hour: int = 11, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID)


def _case(loan) -> CollectionCase:
    return CollectionCase.objects.get(loan=loan, status="open")


def _promise(case, user, amount, promised, *, on):
    with time_machine.travel(at(on), tick=False):
        return promise_record(case=case, amount=Decimal(amount), promised_date=promised, acting_user=user)


# --- E25 ---------------------------------------------------------------------------------------


def _e25(admin, alice):
    loan = make_loan("E25", admin=admin, officer=alice)
    for day in range(16, 30):
        night(date(2024, 2, day))
    night(date(2024, 3, 1))
    case = _case(loan)
    assert (case.stage, loan.delinquency.days_past_due) == (Stage.FIRST_LETTER, 15)
    promise, warnings = _promise(case, alice, "1000.00", date(2024, 3, 8), on=date(2024, 3, 1))
    assert promise.state == "active"
    assert warnings == []
    return loan, case, promise


def test_e25a_kept_promise_cures_the_case(admin, alice):
    # given
    loan, case, promise = _e25(admin, alice)
    for day in range(2, 8):
        night(date(2024, 3, day))
    # when: 1,000.00 paid on 03-08
    pay(loan, admin, "1000.00", date(2024, 3, 8))
    night(date(2024, 3, 8))
    # then
    promise.refresh_from_db()
    case.refresh_from_db()
    assert (promise.state, promise.resolved_on, promise.paid_amount) == ("kept", date(2024, 3, 8), Decimal("1000.00"))
    assert case.stage == Stage.CURE_MONITORING
    assert case.broken_promises == 0


def test_e25b_broken_promise_on_the_10th_then_the_ladder_moves_on(admin, alice):
    # given: nothing paid
    loan, case, promise = _e25(admin, alice)
    for day in range(2, 10):
        night(date(2024, 3, day))
    promise.refresh_from_db()
    assert promise.state == "active"  # 03-09 is the last day of the window (date + 1 grace day)
    # when
    night(date(2024, 3, 10))
    # then
    promise.refresh_from_db()
    case.refresh_from_db()
    assert (promise.state, promise.resolved_on, promise.paid_amount) == ("broken", date(2024, 3, 10), Decimal("0"))
    assert case.broken_promises == 1
    assert case.stage == Stage.FIRST_LETTER  # required stage for DPD 24
    letters = CaseAction.objects.filter(case=case, kind=CaseAction.Kind.LETTER_REQUEST, stage=Stage.FIRST_LETTER)
    assert letters.count() == 1  # not regenerated
    for day in range(11, 17):
        night(date(2024, 3, day))
    case.refresh_from_db()
    assert (case.stage, case.stage_since) == (Stage.DEALER_ADVANCE_REQUEST, date(2024, 3, 16))


def test_an_active_promise_freezes_climbing_but_not_enforcement(admin, alice):
    # given: a promise spanning the 30-day threshold (03-16)
    loan = make_loan("FRZ", admin=admin, officer=alice)
    for day in range(16, 30):
        night(date(2024, 2, day))
    for day in range(1, 11):
        night(date(2024, 3, day))
    case = _case(loan)
    promise, _ = _promise(case, alice, "1000.00", date(2024, 3, 20), on=date(2024, 3, 10))
    # when
    for day in range(11, 22):
        night(date(2024, 3, day))
    # then: frozen at the first letter until the promise broke on 03-22 (20 + 1 grace + 1)
    case.refresh_from_db()
    assert case.stage == Stage.FIRST_LETTER
    night(date(2024, 3, 22))
    case.refresh_from_db()
    promise.refresh_from_db()
    assert (promise.state, case.stage, case.stage_since) == ("broken", Stage.DEALER_ADVANCE_REQUEST, date(2024, 3, 22))


def test_a_promise_running_twice_for_a_night_changes_nothing(admin, alice):
    loan, case, promise = _e25(admin, alice)
    for day in range(2, 11):
        night(date(2024, 3, day))
    assert night(date(2024, 3, 10)) == 0
    case.refresh_from_db()
    assert case.broken_promises == 1


def test_after_two_broken_promises_a_supervisor_approves_the_next(admin, alice, bob):
    # given
    loan = make_loan("SUP", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    CollectionCase.objects.filter(id=case.id).update(broken_promises=2)
    case.refresh_from_db()
    # when
    promise, warnings = _promise(case, alice, "1000.00", date(2024, 2, 20), on=date(2024, 2, 16))
    # then
    assert promise.state == "awaiting_approval"
    assert len(warnings) == 1
    with time_machine.travel(at(date(2024, 2, 16)), tick=False):
        with pytest.raises(PermissionDenied):
            promise_approve(promise=promise, acting_user=alice)
        promise = promise_approve(promise=promise, acting_user=bob)
    assert (promise.state, promise.approved_by) == ("active", bob)


def test_a_supervisor_cannot_approve_their_own_promise(admin, bob):
    loan = make_loan("OWN", admin=admin)
    night(date(2024, 2, 16))
    case = _case(loan)
    CollectionCase.objects.filter(id=case.id).update(broken_promises=2)
    case.refresh_from_db()
    # a supervisor recording it approves it at once (they are the supervisor)
    promise, _ = _promise(case, bob, "100.00", date(2024, 2, 20), on=date(2024, 2, 16))
    assert (promise.state, promise.approved_by) == ("active", bob)


@pytest.mark.parametrize(
    ("amount", "promised", "field"),
    [
        ("0", date(2024, 2, 20), "amount"),
        ("-5", date(2024, 2, 20), "amount"),
        ("10.001", date(2024, 2, 20), "amount"),
        ("100", date(2024, 2, 15), "promised_date"),
        ("100", date(2024, 3, 18), "promised_date"),  # 31 days ahead
    ],
)
def test_bad_promises_are_refused_with_field_errors(admin, alice, amount, promised, field):
    loan = make_loan("BAD", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    with pytest.raises(ValidationFailed) as caught:
        _promise(case, alice, amount, promised, on=date(2024, 2, 16))
    assert field in caught.value.extra
    assert not PromiseToPay.objects.exists()


def test_one_open_promise_per_case_and_a_low_amount_warns(admin, alice):
    loan = make_loan("ONE", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    promise, warnings = _promise(case, alice, "10.00", date(2024, 2, 20), on=date(2024, 2, 16))
    assert warnings
    assert "1,000.00" in warnings[0]
    with pytest.raises(ValidationFailed):
        _promise(case, alice, "1000.00", date(2024, 2, 21), on=date(2024, 2, 16))
    with time_machine.travel(at(date(2024, 2, 16)), tick=False):
        promise_cancel(promise=promise, acting_user=alice, note="wrong amount")
    promise.refresh_from_db()
    assert promise.state == "cancelled"
    with pytest.raises(InvalidTransition):
        promise_cancel(promise=promise, acting_user=alice)


def test_someone_outside_the_case_cannot_record_a_promise(admin, alice, charlie):
    loan = make_loan("OUT", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    with pytest.raises(PermissionDenied):
        _promise(_case(loan), charlie, "100.00", date(2024, 2, 20), on=date(2024, 2, 16))


# --- contacts ----------------------------------------------------------------------------------


def _log(case, user, when, **fields):
    values = {"channel": "call", "party": "borrower", "outcome": "no_answer"} | fields
    with time_machine.travel(at(date(2024, 2, 16), 21, 30), tick=False):
        return contact_log(case=case, contacted_at=when, acting_user=user, **values)


def test_a_call_is_logged_and_closes_the_stage_call_task(admin, alice):
    loan = make_loan("CALL", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    contact = _log(case, alice, at(date(2024, 2, 16), 10), outcome="promise_to_pay", notes="  will pay friday ")
    assert (contact.by, contact.notes, contact.party) == (alice, "will pay friday", "borrower")
    assert CaseAction.objects.get(case=case, kind="call_task").status == "done"


@pytest.mark.parametrize(("hour", "minute", "ok"), [(7, 59, False), (8, 0, True), (21, 0, True), (21, 1, False)])
def test_calls_only_between_8_and_21_bank_time(admin, alice, hour, minute, ok):
    loan = make_loan("HRS", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    when = at(date(2024, 2, 16), hour, minute)
    if ok:
        _log(case, alice, when)
    else:
        with pytest.raises(ValidationFailed) as caught:
            _log(case, alice, when)
        assert "contacted_at" in caught.value.extra
        assert not ContactLog.objects.exists()


def test_a_letter_may_be_logged_outside_contact_hours(admin, alice):
    loan = make_loan("LTR", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    _log(_case(loan), alice, at(date(2024, 2, 16), 6), channel="letter", outcome="delivered")
    assert ContactLog.objects.count() == 1


def test_only_the_borrower_and_the_loans_guarantors_are_contacted(admin, alice):
    loan = make_loan("GTR", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    case = _case(loan)
    stranger = Guarantor.objects.create(external_id="G-X", name="Not on this loan")
    with pytest.raises(ValidationFailed) as caught:
        _log(case, alice, at(date(2024, 2, 16), 10), party="guarantor", guarantor=stranger)
    assert "guarantor" in caught.value.extra
    with pytest.raises(ValidationFailed) as caught:
        _log(case, alice, at(date(2024, 2, 16), 10), party="neighbour")
    assert "party" in caught.value.extra
    loan.guarantors.add(stranger)
    contact = _log(case, alice, at(date(2024, 2, 16), 10), party="guarantor", guarantor=stranger)
    assert contact.guarantor == stranger


def test_no_contact_in_the_future(admin, alice):
    loan = make_loan("FUT", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    with pytest.raises(ValidationFailed) as caught:
        _log(_case(loan), alice, at(date(2024, 2, 17), 10))
    assert "contacted_at" in caught.value.extra
