"""The loan list and detail pages: scoping, filters, search, sorting, paging, detail sections."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loanops.core.time import business_date
from loanops.org.models import Role
from loanops.org.tests.factories import BranchFactory, UserFactory
from loans import panels
from loans.forms import SORT_CHOICES
from loans.models import DelinquencySnapshot, Loan, LoanDelinquency, Product
from loans.page_selectors import LOAN_SORTS, loan_page_list, mask_national_id
from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db

LIST_URL = "/loans/"


def _put_loan(api, number, branch="BR-A", *, dealer_party=None, **overrides) -> Loan:
    body = loan_body(branch, **overrides)
    if dealer_party:
        body["dealer"] = dealer_party
    response = api.put(f"/api/v1/loans/{number}", body, format="json")
    assert response.status_code == 201, response.json()
    return Loan.objects.get(number=number)


def _pay(api, number, external_id, amount, value_date, **extra):
    body = {"external_id": external_id, "loan_number": number, "amount": amount, "value_date": value_date, **extra}
    response = api.post("/api/v1/payments", body, format="json")
    assert response.status_code == 201, response.json()


def _store(
    loan,
    *,
    dpd=0,
    bucket="current",
    classification="normal",
    rule_3_6=False,
    outstanding="10800.00",
    overdue="0.00",
    as_of=date(2025, 1, 31),
) -> LoanDelinquency:
    return LoanDelinquency.objects.create(
        loan=loan,
        as_of=as_of,
        days_past_due=dpd,
        bucket=bucket,
        classification_floor=classification,
        classification=classification,
        rule_3_6=rule_3_6,
        outstanding_principal=Decimal(outstanding),
        overdue_amount=Decimal(overdue),
        is_npl=classification in ("substandard", "doubtful", "loss"),
    )


def _numbers(response) -> list[str]:
    return [row.loan.number for row in response.context["page"].rows]


@pytest.fixture
def portfolio(api, org, alice, bob, charlie):
    """Four loans alice can see (one in a sub-branch of A) and one in branch B."""
    BranchFactory(code="BR-A2", name="Branch A2", parent=org["a"])
    Product.objects.create(code="MORT", name="Mortgage")
    l1 = _put_loan(
        api,
        "L-1",
        officer="alice",
        borrower={"external_id": "C-1", "name": "Ana Ruiz", "national_id": "X1234567"},
    )
    l2 = _put_loan(
        api,
        "L-2",
        product="MORT",
        officer="bob",
        dealer=False,
        borrower={"external_id": "C-2", "name": "Bruno Díaz", "national_id": "Y7654321"},
    )
    l3 = _put_loan(
        api,
        "L-3",
        "BR-A2",
        dealer_party={"external_id": "D-8", "name": "Motor Sur"},
        borrower={"external_id": "C-3", "name": "Carla Gómez", "national_id": "Z5555555"},
    )
    _put_loan(api, "L-4", borrower={"external_id": "C-4", "name": "Diego Ruizón", "national_id": "W1111111"})
    _pay(api, "L-4", "PAY-ALL", "12000.00", "2025-01-15")  # pays everything: the loan closes
    _put_loan(api, "LB-1", "BR-B", borrower={"external_id": "C-9", "name": "Berta Sur", "national_id": "B9999999"})
    _store(l1, outstanding="10800.00")
    _store(l2, dpd=45, bucket="31-60", classification="special_mention", outstanding="9000.00", overdue="2000.00")
    _store(
        l3,
        dpd=200,
        bucket="181-270",
        classification="substandard",
        rule_3_6=True,
        outstanding="12345.67",
        overdue="7000.00",
    )
    return {"l1": l1, "l2": l2, "l3": l3}


# --- auth and scoping ------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST_URL, "/loans/L-1/"])
def test_it_redirects_anonymous_users_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", [LIST_URL, "/loans/L-1/"])
def test_it_only_allows_get(client, portfolio, alice, url):
    client.force_login(alice)
    assert client.post(url).status_code == 405


def test_list_shows_only_the_users_branches(client, portfolio, alice):
    # given
    client.force_login(alice)
    # when
    response = client.get(LIST_URL)
    # then
    assert response.status_code == 200
    assert _numbers(response) == ["L-1", "L-2", "L-3", "L-4"]
    content = response.content.decode()
    assert "LB-1" not in content
    assert "Berta Sur" not in content
    assert "BR-B" not in content  # not even in the branch filter's choices


def test_branch_filter_includes_every_unit_below(client, portfolio):
    # given: a head-office user sees every branch
    risk = UserFactory(username="rita", role=Role.RISK)
    client.force_login(risk)
    # when
    everything = client.get(LIST_URL)
    north = client.get(LIST_URL, {"branch": "NORTE"})
    # then
    assert _numbers(everything) == ["L-1", "L-2", "L-3", "L-4", "LB-1"]
    assert _numbers(north) == ["L-1", "L-2", "L-3", "L-4"]


def test_other_branch_user_sees_only_their_own_loans(client, portfolio, charlie):
    client.force_login(charlie)
    assert _numbers(client.get(LIST_URL)) == ["LB-1"]


def test_detail_is_404_outside_the_users_branches(client, portfolio, charlie):
    client.force_login(charlie)
    assert client.get("/loans/L-1/").status_code == 404


def test_detail_is_404_for_an_unknown_loan(client, portfolio, alice):
    client.force_login(alice)
    assert client.get("/loans/NOPE/").status_code == 404


def test_manager_of_the_branch_sees_the_detail(client, portfolio, bob):
    client.force_login(bob)
    assert client.get("/loans/L-3/").status_code == 200


# --- list columns --------------------------------------------------------------------


def test_list_shows_stored_state_with_localized_money_and_a_class_badge(client, portfolio, alice):
    client.force_login(alice)
    content = client.get(LIST_URL).content.decode()
    assert "12,345.67" in content
    assert "7,000.00" in content
    assert 'class="badge badge-class-substandard"' in content
    assert 'href="/loans/L-3/"' in content
    assert "Carla Gómez" in content


def test_list_shows_a_dash_for_a_loan_never_swept(client, portfolio, alice):
    client.force_login(alice)
    response = client.get(LIST_URL, {"q": "L-4"})
    assert _numbers(response) == ["L-4"]
    content = response.content.decode()
    assert "—" in content
    assert "badge-class-" not in content
    assert "Closed" in content


# --- filters, search, sorting ----------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"branch": "BR-A"}, ["L-1", "L-2", "L-3", "L-4"]),
        ({"branch": "BR-A2"}, ["L-3"]),
        ({"officer": "bob"}, ["L-2"]),
        ({"product": "MORT"}, ["L-2"]),
        ({"dealer": "D-8"}, ["L-3"]),
        ({"bucket": "31-60"}, ["L-2"]),
        ({"classification": "substandard"}, ["L-3"]),
        ({"classification": "normal"}, ["L-1"]),
        ({"rule_3_6": "yes"}, ["L-3"]),
        ({"rule_3_6": "no"}, ["L-1", "L-2"]),
        ({"dpd_min": "1"}, ["L-2", "L-3"]),
        ({"dpd_max": "45"}, ["L-1", "L-2"]),
        ({"dpd_min": "40", "dpd_max": "100"}, ["L-2"]),
        ({"status": "closed"}, ["L-4"]),
        ({"status": "active"}, ["L-1", "L-2", "L-3"]),
        ({"bucket": "31-60", "officer": "alice"}, []),
        ({"npl": "yes"}, ["L-3"]),
        ({"npl": "no"}, ["L-1", "L-2"]),
        ({"disbursed_from": "2024-01-15", "disbursed_to": "2024-01-31"}, ["L-1", "L-2", "L-3", "L-4"]),
        ({"disbursed_from": "2024-02-01"}, []),
        ({"disbursed_to": "2024-01-14"}, []),
    ],
)
def test_each_filter_narrows_the_list(client, portfolio, alice, params, expected):
    client.force_login(alice)
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    assert response.context["form"].errors == {}
    assert _numbers(response) == expected


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("L-3", ["L-3"]),  # loan number prefix
        ("L-", ["L-1", "L-2", "L-3", "L-4"]),
        ("-3", []),  # not a prefix
        ("ruiz", ["L-1", "L-4"]),  # borrower name, any case, anywhere
        ("Díaz", ["L-2"]),
        ("Y7654321", ["L-2"]),  # national id, exact
        ("Y76543", []),  # …and only exact
        ("  L-1  ", ["L-1"]),
        ("B9999999", []),  # a borrower of another branch
    ],
)
def test_search_matches_number_prefix_name_or_national_id(client, portfolio, alice, q, expected):
    client.force_login(alice)
    assert _numbers(client.get(LIST_URL, {"q": q})) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("number", ["L-1", "L-2", "L-3", "L-4"]),
        ("-number", ["L-4", "L-3", "L-2", "L-1"]),
        ("dpd", ["L-4", "L-1", "L-2", "L-3"]),  # never swept first…
        ("-dpd", ["L-3", "L-2", "L-1", "L-4"]),  # …and last
        ("outstanding", ["L-4", "L-2", "L-1", "L-3"]),
        ("-outstanding", ["L-3", "L-1", "L-2", "L-4"]),
        ("", ["L-1", "L-2", "L-3", "L-4"]),
    ],
)
def test_it_sorts_by_whitelisted_keys(client, portfolio, alice, sort, expected):
    client.force_login(alice)
    assert _numbers(client.get(LIST_URL, {"sort": sort})) == expected


def test_it_sorts_by_disbursement_date(client, api, org, alice):
    _put_loan(api, "L-OLD", disbursement_date="2024-01-01", borrower={"external_id": "C-5", "name": "Old"})
    _put_loan(api, "L-NEW", borrower={"external_id": "C-6", "name": "New"})
    client.force_login(alice)
    assert _numbers(client.get(LIST_URL, {"sort": "disbursed"})) == ["L-OLD", "L-NEW"]
    assert _numbers(client.get(LIST_URL, {"sort": "-disbursed"})) == ["L-NEW", "L-OLD"]


def test_every_sort_choice_has_an_ordering():
    assert {key for key, _label in SORT_CHOICES} == set(LOAN_SORTS)


def test_sort_headers_flip_the_direction_and_say_so(client, portfolio, alice):
    client.force_login(alice)
    content = client.get(LIST_URL, {"sort": "-dpd", "page": "2", "bucket": ""}).content.decode()
    assert 'aria-sort="descending"' in content
    assert "?sort=dpd&amp;bucket=" in content  # the page is dropped, the filters kept


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"dpd_min": "abc"}, "dpd_min"),
        ({"dpd_min": "-1"}, "dpd_min"),
        ({"dpd_max": "99999999999999999999"}, "dpd_max"),
        ({"dpd_min": "50", "dpd_max": "10"}, "dpd_max"),
        ({"branch": "NOPE"}, "branch"),
        ({"branch": "BR-B"}, "branch"),  # exists, but alice cannot see it
        ({"officer": "ghost"}, "officer"),
        ({"officer": "charlie"}, "officer"),  # a user of another branch
        ({"product": "NOPE"}, "product"),
        ({"dealer": "NOPE"}, "dealer"),
        ({"bucket": "999"}, "bucket"),
        ({"classification": "great"}, "classification"),
        ({"rule_3_6": "maybe"}, "rule_3_6"),
        ({"npl": "perhaps"}, "npl"),
        ({"disbursed_from": "2024-13-01"}, "disbursed_from"),
        ({"disbursed_from": "2024-03-01", "disbursed_to": "2024-02-01"}, "disbursed_to"),
        ({"status": "lost"}, "status"),
        ({"sort": "borrower__national_id"}, "sort"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_filter_input_shows_form_errors(client, portfolio, alice, params, field):
    client.force_login(alice)
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["page"] is None
    content = response.content.decode()
    assert "is-invalid" in content
    assert 'aria-invalid="true"' in content


@pytest.mark.parametrize("page", ["abc", "0", "-3", "1e9", ""])
def test_a_bad_page_number_shows_the_first_page(client, portfolio, alice, page):
    client.force_login(alice)
    response = client.get(LIST_URL, {"page": page})
    assert response.status_code == 200
    assert response.context["page"].number == 1


def test_it_pages_with_previous_and_next_and_never_counts(client, portfolio, alice, monkeypatch):
    # given
    monkeypatch.setattr("loans.views.LIST_PAGE_SIZE", 3)
    client.force_login(alice)
    # when
    with CaptureQueriesContext(connection) as queries:
        first = client.get(LIST_URL)
    sql = [q["sql"] for q in queries.captured_queries]  # read before the next request resets the log
    second = client.get(LIST_URL, {"page": "2"})
    # then
    assert _numbers(first) == ["L-1", "L-2", "L-3"]
    assert _numbers(second) == ["L-4"]
    assert not any("COUNT(" in q.upper() for q in sql)
    assert [q for q in sql if 'FROM "loans_loan"' in q][-1].endswith("LIMIT 4")
    first_html, second_html = first.content.decode(), second.content.decode()
    assert 'rel="next" href="?page=2"' in first_html
    assert 'rel="prev"' not in first_html
    assert 'rel="prev" href="?page=1"' in second_html
    assert 'rel="next"' not in second_html
    assert 'aria-current="page"' in second_html


def test_selector_reads_one_row_more_than_a_page(portfolio, alice):
    page = loan_page_list(user=alice, filters={}, page=2, page_size=2)
    assert [row.loan.number for row in page.rows] == ["L-3", "L-4"]
    assert page.has_previous
    assert not page.has_next


def test_list_runs_a_bounded_number_of_queries(client, portfolio, alice, django_assert_max_num_queries):
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        response = client.get(LIST_URL, {"branch": "BR-A", "officer": "alice", "product": "AUTO", "dealer": "D-7"})
    assert response.status_code == 200


def test_every_input_has_a_label(client, portfolio, alice):
    client.force_login(alice)
    form = client.get(LIST_URL).context["form"]
    content = client.get(LIST_URL).content.decode()
    for field in form.visible_fields():
        assert f'<label class="form-label small mb-1" for="{field.id_for_label}">' in content


# --- detail ----------------------------------------------------------------------------


def test_detail_shows_schedule_payments_allocations_and_summary(client, api, portfolio, alice):
    # given
    _pay(api, "L-1", "TX-1", "950.00", "2024-02-15")
    _pay(api, "L-1", "TX-2", "1000.00", "2024-03-15", payer="dealer")
    _pay(api, "L-1", "TX-3", "5.00", "2024-03-20")
    api.post("/api/v1/payments/TX-3/reverse", {"reason": "returned debit"}, format="json")
    client.force_login(alice)
    # when
    response = client.get("/loans/L-1/")
    # then
    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('data-testid="installment"') == 12
    assert content.count('data-testid="payment"') == 3
    # TX-1 settles installment 1 short by 50; TX-2 pays those 50 first, then installment 2.
    assert content.count('data-testid="allocation"') == 3
    assert "850.00" in content
    assert "Dealer" in content
    assert "Missed" in content
    assert "Reversed" in content
    assert "returned debit" in content
    assert 'class="badge badge-class-normal"' in content  # stored effective class
    assert "10,800.00" in content  # stored outstanding principal, localized
    live = response.context["live"]
    assert live.as_of == business_date()
    assert live.outstanding_principal == Decimal("9050.00")


def test_detail_of_a_loan_never_swept_still_shows_the_live_column(client, portfolio, alice):
    client.force_login(alice)
    response = client.get("/loans/L-4/")
    assert response.status_code == 200
    assert response.context["stored"] is None
    assert "The nightly sweep has not processed this loan yet." in response.content.decode()


def test_detail_masks_the_national_id(client, portfolio, alice):
    client.force_login(alice)
    content = client.get("/loans/L-1/").content.decode()
    assert "•••••567" in content
    assert "X1234567" not in content


def test_detail_shows_parties_and_collateral(client, api, org, alice):
    body = loan_body(
        guarantors=[{"external_id": "G-1", "name": "Gema Ríos", "national_id": "G7654321"}],
        insurer={"external_id": "I-1", "name": "Seguros Uno", "policy_number": "POL-77"},
    )
    assert api.put("/api/v1/loans/L-P", body, format="json").status_code == 201
    client.force_login(alice)
    content = client.get("/loans/L-P/").content.decode()
    assert "Gema Ríos" in content
    assert "•••••321" in content
    assert "G7654321" not in content
    assert "Seguros Uno" in content
    assert "Autos Norte" in content
    assert "VIN WVW123" in content
    assert "15,000.00" in content


def test_detail_draws_the_dpd_history_as_svg(client, portfolio, alice):
    # given
    today = business_date()
    loan = portfolio["l2"]
    for days_ago, dpd in [(200, 99), (10, 3), (5, 8), (0, 13)]:  # the first is outside the window
        DelinquencySnapshot.objects.create(
            loan=loan,
            branch=loan.branch,
            product=loan.product,
            as_of=today - timedelta(days=days_ago),
            days_past_due=dpd,
        )
    client.force_login(alice)
    # when
    response = client.get("/loans/L-2/")
    # then
    content = response.content.decode()
    assert "<svg" in content
    assert "<polyline" in content
    assert "highest 13 days past due" in content  # the 99 of 200 days ago is left out
    assert "No history yet" not in content


def test_detail_without_history_says_so(client, portfolio, alice):
    client.force_login(alice)
    content = client.get("/loans/L-1/").content.decode()
    assert "<svg" in content
    assert "No history yet" in content


def test_detail_has_placeholder_sections_for_other_apps(client, portfolio, alice):
    client.force_login(alice)
    content = client.get("/loans/L-1/").content.decode()
    for section_id in ("collection-case", "credit-file", "inspections"):
        assert f'id="{section_id}"' in content
    # collections, custody and inspections fill their sections
    assert content.count("Not available yet") == 0


def test_a_registered_panel_fills_its_section(client, portfolio, alice, monkeypatch):
    # given
    def case_panel(request, loan):
        return {
            "id": "collection-case",
            "title": "Collection case",
            "template": "loans/includes/panel_message.html",
            "context": {"message": f"Case open for {loan.number} <b>"},
        }

    def nothing(request, loan):
        return None

    def extra(request, loan):
        return {"title": "Extra", "template": "loans/includes/panel_message.html", "context": {"message": "More"}}

    monkeypatch.setattr(panels, "_panels", [])
    for func in (case_panel, nothing, extra, case_panel):
        panels.register_loan_panel(func)
    client.force_login(alice)
    # when
    response = client.get("/loans/L-1/")
    # then
    content = response.content.decode()
    assert "Case open for L-1 &lt;b&gt;" in content
    assert content.count("Not available yet") == 2
    assert 'id="panel-extra"' in content
    assert [p.id for p in response.context["extra_panels"]] == [
        "collection-case",
        "credit-file",
        "inspections",
        "panel-extra",
    ]


def test_detail_runs_a_bounded_number_of_queries(client, api, portfolio, alice, django_assert_max_num_queries):
    # given: payments with allocations, snapshots, guarantors, collateral, history
    for k in range(1, 6):
        _pay(api, "L-1", f"TX-{k}", "1000.00", add_days("2024-02-15", 31 * (k - 1)))
    loan = portfolio["l1"]
    DelinquencySnapshot.objects.create(
        loan=loan, branch=loan.branch, product=loan.product, as_of=business_date(), days_past_due=3
    )
    client.force_login(alice)
    # when / then
    with django_assert_max_num_queries(
        24
    ):  # the loan's own reads + one or two per app panel (case, file, inspections, NPL banner)
        response = client.get("/loans/L-1/")
    assert response.content.decode().count('data-testid="payment"') == 5


def add_days(iso: str, days: int) -> str:
    return (date.fromisoformat(iso) + timedelta(days=days)).isoformat()


# --- helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "masked"),
    [("X1234567", "•••••567"), ("1234", "•234"), ("123", "•••"), ("", ""), ("12", "••")],
)
def test_mask_national_id_shows_only_the_last_three(value, masked):
    assert mask_national_id(value) == masked
