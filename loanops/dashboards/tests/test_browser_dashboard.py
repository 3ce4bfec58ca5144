"""In Chromium: a risk analyst opens the dashboard, filters by branch and drills down to the loans."""

from datetime import date

import pytest

from loanops.core.tests.browser import login, page  # noqa: F401  (fixture)
from loanops.dashboards.services.aggregates import aggregates_refresh
from loanops.dashboards.tests.helpers import make_loan, snapshot
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery"
JAN, FEB = date(2024, 1, 31), date(2024, 2, 29)


@pytest.fixture
def portfolio(org):
    loans = {}
    for branch, principal, dpd in ((org["a"], "4000", 0), (org["a"], "6000", 45), (org["b"], "5000", 45)):
        loan = make_loan(branch=branch, principal=principal)
        snapshot(loan, JAN, outstanding=principal, dpd=max(dpd - 29, 0))
        snapshot(loan, FEB, outstanding=principal, dpd=dpd, current=True)
        loans[(branch.code, dpd)] = loan
    aggregates_refresh(as_of=JAN)
    aggregates_refresh(as_of=FEB)
    return loans


def test_dashboard_filter_by_branch_and_drill_down(page, live_server, org, portfolio):  # noqa: F811
    user = UserFactory(username="rita", role=Role.RISK, branches=[])
    user.set_password(PASSWORD)
    user.save()
    login(page, live_server, "rita", PASSWORD)

    page.goto(f"{live_server.url}/dashboards/")
    assert page.locator("#trend-chart").count() == 1
    assert page.get_by_test_id("kpi-principal").inner_text().startswith("15,000.00")

    page.select_option("#id_branch", "BR-A")
    with page.expect_navigation():
        page.get_by_role("button", name="Apply").click()
    assert "branch=BR-A" in page.url
    assert page.get_by_test_id("kpi-principal").inner_text().startswith("10,000.00")
    assert page.get_by_test_id("kpi-par").inner_text().startswith("60.00")

    buckets = page.get_by_test_id("table-buckets")
    with page.expect_navigation():
        buckets.get_by_role("link", name="31–60").click()
    assert "/loans/" in page.url
    assert "branch=BR-A" in page.url
    assert "bucket=31-60" in page.url
    body = page.locator("main").inner_text()
    assert portfolio[("BR-A", 45)].number in body
    assert portfolio[("BR-B", 45)].number not in body
    assert portfolio[("BR-A", 0)].number not in body
