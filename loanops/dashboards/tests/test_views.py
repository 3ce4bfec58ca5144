"""Dashboard pages: branch scope, filters, drill-down links, exports and the management pack."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from loanops.dashboards.services.aggregates import aggregates_refresh
from loanops.dashboards.tests.helpers import make_loan, snapshot
from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans.models import Dealer

pytestmark = pytest.mark.django_db
JAN, FEB = date(2024, 1, 31), date(2024, 2, 29)


@pytest.fixture
def portfolio(org, alice, charlie):
    dealer = Dealer.objects.create(external_id="D-FLAG", name="Autos Bandera", suspended_new_business=True)
    # Branch A: 1,000 current + 9,000 at 120 days (NPL 90 %). Branch B: 7,000 current, 3,000 at 40 days.
    for branch, officer, principal, dpd, deal in (
        (org["a"], alice, "1000", 0, None), (org["a"], alice, "9000", 120, dealer),
        (org["b"], charlie, "7000", 0, None), (org["b"], charlie, "3000", 40, None),
    ):  # fmt: skip
        loan = make_loan(branch=branch, principal=principal, officer=officer, dealer=deal, disbursed=date(2023, 12, 5))
        snapshot(loan, JAN, outstanding=principal, dpd=max(dpd - 29, 0))
        snapshot(loan, FEB, outstanding=principal, dpd=dpd, current=True)
    aggregates_refresh(as_of=JAN)
    aggregates_refresh(as_of=FEB)
    return dealer


@pytest.fixture
def risk(org):
    return UserFactory(username="rita", role=Role.RISK, branches=[])


def test_a_credit_officer_gets_no_dashboard(client, alice, portfolio):
    client.force_login(alice)
    assert client.get(reverse("dashboards:portfolio")).status_code == 403


def test_head_office_sees_the_whole_portfolio(client, risk, portfolio):
    client.force_login(risk)
    response = client.get(reverse("dashboards:portfolio"))
    assert response.status_code == 200
    current = response.context["current"]
    assert current.principal == Decimal("20000.00")
    assert current.npl_ratio == Decimal("45.00")
    assert 'id="trend-chart"' in response.content.decode()
    assert len(response.context["trend"]) == 2


def test_a_branch_manager_never_sees_another_branch(client, bob, portfolio, org):
    client.force_login(bob)
    response = client.get(reverse("dashboards:portfolio"))
    current = response.context["current"]
    assert current.principal == Decimal("10000.00")  # branch A only
    assert current.npl_ratio == Decimal("90.00")
    branches = response.context["tables"]["branches"]
    assert [row[0] for row in branches.rows] == [str(org["a"])]
    # asking for branch B or its institution is a form error, never B's figures
    for params in ({"branch": "BR-B"}, {"institution": "SUR"}):
        response = client.get(reverse("dashboards:portfolio"), params)
        assert response.status_code == 200
        assert response.context["invalid"] is True
        assert "current" not in response.context
        csv = client.get(reverse("dashboards:export", args=["portfolio", "quality", "csv"]), params)
        assert csv.status_code == 404
    # the exports are scoped the same way
    body = b"".join(client.get(reverse("dashboards:export", args=["portfolio", "branches", "csv"])).streaming_content)
    assert b"BR-A" in body
    assert b"BR-B" not in body


def test_filters_and_drill_down_links(client, risk, portfolio, org, charlie):
    client.force_login(risk)
    response = client.get(reverse("dashboards:portfolio"), {"institution": "SUR"})
    assert response.context["current"].principal == Decimal("10000.00")
    assert response.context["current"].par30 == Decimal("30.00")
    quality = response.context["tables"]["quality"]
    par30 = quality.links[quality.rows.index(next(r for r in quality.rows if r[0] == "PAR30"))]
    assert par30 == "/loans/?branch=SUR&dpd_min=31&status=active"
    npl = quality.links[quality.rows.index(next(r for r in quality.rows if r[0] == "NPL ratio"))]
    assert npl == "/loans/?branch=SUR&npl=yes&status=active"
    vintage = response.context["tables"]["vintage"]
    assert vintage.links[0] == "/loans/?branch=SUR&disbursed_from=2023-12-01&disbursed_to=2023-12-31"
    response = client.get(reverse("dashboards:portfolio"), {"officer": "charlie", "branch": "BR-B"})
    assert response.context["current"].principal == Decimal("10000.00")
    links = response.context["tables"]["buckets"].links
    assert "/loans/?branch=BR-B&officer=charlie&bucket=31-60&status=active" in links
    # the loan list accepts those parameters and shows the loan
    listing = client.get(links[2])
    assert listing.status_code == 200
    assert len(listing.context["page"].rows) == 1


def test_flagged_dealers_are_highlighted_and_roll_rates_shown(client, risk, portfolio):
    client.force_login(risk)
    response = client.get(reverse("dashboards:portfolio"))
    dealers = response.context["tables"]["dealers"]
    assert dealers.flags == [True]
    assert dealers.rows[0][0] == "Autos Bandera"
    matrix = response.context["matrix"]
    assert matrix.from_as_of == JAN
    assert matrix.rate("1-30", "31-60") == Decimal("100.00")
    assert matrix.rate("91-180", "91-180") == Decimal("100.00")
    assert 'data-flagged="1"' in response.content.decode()


@pytest.mark.parametrize(
    "table", ["quality", "buckets", "trend", "roll", "vintage", "vintage_detail", "branches", "dealers"]
)
def test_every_portfolio_table_exports_csv_and_xlsx(client, risk, portfolio, table):
    from openpyxl import load_workbook

    client.force_login(risk)
    csv = client.get(reverse("dashboards:export", args=["portfolio", table, "csv"]))
    assert csv.status_code == 200
    assert b"".join(csv.streaming_content).startswith("\ufeff".encode())
    xlsx = client.get(reverse("dashboards:export", args=["portfolio", table, "xlsx"]))
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row >= 2


def test_unknown_export_is_404(client, risk, portfolio):
    client.force_login(risk)
    assert client.get(reverse("dashboards:export", args=["portfolio", "nope", "csv"])).status_code == 404
    assert client.get(reverse("dashboards:export", args=["portfolio", "quality", "pdf"])).status_code == 404


def test_collections_and_custody_pages(client, risk, portfolio):
    client.force_login(risk)
    for name in ("collections", "custody"):
        response = client.get(reverse(f"dashboards:{name}"))
        assert response.status_code == 200
        for table in response.context["tables"]:
            assert client.get(reverse("dashboards:export", args=[name, table, "xlsx"])).status_code == 200


def test_the_management_pack_is_a_bilingual_pdf(client, risk, portfolio):
    client.force_login(risk)
    response = client.get(reverse("dashboards:pack"), {"institution": "NORTE"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_pack_has_a_spanish_and_an_english_section(client, risk, portfolio, monkeypatch):
    import weasyprint

    rendered = []

    class FakeHTML:
        def __init__(self, *, string, base_url):
            rendered.append(string)

        def write_pdf(self):
            return b"%PDF-fake"

    monkeypatch.setattr(weasyprint, "HTML", FakeHTML)
    client.force_login(risk)
    assert client.get(reverse("dashboards:pack")).status_code == 200
    (html,) = rendered
    assert html.index('lang="es"') < html.index('lang="en"')
    assert html.count('id="trend-chart"') == 2
    assert "Autos Bandera" in html


def test_without_aggregates_the_page_says_so(client, risk, org):
    client.force_login(risk)
    response = client.get(reverse("dashboards:portfolio"))
    assert response.status_code == 200
    assert 'data-testid="no-aggregates"' in response.content.decode()


def test_restricted_institutions_are_highlighted(client, risk, portfolio, org):
    from django.apps import apps

    restriction = apps.get_model("oversight", "InstitutionRestriction")
    restriction.objects.create(institution=org["south"], state="restricted", since=JAN)
    client.force_login(risk)
    branches = client.get(reverse("dashboards:portfolio")).context["tables"]["branches"]
    assert branches.rows[0][0] == str(org["b"])  # restricted first
    assert branches.flags == [True, False]


def test_inspections_on_time_and_overdue_by_officer(client, risk, org, alice, charlie):
    from django.apps import apps

    inspection = apps.get_model("inspections", "Inspection")
    loan_a = make_loan(branch=org["a"], officer=alice)
    loan_b = make_loan(branch=org["b"], officer=charlie)
    common = {"type": "routine", "scheduled_on": date(2024, 1, 1)}
    inspection.objects.create(loan=loan_a, officer=alice, due_date=date(2024, 2, 1), state="completed",
                              completed_on=date(2024, 1, 30), **common)  # fmt: skip
    inspection.objects.create(loan=loan_a, officer=alice, due_date=date(2024, 3, 1), state="completed",
                              completed_on=date(2024, 3, 5), **common)  # fmt: skip
    inspection.objects.create(loan=loan_b, officer=charlie, due_date=date(2024, 3, 1), state="scheduled", **common)
    client.force_login(risk)
    table = client.get(reverse("dashboards:custody")).context["tables"]["inspections"]
    rows = {row[0]: row[1:] for row in table.rows}
    assert rows["alice"] == [2, 1, Decimal("50.00"), 0]
    assert rows["charlie"] == [0, 0, None, 1]


def test_collections_figures_are_scoped(client, bob, org, alice, charlie):
    from loan_collections.models import CaseAction, CaseStageChange, CollectionCase
    from loanops.core.time import business_date

    today = business_date()
    for branch, collector, stage in ((org["a"], alice, "first_letter"), (org["b"], charlie, "enforcement")):
        loan = make_loan(branch=branch, officer=collector)
        case = CollectionCase.objects.create(loan=loan, stage=stage, stage_since=today, opened_on=today,
                                             collector=collector)  # fmt: skip
        CaseStageChange.objects.create(case=case, to_stage=stage, on=today, reason="opened")
        CaseAction.objects.create(case=case, stage=stage, kind=CaseAction.Kind.LETTER_REQUEST, due_on=today)
    cured = CollectionCase.objects.create(loan=make_loan(branch=org["a"], officer=alice), stage="cure_monitoring",
                                          stage_since=today, opened_on=today, collector=alice)  # fmt: skip
    CaseStageChange.objects.create(case=cured, from_stage="phone_reminder", to_stage="cure_monitoring", on=today,
                                   reason="cured")  # fmt: skip
    client.force_login(bob)
    tables = client.get(reverse("dashboards:collections")).context["tables"]
    stages = dict(tables["stages"].rows)
    assert stages["First letter"] == 1
    assert stages["Enforcement"] == 0  # branch B's case is not counted
    rates = dict(tables["rates"].rows)
    assert rates["Cases active in the month"] == 2
    assert rates["Cure rate %"] == Decimal("50.00")
    assert rates["Letters requested"] == 1
    assert [row[0] for row in tables["collectors"].rows] == ["alice"]


def test_collections_figures_from_contacts_promises_and_tracks(client, bob, org, alice, charlie):
    from datetime import datetime, time

    from django.utils import timezone

    from loan_collections.models import CollectionCase, ContactLog, EnforcementTrack, PromiseToPay
    from loanops.core.time import business_date

    today = business_date()
    cases = {}
    for branch, collector in ((org["a"], alice), (org["b"], charlie)):
        loan = make_loan(branch=branch, officer=collector)
        case = CollectionCase.objects.create(loan=loan, stage="enforcement", stage_since=today, opened_on=today,
                                             collector=collector)  # fmt: skip
        cases[branch.code] = case
        ContactLog.objects.create(case=case, channel="call", party="borrower", outcome="no_answer", by=collector,
                                  contacted_at=timezone.make_aware(datetime.combine(today, time(0, 5))))  # fmt: skip
        for state in ("kept", "broken", "broken"):
            PromiseToPay.objects.create(case=case, amount="10.00", recorded_on=today, promised_date=today,
                                        state=state, resolved_on=today, recorded_by=collector)  # fmt: skip
        EnforcementTrack.objects.create(case=case, kind="legal", against="borrower", state="filed", opened_on=today,
                                        amount_claimed="500.00")  # fmt: skip
    ContactLog.objects.create(case=cases["BR-A"], channel="sms", party="borrower", outcome="left_message", by=alice,
                              contacted_at=timezone.make_aware(datetime.combine(today, time(0, 6))))  # fmt: skip
    client.force_login(bob)
    tables = client.get(reverse("dashboards:collections")).context["tables"]
    rates = dict(tables["rates"].rows)
    assert (rates["Promises kept"], rates["Promises broken"]) == (1, 2)
    assert rates["Promises kept rate %"] == Decimal("33.33")
    assert tables["collectors"].rows == [["alice", 1, 2, 1, 0]]  # branch B's collector is not shown
    assert tables["enforcement"].rows == [["Legal action", "Filed", 1, Decimal("500.00"), Decimal("0.00")]]


def test_the_pack_of_an_earlier_month(client, risk, portfolio, monkeypatch):
    import weasyprint

    rendered = []

    class FakeHTML:
        def __init__(self, *, string, base_url):
            rendered.append(string)

        def write_pdf(self):
            return b"%PDF-fake"

    monkeypatch.setattr(weasyprint, "HTML", FakeHTML)
    client.force_login(risk)
    response = client.get(reverse("dashboards:pack"), {"month": "2024-01"})
    assert response["Content-Disposition"] == 'inline; filename="management-pack-2024-01.pdf"'
    assert client.get(reverse("dashboards:pack"), {"month": "2024-13"}).status_code == 400


def test_custody_counts_files_on_loan_past_their_return_date(client, risk, org, alice):
    from datetime import timedelta

    from archives.models import BorrowRequest, CreditFile
    from loanops.core.time import business_date

    today = business_date()
    for due in (today - timedelta(days=1), today):  # one overdue, one due today
        loan = make_loan(branch=org["a"], officer=alice)
        file, _created = CreditFile.objects.get_or_create(loan=loan)
        CreditFile.objects.filter(id=file.id).update(state=CreditFile.State.ON_LOAN)
        BorrowRequest.objects.create(
            file=file, level=2, purpose=BorrowRequest.Purpose.choices[0][0], requested_by=alice,
            requested_return_on=due, state=BorrowRequest.State.ON_LOAN, released_on=due - timedelta(days=10),
            return_due=due,
        )  # fmt: skip
    client.force_login(risk)
    table = client.get(reverse("dashboards:custody")).context["tables"]["files"]
    header = table.header
    alice_row = next(row for row in table.rows if row[0] == "alice")
    assert alice_row[header.index("On loan")] == 2
    assert alice_row[header.index("On loan, overdue")] == 1
