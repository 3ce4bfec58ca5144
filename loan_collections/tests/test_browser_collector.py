"""In Chromium: a collector opens the work queue, opens the case, logs a call and a promise to pay,
and opens the letter the nightly run generated for the case."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from loan_collections.models import CollectionCase, ContactLog, PromiseToPay
from loan_collections.services.assignment import cases_reassign
from loan_collections.services.letters import letters_render_all
from loan_collections.tests.helpers import make_loan, night
from loanops.core.tests.browser import page  # noqa: F401  (fixture)
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import ParameterSet, Product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
NOW = datetime(2024, 3, 2, 10, 0, tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.fixture
def case(org):
    Product.objects.get_or_create(code="AUTO", defaults={"name": "Auto loan"})
    ParameterSet.objects.get_or_create(product=None, valid_from=date(1900, 1, 1))
    admin = UserFactory(username="root", role=Role.ADMIN)
    collector = UserFactory(username="carmen", role=Role.COLLECTOR, branches=[org["a"]], password=PASSWORD)
    loan = make_loan("L-CALL", admin=admin)
    night(date(2024, 2, 16))
    night(date(2024, 3, 1))  # 15 days past due: the first letter
    case = CollectionCase.objects.get(loan=loan)
    cases_reassign(cases=[case], collector=collector, acting_user=admin)
    letters_render_all(today=date(2024, 3, 1))  # what the pdf worker does after the night
    return case


def test_a_collector_logs_a_call_and_a_promise_and_opens_the_letter(page, live_server, case):  # noqa: F811
    from playwright.sync_api import expect

    with time_machine.travel(NOW, tick=True):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill("carmen")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        # the work queue lists the case with its call due
        page.locator("[data-testid=nav]").get_by_role("link", name="My work queue").click()
        rows = page.locator("[data-testid=queue-row]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("L-CALL")
        expect(rows.first).to_contain_text("First letter")
        rows.first.get_by_role("link", name=f"#{case.id}").click()
        expect(page).to_have_url(re.compile(rf"/collections/{case.id}/"))
        expect(page.locator("[data-testid=case-arrears]")).to_contain_text("1,000.00")

        # logs a call
        form = page.locator("[data-testid=contact-form]")
        form.get_by_label("Channel").select_option("call")
        form.get_by_label("Outcome").select_option("promise_to_pay")
        form.get_by_label("When").fill("2024-03-02T09:45")
        form.get_by_label("Notes").fill("Salary on the 8th")
        form.get_by_role("button", name="Log contact").click()
        expect(page.locator("[role=alert], .alert").filter(has_text="Contact logged.")).to_be_visible()
        expect(page.locator("[data-testid=contact-row]")).to_have_count(1)
        expect(page.locator("[data-testid=contact-row]").first).to_contain_text("Salary on the 8th")

        # a call outside the contact hours is refused with the reason, and nothing is logged
        form = page.locator("[data-testid=contact-form]")
        form.get_by_label("When").fill("2024-03-01T22:30")
        form.get_by_role("button", name="Log contact").click()
        expect(page.get_by_text(re.compile("only between 08:00 and 21:00"))).to_be_visible()
        expect(page.locator("[data-testid=contact-row]")).to_have_count(1)

        # records a promise to pay
        promise = page.locator("[data-testid=promise-form]")
        promise.get_by_label("Amount").fill("1000.00")
        promise.get_by_label("Promised date").fill("2024-03-08")
        promise.get_by_role("button", name="Record promise").click()
        expect(page.locator("[data-testid=open-promise]")).to_contain_text("1,000.00")
        expect(page.locator("[data-testid=promise-form]")).to_have_count(0)

        # and opens the first letter the nightly run generated for the case
        letters = page.locator("[data-testid=case-letters]")
        expect(letters).to_contain_text("First notice")
        expect(letters).to_contain_text("BR-A-2024-000001")
        link = letters.locator("[data-testid=letter-pdf-link]")
        expect(link).to_have_count(1)
        pdf = page.request.get(f"{live_server.url}{link.get_attribute('href')}")
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF")

    assert ContactLog.objects.filter(case=case, by__username="carmen").count() == 1
    stored = PromiseToPay.objects.get(case=case)
    assert (stored.state, stored.promised_date, str(stored.amount)) == ("active", date(2024, 3, 8), "1000.00")
