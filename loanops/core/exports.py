"""Table downloads shared by every report and dashboard: CSV (streamed, UTF-8 with BOM so Excel
opens accents correctly) and XLSX (openpyxl write-only mode, constant memory).

Cells may be str, int, Decimal, date or None. Money stays Decimal: CSV prints it exactly, XLSX
stores it as a number with a two-decimal format (the display), never rounding the value itself.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _safe_text(value: str) -> str:
    """Spreadsheet formula injection: a text cell starting with = + - @ is prefixed with a quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_cell(value) -> object:
    if value is None:
        return ""
    if isinstance(value, str):
        return _safe_text(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield "\ufeff" + writer.writerow([str(h) for h in header])
        for row in rows:
            yield writer.writerow([_csv_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def xlsx_bytes(sheet_title: str, header: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    # Excel refuses \ / ? * [ ] : in sheet titles and more than 31 characters.
    title = "".join("-" if ch in "\\/?*[]:" else ch for ch in str(sheet_title))[:31].strip() or "Sheet1"
    sheet = workbook.create_sheet(title=title)
    sheet.append([str(h) for h in header])
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, str):
                value = _safe_text(value)
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, Decimal):
                cell.number_format = "#,##0.00"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            cells.append(cell)
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(filename: str, sheet_title: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(sheet_title, header, rows), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
