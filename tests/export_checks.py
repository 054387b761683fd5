"""Checks every exporter's files pass (supplycoord/exports.py): the xlsx prints as a clerk
prints a 台账, and the CSV and the xlsx carry the same headers and rows from one declaration."""

import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from supplycoord.exports import DATE, HEADER_ROW, INT, NUMBER_FORMATS, csv_lines, write_xlsx
from supplycoord.lib.exports import formula_safe


def xlsx_of(exporter):
    buffer = io.BytesIO()
    write_xlsx(exporter, buffer)
    buffer.seek(0)
    return load_workbook(buffer)


def csv_text(exporter) -> str:
    return "".join(csv_lines(exporter))


def csv_rows(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def assert_print_ready(sheet, exporter, *, issued_by=""):
    """Landscape A4 fitted to one page wide, the header repeated on every printed page,
    panes frozen below it, and the title block above it."""
    setup = sheet.page_setup
    assert setup.orientation == "landscape"
    assert int(setup.paperSize) == 9  # A4
    assert (int(setup.fitToWidth), int(setup.fitToHeight)) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == f"${HEADER_ROW}:${HEADER_ROW}"
    assert sheet.freeze_panes == f"A{HEADER_ROW + 1}"
    title = [sheet.cell(row=r, column=1).value for r in range(1, HEADER_ROW)]
    assert title[0] == str(exporter.title)
    assert issued_by in title[-1]
    header = [c.value for c in sheet[HEADER_ROW]]
    assert header == [formula_safe(c.header) for c in exporter.columns()]


def assert_number_and_date_cells(sheet, exporter):
    """Numbers are numbers with thousands separators, dates real dates with a date format;
    returns how many of each it saw (so a test can say the check was not vacuous)."""
    columns = exporter.columns()
    kinds = [c.kind for c in columns]
    formats = [c.number_format for c in columns]
    seen = {"number": 0, "date": 0}
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        for cell, kind, declared in zip(row, kinds, formats, strict=False):
            if isinstance(cell.value, bool) or cell.value is None:
                continue
            if isinstance(cell.value, int | float | Decimal):
                # A column's own format where it declares one (a share as "0.0%").
                expected = declared or "#,##0"
                assert expected in cell.number_format, (cell.coordinate, cell.number_format)
                seen["number"] += 1
            elif isinstance(cell.value, dt.datetime):
                assert cell.is_date
                assert cell.number_format in (
                    NUMBER_FORMATS["date"],
                    NUMBER_FORMATS["datetime"],
                )
                seen["date"] += 1
            elif kind == INT:
                # A label in a number column: a total's or a balance's name, never a number
                # written as text.
                assert not str(cell.value).lstrip("-").isdigit(), cell.coordinate
    return seen


def _as_csv(value, kind) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if kind == DATE:
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def assert_same_table(text: str, sheet, exporter):
    """The CSV's header and rows are the xlsx sheet's, cell for cell."""
    rows = csv_rows(text)
    kinds = [c.kind for c in exporter.columns()]
    sheet_rows = [
        [_as_csv(v, kind) for v, kind in zip(row, kinds, strict=False)]
        for row in sheet.iter_rows(min_row=HEADER_ROW, values_only=True)
    ]
    width = len(rows[0])
    sheet_rows = [(row + [""] * width)[:width] for row in sheet_rows]

    def normal(cell):
        try:
            number = Decimal(cell)
        except ArithmeticError:
            return cell
        return str(number.normalize()) if cell else cell

    assert [[normal(c) for c in row] for row in rows] == [
        [normal(c) for c in row] for row in sheet_rows
    ]
    return rows
