"""The nightly collections step on the worked examples of domain-research.md §12."""

from datetime import date, timedelta

import pytest

from loan_collections.models import CaseAction, CaseStageChange, CollectionCase, Stage
from loan_collections.services.cases import cases_update_due
from loan_collections.tests.helpers import make_loan, night, pay
from loanops.core.nightly import nightly_steps, run_nightly
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import Loan
from loans.services.sweep import delinquency_sweep  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


def _case(loan) -> CollectionCase:
    return CollectionCase.objects.get(loan=loan)


def _kinds(case) -> set[tuple[str, str, str]]:
    return set(CaseAction.objects.filter(case=case).values_list("stage", "kind", "track"))


def test_no_case_at_zero_days_past_due(admin):
    # given: E02, the first installment is due today
    loan = make_loan("E02", admin=admin)
    # when
    changed = night(date(2024, 2, 15))
    # then
    assert changed == 0
    assert not CollectionCase.objects.filter(loan=loan).exists()


def test_e03_opens_a_phone_reminder_case_for_the_officer(admin, alice):
    # given
    loan = make_loan("E03", admin=admin, officer=alice)
    # when
    night(date(2024, 2, 16))
    # then
    case = _case(loan)
    assert (case.status, case.stage, case.opened_on, case.stage_since) == (
        "open", Stage.PHONE_REMINDER, date(2024, 2, 16), date(2024, 2, 16),
    )  # fmt: skip
    assert case.collector_id == alice.id
    change = case.stage_changes.get()
    assert (change.from_stage, change.to_stage, change.reason, change.skipped_stages, change.by) == (
        "", Stage.PHONE_REMINDER, "opened", [], None,
    )  # fmt: skip
    action = CaseAction.objects.get(case=case)
    assert (action.kind, action.status, action.due_on) == ("call_task", "pending", date(2024, 2, 17))


def test_e06_first_letter_at_15_days_and_two_nights_in_a_row(admin):
    # given: E06, 950.00 paid on the due date (50 short)
    loan = make_loan("E06", admin=admin)
    pay(loan, admin, "950.00", date(2024, 2, 15))
    night(date(2024, 2, 16))
    assert _case(loan).stage == Stage.PHONE_REMINDER
    # when: D then D+1 across the 15-day threshold
    night(date(2024, 2, 29))
    night(date(2024, 3, 1))
    # then
    case = _case(loan)
    assert (case.stage, case.stage_since) == (Stage.FIRST_LETTER, date(2024, 3, 1))
    assert list(case.stage_changes.values_list("to_stage", "reason")) == [
        ("phone_reminder", "opened"), ("first_letter", "ladder"),
    ]  # fmt: skip
    assert _kinds(case) == {("phone_reminder", "call_task", ""), ("first_letter", "letter_request", "")}


def test_e11_final_demand_at_60_then_e12_enforcement_at_3_consecutive(admin):
    # given: nothing paid, an insured dealer loan
    loan = make_loan("E11", admin=admin, insurer=True)
    night(date(2024, 2, 16))
    # when: the E11 night
    night(date(2024, 4, 15))
    # then: from phone reminder straight to final demand; the rungs in between are logged as skipped
    case = _case(loan)
    assert case.stage == Stage.FINAL_DEMAND
    change = case.stage_changes.get(to_stage=Stage.FINAL_DEMAND)
    assert change.skipped_stages == ["first_letter", "dealer_advance_request"]
    # when: the E12 night
    night(date(2024, 4, 16))
    # then
    case.refresh_from_db()
    assert (case.stage, case.enforcement_since) == (Stage.ENFORCEMENT, date(2024, 4, 16))
    assert {k for k in _kinds(case) if k[0] == "enforcement"} == {
        ("enforcement", "enforcement_track", "legal"),
        ("enforcement", "enforcement_track", "dealer_guarantee"),
        ("enforcement", "enforcement_track", "insurer_claim"),
    }


def test_a_case_opened_late_enters_only_the_highest_stage(admin):
    # given: nothing paid and no earlier night
    loan = make_loan("E12", admin=admin, dealer=False)
    # when
    night(date(2024, 4, 16))
    # then
    case = _case(loan)
    assert case.stage == Stage.ENFORCEMENT
    change = case.stage_changes.get()
    assert change.skipped_stages == ["phone_reminder", "first_letter", "second_letter", "final_demand"]
    assert _kinds(case) == {("enforcement", "enforcement_track", "legal")}  # no dealer, no insurer


def test_e13_enforcement_is_sticky_after_a_partial_cure(admin):
    # given: E12 then 2,000.00 paid on 04-20
    loan = make_loan("E13", admin=admin)
    night(date(2024, 4, 16))
    pay(loan, admin, "2000.00", date(2024, 4, 20))
    # when
    changed = night(date(2024, 4, 20))
    # then: dpd 5 would be a phone reminder, but the case stays in enforcement
    assert loan.delinquency.__class__.objects.get(loan=loan).days_past_due == 5
    assert changed == 0
    assert _case(loan).stage == Stage.ENFORCEMENT


def test_stages_below_enforcement_follow_the_required_stage_down(admin):
    # given: first letter at dpd 15
    loan = make_loan("DOWN", admin=admin)
    night(date(2024, 3, 1))
    assert _case(loan).stage == Stage.FIRST_LETTER
    # when: #1 paid, #2 due 03-15 unpaid → dpd 2 on 03-17
    pay(loan, admin, "1000.00", date(2024, 3, 5))
    night(date(2024, 3, 17))
    # then
    case = _case(loan)
    assert case.stage == Stage.PHONE_REMINDER
    assert case.stage_changes.last().reason == "ladder"


def test_e24_second_letter_without_dealer_and_dealer_advance_request_with_one(admin):
    # given
    plain = make_loan("E24", admin=admin, dealer=False)
    dealer = make_loan("E24D", admin=admin, dealer=True)
    # when
    night(date(2024, 3, 16))
    # then
    assert _case(plain).stage == Stage.SECOND_LETTER
    assert _case(dealer).stage == Stage.DEALER_ADVANCE_REQUEST
    assert _kinds(_case(dealer)) == {("dealer_advance_request", "dealer_advance_notice", "")}
    assert _kinds(_case(plain)) == {("second_letter", "letter_request", "")}


def test_e19_cure_monitoring_then_closed_after_30_clean_days(admin):
    # given: E03, then #1 paid on 02-20 (dpd 0 on 02-22)
    loan = make_loan("E19", admin=admin)
    night(date(2024, 2, 16))
    pay(loan, admin, "1000.00", date(2024, 2, 20))
    # when
    night(date(2024, 2, 22))
    # then
    case = _case(loan)
    # (the stored state's first clean day is the first night that saw dpd 0)
    assert (case.stage, case.cure_started_on) == (Stage.CURE_MONITORING, date(2024, 2, 22))
    assert case.stage_changes.last().reason == "cured"
    # when: #2 paid on time; 02-22 … 03-22 is not yet 30 full clean days behind
    pay(loan, admin, "1000.00", date(2024, 3, 15))
    night(date(2024, 3, 22))
    assert _case(loan).status == "open"
    # when: after 30 clean days
    night(date(2024, 3, 23))
    # then
    case = _case(loan)
    assert (case.status, case.closed_on, case.stage) == ("closed", date(2024, 3, 23), Stage.CURE_MONITORING)


def test_e22_dealer_advance_cures_the_case(admin):
    # given: #1 and #2 missed, dealer advance request at dpd 30
    loan = make_loan("E22", admin=admin)
    night(date(2024, 2, 16))
    night(date(2024, 3, 16))
    assert _case(loan).stage == Stage.DEALER_ADVANCE_REQUEST
    # when: the dealer advances 2,000.00 on 03-20
    pay(loan, admin, "2000.00", date(2024, 3, 20), payer="dealer")
    night(date(2024, 3, 20))
    # then
    assert _case(loan).stage == Stage.CURE_MONITORING


def test_cure_monitoring_overdue_again_goes_back_to_the_required_stage(admin):
    # given: cured on 02-20
    loan = make_loan("RELAPSE", admin=admin)
    night(date(2024, 2, 16))
    pay(loan, admin, "1000.00", date(2024, 2, 20))
    night(date(2024, 2, 22))
    # when: #2 (due 03-15) unpaid
    night(date(2024, 3, 16))
    # then
    case = _case(loan)
    assert (case.stage, case.cure_started_on) == (Stage.PHONE_REMINDER, None)
    assert case.stage_changes.last().reason == "relapsed"
    # the phone reminder's call task is not created twice for the same case and stage
    assert CaseAction.objects.filter(case=case, stage=Stage.PHONE_REMINDER).count() == 1


def test_running_twice_for_a_date_changes_nothing_the_second_time(admin):
    # given: a portfolio crossing several thresholds
    loans = [make_loan(f"IDEM-{i}", admin=admin, dealer=bool(i % 2), insurer=True) for i in range(4)]
    pay(loans[0], admin, "1000.00", date(2024, 2, 15))
    night(date(2024, 2, 16))
    delinquency_dates = [date(2024, 3, 1), date(2024, 3, 16), date(2024, 4, 16)]
    for d in delinquency_dates:
        # when
        first = night(d)
        counts = (
            CollectionCase.objects.count(), CaseStageChange.objects.count(), CaseAction.objects.count(),
        )  # fmt: skip
        second = cases_update_due(as_of=d)
        # then
        assert first > 0
        assert second == 0
        assert (CollectionCase.objects.count(), CaseStageChange.objects.count(), CaseAction.objects.count()) == counts


def test_an_older_date_finds_nothing_to_do(admin):
    # given
    make_loan("OLD", admin=admin)
    night(date(2024, 3, 1))
    # when: the step for an earlier date (the stored state is for 03-01)
    changed = cases_update_due(as_of=date(2024, 2, 20))
    # then
    assert changed == 0


def test_closed_loans_close_their_cases(admin):
    # given
    loan = make_loan("CLOSE", admin=admin)
    night(date(2024, 2, 16))
    Loan.objects.filter(id=loan.id).update(status=Loan.Status.WRITTEN_OFF, closed_on=date(2024, 2, 17))
    # when
    changed = cases_update_due(as_of=date(2024, 2, 17))
    # then
    case = _case(loan)
    assert changed == 1
    assert (case.status, case.closed_on) == ("closed", date(2024, 2, 17))
    assert cases_update_due(as_of=date(2024, 2, 17)) == 0


def test_a_new_case_opens_after_a_closed_one(admin):
    # given: a case closed after cure
    loan = make_loan("AGAIN", admin=admin)
    night(date(2024, 2, 16))
    pay(loan, admin, "1000.00", date(2024, 2, 16))
    pay(loan, admin, "1000.00", date(2024, 3, 15))
    night(date(2024, 3, 20))
    assert _case(loan).stage == Stage.CURE_MONITORING
    pay(loan, admin, "1000.00", date(2024, 4, 15))
    night(date(2024, 4, 19))
    assert _case(loan).status == "closed"
    # when: #4 (05-15) unpaid
    night(date(2024, 5, 16))
    # then
    assert CollectionCase.objects.filter(loan=loan).count() == 2
    assert CollectionCase.objects.get(loan=loan, status="open").opened_on == date(2024, 5, 16)


def test_stage_history_is_append_only(admin):
    from django.db import IntegrityError, InternalError, transaction

    make_loan("APPEND", admin=admin)
    night(date(2024, 2, 16))
    change = CaseStageChange.objects.get()
    for attempt in (lambda: CaseStageChange.objects.filter(id=change.id).update(note="x"), change.delete):
        with pytest.raises((InternalError, IntegrityError)), transaction.atomic():
            attempt()


def test_run_nightly_runs_the_sweep_then_the_cases(admin):
    # given
    names = [step.name for step in nightly_steps()]
    assert names.index("loans.sweep") < names.index("collections.cases")
    loan = make_loan("NIGHT", admin=admin)
    # when
    results = dict(run_nightly(as_of=date(2024, 2, 16)))
    # then
    assert results["collections.cases"] > 0
    assert _case(loan).stage == Stage.PHONE_REMINDER
    # and again the next day and twice the same day
    run_nightly(as_of=date(2024, 3, 1))
    assert _case(loan).stage == Stage.FIRST_LETTER
    assert dict(run_nightly(as_of=date(2024, 3, 1)))["collections.cases"] == 0
    assert date(2024, 3, 1) - timedelta(days=14) == _case(loan).opened_on
