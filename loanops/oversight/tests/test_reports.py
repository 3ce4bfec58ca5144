"""The monthly 3/6 report (E29), its totals, idempotency, immutability, the command and the beat task."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from loan_collections.services.cases import cases_update_due
from loanops.core.exceptions import ValidationFailed
from loanops.oversight.models import DealerMonthRate, MonthlyReport, Rule36Line
from loanops.oversight.services.reports import (
    monthly_reports_generate,
    monthly_reports_generate_due,
    parse_month,
    previous_month,
)
from loanops.oversight.tasks import monthly_reports
from loanops.oversight.tests.helpers import make_loan, pay, sweep
from loans.models import Dealer, Loan

pytestmark = pytest.mark.django_db

APR, MAY, JUL = date(2024, 4, 1), date(2024, 5, 1), date(2024, 7, 1)
APR_END, MAY_END, JUL_END = date(2024, 4, 30), date(2024, 5, 31), date(2024, 7, 31)


@pytest.fixture
def e29(admin, bob):
    """E12-type loan (nothing paid) and the E08/E10 loan (rolling one behind: #1 missed, then
    1,000.00 paid on every due date from 03-15), swept at the month ends."""
    nothing = make_loan("E12", admin=admin, officer=bob)
    rolling = make_loan("E08", admin=admin, dealer="D-8")
    for month in (3, 4, 5, 6, 7):
        pay(rolling, admin, "1000.00", date(2024, month, 15))
    sweep(APR_END, MAY_END, JUL_END)
    return nothing, rolling


def _lines(month: date) -> dict[str, Rule36Line]:
    return {line.loan_number: line for line in Rule36Line.objects.filter(report__month=month)}


def test_e29_the_3_6_report_lists_the_loans_meeting_the_rule_at_month_end(e29, org):
    # when
    for month in (APR, MAY, JUL):
        monthly_reports_generate(month=month)
    # then: consec 3 at 04-30 (E12); the E08 loan (cumul 4, consec 1) not in May; cumul 6 in July
    assert set(_lines(APR)) == {"E12"}
    assert set(_lines(MAY)) == {"E12"}
    assert set(_lines(JUL)) == {"E12", "E08"}
    april = _lines(APR)["E12"]
    assert (april.days_past_due, april.overdue_installments, april.cumulative_missed_installments) == (75, 3, 3)
    assert (april.outstanding_principal, april.overdue_principal, april.overdue_interest, april.overdue_amount) == (
        Decimal("10800.00"), Decimal("2700.00"), Decimal("300.00"), Decimal("3000.00"),
    )  # fmt: skip
    assert (april.branch_code, april.borrower_name, april.borrower_external_id) == ("BR-A", "Borrower E12", "B-E12")
    assert (april.dealer_name, april.officer_name, april.disbursement_date) == ("Dealer D-7", "bob", date(2024, 1, 15))
    assert april.classification == "special_mention"
    july = _lines(JUL)["E08"]
    assert (july.days_past_due, july.overdue_installments, july.cumulative_missed_installments) == (16, 1, 6)
    assert (july.outstanding_principal, july.overdue_amount) == (Decimal("6300.00"), Decimal("1000.00"))


def test_e29_totals_by_institution(e29, org):
    # when
    monthly_reports_generate(month=JUL)
    # then: one report per institution, the other with nothing
    north = MonthlyReport.objects.get(month=JUL, institution=org["north"])
    assert (north.as_of, north.rule_loans, north.rule_outstanding_principal) == (JUL_END, 2, Decimal("17100.00"))
    assert north.rule_overdue_amount == Decimal("6000.00") + Decimal("1000.00")
    assert north.portfolio_loans == 2
    assert north.total_principal == Decimal("17100.00")
    south = MonthlyReport.objects.get(month=JUL, institution=org["south"])
    assert (south.rule_loans, south.total_principal, south.npl_ratio, south.above_limit) == (0, 0, None, False)


def test_the_npl_ratio_uses_the_month_end_snapshot(e29, org):
    # when: at 07-31 the E12 loan is 168 days past due (substandard, NPL); the E08 loan is not
    monthly_reports_generate(month=JUL)
    # then
    north = MonthlyReport.objects.get(month=JUL, institution=org["north"])
    assert north.npl_principal == Decimal("10800.00")
    assert north.npl_ratio == Decimal("0.631579")  # 10800 / 17100
    assert north.above_limit


def test_written_off_loans_are_left_out(e29, org):
    # given
    Loan.objects.filter(number="E12").update(status=Loan.Status.WRITTEN_OFF, closed_on=date(2024, 6, 30))
    # when
    monthly_reports_generate(month=JUL)
    # then
    assert set(_lines(JUL)) == {"E08"}
    north = MonthlyReport.objects.get(month=JUL, institution=org["north"])
    assert (north.total_principal, north.npl_principal) == (Decimal("6300.00"), Decimal("0.00"))


def test_generating_twice_changes_nothing(e29):
    # given
    first = monthly_reports_generate(month=APR)
    rows = list(MonthlyReport.objects.values_list("id", "generated_at", "rule_loans"))
    # when
    second = monthly_reports_generate(month=APR)
    # then
    assert (first.reports_created, first.lines_created) == (2, 1)
    assert (second.reports_created, second.lines_created, second.dealer_rates_created) == (0, 0, 0)
    assert list(MonthlyReport.objects.values_list("id", "generated_at", "rule_loans")) == rows
    assert Rule36Line.objects.count() == 1


def test_reports_lines_and_dealer_rates_are_immutable(e29):
    # given
    monthly_reports_generate(month=APR)
    # when / then: no update, no delete, through any path
    for statement in (
        "UPDATE oversight_rule36line SET days_past_due = 1",
        "DELETE FROM oversight_rule36line",
        "UPDATE oversight_monthlyreport SET rule_loans = 0",
        "DELETE FROM oversight_monthlyreport",
        "UPDATE oversight_dealermonthrate SET flagged = false",
        "DELETE FROM oversight_dealermonthrate",
    ):
        with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Rule36Line.objects.update(borrower_name="x")
    assert Rule36Line.objects.get().days_past_due == 75


def test_the_month_must_be_over_and_swept(e29):
    with pytest.raises(ValidationFailed) as not_swept:
        monthly_reports_generate(month=date(2024, 6, 1))
    assert "month" in not_swept.value.extra
    with pytest.raises(ValidationFailed) as not_over:
        monthly_reports_generate(month=date(2999, 1, 1))
    assert "month" in not_over.value.extra
    assert not MonthlyReport.objects.exists()


def test_parse_month():
    assert parse_month("2024-04") == APR
    for raw in ("2024-13", "2024-4", "april", "", None, "2024-04-01"):
        with pytest.raises(ValidationFailed) as exc:
            parse_month(raw)
        assert list(exc.value.extra) == ["month"]
    assert previous_month(date(2024, 1, 1)) == date(2023, 12, 1)
    assert previous_month(date(2024, 5, 17)) == APR


def test_the_line_records_the_collection_stage_at_month_end(admin, org):
    # given: the collections step ran on the month end
    make_loan("E12", admin=admin)
    sweep(APR_END)
    cases_update_due(as_of=APR_END)
    # when
    monthly_reports_generate(month=APR)
    # then
    assert Rule36Line.objects.get().collection_stage == "enforcement"


def test_the_command_generates_a_month(e29):
    out = StringIO()
    call_command("report_rule_3_6", "--month", "2024-04", stdout=out)
    assert "month=2024-04 reports_created=2 lines_created=1" in out.getvalue()
    again = StringIO()
    call_command("report_rule_3_6", "--month", "2024-04", stdout=again)
    assert "reports_created=0 lines_created=0" in again.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("report_rule_3_6", "--month", "2024-4")
    with pytest.raises(CommandError, match="sweep"):
        call_command("report_rule_3_6", "--month", "2024-06")


def test_the_beat_runs_on_the_first_for_the_month_before(e29):
    # given
    entry = settings.CELERY_BEAT_SCHEDULE["oversight-monthly-reports"]
    assert entry["task"] == "loanops.oversight.tasks.monthly_reports"
    assert entry["schedule"].day_of_month == {1}
    # when: what the beat's task does on 2024-05-01, twice
    monthly_reports_generate_due(today=date(2024, 5, 1))
    monthly_reports.apply(kwargs={"month": "2024-04"}).get()
    # then
    assert MonthlyReport.objects.filter(month=APR).count() == 2
    assert Rule36Line.objects.count() == 1


def test_the_task_retries_while_the_month_end_is_not_swept(e29, monkeypatch):
    # given
    calls = []

    class Retry(Exception):
        pass

    monkeypatch.setattr(monthly_reports, "retry", lambda **kwargs: calls.append(kwargs) or Retry())
    # when / then
    with pytest.raises(Retry):
        monthly_reports(month="2024-06")
    assert calls[0]["countdown"] == 30 * 60
    assert not MonthlyReport.objects.exists()


def test_dealer_overdue_rates_flag_dealers_above_the_limit(e29, admin):
    # given: a third loan with dealer D-9, paid on time
    clean = make_loan("OK", admin=admin, dealer="D-9")
    for month in range(2, 8):
        pay(clean, admin, "1000.00", date(2024, month, 15))
    sweep(APR_END, JUL_END)
    # when
    monthly_reports_generate(month=APR)
    # then: D-7 (E12, 75 days past due) 100 %; D-8 (E08, 15 days past due at 04-30) 100 %; D-9 0 %
    rates = {r.dealer.external_id: r for r in DealerMonthRate.objects.filter(month=APR).select_related("dealer")}
    assert rates["D-7"].overdue_rate == Decimal("1.000000")
    assert (rates["D-9"].overdue_rate, rates["D-9"].flagged) == (Decimal("0.000000"), False)
    assert (rates["D-9"].loans, rates["D-9"].guaranteed_principal) == (1, Decimal("8100.00"))
    assert rates["D-7"].flagged
    assert rates["D-8"].flagged
    flags = dict(Dealer.objects.values_list("external_id", "suspended_new_business"))
    assert flags == {"D-7": True, "D-8": True, "D-9": False}
