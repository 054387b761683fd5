"""Excel uploads are checked before openpyxl reads them: zip bombs, XML bombs, too many texts,
rows or cells are refused with a message, and a legitimate workbook still imports.

The workbooks here are written part by part, as Excel lays them out (shared strings, a date
style), so that each limit can be crossed on its own.
"""

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from unittest import mock
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import translation
from openpyxl.utils import get_column_letter

from inventory.imports import (
    XLSX_CONTENT_TYPE,
    DailyImportInvalid,
    DailyImportRefused,
    daily_import_submit,
)
from inventory.models import DailyFigure
from production.imports import ReportImportRefused, report_import_submit
from supplycoord.lib import xlsx_import
from tests.database_url import database_url
from tests.factories import ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = NOW.date()
URL = reverse("inventory:daily_import")
REPO = Path(__file__).resolve().parents[2]

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SML = "application/vnd.openxmlformats-officedocument.spreadsheetml"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
EXCEL_EPOCH = dt.date(1899, 12, 30)
HEADERS = [
    "Prefecture code",
    "Prefecture",
    "Item code",
    "Item",
    "Unit",
    "Last stock",
    "Date",
    "Stock",
    "Received",
    "Consumption",
    "Demand",
    "Expected arrivals within 3 days",
]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- Workbooks written part by part ----------------------------------------------------------


def _parts(sheets: int, *, shared_strings: bool) -> dict:
    """The parts of an .xlsx around its sheets, as Excel writes them."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SML}.worksheet+xml"/>'
        for i in range(1, sheets + 1)
    )
    if shared_strings:
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SML}.sharedStrings+xml"/>'
        )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{SML}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{SML}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
            f'Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}"><sheets>'
            + "".join(
                f'<sheet name="Sheet{i}" sheetId="{i}" r:id="rId{i}"/>'
                for i in range(1, sheets + 1)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{RELS}">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="{DOC_REL}/worksheet" '
                f'Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, sheets + 1)
            )
            + f'<Relationship Id="rIdS" Type="{DOC_REL}/styles" Target="styles.xml"/>'
            + (
                f'<Relationship Id="rIdT" Type="{DOC_REL}/sharedStrings" '
                'Target="sharedStrings.xml"/>'
                if shared_strings
                else ""
            )
            + "</Relationships>"
        ),
        # Style 1 is a date (number format 14), as Excel saves a typed date.
        "xl/styles.xml": (
            f'<styleSheet xmlns="{MAIN}"><fonts count="1"><font><sz val="11"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            '</cellStyleXfs><cellXfs count="2">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        ),
    }


def _package(sheets, *, shared_strings=None, extra=None, compresslevel=6) -> bytes:
    """An .xlsx of `sheets` (worksheet XML), `shared_strings` (the sst XML, or None) and
    `extra` parts {name: text or bytes} added or replacing the standard ones."""
    parts = _parts(len(sheets), shared_strings=shared_strings is not None)
    for i, sheet in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = sheet
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    parts.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for name, data in parts.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buffer.getvalue()


def _worksheet(sheet_data: str, *, before: str = "", after: str = "") -> str:
    return (
        f'<worksheet xmlns="{MAIN}">{before}<sheetData>{sheet_data}</sheetData>{after}</worksheet>'
    )


class _Strings:
    """The shared strings of a workbook, in first-use order, as Excel keeps them."""

    def __init__(self):
        self.index = {}
        self.uses = 0

    def __call__(self, text) -> int:
        self.uses += 1
        return self.index.setdefault(text, len(self.index))

    def xml(self, *, unique_count=None) -> str:
        declared = len(self.index) if unique_count is None else unique_count
        items = "".join(f"<si><t>{escape(text)}</t></si>" for text in self.index)
        return f'<sst xmlns="{MAIN}" count="{self.uses}" uniqueCount="{declared}">{items}</sst>'


def _excel_rows(rows, strings: _Strings) -> str:
    """<row> elements of `rows` (lists of str, int, date, None) as Excel writes them; a str
    starting with "=" is a formula."""
    out = []
    for number, values in enumerate(rows, start=1):
        cells = []
        for column, value in enumerate(values, start=1):
            ref = f"{get_column_letter(column)}{number}"
            if value is None:
                continue
            if isinstance(value, str) and value.startswith("="):
                cells.append(f'<c r="{ref}"><f>{escape(value[1:])}</f></c>')
            elif isinstance(value, str):
                cells.append(f'<c r="{ref}" t="s"><v>{strings(value)}</v></c>')
            elif isinstance(value, dt.date):
                cells.append(f'<c r="{ref}" s="1"><v>{(value - EXCEL_EPOCH).days}</v></c>')
            else:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
        out.append(f'<row r="{number}" spans="1:{len(values)}">{"".join(cells)}</row>')
    return "".join(out)


def _daily_workbook(keys, *, figures=lambda n: (100 + n % 50, 5, 10, 12, 0)) -> bytes:
    """Daily figures of `keys` (prefecture code, item code, date) in the template's layout,
    saved as Excel saves it; `figures(n)` are the five figures of the n-th row."""
    rows = [["Daily figures"], ["hint"], [], HEADERS]
    for n, (prefecture, item, date) in enumerate(keys):
        rows.append([prefecture, "", item, "", "", None, date, *figures(n)])
    strings = _Strings()
    sheet = _worksheet(_excel_rows(rows, strings))
    return _package([sheet], shared_strings=strings.xml())


def _upload(content, name="daily.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX_CONTENT_TYPE)


def _refusal(content, user) -> str:
    """The message the daily import refuses `content` with, in English (sizes as Django
    writes them, with a plain space)."""
    with translation.override("en"), pytest.raises(DailyImportRefused) as refused:
        daily_import_submit(_upload(content), user=user)
    return refused.value.message.replace("\xa0", " ")


@pytest.fixture
def never_opened():
    """Fails the test if openpyxl is ever asked to open the file."""
    with mock.patch.object(
        xlsx_import, "load_workbook", side_effect=AssertionError("openpyxl opened the file")
    ) as load:
        yield load


def _bomb(unpacked: int) -> bytes:
    """A valid-looking workbook whose one sheet unpacks to `unpacked` bytes of identical rows,
    written in chunks (the test never holds the unpacked sheet)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in _parts(1, shared_strings=False).items():
            zf.writestr(name, data)
        head = f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
        tail = b"</sheetData></worksheet>"
        row = b'<row><c t="n"><v>0</v></c></row>'
        chunk = row * (1024 * 1024 // len(row))
        with zf.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(head)
            written = len(head) + len(tail)
            while written + len(chunk) <= unpacked:
                sheet.write(chunk)
                written += len(chunk)
            sheet.write(tail)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bomb_200mb():
    return _bomb(200 * 1024 * 1024)


# --- Zip bombs --------------------------------------------------------------------------------


def test_it_refuses_a_half_megabyte_file_that_unpacks_to_200_mb_in_under_a_second(
    office, bomb_200mb, never_opened
):
    assert len(bomb_200mb) < 1024 * 1024

    started = time.perf_counter()
    message = _refusal(bomb_200mb, office)
    elapsed = time.perf_counter() - started

    assert message == "The file unpacks to more than 64.0 MB; split it into smaller files."
    assert elapsed < 1.0
    never_opened.assert_not_called()


def test_it_shows_the_refusal_of_a_zip_bomb_on_the_import_page(client, officer, bomb_200mb):
    client.force_login(officer)
    client.cookies["django_language"] = "en"

    response = client.post(URL, {"file": _upload(bomb_200mb)})

    assert response.status_code == 400  # the page, with the refusal, as for any refused file
    refusal = "The file unpacks to more than 64.0\xa0MB; split it into smaller files."
    assert response.context["refusal"] == refusal
    assert refusal in response.content.decode()
    assert not DailyFigure.objects.exists()


def test_it_refuses_an_upload_above_the_size_limit_without_reading_it(office, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_BYTES": 1000}
    upload = mock.Mock(size=1001)
    upload.name = "daily.xlsx"

    with pytest.raises(DailyImportRefused):
        daily_import_submit(upload, user=office)

    upload.read.assert_not_called()


def test_it_refuses_a_single_part_above_the_part_limit(office, settings, never_opened):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_PART_BYTES": 100_000}
    rows = [
        HEADERS,
        *[["620100", "", "FH001", "", "", None, TODAY, n, 0, 0, 0, 0] for n in range(2000)],
    ]
    content = _package([_worksheet(_excel_rows(rows, _Strings()))], shared_strings=None)

    assert _refusal(content, office) == (
        "The file unpacks to more than 97.7 KB; split it into smaller files."
    )


def test_it_refuses_parts_that_together_unpack_above_the_total_limit(
    office, settings, never_opened
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_UNPACKED_BYTES": 100_000}
    sheet = _worksheet(_excel_rows([HEADERS], _Strings()), after="<!--" + "x" * 60_000 + "-->")

    assert _refusal(_package([sheet, sheet]), office) == (
        "The file unpacks to more than 97.7 KB; split it into smaller files."
    )


def test_it_refuses_a_part_packed_tighter_than_any_workbook(office, never_opened):
    # 5 MB of blanks inside a sheet: under every size limit, but packed over 1000 to 1.
    sheet = _worksheet("", before=" " * (5 * 1024 * 1024))

    assert _refusal(_package([sheet], compresslevel=9), office) == (
        "The file is packed far tighter than an Excel workbook can be (more than 100 to 1): "
        "it is refused as a possible zip bomb."
    )


def test_it_refuses_a_file_of_too_many_parts(office, never_opened):
    extra = {f"customXml/item{i}.xml": "<a/>" for i in range(1001)}

    assert _refusal(_package([_worksheet("")], extra=extra), office).startswith(
        "The file holds more than 1,000 parts"
    )


# --- Encrypted and odd packages ---------------------------------------------------------------


def test_it_refuses_a_password_protected_workbook(office, never_opened):
    # Excel saves a workbook with a password to open as an OLE2 compound file, like an .xls.
    content = xlsx_import.OLE2_SIGNATURE + b"\0" * 4096

    assert _refusal(content, office).startswith("The file is protected by a password")


def test_it_refuses_a_zip_with_an_encrypted_member(office, never_opened):
    content = bytearray(_package([_worksheet("")]))
    # Set the "encrypted" bit of the first member in the zip's central directory.
    directory = content.find(b"PK\x01\x02")
    content[directory + 8] |= 0x1

    assert _refusal(bytes(content), office).startswith("The file is protected by a password")


def test_it_refuses_a_part_packed_by_a_method_excel_never_uses(office, never_opened):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in _parts(1, shared_strings=False).items():
            zf.writestr(name, data)
        zf.writestr("xl/worksheets/sheet1.xml", _worksheet(""), compress_type=zipfile.ZIP_BZIP2)

    assert _refusal(buffer.getvalue(), office) == (
        "The file could not be read as an Excel workbook."
    )


def test_it_refuses_a_sheet_that_is_also_the_shared_strings(office, never_opened):
    """openpyxl would keep every element of a sheet read as the shared strings: the roles of
    the parts may not overlap."""
    types = _parts(1, shared_strings=False)["[Content_Types].xml"].replace(
        "</Types>",
        f'<Override PartName="/xl/worksheets/sheet1.xml" '
        f'ContentType="{SML}.sharedStrings+xml"/></Types>',
    )
    content = _package([_worksheet("")], extra={"[Content_Types].xml": types})

    assert _refusal(content, office) == "The file could not be read as an Excel workbook."


def test_it_refuses_a_sheet_that_a_chart_sheet_also_points_to(office, never_opened):
    """A chart sheet's drawing is read in one piece: a sheet may not be one."""
    parts = _parts(1, shared_strings=False)
    rels = parts["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>",
        f'<Relationship Id="rIdC" Type="{DOC_REL}/chartsheet" '
        'Target="chartsheets/sheet1.xml"/></Relationships>',
    )
    workbook = parts["xl/workbook.xml"].replace(
        "</sheets>", '<sheet name="Chart" sheetId="9" r:id="rIdC"/></sheets>'
    )
    chart_rels = (
        f'<Relationships xmlns="{RELS}"><Relationship Id="rId1" '
        f'Type="{DOC_REL}/drawing" Target="../worksheets/sheet1.xml"/></Relationships>'
    )
    content = _package(
        [_worksheet("")],
        extra={
            "xl/_rels/workbook.xml.rels": rels,
            "xl/workbook.xml": workbook,
            "xl/chartsheets/sheet1.xml": f'<chartsheet xmlns="{MAIN}"/>',
            "xl/chartsheets/_rels/sheet1.xml.rels": chart_rels,
        },
    )

    assert _refusal(content, office) == "The file could not be read as an Excel workbook."


def test_it_leaves_alone_the_parts_openpyxl_never_reads(office, province_of_ten):
    """Excel's calculation chain lists every formula cell; openpyxl never parses it, so its
    30,000 elements are no reason to refuse a file."""
    keys = _keys(*province_of_ten, days=1)[:10]
    calc_chain = f'<calcChain xmlns="{MAIN}">' + '<c r="A1" i="1"/>' * 30_000 + "</calcChain>"
    strings = _Strings()
    rows = [["Daily figures"], ["hint"], [], HEADERS]
    rows += [[p, "", i, "", "", None, d, 1, 2, 3, 4, 5] for p, i, d in keys]
    content = _package(
        [_worksheet(_excel_rows(rows, strings))],
        shared_strings=strings.xml(),
        extra={"xl/calcChain.xml": calc_chain},
    )

    result = daily_import_submit(_upload(content), user=office)

    assert result.submitted.created == 10


# --- XML bombs --------------------------------------------------------------------------------


def test_it_refuses_entity_expansion_billion_laughs(office, never_opened):
    lol = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
            for i in range(1, 10)
        )
        + "]>"
    )
    strings = lol + f'<sst xmlns="{MAIN}"><si><t>&lol9;</t></si></sst>'
    content = _package([_worksheet("")], shared_strings=strings)

    assert _refusal(content, office) == "The file could not be read as an Excel workbook."


def test_it_uses_defusedxml_in_openpyxl():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_it_refuses_more_shared_strings_than_the_limit(office, settings, never_opened):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_SHARED_STRINGS": 100}
    strings = _Strings()
    sheet = _worksheet(_excel_rows([[f"text {n}" for n in range(101)]], strings))

    assert _refusal(_package([sheet], shared_strings=strings.xml()), office) == (
        "The file holds more than 100 different texts, far more than an import needs. Copy "
        "the rows into the template, save it and upload that file."
    )


def test_it_counts_the_shared_strings_whatever_the_file_declares(office, settings, never_opened):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_SHARED_STRINGS": 100}
    strings = _Strings()
    sheet = _worksheet(_excel_rows([[f"text {n}" for n in range(101)]], strings))
    lying = strings.xml(unique_count=1)

    assert "more than 100 different texts" in _refusal(
        _package([sheet], shared_strings=lying), office
    )


def test_it_refuses_a_row_of_more_elements_than_any_template(office, never_opened):
    cells = "<c><v>1</v></c>" * 11_000  # 22,000 elements in one row
    content = _package([_worksheet(f"<row>{cells}</row>")])

    assert _refusal(content, office).startswith("The workbook holds more than its cells")


def test_it_refuses_rows_padded_far_to_the_right(office, never_opened):
    """openpyxl fills each row up to its last cell: 200 rows ending in column XFD are 3.3
    million cells for the parser to walk through."""
    rows = "".join(f'<row r="{n}"><c r="XFD{n}"><v>1</v></c></row>' for n in range(1, 201))

    assert _refusal(_package([_worksheet(rows)]), office).startswith(
        "The sheets hold more than 3,201,280 cells"
    )


def test_it_refuses_sheets_of_more_elements_than_their_rows_can_need(
    office, settings, never_opened
):
    """Elements are what openpyxl spends its time on: 67 a row, under every limit of a row,
    would be 3.4 million in 50,000 rows, minutes of parsing."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 100}
    row = "<row>" + "<c><x/></c>" * 33 + "</row>"

    assert _refusal(_package([_worksheet(row * 120)]), office).startswith(
        "The workbook holds more than its cells"
    )


def test_it_refuses_a_sheet_holding_much_outside_its_rows(office, never_opened):
    """What a sheet has outside its rows stays in memory until the sheet is read."""
    clutter = "<x/>" * 25_000

    assert _refusal(_package([_worksheet("", before=clutter)]), office).startswith(
        "The workbook holds more than its cells"
    )


def test_it_refuses_more_rows_than_a_submission_before_openpyxl_reads_them(
    office, settings, never_opened
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ROWS_PER_SUBMISSION": 50}
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c></row>' for n in range(1, 80))

    assert _refusal(_package([_worksheet(rows)]), office) == (
        "The file has more than 50 rows; split it into smaller files."
    )


def test_it_refuses_the_same_bomb_at_the_production_import(reporter, bomb_200mb, never_opened):
    with translation.override("en"), pytest.raises(ReportImportRefused) as refused:
        report_import_submit(_upload(bomb_200mb, "reports.xlsx"), user=reporter)

    assert refused.value.message.startswith("The file unpacks to more than")


# --- What still imports ------------------------------------------------------------------------


@pytest.fixture
def province_of_ten(db):
    prefectures = [PrefectureFactory(code=f"62{n:02d}00") for n in range(1, 11)]
    items = [ItemFactory(code=f"T{n:03d}") for n in range(1, 51)]
    return prefectures, items


def _keys(prefectures, items, days):
    return [
        (prefecture.code, item.code, TODAY - dt.timedelta(days=day))
        for day in range(days)
        for prefecture in prefectures
        for item in items
    ]


def test_it_still_imports_a_5000_row_workbook_saved_by_excel(office, province_of_ten):
    keys = _keys(*province_of_ten, days=10)
    assert len(keys) == 5000

    result = daily_import_submit(_upload(_daily_workbook(keys)), user=office)

    assert (result.rows, result.submitted.created, result.submitted.updated) == (5000, 5000, 0)
    assert DailyFigure.objects.count() == 5000

    corrected = _daily_workbook(keys, figures=lambda n: (100 + n % 50 + (n < 10), 5, 10, 12, 0))
    again = daily_import_submit(_upload(corrected), user=office, reason="recounted")

    assert (again.submitted.created, again.submitted.updated, again.submitted.unchanged) == (
        0,
        10,
        4990,
    )


def test_it_reports_problems_of_a_legitimate_workbook_as_before(office, province_of_ten):
    keys = _keys(*province_of_ten, days=1)
    keys[3] = ("620100", "NOPE", TODAY)

    with translation.override("en"), pytest.raises(DailyImportInvalid) as invalid:
        daily_import_submit(_upload(_daily_workbook(keys)), user=office)

    [problem] = invalid.value.problems
    assert (problem.row, problem.column, problem.header) == (8, "C", "Item code")


def test_it_lists_the_first_thousand_problems_of_a_file_that_has_more(office, province_of_ten):
    """A formula in every figure of 300 rows is 1,500 problems: the first 1,000 are listed,
    under a note that there are more."""
    keys = _keys(*province_of_ten, days=1)[:300]
    content = _daily_workbook(keys, figures=lambda n: ["=1+1"] * 5)

    with translation.override("en"), pytest.raises(DailyImportInvalid) as invalid:
        daily_import_submit(_upload(content), user=office)

    note, first, *rest = invalid.value.problems
    assert len(rest) == 999
    assert note.message == (
        "The file has more than 1,000 problems; the first 1,000 are listed. Correct them and "
        "upload the file again."
    )
    assert (first.row, first.column) == (5, "H")
    assert not DailyFigure.objects.exists()


def _all_wrong(rows: int) -> bytes:
    """Daily figures of `rows` rows whose every field the service refuses: an unknown
    prefecture and item, tomorrow's date, five negative figures (eight errors a row)."""
    keys = [("990000", f"NOPE{n}", TODAY + dt.timedelta(days=1)) for n in range(rows)]
    return _daily_workbook(keys, figures=lambda n: (-1,) * 5)


def test_it_lists_as_many_of_the_services_problems_as_the_setting_says(office, settings):
    """300 wrong rows are 2,400 errors of the service's: it stops past the limit, and the file
    lists the first ones under one note, not a note of the service's as well."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "MAX_ERRORS_REPORTED": 100}

    with translation.override("en"), pytest.raises(DailyImportInvalid) as invalid:
        daily_import_submit(_upload(_all_wrong(300)), user=office)

    note, first, *rest = invalid.value.problems
    assert len(rest) == 99
    assert note.message.startswith("The file has more than 100 problems; the first 100 are")
    assert (first.row, first.column) == (5, "A")
    assert all(problem.row for problem in [first, *rest])
    assert not DailyFigure.objects.exists()


# --- Memory -----------------------------------------------------------------------------------

# Run in a fresh interpreter: its peak resident memory is the import's, nothing else's. The
# import is rolled back, so no snapshot rebuild runs after it. "read" stops once the file is
# read into the service's rows (the Excel part); "import" also runs the service.
MEASURE = r"""
import json, sys, time
import django
django.setup()
from django.db import transaction
from django.core.files.uploadedfile import SimpleUploadedFile
from inventory.imports import (
    DailyImportInvalid, DailyImportRefused, daily_import_parse, daily_import_submit,
)
from supplycoord.models import User

def status_mb(field):
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec, from the forked
    # test process.
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024

user = User.objects.get(username=sys.argv[2])
data = open(sys.argv[1], "rb").read()
before = status_mb("VmRSS")
started = time.perf_counter()
outcome = {}
class RolledBack(Exception):
    pass
try:
    upload = SimpleUploadedFile("big.xlsx", data)
    if sys.argv[3] == "read":
        parsed = daily_import_parse(upload, user=user)
        outcome = {"rows": len(parsed.rows), "problems": len(parsed.errors)}
        raise RolledBack
    with transaction.atomic():
        result = daily_import_submit(upload, user=user, reason="x")
        outcome = {"rows": result.rows, "created": result.submitted.created}
        raise RolledBack
except RolledBack:
    pass
except DailyImportInvalid as exc:
    outcome = {"problems": len(exc.problems)}
except DailyImportRefused as exc:
    outcome = {"refused": exc.message}
outcome["seconds"] = round(time.perf_counter() - started, 1)
outcome["peak_mb"] = round(status_mb("VmHWM") - before, 1)
print(json.dumps(outcome))
"""


def _measure(path, user, step="import"):
    """Import (or only read, `step="read"`) `path` as `user` in a fresh interpreter on the
    test database: its outcome, with the seconds it took and the growth of peak resident
    memory (MB) over the start."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "supplycoord.settings",
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url(connection.settings_dict),
    }
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path), user.username, step],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_imports_the_largest_accepted_workbook_in_under_100_mb(office, tmp_path):
    # About as many rows as fit in IMPORT_MAX_BYTES (2 MB) saved by Excel: 34,000.
    prefectures = [PrefectureFactory(code=f"62{n:02d}00") for n in range(1, 15)]
    items = [ItemFactory(code=f"T{n:03d}") for n in range(1, 121)]
    keys = [
        (prefecture.code, item.code, TODAY - dt.timedelta(days=day))
        for day in range(21)
        for prefecture in prefectures
        for item in items
    ][:34_000]
    primes = (7919, 104_729, 1_299_709, 15_485_863, 179_424_673)
    content = _daily_workbook(keys, figures=lambda n: [(n * p) % 100_000 for p in primes])
    assert 1.5 * 1024 * 1024 < len(content) <= django_settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    path = tmp_path / "largest.xlsx"
    path.write_bytes(content)

    outcome = _measure(path, office)

    print(outcome)
    assert (outcome["rows"], outcome["created"]) == (34_000, 34_000)
    assert outcome["peak_mb"] < 100


def _just_under_the_limits() -> bytes:
    """Just under every limit: 99,000 different texts (15 MB unpacked), 19,000 elements of
    styles, the template's header and 50,000 rows each padded to column 60, with a long text
    for its item code and stock (every row wrong: the service's findings too)."""
    count = django_settings.SUPPLYCOORD["IMPORT_MAX_SHARED_STRINGS"] - 1000
    texts = [*HEADERS, *(f"{'注' * 38}{n:09d}" for n in range(count - len(HEADERS)))]
    strings = "".join(f"<si><t>{text}</t></si>" for text in texts)
    sst = f'<sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">{strings}</sst>'
    header = "".join(
        f'<c r="{get_column_letter(i + 1)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADERS))
    )
    rows = "".join(
        f'<row r="{n}"><c r="C{n}" t="s"><v>{12 + n % (count - 12)}</v></c><c r="H{n}" t="s">'
        f'<v>{12 + (n * 7) % (count - 12)}</v></c><c r="BH{n}"><v>1</v></c></row>'
        for n in range(2, 50_001)
    )
    styles = f'<styleSheet xmlns="{MAIN}">' + "<x/>" * 19_000 + "</styleSheet>"
    return _package(
        [_worksheet(f'<row r="1">{header}</row>{rows}')],
        shared_strings=sst,
        extra={"xl/styles.xml": styles},
        compresslevel=9,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_reads_a_file_just_under_every_limit_in_under_100_mb(office, tmp_path):
    """The Excel part: the file read into the service's rows. (The service's own checks of
    50,000 wrong rows are not bounded here: see the README.)"""
    content = _just_under_the_limits()
    assert len(content) <= django_settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    path = tmp_path / "bomb-like.xlsx"
    path.write_bytes(content)

    outcome = _measure(path, office, step="read")

    print(outcome)
    assert outcome["rows"] == 49_999  # read to the end, not refused early
    assert outcome["peak_mb"] < 100


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_imports_50000_wrong_rows_in_under_100_mb(office, tmp_path):
    """Every row wrong: the service stops collecting at MAX_ERRORS_REPORTED (it peaked at
    ~128 MB with an error for each of the 400,000 wrong fields)."""
    content = _all_wrong(49_990)  # and the 4 rows above them: just under 50,000
    assert len(content) <= django_settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    path = tmp_path / "all-wrong.xlsx"
    path.write_bytes(content)

    outcome = _measure(path, office)

    print(outcome)
    assert outcome["problems"] == django_settings.SUPPLYCOORD["MAX_ERRORS_REPORTED"] + 1
    assert outcome["peak_mb"] < 100
