"""Loan and payment imports from a spreadsheet (CSV or XLSX) for the loan pages.

A file becomes a list of row dicts (`read_rows`), then each loan (rows grouped by `loan_number`)
or payment is turned into the body the core-banking API takes, validated by the API's own
serializers and written by the same services (`loan_upsert`, `payments_post`) with the
uploading user as `acting_user`, so branch scoping applies. Each loan or payment is written in
its own transaction: a rejected one changes nothing, the accepted ones stay. Every loan or
payment is answered with a `RowResult` naming its spreadsheet rows (1-based, header = row 1).
"""

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from loanops.core.exceptions import ApplicationError, NotFound
from loans.api.serializers import LoanInputSerializer, PaymentInputSerializer
from loans.services.loans import loan_upsert
from loans.services.payments import PaymentRequest, payments_post

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
# An .xlsx is a zip: refuse one that inflates far beyond what 20,000 rows need (a zip bomb).
MAX_XLSX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
EXTENSIONS = (".csv", ".xlsx")
ROW = "_row"  # the key holding a row's spreadsheet row number in read_rows' dicts

INSTALLMENT_COLUMNS = (
    "installment_number",
    "due_date",
    "installment_principal",
    "installment_interest",
    "installment_fees",
)
GENERATED_COLUMNS = ("term_months", "amortization")
LOAN_COLUMNS = (
    "loan_number", "branch", "product", "currency", "principal", "annual_rate", "disbursement_date", "officer",
    "borrower_external_id", "borrower_name", "borrower_national_id", "borrower_phone", "borrower_email",
    "borrower_address", "dealer_external_id", "dealer_name", *INSTALLMENT_COLUMNS,
)  # fmt: skip
LOAN_REQUIRED_COLUMNS = (
    "loan_number", "branch", "principal", "disbursement_date", "borrower_external_id", "borrower_name",
)  # fmt: skip
SCHEDULE_REQUIRED_COLUMNS = ("installment_number", "due_date", "installment_principal", "installment_interest")
# Columns that describe the loan, not one installment: repeated (or left blank) on its other rows.
LOAN_LEVEL_COLUMNS = tuple(c for c in (*LOAN_COLUMNS, *GENERATED_COLUMNS) if c not in INSTALLMENT_COLUMNS)
NUMERIC_COLUMNS = frozenset({"principal", "annual_rate", "term_months"})

PAYMENT_COLUMNS = ("external_id", "loan_number", "amount", "value_date", "payer")
PAYMENT_REQUIRED_COLUMNS = ("external_id", "loan_number", "amount", "value_date")

# API body field -> spreadsheet column, for naming the column a serializer or service complains about.
_SCHEDULE_FIELD_COLUMNS = {
    "number": "installment_number",
    "due_date": "due_date",
    "principal": "installment_principal",
    "interest": "installment_interest",
    "fees": "installment_fees",
}
_PARTY_PREFIXES = {"borrower": "borrower_", "dealer": "dealer_"}
_NON_FIELD = ("non_field_errors", "__all__")
_SCHEDULE_KEY = re.compile(r"^schedule\[(\d+)\](?:\.(\w+))?$")


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, wrong type, too big, missing columns)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportStatus(models.TextChoices):
    CREATED = "created", gettext_lazy("Created")
    UPDATED = "updated", gettext_lazy("Updated")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate")
    REJECTED = "rejected", gettext_lazy("Rejected")


@dataclass(frozen=True)
class RowMessage:
    """One complaint: the column it is about ("" for the whole loan/payment) and, for an
    installment of a multi-row loan, the row it is on."""

    field: str
    message: str
    row: int | None = None


@dataclass(frozen=True)
class RowResult:
    rows: tuple[int, ...]  # spreadsheet rows (header = 1) the loan or payment came from
    key: str  # loan number or payment external id
    status: str  # an ImportStatus value
    messages: tuple[RowMessage, ...] = field(default=())

    @property
    def status_label(self) -> str:
        return ImportStatus(self.status).label

    @property
    def accepted(self) -> bool:
        return self.status != ImportStatus.REJECTED

    @property
    def rows_label(self) -> str:
        """The rows for people: "7", "2–13" for consecutive rows, else "2, 5, 9"."""
        rows = self.rows
        if len(rows) > 1 and list(rows) == list(range(rows[0], rows[-1] + 1)):
            return f"{rows[0]}–{rows[-1]}"
        return ", ".join(str(r) for r in rows)

    @property
    def errors(self) -> dict[str, list[str]]:
        """The messages by column (the API's field-by-field shape)."""
        errors: dict[str, list[str]] = {}
        for message in self.messages:
            errors.setdefault(message.field, []).append(message.message)
        return errors


# --- reading ---------------------------------------------------------------------------------


def read_rows(file, filename: str) -> list[dict]:
    """The data rows of a CSV or XLSX file as dicts {column: text}, each with its spreadsheet row
    number under ROW. Column names are lower-cased with spaces as underscores; every dict has
    every column; blank rows are skipped. Raises ImportFileError for anything unusable."""
    extension = file_extension(filename)
    if extension not in EXTENSIONS:
        raise ImportFileError(_("Upload a .csv or .xlsx file."))
    if hasattr(file, "seek"):
        file.seek(0)
    content = file.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(_("The file is larger than 10 MB."))
    if not content.strip():
        raise ImportFileError(_("The file is empty."))
    raw = _csv_rows(content) if extension == ".csv" else _xlsx_rows(content)
    return _to_dicts(raw)


def file_extension(filename: str) -> str:
    name = (filename or "").lower()
    return name[name.rfind(".") :] if "." in name else ""


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The file is not readable text: save it as CSV (UTF-8)."))
    if "\x00" in text:
        raise ImportFileError(_("The file is not readable text: save it as CSV (UTF-8)."))
    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        yield from csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    except csv.Error as exc:
        raise ImportFileError(_("The file could not be read as CSV: %(error)s") % {"error": exc}) from exc


def _xlsx_rows(content: bytes) -> Iterator[list[str]]:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    if inflated > MAX_XLSX_UNCOMPRESSED_BYTES:
        raise ImportFileError(_("The workbook is too large once uncompressed."))
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged file
        raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise ImportFileError(_("The workbook has no worksheet."))
        try:
            for values in sheet.iter_rows(values_only=True):
                yield [_cell_text(value) for value in values]
        except Exception as exc:  # noqa: BLE001 - a damaged sheet fails while streaming
            raise ImportFileError(_("The file could not be read as an Excel workbook (.xlsx).")) from exc
    finally:
        workbook.close()


def _cell_text(value) -> str:
    """An XLSX cell as the text the API would receive. Numbers go through Decimal(str(value)),
    never float arithmetic; date cells become ISO dates."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0, 0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, int | float | Decimal):
        try:
            return str(Decimal(str(value)))
        except InvalidOperation:
            return str(value)
    return str(value).strip()


def _to_dicts(raw: Iterable[list[str]]) -> list[dict]:
    rows: list[dict] = []
    header: list[str] | None = None
    for number, values in enumerate(raw, start=1):
        if header is None:
            header = [_column_name(v) for v in values]
            named = [c for c in header if c]
            if not named:
                raise ImportFileError(_("The file is empty: the first row must name the columns."))
            duplicates = sorted({c for c in named if named.count(c) > 1})
            if duplicates:
                raise ImportFileError(
                    _("These columns appear more than once: %(columns)s.") % {"columns": ", ".join(duplicates)}
                )
            continue
        row = {column: "" for column in header if column}
        for column, value in zip(header, values, strict=False):
            if column:
                row[column] = str(value).strip()
        if not any(row.values()):
            continue  # blank rows (and notes in unnamed columns) are skipped
        if len(rows) >= MAX_ROWS:
            raise ImportFileError(_("The file has more than %(max)d data rows.") % {"max": MAX_ROWS})
        row[ROW] = number
        rows.append(row)
    if header is None:
        raise ImportFileError(_("The file is empty."))
    if not rows:
        raise ImportFileError(_("The file has a header row but no data rows."))
    return rows


def _column_name(value) -> str:
    name = re.sub(r"\s+", "_", str(value or "").strip().lower())
    return "" if name == ROW else name


def check_columns(kind: str, rows: list[dict]) -> None:
    """Raise ImportFileError naming the required columns the file lacks. A loans file needs the
    installment columns, or term_months and amortization (generated schedules), or both."""
    columns = set(rows[0]) - {ROW} if rows else set()
    if kind == "payments":
        missing = [c for c in PAYMENT_REQUIRED_COLUMNS if c not in columns]
    else:
        missing = [c for c in LOAN_REQUIRED_COLUMNS if c not in columns]
        schedule_missing = [c for c in SCHEDULE_REQUIRED_COLUMNS if c not in columns]
        generated_missing = [c for c in GENERATED_COLUMNS if c not in columns]
        if schedule_missing and generated_missing:
            has_schedule = len(schedule_missing) < len(SCHEDULE_REQUIRED_COLUMNS)
            has_generated = len(generated_missing) < len(GENERATED_COLUMNS)
            if not has_schedule and not has_generated:
                raise ImportFileError(
                    _(
                        "Missing required columns: %(columns)s (or term_months and amortization instead of "
                        "the installment columns)."
                    )
                    % {"columns": ", ".join(missing + schedule_missing)}
                )
            # The file went one of the two ways: name what that way lacks.
            missing += schedule_missing if has_schedule else generated_missing
    if missing:
        raise ImportFileError(_("Missing required columns: %(columns)s.") % {"columns": ", ".join(missing)})


def template_csv(kind: str) -> str:
    """A CSV template for KIND: the header and example rows (delete them before importing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if kind == "payments":
        writer.writerow(PAYMENT_COLUMNS)
        writer.writerow(["TX-000001", "EXAMPLE-1", "1050.00", "2025-02-10", "borrower"])
        return out.getvalue()
    writer.writerow([*LOAN_COLUMNS, *GENERATED_COLUMNS])
    loan = [
        "EXAMPLE-1", "BR01", "AUTO", "EUR", "2000.00", "0.0650", "2025-01-10", "", "C-1001", "Ana Ruiz",
        "X1234567", "+34 600 000 000", "ana@example.com", "Calle Mayor 1, Madrid", "D-7", "Autos Norte",
    ]  # fmt: skip
    writer.writerow([*loan, "1", "2025-02-10", "1000.00", "10.83", "0.00", "", ""])
    writer.writerow([*loan, "2", "2025-03-10", "1000.00", "5.42", "0.00", "", ""])
    generated = [
        "EXAMPLE-2", "BR01", "AUTO", "EUR", "12000.00", "0.0650", "2025-01-10", "", "C-1002", "Luis Gil",
        "", "", "", "", "", "",
    ]  # fmt: skip
    writer.writerow([*generated, "", "", "", "", "", "12", "annuity"])
    return out.getvalue()


# --- importing loans -------------------------------------------------------------------------


def import_loans(rows: list[dict], acting_user) -> list[RowResult]:
    """Group ROWS by loan_number (in order of first appearance) and create or replace each loan."""
    groups: dict[str, list[dict]] = {}
    results: list[tuple[int, RowResult]] = []
    for row in rows:
        number = row.get("loan_number", "")
        if not number:
            message = RowMessage("loan_number", _("This field is required."))
            results.append(
                (row[ROW], RowResult(rows=(row[ROW],), key="", status=ImportStatus.REJECTED, messages=(message,)))
            )
            continue
        groups.setdefault(number, []).append(row)
    for number, group in groups.items():
        results.append((group[0][ROW], _import_loan(number, group, acting_user)))
    return [result for _first_row, result in sorted(results, key=lambda pair: pair[0])]


def _import_loan(number: str, group: list[dict], acting_user) -> RowResult:
    row_numbers = tuple(row[ROW] for row in group)

    def rejected(messages: Iterable[RowMessage]) -> RowResult:
        return RowResult(rows=row_numbers, key=number, status=ImportStatus.REJECTED, messages=tuple(messages))

    if len(number) > 64 or "/" in number:  # the API takes it as a URL path segment
        return rejected([RowMessage("loan_number", _("Use 1–64 characters, without “/”."))])
    conflicts = list(_loan_level_conflicts(group))
    if conflicts:
        return rejected(conflicts)
    body, line_rows = _loan_body(group)
    serializer = LoanInputSerializer(data=body)
    if not serializer.is_valid():
        return rejected(_loan_messages(_flatten(serializer.errors), line_rows))
    try:
        created = _upsert(number, serializer.validated_data, acting_user)
    except NotFound as exc:  # the number belongs to a loan outside the user's branches
        return rejected([RowMessage("loan_number", exc.message)])
    except ApplicationError as exc:
        return rejected(_loan_messages(_application_errors(exc), line_rows))
    except DatabaseError:
        return rejected([RowMessage("", _("The database refused this loan; nothing was saved."))])
    status = ImportStatus.CREATED if created else ImportStatus.UPDATED
    return RowResult(rows=row_numbers, key=number, status=status)


def _upsert(number: str, data: dict, acting_user) -> bool:
    """One transaction per loan. Like the API: if a concurrent request created the same loan
    meanwhile (IntegrityError), this one replaces it."""
    try:
        with transaction.atomic():
            _loan, created = loan_upsert(number=number, data=data, acting_user=acting_user)
    except IntegrityError:
        with transaction.atomic():
            _loan, created = loan_upsert(number=number, data=data, acting_user=acting_user)
    return created


def _same(column: str, first: str, other: str) -> bool:
    if first == other:
        return True
    if column in NUMERIC_COLUMNS:
        try:
            return Decimal(first) == Decimal(other)
        except InvalidOperation:
            return False
    return False


def _loan_level_conflicts(group: list[dict]) -> Iterator[RowMessage]:
    """Loan-level cells of later rows must be blank or equal to the loan's first row."""
    first = group[0]
    for row in group[1:]:
        for column in LOAN_LEVEL_COLUMNS:
            value = row.get(column, "")
            if value and not _same(column, first.get(column, ""), value):
                yield RowMessage(
                    column,
                    _("Differs from the loan's first row (row %(first)s): %(value)s instead of %(expected)s.")
                    % {"first": first[ROW], "value": value, "expected": first.get(column, "") or _("blank")},
                    row=row[ROW],
                )


def _put(target: dict, key: str, value: str) -> None:
    if value != "":
        target[key] = value


def _loan_body(group: list[dict]) -> tuple[dict, list[int]]:
    """The API body of the loan in GROUP, and the spreadsheet row of each schedule line."""
    first = group[0]
    body: dict = {}
    for column in ("branch", "product", "currency", "principal", "annual_rate", "disbursement_date", "officer",
                   "term_months", "amortization"):  # fmt: skip
        _put(body, column, first.get(column, ""))
    for party, columns in (
        ("borrower", ("external_id", "name", "national_id", "phone", "email", "address")),
        ("dealer", ("external_id", "name")),
    ):
        payload: dict = {}
        for name in columns:
            _put(payload, name, first.get(f"{party}_{name}", ""))
        if payload or party == "borrower":
            body[party] = payload
    line_rows: list[int] = []
    if any(row.get(column, "") for row in group for column in INSTALLMENT_COLUMNS):
        schedule = []
        for row in group:
            line: dict = {}
            for name, column in _SCHEDULE_FIELD_COLUMNS.items():
                _put(line, name, row.get(column, ""))
            schedule.append(line)
            line_rows.append(row[ROW])
        body["schedule"] = schedule
    return body, line_rows


def _loan_messages(errors: Iterable[tuple[tuple, str]], line_rows: list[int]) -> Iterator[RowMessage]:
    """Name each API error path by its spreadsheet column (and row, for a schedule line)."""
    for path, message in errors:
        column, row = _loan_column(path, line_rows)
        yield RowMessage(column, message, row=row)


def _loan_column(path: tuple, line_rows: list[int]) -> tuple[str, int | None]:
    if not path:
        return "", None
    head = path[0]
    if isinstance(head, str) and (match := _SCHEDULE_KEY.match(head)):  # service keys: "schedule[3].due_date"
        path = ("schedule", int(match.group(1)), *([match.group(2)] if match.group(2) else []))
        head = "schedule"
    if head in _PARTY_PREFIXES and len(path) > 1:
        sub = path[1]
        return ("" if sub in _NON_FIELD else f"{_PARTY_PREFIXES[head]}{sub}"), None
    if head == "schedule" and len(path) > 1 and isinstance(path[1], int):
        index = path[1]
        row = line_rows[index] if index < len(line_rows) else None
        name = path[2] if len(path) > 2 else None
        return (_SCHEDULE_FIELD_COLUMNS.get(name, "schedule") if name else "schedule"), row
    return ("" if head in _NON_FIELD else str(head)), None


# --- importing payments ----------------------------------------------------------------------


def import_payments(rows: list[dict], acting_user) -> list[RowResult]:
    """Post each row as a payment, in its own transaction, in file order."""
    return [_import_payment(row, acting_user) for row in rows]


def _import_payment(row: dict, acting_user) -> RowResult:
    key = row.get("external_id", "")

    def result(status: str, messages: Iterable[RowMessage] = ()) -> RowResult:
        return RowResult(rows=(row[ROW],), key=key, status=status, messages=tuple(messages))

    body: dict = {}
    for column in PAYMENT_COLUMNS:
        _put(body, column, row.get(column, ""))
    serializer = PaymentInputSerializer(data=body)
    if not serializer.is_valid():
        return result(ImportStatus.REJECTED, _flat_messages(_flatten(serializer.errors)))
    data = serializer.validated_data
    request = PaymentRequest(
        external_id=data["external_id"],
        loan_number=data["loan_number"],
        amount=data["amount"],
        value_date=data["value_date"],
        payer=data["payer"],
    )
    try:
        with transaction.atomic():
            answer = payments_post(requests=[request], acting_user=acting_user)[0]
    except DatabaseError:
        return result(
            ImportStatus.REJECTED, [RowMessage("", _("The database refused this payment; nothing was saved."))]
        )
    if isinstance(answer, ApplicationError):
        return result(ImportStatus.REJECTED, _flat_messages(_application_errors(answer)))
    return result(ImportStatus.CREATED if answer.created else ImportStatus.DUPLICATE)


def _flat_messages(errors: Iterable[tuple[tuple, str]]) -> Iterator[RowMessage]:
    for path, message in errors:
        head = str(path[0]) if path else ""
        yield RowMessage("" if head in _NON_FIELD else head, message)


# --- shared ----------------------------------------------------------------------------------


def _flatten(errors, path: tuple = ()) -> Iterator[tuple[tuple, str]]:
    """DRF's nested error structure as (path, message) pairs; list items get their index."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            yield from _flatten(value, (*path, key))
    elif isinstance(errors, list | tuple):
        for index, item in enumerate(errors):
            if isinstance(item, dict | list | tuple):
                yield from _flatten(item, (*path, index))
            else:
                yield path, str(item)
    else:
        yield path, str(errors)


def _application_errors(exc: ApplicationError) -> Iterator[tuple[tuple, str]]:
    if exc.extra:
        yield from _flatten(exc.extra)
    else:
        yield (), exc.message


IMPORTERS: dict[str, Callable[[list[dict], object], list[RowResult]]] = {
    "loans": import_loans,
    "payments": import_payments,
}


def run_import(kind: str, rows: list[dict], acting_user) -> list[RowResult]:
    return IMPORTERS[kind](rows, acting_user)


def summarize(results: list[RowResult]) -> dict[str, int]:
    """How many loans/payments ended in each status, every status present (0 included)."""
    counts = {status.value: 0 for status in ImportStatus}
    for result in results:
        counts[result.status] += 1
    return counts
