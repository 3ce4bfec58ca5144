"""In Chromium: a credit officer filters the loan list, opens a delinquent loan, reads its schedule and chart."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loanops.core.tests.browser import page  # noqa: F401  (fixture)
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import DelinquencySnapshot, ParameterSet, Product
from loans.services.sweep import delinquency_sweep
from loans.tests.fixtures import loan_body

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
# The detail page computes live figures for "today" and charts the snapshots of the last 180 days.
TODAY = datetime(2024, 5, 21, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))
SWEEP_DATES = [date(2024, 2, 10) + timedelta(days=10 * k) for k in range(11)]  # 2024-02-10 … 2024-05-20


@pytest.fixture
def reference_data(db):
    # a transactional test starts from empty tables: put back the migration's reference data
    Product.objects.get_or_create(code="AUTO", defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(product=None, valid_from=date(1900, 1, 1))


def _put_loan(api, number, branch, borrower_name, external_id):
    body = loan_body(branch, borrower={"external_id": external_id, "name": borrower_name, "national_id": external_id})
    response = api.put(f"/api/v1/loans/{number}", body, format="json")
    assert response.status_code == 201, response.json()


def _cells(table, row) -> dict[str, str]:
    """One body row of TABLE as {column header: cell text} (sort arrows dropped from the headers)."""
    headers = [h.replace("▲", "").replace("▼", "").strip() for h in table.locator("thead th").all_inner_texts()]
    cells = [c.strip() for c in row.locator(":scope > th, :scope > td").all_inner_texts()]
    return dict(zip(headers, cells, strict=True))


def _pay(api, number, value_dates):
    for value_date in value_dates:
        body = {"external_id": f"{number}-{value_date}", "loan_number": number, "amount": "1000.00",
                "value_date": value_date}  # fmt: skip
        response = api.post("/api/v1/payments", body, format="json")
        assert response.status_code == 201, response.json()


@pytest.fixture
def portfolio(reference_data, org, api):
    """Branch A: one loan paid on time, one paid up to March (35 days late by 2024-05-20), one with
    nothing paid (95 days late). Branch B: one with nothing paid, just as late."""
    _put_loan(api, "L-PAID", "BR-A", "Ana Puntual", "C-1")
    _put_loan(api, "L-LATE", "BR-A", "Luis Tarde", "C-2")
    _put_loan(api, "L-NONE", "BR-A", "Nora Impago", "C-3")
    _put_loan(api, "LB-NONE", "BR-B", "Berta Sur", "C-9")
    _pay(api, "L-PAID", ["2024-02-15", "2024-03-15", "2024-04-15", "2024-05-15"])
    _pay(api, "L-LATE", ["2024-02-15", "2024-03-15"])
    for as_of in SWEEP_DATES:
        delinquency_sweep(as_of=as_of)
    # the sweep stored one snapshot per date and loan, and the unpaid loan's history grows
    assert DelinquencySnapshot.objects.filter(loan__number="L-NONE").count() == len(SWEEP_DATES)
    assert list(
        DelinquencySnapshot.objects.filter(loan__number="L-NONE")
        .order_by("as_of")
        .values_list("days_past_due", flat=True)
    ) == [0, 5, 15, 25, 35, 45, 55, 65, 75, 85, 95]


def test_an_officer_filters_the_list_and_reads_a_delinquent_loans_schedule_and_chart(
    page,  # noqa: F811
    live_server,
    org,
    portfolio,
    tmp_path,
):
    from playwright.sync_api import expect

    UserFactory(username="olga", role=Role.CREDIT_OFFICER, branches=[org["a"]], password=PASSWORD)

    with time_machine.travel(TODAY, tick=True):
        # given the officer of branch A signs in through the real form
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("olga")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        nav = page.locator("[data-testid=nav]")
        expect(nav).to_be_visible()

        # when she opens the loan list: her branch's three loans, never branch B's
        nav.get_by_role("link", name="Loans").click()
        expect(page.get_by_role("heading", name="Loans", level=1)).to_be_visible()
        rows = page.locator("[data-testid=loan-table] [data-testid=loan-row]")
        expect(rows).to_have_count(3)
        expect(rows.locator("th a")).to_have_text(["L-LATE", "L-NONE", "L-PAID"])
        expect(page.get_by_text("LB-NONE")).to_have_count(0)
        expect(page.get_by_text("Berta Sur")).to_have_count(0)

        # and filters the list: bucket 91–180, at least 60 days past due
        filters = page.locator("[data-testid=loan-filters]")
        filters.get_by_label("Bucket").select_option("91-180")
        filters.get_by_label("Days past due from").fill("60")
        filters.get_by_role("button", name="Search").click()

        # then only the loan with nothing paid is left (branch B's loan matches too, but is not hers)
        expect(page).to_have_url(re.compile(r"/loans/\?.*bucket=91-180.*dpd_min=60"))
        expect(page.locator("[data-testid=filter-errors]")).to_have_count(0)
        expect(filters.get_by_label("Bucket")).to_have_value("91-180")
        expect(filters.get_by_label("Days past due from")).to_have_value("60")
        expect(rows).to_have_count(1)
        row = rows.first
        expect(row.get_by_role("link")).to_have_text("L-NONE")
        listed = _cells(page.locator("[data-testid=loan-table]"), row)
        assert listed["Loan number"] == "L-NONE"
        assert listed["Borrower"] == "Nora Impago"
        assert listed["Branch"] == "BR-A"
        assert listed["Days past due"] == "95"  # stored by the sweep of 2024-05-20
        assert listed["Bucket"] == "91–180"
        assert listed["Overdue amount"] == "4,000.00"
        expect(page.get_by_text("LB-NONE")).to_have_count(0)

        # when she opens it
        row.get_by_role("link", name="L-NONE").click()

        # then the detail page shows the loan
        expect(page).to_have_url(f"{live_server.url}/loans/L-NONE/")
        expect(page.get_by_role("heading", name=re.compile(r"Loan L-NONE"), level=1)).to_be_visible()
        expect(page.locator("[data-testid=live-dpd]")).to_have_text("96")  # live, as of 2024-05-21

        # and the schedule: 12 installments; the first, due 15 Feb 2024, missed and unpaid
        schedule = page.locator("[data-testid=schedule]")
        expect(page.get_by_role("heading", name="Schedule")).to_be_visible()
        installments = schedule.locator("tbody [data-testid=installment]")
        expect(installments).to_have_count(12)
        expect(schedule.locator("caption")).to_have_text("Paid amounts and status as of 05/21/2024 (live).")
        cells = _cells(schedule, installments.first)
        assert cells["#"] == "1"
        assert cells["Due date"] == "02/15/2024"
        assert cells["Total"] == "1,000.00"
        assert cells["Paid total"] == "0.00"
        assert cells["Remaining"] == "1,000.00"
        assert cells["Paid on"] == "—"
        assert cells["Settled"] == "No"
        assert cells["Missed"] == "Missed"
        # installments 1–4 (February to May) are missed; June's and later are not due yet
        missed = [
            t.strip() for t in schedule.locator("tbody [data-testid=installment] td:last-child").all_inner_texts()
        ]
        assert missed[:4] == ["Missed"] * 4
        assert missed[4:] == ["Not due yet"] * 8

        # and the delinquency chart: an SVG with its title and a line through the 11 sweeps
        expect(page.get_by_role("heading", name="Days past due, last 180 days")).to_be_visible()
        chart = page.locator("[data-testid=dpd-chart] svg")
        expect(chart).to_be_visible()
        expect(page.get_by_role("img", name="Days past due")).to_have_id("dpd-chart")  # named by its <title>
        expect(chart.locator("> title")).to_have_text("Days past due")
        expect(chart.locator("> desc")).to_contain_text("highest 95 days past due, latest 95 days past due")
        expect(chart.locator("> desc")).to_contain_text("(11 days recorded)")
        points = chart.locator("polyline").get_attribute("points").split()
        assert len(points) == len(SWEEP_DATES)
        ys = [float(p.split(",")[1]) for p in points]
        assert ys == sorted(ys, reverse=True)  # SVG y grows downwards: days past due only rise
        assert ys[0] > ys[-1]
        expect(chart.locator("circle > title")).to_have_text("05/20/2024: 95 days past due")
        expect(page.get_by_text("No history yet")).to_have_count(0)

        # and a screenshot of the page can be kept
        shot = tmp_path / "loan-L-NONE.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 0
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
