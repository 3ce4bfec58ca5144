"""The import page: who may use it, the results table, bad files as form errors, templates."""

from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans import imports
from loans.models import Loan, Payment
from loans.tests.test_imports import (
    LOAN_HEADER,
    csv_bytes,
    generated_row,
    loan_rows,
    payments_csv,
    xlsx_bytes,
)
from loans.views import can_import

pytestmark = pytest.mark.django_db

URL = "/loans/import/"


def _upload(client, kind, content, name):
    return client.post(URL, {"kind": kind, "file": SimpleUploadedFile(name, content)})


def _results(response) -> list[tuple[str, str]]:
    return [(r.key, r.status) for r in response.context["results"]]


@pytest.fixture
def auditor(org):
    return UserFactory(username="audrey", role=Role.AUDITOR)


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


# --- auth --------------------------------------------------------------------------------------


def test_it_redirects_anonymous_users_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=")


def test_auditors_get_403(client, auditor):
    client.force_login(auditor)
    assert client.get(URL).status_code == 403
    response = _upload(client, "loans", csv_bytes(loan_rows("L-1")), "loans.csv")
    assert response.status_code == 403
    assert not Loan.objects.exists()


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.CREDIT_OFFICER, True),
        (Role.BRANCH_MANAGER, True),
        (Role.CREDIT_HEAD, True),
        (Role.ADMIN, True),
        (Role.AUDITOR, False),
        (Role.RISK, False),
        (Role.COLLECTOR, False),
        (Role.ARCHIVIST, False),
        (Role.API_CLIENT, False),
    ],
)
def test_only_writing_roles_may_import(client, org, role, allowed):
    user = UserFactory(role=role, branches=[org["a"]])
    assert can_import(user) is allowed
    client.force_login(user)
    assert client.get(URL).status_code == (200 if allowed else 403)


def test_it_only_allows_get_and_post(client, alice):
    client.force_login(alice)
    assert client.put(URL).status_code == 405


def test_the_page_shows_the_form_and_the_templates(client, alice):
    client.force_login(alice)
    response = client.get(URL)
    content = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in content
    assert 'href="/loans/import/template/loans.csv"' in content
    assert 'href="/loans/import/template/payments.csv"' in content
    assert response.context["results"] is None


# --- happy paths -------------------------------------------------------------------------------


def test_it_imports_a_csv_of_loans_and_reports_row_by_row(client, alice):
    # given: an explicit schedule (3 rows), a generated one, and a loan with a bad schedule
    bad = loan_rows("L-BAD", n=2)
    bad[1]["installment_principal"] = "-1"
    content = csv_bytes([*loan_rows("L-1"), generated_row("L-2"), *bad])
    client.force_login(alice)
    # when
    response = _upload(client, "loans", content, "loans.csv")
    # then
    assert response.status_code == 200
    assert _results(response) == [("L-1", "created"), ("L-2", "created"), ("L-BAD", "rejected")]
    assert response.context["summary"] == {"created": 2, "updated": 0, "duplicate": 0, "rejected": 1}
    html = response.content.decode()
    assert html.count('data-testid="import-result"') == 3
    assert [r.rows_label for r in response.context["results"]] == ["2–4", "5", "6–7"]
    assert "<td>2–4</td>" in html
    assert "Row 7 · <code>installment_principal</code>: The amount cannot be negative." in html
    assert 'href="/loans/L-1/"' in html
    assert 'href="/loans/L-BAD/"' not in html
    assert set(Loan.objects.values_list("number", flat=True)) == {"L-1", "L-2"}


def test_it_imports_an_xlsx_of_loans(client, bob):
    # given: number and date cells
    base = dict.fromkeys(LOAN_HEADER)
    base.update(
        loan_number="L-X", branch="BR-A", principal=2000, disbursement_date=datetime(2024, 1, 15),
        borrower_external_id="C-X", borrower_name="Ana Ruiz",
    )  # fmt: skip
    lines = [
        {**base, "installment_number": k, "due_date": date(2024, 1 + k, 15), "installment_principal": 1000,
         "installment_interest": 12.5}
        for k in (1, 2)
    ]  # fmt: skip
    generated = {**base, "loan_number": "L-G", "principal": 6000.5, "annual_rate": 0.05, "term_months": 6,
                 "amortization": "annuity"}  # fmt: skip
    content = xlsx_bytes([LOAN_HEADER, *[[row[c] for c in LOAN_HEADER] for row in (*lines, generated)]])
    client.force_login(bob)
    # when
    response = _upload(client, "loans", content, "Loans.xlsx")
    # then
    assert _results(response) == [("L-X", "created"), ("L-G", "created")]
    assert Loan.objects.get(number="L-X").installments.count() == 2
    assert str(Loan.objects.get(number="L-G").principal) == "6000.50"


def test_it_imports_payments_with_a_duplicate_and_a_conflict(client, alice):
    # given
    client.force_login(alice)
    _upload(client, "loans", csv_bytes(loan_rows("L-1")), "loans.csv")
    content = payments_csv(
        ("TX-1", "L-1", "1050.00", "2024-02-15", ""),
        ("TX-1", "L-1", "1050.00", "2024-02-15", ""),
        ("TX-1", "L-1", "20.00", "2024-02-15", ""),
    )
    # when
    response = _upload(client, "payments", content, "payments.csv")
    # then
    assert _results(response) == [("TX-1", "created"), ("TX-1", "duplicate"), ("TX-1", "rejected")]
    html = response.content.decode()
    assert "already exists with different data" in html
    assert "External id" in html
    assert Payment.objects.get().amount == 1050


def test_it_imports_an_xlsx_of_payments(client, alice):
    client.force_login(alice)
    _upload(client, "loans", csv_bytes(loan_rows("L-1")), "loans.csv")
    content = xlsx_bytes([list(imports.PAYMENT_COLUMNS), ["TX-9", "L-1", 500.25, datetime(2024, 2, 10), "dealer"]])
    response = _upload(client, "payments", content, "payments.xlsx")
    assert _results(response) == [("TX-9", "created")]
    assert str(Payment.objects.get(external_id="TX-9").amount) == "500.25"


def test_a_branch_a_officer_cannot_import_into_branch_b(client, alice):
    client.force_login(alice)
    response = _upload(client, "loans", csv_bytes([*loan_rows("L-A"), *loan_rows("L-B", "BR-B")]), "loans.csv")
    assert _results(response) == [("L-A", "created"), ("L-B", "rejected")]
    assert "Unknown branch &#x27;BR-B&#x27;." in response.content.decode()
    assert not Loan.objects.filter(number="L-B").exists()


# --- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "content", "message"),
    [
        ("loans", "loans.txt", b"loan_number\nL-1\n", "Upload a .csv or .xlsx file."),
        ("loans", "loans.csv", b"", "The submitted file is empty."),
        ("loans", "loans.csv", b"\n \n", "The file is empty."),
        ("loans", "loans.csv", ",".join(LOAN_HEADER).encode() + b"\n", "no data rows"),
        ("loans", "loans.csv", b"loan_number,branch\nL-1,BR-A\n", "Missing required columns: principal"),
        (
            "payments",
            "payments.csv",
            csv_bytes(loan_rows("L-1")),
            "Missing required columns: external_id, amount, value_date.",
        ),
        ("loans", "loans.xlsx", b"this is not a workbook", "could not be read as an Excel workbook"),
        ("loans", "loans.xlsx", b"PK\x03\x04\x14\x00broken", "could not be read as an Excel workbook"),
        ("loans", "loans.csv", b"\xff\xfe\x00\x00\x81\x8d\x8f\x90\x9d", "not readable text"),
        ("nonsense", "loans.csv", csv_bytes(loan_rows("L-1")), "Select a valid choice."),
    ],
)
def test_bad_files_are_form_errors(client, alice, kind, name, content, message):
    client.force_login(alice)
    response = _upload(client, kind, content, name)
    assert response.status_code == 200
    assert response.context["results"] is None
    errors = response.context["form"].errors
    assert any(message in error for field_errors in errors.values() for error in field_errors), errors
    assert "is-invalid" in response.content.decode()
    assert not Loan.objects.exists()


def test_a_file_over_the_size_limit_is_a_form_error(client, alice, monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 100)
    client.force_login(alice)
    response = _upload(client, "loans", csv_bytes(loan_rows("L-1")), "loans.csv")
    assert response.context["form"].errors["file"] == ["The file is larger than 10 MB."]


def test_a_file_over_the_row_limit_is_a_form_error(client, alice, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    client.force_login(alice)
    response = _upload(client, "loans", csv_bytes(loan_rows("L-1")), "loans.csv")
    assert response.context["form"].errors["file"] == ["The file has more than 2 data rows."]


def test_a_missing_file_is_a_form_error(client, alice):
    client.force_login(alice)
    response = client.post(URL, {"kind": "loans"})
    assert "file" in response.context["form"].errors


# --- templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "first_column"), [("loans", "loan_number"), ("payments", "external_id")])
def test_the_csv_templates_download(client, alice, kind, first_column):
    client.force_login(alice)
    response = client.get(f"/loans/import/template/{kind}.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"loanops-{kind}-template.csv" in response["Content-Disposition"]
    assert response.content.decode().startswith(first_column + ",")


def test_an_unknown_template_is_404(client, alice):
    client.force_login(alice)
    assert client.get("/loans/import/template/cats.csv").status_code == 404


def test_templates_need_a_login(client):
    assert client.get("/loans/import/template/loans.csv").status_code == 302
