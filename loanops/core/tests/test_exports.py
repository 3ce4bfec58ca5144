"""CSV and XLSX downloads: exact money, dates, formula injection, sheet titles Excel accepts."""

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from loanops.core.exports import csv_response, xlsx_bytes

ROWS = [['=HYPERLINK("x")', Decimal("1234.50"), date(2024, 4, 30)], ["Señora Núñez", Decimal("0.10"), None]]


def test_csv_keeps_money_exact_and_defuses_formulas():
    response = csv_response("r.csv", ["name", "amount", "date"], ROWS)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeffname,amount,date\r\n")
    assert "'=HYPERLINK" in text
    assert "1234.50,2024-04-30" in text
    assert "Señora Núñez,0.10,\r\n" in text
    assert response["Content-Disposition"] == 'attachment; filename="r.csv"'


def test_xlsx_numbers_dates_and_a_title_excel_accepts():
    workbook = load_workbook(io.BytesIO(xlsx_bytes("3/6 report: 2024/04 [NORTE]?", ["n", "a", "d"], ROWS)))
    sheet = workbook.active
    assert sheet.title == "3-6 report- 2024-04 -NORTE--"
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][0] == '\'=HYPERLINK("x")'
    assert values[1][1] == 1234.5
    assert sheet.cell(row=2, column=2).number_format == "#,##0.00"
    assert values[1][2].date() == date(2024, 4, 30)
    assert values[2] == ["Señora Núñez", 0.1, None]
