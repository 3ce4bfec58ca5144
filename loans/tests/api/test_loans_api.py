import pytest
from rest_framework.test import APIClient

from loanops.org.services.api_clients import api_client_create
from loanops.org.tests.factories import BranchFactory
from loans.models import Allocation, Installment, Loan, Payment
from loans.tests.fixtures import loan_body

pytestmark = pytest.mark.django_db


def test_it_creates_then_replaces_a_loan(api):
    # when
    first = api.put("/api/v1/loans/L-1", loan_body(), format="json")
    second = api.put("/api/v1/loans/L-1", loan_body(), format="json")
    # then
    assert first.status_code == 201, first.json()
    assert second.status_code == 200
    body = second.json()
    assert body["loan_number"] == "L-1"
    assert body["principal"] == "10800.00"
    assert body["delinquency"] is None
    assert len(body["schedule"]) == 12
    assert Installment.objects.filter(loan__number="L-1").count() == 12


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"principal": "-5"}, "principal"),
        ({"principal": "10.001"}, "principal"),
        ({"principal": "abc"}, "principal"),
        ({"principal": "1234567890123456"}, "principal"),
        ({"principal": "1e4"}, "principal"),
        ({"principal": "10,800.00"}, "principal"),
        ({"principal": "NaN"}, "principal"),
        ({"principal": 10800.001}, "principal"),
        ({"disbursement_date": "2024-02-30"}, "disbursement_date"),
        ({"branch": "NOPE"}, "branch"),
        ({"product": "NOPE"}, "product"),
        ({"officer": "ghost"}, "officer"),
        ({"schedule": []}, "schedule"),
    ],
)
def test_it_rejects_bad_loans_and_changes_nothing(api, change, field):
    response = api.put("/api/v1/loans/L-1", loan_body(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Loan.objects.exists()


def test_it_rejects_a_schedule_that_does_not_add_up(api):
    response = api.put("/api/v1/loans/L-1", loan_body(principal="10000.00"), format="json")
    assert response.status_code == 400
    assert not Loan.objects.exists()


def test_it_generates_an_annuity_schedule(api):
    body = loan_body()
    del body["schedule"]
    body.update({"principal": "12000.00", "term_months": 24, "amortization": "annuity", "annual_rate": "0.0650"})
    response = api.put("/api/v1/loans/L-G", body, format="json")
    assert response.status_code == 201, response.json()
    schedule = response.json()["schedule"]
    assert len(schedule) == 24
    assert sum(float(x["principal"]) for x in schedule) == pytest.approx(12000.00)


def test_payment_is_idempotent_and_conflicts_on_a_different_body(api):
    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    payment = {"external_id": "TX-1", "loan_number": "L-1", "amount": "950.00", "value_date": "2024-02-15"}
    # when
    first = api.post("/api/v1/payments", payment, format="json")
    again = api.post("/api/v1/payments", payment, format="json")
    other = api.post("/api/v1/payments", {**payment, "amount": "951.00"}, format="json")
    # then
    assert first.status_code == 201, first.json()
    assert first.json()["allocation"] == [
        {"installment": 1, "fees": "0.00", "interest": "100.00", "principal": "850.00"}
    ]
    assert first.json()["suspense"] == "0.00"
    assert again.status_code == 200
    assert again.json() == first.json()
    assert other.status_code == 409
    assert Payment.objects.count() == 1


def test_live_delinquency_follows_domain_examples(api):
    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    api.post(
        "/api/v1/payments",
        {"external_id": "TX-1", "loan_number": "L-1", "amount": "950.00", "value_date": "2024-02-15"},
        format="json",
    )
    # E06
    body = api.get("/api/v1/loans/L-1/delinquency?as_of=2024-03-01").json()
    assert body["days_past_due"] == 15
    assert body["overdue_principal"] == "50.00"
    assert body["outstanding_principal"] == "9950.00"
    assert body["classification"] == body["classification_floor"] == "special_mention"
    assert body["is_npl"] is False
    assert isinstance(body["ifrs9_stage"], int)


def test_reversal_replays_and_is_a_no_op_the_second_time(api):
    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    api.post(
        "/api/v1/payments",
        {"external_id": "TX-1", "loan_number": "L-1", "amount": "1000.00", "value_date": "2024-02-15"},
        format="json",
    )
    assert Allocation.objects.count() == 1
    first = api.post("/api/v1/payments/TX-1/reverse", {"reason": "returned debit"}, format="json")
    second = api.post("/api/v1/payments/TX-1/reverse", {"reason": "again"}, format="json")
    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["reversal_reason"] == "returned debit"
    assert Allocation.objects.count() == 0
    assert api.get("/api/v1/loans/L-1/delinquency?as_of=2024-02-16").json()["days_past_due"] == 1


def test_bulk_answers_each_item_on_its_own(api):
    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    items = [
        {"external_id": "B-1", "loan_number": "L-1", "amount": "1000.00", "value_date": "2024-02-15"},
        {"external_id": "B-2", "loan_number": "L-1", "amount": "-1", "value_date": "2024-03-15"},
        {"external_id": "B-3", "loan_number": "NOPE", "amount": "10.00", "value_date": "2024-03-15"},
        {"external_id": "B-4", "loan_number": "L-1", "amount": "10.00", "value_date": "2023-01-01"},
        {
            "external_id": "B-5",
            "loan_number": "L-1",
            "amount": "1000.00",
            "value_date": "2024-03-15",
            "payer": "dealer",
        },
    ]
    response = api.post("/api/v1/payments/bulk", {"payments": items}, format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == [201, 400, 404, 400, 201]
    assert Payment.objects.count() == 2


def test_branch_limited_client_sees_only_its_branches(api, api_a):
    api.put("/api/v1/loans/L-A", loan_body("BR-A"), format="json")
    api.put("/api/v1/loans/L-B", loan_body("BR-B", borrower={"external_id": "C-2", "name": "B"}), format="json")
    assert api_a.get("/api/v1/loans/L-B").status_code == 404
    assert api_a.get("/api/v1/loans/L-A").status_code == 200
    assert [x["loan_number"] for x in api_a.get("/api/v1/loans").json()["results"]] == ["L-A"]
    payment = {"external_id": "X", "loan_number": "L-B", "amount": "1.00", "value_date": "2024-02-15"}
    assert api_a.post("/api/v1/payments", payment, format="json").status_code == 404
    assert api_a.put("/api/v1/loans/L-B", loan_body("BR-A"), format="json").status_code == 404


def test_it_requires_a_token(client):
    assert client.get("/api/v1/loans").status_code == 401
    assert client.get("/api/v1/loans", HTTP_AUTHORIZATION="Token nope").status_code == 401


def test_bulk_rejects_items_that_are_not_objects_and_oversized_batches(api):
    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    ok = {"external_id": "B-1", "loan_number": "L-1", "amount": "10.00", "value_date": "2024-02-15"}
    response = api.post("/api/v1/payments/bulk", {"payments": ["nonsense", ok]}, format="json")
    assert [r["status"] for r in response.json()["results"]] == [400, 201]
    too_many = {"payments": [ok] * 1001}
    assert api.post("/api/v1/payments/bulk", too_many, format="json").status_code == 400
    assert api.post("/api/v1/payments/bulk", {"payments": []}, format="json").status_code == 400
    assert Payment.objects.count() == 1


def test_payment_scoping_treats_like_wildcards_in_branch_paths_literally(api, org):
    # given two sibling branches whose paths differ where one has "_" (a LIKE wildcard)
    BranchFactory(code="BR_C", name="C", parent=org["north"])
    BranchFactory(code="BRXC", name="X", parent=org["north"])
    _, token, _ = api_client_create(name="core-c", branch_codes=["BR_C"])
    client_c = APIClient()
    client_c.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    api.put("/api/v1/loans/L-C", loan_body("BR_C"), format="json")
    api.put("/api/v1/loans/L-X", loan_body("BRXC", borrower={"external_id": "C-9", "name": "X"}), format="json")
    payment = {"amount": "10.00", "value_date": "2024-02-15"}
    # when / then
    assert client_c.post("/api/v1/payments", {**payment, "external_id": "P-X", "loan_number": "L-X"},
                         format="json").status_code == 404  # fmt: skip
    assert client_c.post("/api/v1/payments", {**payment, "external_id": "P-C", "loan_number": "L-C"},
                         format="json").status_code == 201  # fmt: skip
    items = [
        {**payment, "external_id": "B-X", "loan_number": "L-X"},
        {**payment, "external_id": "B-C", "loan_number": "L-C"},
    ]
    results = client_c.post("/api/v1/payments/bulk", {"payments": items}, format="json").json()["results"]
    assert [r["status"] for r in results] == [404, 201]
    assert set(Payment.objects.values_list("external_id", flat=True)) == {"P-C", "B-C"}


@pytest.mark.parametrize("accept", [None, "application/json", "application/json; indent=2", "*/*"])
def test_a_payment_s_answer_is_what_drf_would_render(api, accept, monkeypatch):
    """The payment post renders its answer itself: the same bytes and headers as DRF's Response."""
    from rest_framework.response import Response

    from loanops.core.api.views import BaseApiView

    api.put("/api/v1/loans/L-1", loan_body(), format="json")
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    def post(external_id):
        payment = {"external_id": external_id, "loan_number": "L-1", "amount": "9.50", "value_date": "2024-02-15"}
        return api.post("/api/v1/payments", payment, format="json", **headers)

    ours = post("TX-1")
    monkeypatch.setattr(BaseApiView, "rendered", lambda self, data, status: Response(data, status=status))
    drf = post("TX-2")
    assert ours.status_code == drf.status_code == 201
    assert ours.content == drf.content.replace(b"TX-2", b"TX-1")
    assert (b"\n  " in ours.content) is bool(accept and "indent" in accept)
    assert dict(ours.headers) == dict(drf.headers)
