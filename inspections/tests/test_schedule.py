"""The nightly scheduler: E27 exactly with its dates, idempotency, cancellation, the officer flag."""

from datetime import date

import pytest

from inspections.models import Inspection, InspectionState, InspectionType
from inspections.selectors import officer_can_originate, officer_overdue_counts
from inspections.services.schedule import inspections_schedule
from inspections.tests.helpers import complete, make_loan, night, on, pay
from loanops.core.nightly import nightly_steps
from loans.models import Loan, LoanDelinquency
from loans.services.classification import loan_classification_downgrade

pytestmark = pytest.mark.django_db


def _one(loan, type_, **filters):
    return Inspection.objects.get(loan=loan, type=type_, **filters)


def test_the_step_is_registered_at_order_40():
    assert ("inspections.schedule", 40) in [(s.name, s.order) for s in nightly_steps()]


def test_e27_first_then_routine_then_class_change(loan, admin, alice, bob, dave):
    # given: disbursed 2024-01-15
    night(date(2024, 1, 15))
    first = _one(loan, InspectionType.FIRST)
    # then: FIRST due 2024-02-14, assigned to the loan's officer
    assert first.due_date == date(2024, 2, 14)
    assert (first.state, first.officer) == (InspectionState.ASSIGNED, alice)

    # when: completed 2024-02-10 with class normal
    night(date(2024, 2, 10))
    with on(date(2024, 2, 10)):
        complete(first, officer=alice, head=dave, manager=bob)
    first.refresh_from_db()
    assert (first.state, first.completed_on) == (InspectionState.COMPLETED, date(2024, 2, 10))
    routine = _one(loan, InspectionType.ROUTINE, state=InspectionState.ASSIGNED)
    # then: ROUTINE due 2024-08-08 (+180 days)
    assert routine.due_date == date(2024, 8, 8)

    # when: paid on time, and on 2024-04-16 the class changes to special mention
    for due in (date(2024, 2, 15), date(2024, 3, 15), date(2024, 4, 15)):
        pay(loan, admin, "1000.00", due)
    night(date(2024, 4, 15))
    routine.refresh_from_db()
    assert routine.due_date == date(2024, 8, 8)
    loan_classification_downgrade(
        loan=loan, classification="special_mention", reason="Dealer closed", effective_from=date(2024, 4, 16),
        acting_user=dave,
    )  # fmt: skip
    night(date(2024, 4, 16))
    assert LoanDelinquency.objects.get(loan=loan).classification == "special_mention"
    routine.refresh_from_db()
    # then: ROUTINE rescheduled to 2024-07-15 = min(08-08, 04-16 + 90); the downgrade adds an EVENT within 7 days
    assert routine.due_date == date(2024, 7, 15)
    assert _one(loan, InspectionType.EVENT).due_date == date(2024, 4, 23)

    # and: running the night again changes nothing
    count = Inspection.objects.count()
    assert inspections_schedule(as_of=date(2024, 4, 16)) == 0
    assert Inspection.objects.count() == count
    routine.refresh_from_db()
    assert routine.due_date == date(2024, 7, 15)


def test_e27_overdue_loan_and_the_officer_flag(loan, alice):
    # given: nothing paid; the DPD >= 1 event on 2024-02-16 opens a collection case
    night(date(2024, 1, 15))
    night(date(2024, 2, 16))
    # then: an OVERDUE-LOAN inspection due 2024-02-23 (+7); it covers the arrears-driven downgrade
    overdue_loan = _one(loan, InspectionType.OVERDUE_LOAN)
    assert overdue_loan.due_date == date(2024, 2, 23)
    assert overdue_loan.collection_case.opened_on == date(2024, 2, 16)
    assert not Inspection.objects.filter(loan=loan, type=InspectionType.EVENT).exists()
    # and: on 02-23 one inspection (the first, due 02-14) is overdue: the officer may originate
    assert officer_can_originate(officer=alice, today=date(2024, 2, 23))
    # when: on 02-24 both are overdue at once
    assert not officer_can_originate(officer=alice, today=date(2024, 2, 24))
    [row] = officer_overdue_counts(user=alice, today=date(2024, 2, 24))
    assert (row["username"], row["overdue"], row["flagged"]) == ("alice", 2, True)


def test_a_second_run_changes_nothing_and_never_duplicates(loan, admin, alice):
    other = make_loan("L-2", admin=admin, officer=alice)
    night(date(2024, 2, 16))
    before = list(Inspection.objects.order_by("id").values_list("loan_id", "type", "due_date", "state"))
    assert inspections_schedule(as_of=date(2024, 2, 16)) == 0
    assert inspections_schedule(as_of=date(2024, 2, 17)) == 0
    assert list(Inspection.objects.order_by("id").values_list("loan_id", "type", "due_date", "state")) == before
    assert {(i[0], i[1]) for i in before} == {
        (loan.id, "first"), (loan.id, "overdue_loan"), (other.id, "first"), (other.id, "overdue_loan"),
    }  # fmt: skip


def test_open_inspections_of_a_closed_loan_are_cancelled(loan):
    night(date(2024, 1, 15))
    Loan.objects.filter(id=loan.id).update(status=Loan.Status.CLOSED, closed_on=date(2024, 1, 20))
    inspections_schedule(as_of=date(2024, 1, 20))
    first = _one(loan, InspectionType.FIRST)
    assert (first.state, first.cancelled_on) == (InspectionState.CANCELLED, date(2024, 1, 20))
    # and: nothing new is scheduled for a closed loan
    assert inspections_schedule(as_of=date(2024, 1, 21)) == 0


def test_a_loan_older_than_the_look_back_gets_a_routine_inspection(loan):
    inspections_schedule(as_of=date(2024, 6, 1))
    assert not Inspection.objects.filter(loan=loan, type=InspectionType.FIRST).exists()
    assert _one(loan, InspectionType.ROUTINE).due_date == date(2024, 11, 28)  # 06-01 + 180


def test_a_loan_without_officer_stays_scheduled(admin):
    from loan_collections.tests.helpers import make_loan as plain_loan

    orphan = plain_loan("L-9", admin=admin)
    inspections_schedule(as_of=date(2024, 1, 15))
    first = _one(orphan, InspectionType.FIRST)
    assert (first.state, first.officer) == (InspectionState.SCHEDULED, None)


def test_run_nightly_schedules_inspections_and_a_rerun_changes_nothing(loan):
    from loanops.core.nightly import run_nightly

    first = dict(run_nightly(as_of=date(2024, 2, 16)))
    assert first["inspections.schedule"] == 2  # the first inspection and the overdue-loan one
    assert dict(run_nightly(as_of=date(2024, 2, 16)))["inspections.schedule"] == 0
    assert set(Inspection.objects.values_list("type", flat=True)) == {"first", "overdue_loan"}
