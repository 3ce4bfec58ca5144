"""In Chromium: an officer completes a spot check, the credit head returns it, the officer fixes it,
the credit head signs it, the manager acknowledges it, and the signed PDF is in the credit file."""

import pytest

from archives.models import CreditFile
from inspections.models import Inspection, InspectionType
from inspections.services.sampling import spot_check_sample_assign, spot_check_sample_draw
from inspections.tests.helpers import make_loan
from loanops.core.tests.browser import login, page  # noqa: F401  (fixture)
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"


@pytest.fixture
def spot_check(org, alice):
    admin = UserFactory(username="root", role=Role.ADMIN)
    risk = UserFactory(username="rita", role=Role.RISK, branches=[org["head"]])
    loan = make_loan("L-SPOT", admin=admin, officer=alice)
    sample = spot_check_sample_draw(acting_user=risk, seed=2026, rate="1")
    spot_check_sample_assign(sample=sample, acting_user=risk)
    return Inspection.objects.get(loan=loan, type=InspectionType.SPOT_CHECK)


def _as(page, live_server, username):  # noqa: F811
    page.context.clear_cookies()
    login(page, live_server, username, PASSWORD)


def test_spot_check_return_fix_sign_acknowledge_and_file(page, live_server, org, alice, bob, spot_check):  # noqa: F811
    from playwright.sync_api import expect

    UserFactory(username="dave", role=Role.CREDIT_HEAD, branches=[org["north"]], first_name="Dave", last_name="Head")
    state = page.locator("[data-testid=inspection-state]")

    # the officer finds the spot check among her due inspections and starts it
    _as(page, live_server, "alice")
    page.locator("[data-testid=nav]").get_by_role("link", name="Inspections").click()
    page.locator("[data-testid=my-due]").get_by_role("link", name=str(spot_check.id)).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Spot check")
    page.locator("[data-testid=start]").click()
    expect(state).to_have_text("In progress")

    # submitting without the analysis is refused with field messages
    page.locator("[data-testid=submit]").click()
    expect(page.get_by_text("A written analysis is required.")).to_be_visible()
    expect(state).to_have_text("In progress")

    # she fills the report and submits it
    form = page.locator("[data-testid=report-form]")
    form.get_by_label("File materials complete").select_option("true")
    form.get_by_label("Current-account flows verified").select_option("true")
    form.get_by_label("Insurance in force").select_option("true")
    form.get_by_label("Proposed classification").select_option("normal")
    form.get_by_label("Analysis", exact=True).fill("File complete; account flows match the declared income.")
    form.get_by_label("Suggestions", exact=True).fill("No action.")
    page.locator("[data-testid=submit]").click()
    expect(state).to_have_text("Submitted")

    # the credit head returns it with a comment
    _as(page, live_server, "dave")
    page.goto(f"{live_server.url}/inspections/review/")
    page.locator("[data-testid=review-queue]").get_by_role("link", name=str(spot_check.id)).click()
    page.locator("[data-testid=review-form]").get_by_label("Comments").fill("Add the vehicle's mileage.")
    page.locator("[data-testid=return]").click()
    expect(state).to_have_text("Returned")

    # the officer sees it returned, fixes it and submits again
    _as(page, live_server, "alice")
    page.goto(f"{live_server.url}/inspections/")
    page.locator("[data-testid=my-returned]").get_by_role("link", name=str(spot_check.id)).click()
    expect(page.locator("[data-testid=review-comments]")).to_have_text("Add the vehicle's mileage.")
    page.locator("[data-testid=start]").click()
    expect(state).to_have_text("In progress")
    page.locator("[data-testid=report-form]").get_by_label("Mileage (km)").fill("42000")
    page.locator("[data-testid=submit]").click()
    expect(state).to_have_text("Submitted")

    # the credit head signs it
    _as(page, live_server, "dave")
    page.goto(f"{live_server.url}/inspections/{spot_check.id}/")
    page.locator("[data-testid=review]").click()
    expect(state).to_have_text("Reviewed")

    # the manager acknowledges it: completed, with the signed PDF
    _as(page, live_server, "bob")
    page.goto(f"{live_server.url}/inspections/acknowledge/")
    page.locator("[data-testid=ack-queue]").get_by_role("link", name=str(spot_check.id)).click()
    page.locator("[data-testid=acknowledge]").click()
    expect(state).to_have_text("Completed")
    signoffs = page.locator("[data-testid=signoffs] tbody tr")
    expect(signoffs).to_have_count(5)
    expect(page.locator("[data-testid=pdf-link]")).to_be_visible()

    # and the PDF is in the loan's credit file, as a level-2 document
    file = CreditFile.objects.get(loan=spot_check.loan)
    page.goto(f"{live_server.url}/archives/{file.id}/")
    row = page.locator("[data-testid=checklist] tbody tr", has_text=f"Inspection report #{spot_check.id}")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text(f"Inspection report #{spot_check.id} (Spot check)")
    expect(row.locator("td").nth(1)).to_have_text("2")  # level 2
    response = page.request.get(f"{live_server.url}/inspections/{spot_check.id}/report.pdf")
    assert response.ok
    assert response.body()[:5] == b"%PDF-"
