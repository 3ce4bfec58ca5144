import pytest
from playwright.sync_api import expect

from loanops.core.tests.browser import login, page  # noqa: F401  (fixture)
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_user_logs_in_switches_language_and_sees_the_role_navigation(page, live_server, org):  # noqa: F811
    # given an auditor (head office) and a credit officer of branch A
    UserFactory(username="ines", role=Role.AUDITOR, password="correct-horse-battery")
    UserFactory(username="olga", role=Role.CREDIT_OFFICER, branches=[org["a"]], password="correct-horse-battery")

    # when the auditor logs in
    login(page, live_server, "ines", "correct-horse-battery")
    nav = page.locator("[data-testid=nav]")
    # then she sees the audit trail, but not the administration
    expect(nav.get_by_text("Audit trail")).to_be_visible()
    assert nav.get_by_text("Administration").count() == 0

    # when she switches to Spanish
    page.select_option("[data-testid=language-select]", "es")
    with page.expect_navigation():
        page.click("[data-testid=language-submit]")
    # then the page and the navigation are in Spanish, and it is remembered for her
    assert page.locator("html").get_attribute("lang") == "es"
    expect(nav.get_by_text("Registro de auditoría")).to_be_visible()
    with page.expect_navigation():
        page.click("button:has-text('Cerrar sesión')")
    login(page, live_server, "ines", "correct-horse-battery")
    assert page.locator("html").get_attribute("lang") == "es"

    # a credit officer sees loans but not the audit trail
    with page.expect_navigation():
        page.click("button:has-text('Cerrar sesión')")
    page.context.clear_cookies()
    login(page, live_server, "olga", "correct-horse-battery")
    expect(page.locator("[data-testid=nav]").get_by_text("Loans")).to_be_visible()
    assert page.locator("[data-testid=nav]").get_by_text("Audit trail").count() == 0
