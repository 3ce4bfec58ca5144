"""Walk every page and API route as a user (and a client) of branch A: nothing of branch B shows."""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db

SECRET_LOAN = "SECRETB-LOAN-1"
SECRET_NAME = "Zacarias Secreto"
SECRET_PAYMENT = "SECRETB-TX-1"
SKIP = ("admin/", "accounts/logout", "api/v1/schema", "api/v1/docs", "static/", "media/")


def _routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, pattern)
        elif isinstance(entry, URLPattern):
            yield pattern


def _fill(pattern: str) -> str:
    values = {"loan_number": SECRET_LOAN, "number": SECRET_LOAN, "external_id": SECRET_PAYMENT, "code": "BR-B"}

    def value(match):
        return values.get(match.group("name"), "1")

    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, pattern)
    return "/" + path.lstrip("^").rstrip("$")


@pytest.fixture
def branch_b_loan(api):
    body = loan_body("BR-B", borrower={"external_id": "SECRET-C", "name": SECRET_NAME, "national_id": "S-999"})
    assert api.put(f"/api/v1/loans/{SECRET_LOAN}", body, format="json").status_code == 201
    payment = {"external_id": SECRET_PAYMENT, "loan_number": SECRET_LOAN, "amount": "10.00", "value_date": "2024-02-15"}
    assert api.post("/api/v1/payments", payment, format="json").status_code == 201
    from django.core.management import call_command

    call_command("run_nightly", "--as-of", "2024-03-01")


def _assert_hidden(response, url, *, echoed=False):
    """Nothing of B appears (a searched-for loan number may be echoed back in the search box)."""
    body = response.content.decode(errors="ignore").replace(url, "")  # the page may echo its own path
    if not echoed:
        assert SECRET_LOAN not in body, url
    assert SECRET_NAME not in body, url
    assert response.status_code < 500, url


def test_no_page_shows_branch_b_to_a_branch_a_user(client, alice, branch_b_loan):
    client.force_login(alice)
    routes = [r for r in _routes() if not r.startswith(SKIP)]
    assert len(routes) > 10
    for pattern in routes:
        url = _fill(pattern)
        _assert_hidden(client.get(url), url)
        _assert_hidden(
            client.get(url, {"q": SECRET_LOAN, "loan_number": SECRET_LOAN, "branch": "BR-B"}), url, echoed=True
        )


def test_no_api_route_shows_branch_b_to_a_branch_a_client(api_a, branch_b_loan):
    for pattern in [r for r in _routes() if r.startswith("api/v1/") and not r.startswith(SKIP)]:
        url = _fill(pattern)
        _assert_hidden(api_a.get(url), url)
        _assert_hidden(api_a.get(url, {"loan_number": SECRET_LOAN, "branch": "BR-B"}), url, echoed=True)
    reverse = api_a.post(f"/api/v1/payments/{SECRET_PAYMENT}/reverse", {"reason": "x"}, format="json")
    assert reverse.status_code == 404
