"""Spreadsheet imports (loans/imports.py): reading CSV/XLSX, grouping, validation, services."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import Workbook

from loanops.org.models import Role
from loanops.org.tests.factories import UserFactory
from loans import imports
from loans.imports import (
    GENERATED_COLUMNS,
    LOAN_COLUMNS,
    PAYMENT_COLUMNS,
    ROW,
    ImportFileError,
    check_columns,
    import_loans,
    import_payments,
    read_rows,
)
from loans.models import Borrower, Installment, Loan, Payment
from loans.schedules import add_months

pytestmark = pytest.mark.django_db

LOAN_HEADER = [*LOAN_COLUMNS, *GENERATED_COLUMNS]


# --- builders (also used by the page tests) ----------------------------------------------------


def loan_rows(number, branch="BR-A", *, n=3, start=date(2024, 1, 15), principal="1000.00", interest="50.00", **loan):
    """N installment rows of one loan: N × (principal + interest), due the 15th from a month after START."""
    base = {
        "loan_number": number,
        "branch": branch,
        "product": "AUTO",
        "currency": "EUR",
        "principal": str(Decimal(principal) * n),
        "annual_rate": "0.0650",
        "disbursement_date": start.isoformat(),
        "officer": "",
        "borrower_external_id": f"C-{number}",
        "borrower_name": "Ana Ruiz",
        "borrower_national_id": "X1234567",
        "borrower_phone": "+34 600 000 000",
        "borrower_email": "ana@example.com",
        "borrower_address": "Calle Mayor 1",
        "dealer_external_id": "D-7",
        "dealer_name": "Autos Norte",
        "term_months": "",
        "amortization": "",
        **loan,
    }
    return [
        {
            **base,
            "installment_number": str(k),
            "due_date": add_months(start, k).isoformat(),
            "installment_principal": principal,
            "installment_interest": interest,
            "installment_fees": "0.00",
        }
        for k in range(1, n + 1)
    ]


def generated_row(number, branch="BR-A", **loan):
    """One row of a loan whose 12-month annuity schedule is generated."""
    row = loan_rows(number, branch, n=1, principal="12000.00", **loan)[0]
    row.update(
        {
            "term_months": "12",
            "amortization": "annuity",
            **{column: "" for column in imports.INSTALLMENT_COLUMNS},
        }
    )
    return row


def csv_bytes(rows: list[dict], header=None) -> bytes:
    header = header or LOAN_HEADER
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def payments_csv(*rows: tuple) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PAYMENT_COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _read(content: bytes, name="file.csv") -> list[dict]:
    return read_rows(io.BytesIO(content), name)


@pytest.fixture
def admin(org):
    return UserFactory(username="root", role=Role.ADMIN)


# --- read_rows ---------------------------------------------------------------------------------


def test_read_rows_numbers_rows_like_the_spreadsheet_and_skips_blank_ones():
    # given: a BOM, headers in mixed case with spaces, a blank line and a semicolon-separated file
    content = "\ufeffExternal ID;Loan Number;amount;value_date;payer\nTX-1;L-1;10.00;2024-02-15;\n;;;;\nTX-2;L-1;5;2024-03-15;dealer\n"
    # when
    rows = _read(content.encode())
    # then
    assert rows == [
        {
            "external_id": "TX-1",
            "loan_number": "L-1",
            "amount": "10.00",
            "value_date": "2024-02-15",
            "payer": "",
            ROW: 2,
        },
        {
            "external_id": "TX-2",
            "loan_number": "L-1",
            "amount": "5",
            "value_date": "2024-03-15",
            "payer": "dealer",
            ROW: 4,
        },
    ]


def test_read_rows_accepts_windows_1252_csv():
    rows = _read("loan_number,borrower_name\nL-1,Begoña Núñez\n".encode("cp1252"))
    assert rows[0]["borrower_name"] == "Begoña Núñez"


def test_read_rows_turns_xlsx_numbers_and_dates_into_api_text():
    # given: numeric and date cells, as Excel stores them
    content = xlsx_bytes(
        [
            ["external_id", "loan_number", "amount", "value_date", "payer", "rate", "count"],
            ["TX-1", "L-1", 1050.5, datetime(2024, 2, 15), None, 0.065, 12],
            [None, None, None, None, None, None, None],
            ["TX-2", "L-1", 0.1, date(2024, 3, 15), "dealer", 1e-05, 3.0],
        ]
    )
    # when
    rows = _read(content, "payments.XLSX")
    # then
    assert [(r[ROW], r["amount"], r["value_date"], r["payer"], r["rate"], r["count"]) for r in rows] == [
        (2, "1050.5", "2024-02-15", "", "0.065", "12"),
        (4, "0.1", "2024-03-15", "dealer", "0.00001", "3"),
    ]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"a,b\n1,2\n", "file.txt", "Upload a .csv or .xlsx file."),
        (b"a,b\n1,2\n", "noextension", "Upload a .csv or .xlsx file."),
        (b"", "file.csv", "The file is empty."),
        (b"\n\n", "file.csv", "The file is empty."),
        (b"loan_number,branch\n", "file.csv", "no data rows"),
        (b"loan_number,branch\n,\n", "file.csv", "no data rows"),
        (b"loan_number,Loan Number\nL-1,L-2\n", "file.csv", "more than once: loan_number"),
        (b"\x00\x01\x02binary", "file.csv", "not readable text"),
        (b"PK\x03\x04 not really a zip", "file.xlsx", "could not be read as an Excel workbook"),
        (b"loan_number\nL-1\n", "file.xlsx", "could not be read as an Excel workbook"),
    ],
)
def test_read_rows_refuses_unusable_files(content, name, message):
    with pytest.raises(ImportFileError) as error:
        _read(content, name)
    assert message in error.value.message


def test_read_rows_refuses_more_than_the_row_limit(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 2)
    content = payments_csv(("TX-1", "L", "1", "2024-01-01", ""), ("TX-2", "L", "1", "2024-01-01", ""))
    assert len(_read(content)) == 2
    with pytest.raises(ImportFileError, match="more than 2 data rows"):
        _read(content + b"TX-3,L,1,2024-01-01,\n")


def test_read_rows_refuses_a_file_over_the_size_limit(monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 10)
    with pytest.raises(ImportFileError, match="larger than 10 MB"):
        _read(payments_csv(("TX-1", "L", "1", "2024-01-01", "")))


def test_read_rows_refuses_an_xlsx_zip_bomb(monkeypatch):
    monkeypatch.setattr(imports, "MAX_XLSX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(ImportFileError, match="too large once uncompressed"):
        _read(xlsx_bytes([["external_id"], ["TX-1"]]), "big.xlsx")


# --- check_columns -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "columns", "message"),
    [
        ("payments", ["external_id", "loan_number", "amount"], "Missing required columns: value_date."),
        ("loans", [c for c in LOAN_HEADER if c != "borrower_name"], "Missing required columns: borrower_name."),
        (
            "loans",
            [c for c in LOAN_COLUMNS if c not in imports.INSTALLMENT_COLUMNS],
            "installment_number, due_date, installment_principal, installment_interest (or term_months and amortization",
        ),
        ("loans", [c for c in LOAN_COLUMNS if c != "due_date"], "Missing required columns: due_date."),
        ("loans", [*imports.LOAN_REQUIRED_COLUMNS, "term_months"], "Missing required columns: amortization."),
    ],
)
def test_check_columns_names_what_is_missing(kind, columns, message):
    with pytest.raises(ImportFileError) as error:
        check_columns(kind, [dict.fromkeys(columns, "x") | {ROW: 2}])
    assert message in error.value.message


@pytest.mark.parametrize(
    "columns",
    [
        LOAN_HEADER,
        LOAN_COLUMNS,  # explicit schedules only
        [*imports.LOAN_REQUIRED_COLUMNS, *GENERATED_COLUMNS],  # generated schedules only
    ],
)
def test_check_columns_accepts_either_way_of_giving_a_schedule(columns):
    check_columns("loans", [dict.fromkeys(columns, "x") | {ROW: 2}])


@pytest.mark.parametrize("kind", ["loans", "payments"])
def test_the_csv_templates_pass_the_column_check(kind):
    rows = _read(imports.template_csv(kind).encode())
    check_columns(kind, rows)
    assert rows[0]["loan_number"] == "EXAMPLE-1"


# --- import_loans ------------------------------------------------------------------------------


def test_it_imports_explicit_and_generated_schedules(admin):
    # given
    rows = _read(csv_bytes([*loan_rows("L-1"), generated_row("L-2")]))
    # when
    results = import_loans(rows, admin)
    # then
    assert [(r.key, r.status, r.rows, r.messages) for r in results] == [
        ("L-1", "created", (2, 3, 4), ()),
        ("L-2", "created", (5,), ()),
    ]
    l1, l2 = Loan.objects.get(number="L-1"), Loan.objects.get(number="L-2")
    assert list(l1.installments.values_list("number", "principal", "interest")) == [
        (k, Decimal("1000.00"), Decimal("50.00")) for k in (1, 2, 3)
    ]
    assert (l1.principal, l1.annual_rate, l1.borrower.email, l1.dealer.name) == (
        Decimal("3000.00"), Decimal("0.065"), "ana@example.com", "Autos Norte"
    )  # fmt: skip
    assert (l2.term_months, l2.amortization, l2.installments.count()) == (12, "annuity", 12)
    assert sum(i.principal for i in l2.installments.all()) == Decimal("12000.00")


def test_importing_a_loan_again_replaces_it(admin):
    import_loans(_read(csv_bytes(loan_rows("L-1"))), admin)
    results = import_loans(_read(csv_bytes(loan_rows("L-1", n=4, principal="750.00"))), admin)
    assert [(r.key, r.status) for r in results] == [("L-1", "updated")]
    assert Installment.objects.filter(loan__number="L-1").count() == 4


def test_rows_of_a_loan_need_not_be_adjacent(admin):
    first, second = loan_rows("L-1", n=2), loan_rows("L-2", n=1)
    results = import_loans(_read(csv_bytes([first[0], *second, first[1]])), admin)
    assert [(r.key, r.status, r.rows_label) for r in results] == [("L-1", "created", "2, 4"), ("L-2", "created", "3")]


def test_loan_level_cells_may_be_blank_after_the_first_row(admin):
    rows = loan_rows("L-1")
    for row in rows[1:]:
        row.update({"branch": "", "principal": "", "borrower_name": "", "dealer_name": ""})
    rows[2]["principal"] = "3000"  # the same amount, written differently
    results = import_loans(_read(csv_bytes(rows)), admin)
    assert [(r.status, r.rows_label) for r in results] == [("created", "2–4")]


def test_a_bad_loan_is_rejected_with_its_messages_and_the_good_ones_are_kept(admin):
    # given: L-BAD's third installment is due before its second, and its principal does not add up
    bad = loan_rows("L-BAD")
    bad[2]["due_date"] = "2024-03-01"
    bad[0]["installment_principal"] = "999.00"
    rows = _read(csv_bytes([*loan_rows("L-1"), *bad, *loan_rows("L-3")]))
    # when
    results = import_loans(rows, admin)
    # then
    assert [(r.key, r.status) for r in results] == [("L-1", "created"), ("L-BAD", "rejected"), ("L-3", "created")]
    rejected = results[1]
    assert rejected.rows == (5, 6, 7)
    by_column = {(m.field, m.row) for m in rejected.messages}
    assert ("due_date", 7) in by_column  # the third line of the loan is spreadsheet row 7
    assert any(m.field == "schedule" for m in rejected.messages)  # the principal sum
    # nothing of the bad loan was written
    assert not Loan.objects.filter(number="L-BAD").exists()
    assert not Borrower.objects.filter(external_id="C-L-BAD").exists()
    assert set(Loan.objects.values_list("number", flat=True)) == {"L-1", "L-3"}


def test_serializer_errors_name_the_spreadsheet_column_and_row(admin):
    rows = loan_rows("L-1")
    rows[1]["installment_interest"] = "abc"
    rows[0]["borrower_email"] = "not-an-email"
    rows[0]["disbursement_date"] = ""
    for row in rows[1:]:
        row.update(disbursement_date="", borrower_email="")
    result = import_loans(_read(csv_bytes(rows)), admin)[0]
    assert result.status == "rejected"
    errors = {(m.field, m.row) for m in result.messages}
    assert errors == {("installment_interest", 3), ("borrower_email", None), ("disbursement_date", None)}
    assert result.errors["disbursement_date"] == ["This field is required."]


def test_differing_loan_level_values_reject_the_loan(admin):
    rows = loan_rows("L-1")
    rows[2]["branch"] = "BR-B"
    result = import_loans(_read(csv_bytes(rows)), admin)[0]
    assert (result.status, [(m.field, m.row) for m in result.messages]) == ("rejected", [("branch", 4)])
    assert "row 2" in result.messages[0].message
    assert not Loan.objects.exists()


def test_a_row_without_loan_number_is_rejected_on_its_own(admin):
    rows = [*loan_rows("L-1", n=1), *loan_rows("", n=1), *loan_rows("x" * 65, n=1), *loan_rows("A/B", n=1)]
    results = import_loans(_read(csv_bytes(rows)), admin)
    assert [(r.rows, r.status, list(r.errors)) for r in results] == [
        ((2,), "created", []),
        ((3,), "rejected", ["loan_number"]),
        ((4,), "rejected", ["loan_number"]),
        ((5,), "rejected", ["loan_number"]),
    ]


def test_a_missing_schedule_says_what_to_send(admin):
    row = generated_row("L-1")
    row["amortization"] = ""
    result = import_loans(_read(csv_bytes([row])), admin)[0]
    assert result.status == "rejected"
    assert set(result.errors) == {"schedule", "amortization"}


def test_loans_are_imported_only_into_the_users_branches(alice):
    # given: alice works in branch A
    rows = _read(csv_bytes([*loan_rows("L-A"), *loan_rows("L-B", "BR-B")]))
    # when
    results = import_loans(rows, alice)
    # then
    assert [(r.key, r.status) for r in results] == [("L-A", "created"), ("L-B", "rejected")]
    assert results[1].errors == {"branch": ["Unknown branch 'BR-B'."]}
    assert not Loan.objects.filter(number="L-B").exists()


def test_a_loan_of_another_branch_cannot_be_replaced(admin, charlie):
    import_loans(_read(csv_bytes(loan_rows("L-A"))), admin)
    result = import_loans(_read(csv_bytes(loan_rows("L-A", "BR-B"))), charlie)[0]
    assert (result.status, result.errors) == ("rejected", {"loan_number": ["Loan not found."]})
    assert Loan.objects.get(number="L-A").branch.code == "BR-A"


def test_xlsx_loans_with_number_and_date_cells(admin):
    # given: amounts as numbers (ints and floats) and dates as date cells
    header = LOAN_HEADER
    base = dict.fromkeys(header)
    base.update(
        loan_number="L-X", branch="BR-A", principal=3000, annual_rate=0.065, disbursement_date=datetime(2024, 1, 15),
        borrower_external_id=5001, borrower_name="Ana Ruiz",
    )  # fmt: skip
    lines = [
        [{**base, "installment_number": k, "due_date": datetime(2024, 1 + k, 15), "installment_principal": 1000.0,
          "installment_interest": 50.25, "installment_fees": 0}[c] for c in header]
        for k in (1, 2, 3)
    ]  # fmt: skip
    generated = {**base, "loan_number": "L-G", "principal": 12000, "term_months": 12, "amortization": "equal_principal"}
    # when
    results = import_loans(_read(xlsx_bytes([header, *lines, [generated[c] for c in header]]), "loans.xlsx"), admin)
    # then
    assert [(r.key, r.status, r.rows) for r in results] == [("L-X", "created", (2, 3, 4)), ("L-G", "created", (5,))]
    loan = Loan.objects.get(number="L-X")
    assert (loan.principal, loan.annual_rate, loan.borrower.external_id) == (Decimal("3000"), Decimal("0.065"), "5001")
    assert list(loan.installments.values_list("due_date", "interest")) == [
        (date(2024, 2, 15), Decimal("50.25")), (date(2024, 3, 15), Decimal("50.25")), (date(2024, 4, 15), Decimal("50.25")),
    ]  # fmt: skip
    assert Loan.objects.get(number="L-G").installments.count() == 12


def test_a_number_cell_with_more_than_two_decimals_is_refused_not_rounded(admin):
    header = LOAN_HEADER
    row = dict.fromkeys(header)
    row.update(
        loan_number="L-F", branch="BR-A", principal=12000.125, disbursement_date=datetime(2024, 1, 15),
        borrower_external_id="C-F", borrower_name="Ana", term_months=12, amortization="annuity",
    )  # fmt: skip
    result = import_loans(_read(xlsx_bytes([header, [row[c] for c in header]]), "f.xlsx"), admin)[0]
    assert result.errors == {"principal": ["Use at most 2 decimal places."]}


# --- import_payments ---------------------------------------------------------------------------


@pytest.fixture
def loans(admin, org):
    import_loans(_read(csv_bytes([*loan_rows("L-1"), *loan_rows("L-B", "BR-B")])), admin)


def test_payments_are_posted_with_duplicates_and_conflicts_answered(loans, admin):
    # given
    content = payments_csv(
        ("TX-1", "L-1", "1050.00", "2024-02-15", ""),
        ("TX-2", "L-1", "1050", "2024-03-15", "dealer"),
        ("TX-1", "L-1", "1050.00", "2024-02-15", "borrower"),  # the same payment again
        ("TX-2", "L-1", "999.00", "2024-03-15", "dealer"),  # the same id, another body
        ("TX-3", "NOPE", "10.00", "2024-03-15", ""),
        ("TX-4", "L-1", "-5", "2024-03-15", ""),
        ("TX-5", "L-1", "10.00", "2023-12-31", ""),
        ("TX-6", "L-1", "10.00", "2024-03-15", "uncle"),
    )
    # when
    results = import_payments(_read(content), admin)
    # then
    assert [(r.rows, r.key, r.status, sorted(r.errors)) for r in results] == [
        ((2,), "TX-1", "created", []),
        ((3,), "TX-2", "created", []),
        ((4,), "TX-1", "duplicate", []),
        ((5,), "TX-2", "rejected", ["external_id"]),
        ((6,), "TX-3", "rejected", ["loan_number"]),
        ((7,), "TX-4", "rejected", ["amount"]),
        ((8,), "TX-5", "rejected", ["value_date"]),
        ((9,), "TX-6", "rejected", ["payer"]),
    ]
    assert sorted(Payment.objects.values_list("external_id", "amount")) == [
        ("TX-1", Decimal("1050.00")), ("TX-2", Decimal("1050.00")),
    ]  # fmt: skip
    assert Payment.objects.get(external_id="TX-2").payer == "dealer"


def test_payments_reach_only_the_users_branches(loans, alice):
    results = import_payments(_read(payments_csv(("TX-B", "L-B", "10.00", "2024-02-15", ""))), alice)
    assert [(r.status, list(r.errors)) for r in results] == [("rejected", ["loan_number"])]
    assert not Payment.objects.exists()


def test_xlsx_payments_with_number_and_date_cells(loans, admin):
    content = xlsx_bytes(
        [
            list(PAYMENT_COLUMNS),
            [123456, "L-1", 1050, datetime(2024, 2, 15), None],
            ["TX-2", "L-1", 10.5, date(2024, 2, 20), None],
        ]
    )
    results = import_payments(_read(content, "p.xlsx"), admin)
    assert [(r.key, r.status) for r in results] == [("123456", "created"), ("TX-2", "created")]
    assert Payment.objects.get(external_id="TX-2").amount == Decimal("10.50")


def test_summarize_counts_every_status():
    results = [
        imports.RowResult(rows=(2,), key="a", status="created"),
        imports.RowResult(rows=(3,), key="b", status="rejected"),
        imports.RowResult(rows=(4,), key="c", status="created"),
    ]
    assert imports.summarize(results) == {"created": 2, "updated": 0, "duplicate": 0, "rejected": 1}
