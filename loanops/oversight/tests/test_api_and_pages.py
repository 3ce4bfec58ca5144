"""The report and restriction API (api.md) and the oversight pages: filters, errors, scoping, downloads."""

import io
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework.test import APIClient

from loanops.oversight.models import RestrictionProposal
from loanops.oversight.services.reports import monthly_reports_generate
from loanops.oversight.services.watch import restriction_proposal_decide
from loanops.oversight.tests.helpers import make_loan, mark_swept, month_end_state

pytestmark = pytest.mark.django_db

APR = date(2024, 4, 1)
APR_END = date(2024, 4, 30)
REPORT = "/api/v1/reports/rule-3-6"


@pytest.fixture
def reports(admin, org):
    """April 2024: two loans meeting 3/6 in branch A (one NPL), one in branch B; NORTE above 5 %."""
    a1, a2, b1 = (make_loan(n, admin=admin, branch=br) for n, br in (("A-1", "BR-A"), ("A-2", "BR-A"),
                                                                         ("B-1", "BR-B")))  # fmt: skip
    month_end_state(a1, APR_END, outstanding="9000.00", npl=True, dpd=100)
    month_end_state(a2, APR_END, outstanding="8000.00", npl=False, dpd=75)
    month_end_state(b1, APR_END, outstanding="7000.00", npl=False, dpd=75)
    from loans.models import DelinquencySnapshot

    DelinquencySnapshot.objects.filter(as_of=APR_END).update(rule_3_6=True, overdue_installments=3)
    mark_swept(APR_END)
    monthly_reports_generate(month=APR)


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- GET /api/v1/reports/rule-3-6 ---------------------------------------------------------------


def test_the_report_lists_the_lines_with_totals_by_institution(api, reports):
    response = api.get(REPORT, {"month": "2024-04"})
    assert response.status_code == 200
    body = response.json()
    assert (body["month"], body["count"]) == ("2024-04", 3)
    assert [line["loan_number"] for line in body["results"]] == ["A-1", "A-2", "B-1"]
    line = body["results"][0]
    assert (line["institution"], line["branch"], line["outstanding_principal"], line["days_past_due"]) == (
        "NORTE", "BR-A", "9000.00", 100,
    )  # fmt: skip
    assert line["overdue_installments"] == 3
    assert {"borrower", "dealer", "officer", "disbursement_date", "enforcement_status", "classification"} <= set(line)
    assert body["totals"] == [
        {"institution": "NORTE", "loans": 2, "outstanding_principal": "17000.00", "overdue_principal": "0.00",
         "overdue_interest": "0.00", "overdue_fees": "0.00", "overdue_amount": "0.00"},
        {"institution": "SUR", "loans": 1, "outstanding_principal": "7000.00", "overdue_principal": "0.00",
         "overdue_interest": "0.00", "overdue_fees": "0.00", "overdue_amount": "0.00"},
    ]  # fmt: skip


def test_the_report_filters_by_branch_and_defaults_to_the_latest_month(api, reports):
    assert [r["loan_number"] for r in api.get(REPORT, {"branch": "BR-B"}).json()["results"]] == ["B-1"]
    assert api.get(REPORT, {"branch": "NORTE"}).json()["count"] == 2
    assert api.get(REPORT).json()["month"] == "2024-04"


def test_the_report_as_csv(api, reports):
    response = api.get(f"{REPORT}.csv", {"month": "2024-04", "branch": "BR-A"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = text.strip().splitlines()
    assert rows[0].startswith("Month,Institution,Branch")
    assert len(rows) == 3
    assert "A-1" in rows[1]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"month": "2024-13"}, "month"), ({"month": "april"}, "month"), ({"branch": "NOPE"}, "branch")],
)
def test_bad_filters_are_a_400_with_field_messages(api, reports, params, field):
    for path in (REPORT, f"{REPORT}.csv"):
        response = api.get(path, params)
        assert response.status_code == 400
        assert field in response.json()


def test_a_month_not_generated_is_a_404(api, reports):
    assert api.get(REPORT, {"month": "2024-05"}).status_code == 404
    assert api.get(f"{REPORT}.csv", {"month": "2024-05"}).status_code == 404


def test_no_report_at_all_is_a_404(api, org):
    assert api.get(REPORT).status_code == 404


def test_a_branch_client_sees_its_branch_only(api_a, reports):
    body = api_a.get(REPORT, {"month": "2024-04"}).json()
    assert [r["loan_number"] for r in body["results"]] == ["A-1", "A-2"]
    assert api_a.get(REPORT, {"branch": "BR-B"}).status_code == 400  # not one of its branches


def test_the_report_needs_a_token_and_is_read_only(api, reports):
    assert APIClient().get(REPORT).status_code == 401
    assert api.post(REPORT, {}).status_code == 405


# --- GET /api/v1/branches/{code}/restrictions ---------------------------------------------------


def test_restrictions_of_a_branch_are_its_institutions(api, reports, risk, org):
    # given: NORTE above 5 % (9,000 / 17,000), signed off
    proposal = RestrictionProposal.objects.get(institution=org["north"], status="pending")
    before = api.get("/api/v1/branches/BR-A/restrictions").json()
    assert (before["state"], before["pending_proposal"]["kind"]) == ("normal", "restrict")
    restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk)
    # when
    response = api.get("/api/v1/branches/BR-A/restrictions")
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["branch"], body["institution"], body["state"], body["authority_factor"]) == (
        "BR-A", "NORTE", "restricted", "0.50",
    )  # fmt: skip
    assert body["suspended_business_types"] == ["dealer_auto_flagged"]
    assert (body["signed_by"], body["pending_proposal"]) == ("rita", None)
    assert body["since"]
    assert body["signed_at"]
    assert body["ratio_history"] == [
        {"month": "2024-04", "as_of": "2024-04-30", "npl_ratio": "0.529412", "npl_ratio_limit": "0.050000",
         "above_limit": True, "npl_principal": "9000.00", "total_principal": "17000.00"},
    ]  # fmt: skip
    assert api.get("/api/v1/branches/NORTE/restrictions").json()["state"] == "restricted"
    assert api.get("/api/v1/branches/SUR/restrictions").json()["state"] == "normal"
    assert api.get("/api/v1/branches/HO/restrictions").json()["institution"] is None


def test_restrictions_of_an_unknown_or_hidden_branch_are_a_404(api, api_a, reports):
    assert api.get("/api/v1/branches/NOPE/restrictions").status_code == 404
    assert api_a.get("/api/v1/branches/BR-B/restrictions").status_code == 404
    assert api_a.get("/api/v1/branches/BR-A/restrictions").status_code == 200
    assert APIClient().get("/api/v1/branches/BR-A/restrictions").status_code == 401


# --- pages --------------------------------------------------------------------------------------


def test_the_report_pages_for_managers_and_risk(client, reports, bob, risk):
    # a branch manager sees the institution's report, with the lines of his branch
    client.force_login(bob)
    listing = client.get(reverse("oversight:reports"))
    assert listing.status_code == 200
    assert b"NORTE" in listing.content
    assert b"SUR" not in listing.content
    from loanops.oversight.models import MonthlyReport

    north = MonthlyReport.objects.get(institution__code="NORTE")
    detail = client.get(reverse("oversight:report", args=[north.id]))
    assert detail.status_code == 200
    assert b"A-1" in detail.content
    assert b'data-testid="partial"' in detail.content
    south = MonthlyReport.objects.get(institution__code="SUR")
    assert client.get(reverse("oversight:report", args=[south.id])).status_code == 404
    # head-office risk sees every institution's totals and NPL ratio
    client.force_login(risk)
    detail = client.get(reverse("oversight:report", args=[north.id]))
    assert b'data-testid="npl-ratio"' in detail.content
    assert b"partial" not in detail.content


def test_officers_and_api_clients_do_not_see_the_pages(client, reports, alice, charlie):
    for user in (alice, charlie):
        client.force_login(user)
        assert client.get(reverse("oversight:reports")).status_code == 403
    client.logout()
    assert client.get(reverse("oversight:reports")).status_code == 302  # to the login page


def test_downloads_csv_xlsx_and_pdf_in_both_languages(client, reports, risk):
    from loanops.oversight.models import MonthlyReport

    north = MonthlyReport.objects.get(institution__code="NORTE")
    client.force_login(risk)
    csv = client.get(reverse("oversight:report-download", args=[north.id, "csv"]))
    assert csv.status_code == 200
    assert b"A-2" in b"".join(csv.streaming_content)
    xlsx = client.get(reverse("oversight:report-download", args=[north.id, "xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert [row[7] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["A-1", "A-2"]
    for language in ("es", "en"):
        pdf = client.get(reverse("oversight:report-download", args=[north.id, "pdf"]), {"lang": language})
        assert pdf.status_code == 200
        assert pdf.content.startswith(b"%PDF")
        assert f"NORTE-2024-04.{language}.pdf" in pdf["Content-Disposition"]
    assert client.get(reverse("oversight:report-download", args=[north.id, "doc"])).status_code == 404


def test_risk_signs_off_on_the_institution_page(client, reports, risk, auditor, org):
    proposal = RestrictionProposal.objects.get(status="pending")
    url = reverse("oversight:proposal-decide", args=[proposal.id])
    # the auditor reads, but may not sign
    client.force_login(auditor)
    page = client.get(reverse("oversight:institution", args=["NORTE"]))
    assert page.status_code == 200
    assert b"decide-form" not in page.content
    assert client.post(url, {"decision": "approve"}).status_code == 403
    # risk: a rejection needs a note; then sign off
    client.force_login(risk)
    assert b"decide-form" in client.get(reverse("oversight:institution", args=["NORTE"])).content
    client.post(url, {"decision": "reject"})
    proposal.refresh_from_db()
    assert proposal.status == "pending"
    response = client.post(url, {"decision": "approve"}, follow=True)
    assert b'data-testid="restriction-banner"' in response.content
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == ("approved", risk)
    assert client.post(url, {"decision": "bogus"}).status_code == 302
    assert client.get(reverse("oversight:institution", args=["NOPE"])).status_code == 404


def test_the_loan_page_shows_the_restriction_banner(client, reports, risk, bob, org):
    proposal = RestrictionProposal.objects.get(status="pending")
    restriction_proposal_decide(proposal_id=proposal.id, approve=True, acting_user=risk)
    client.force_login(bob)
    page = client.get(reverse("loans:detail", args=["A-1"]))
    assert page.status_code == 200
    assert b'data-testid="restriction-banner"' in page.content


def test_the_dealers_page(client, reports, risk, bob):
    client.force_login(bob)
    page = client.get(reverse("oversight:dealers"))
    assert page.status_code == 200
    assert b"Dealer D-7" in page.content
    assert b"?dealer=" in page.content
    assert client.get(reverse("oversight:dealers"), {"month": "not-a-month"}).status_code == 200


def test_list_endpoints_and_pages_run_a_bounded_number_of_queries(
    api, client, reports, risk, django_assert_max_num_queries
):
    from loanops.oversight.models import MonthlyReport

    north = MonthlyReport.objects.get(institution__code="NORTE")
    client.force_login(risk)
    with django_assert_max_num_queries(8):
        assert api.get(REPORT, {"month": "2024-04"}).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("oversight:reports")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("oversight:report", args=[north.id])).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("oversight:institution", args=["NORTE"])).status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/branches/BR-A/restrictions").status_code == 200
