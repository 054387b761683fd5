"""Excel import of daily production reports: the template, the upload, every problem at once
at its Excel row and column, nothing saved unless the whole file is valid."""

import datetime as dt
import io
import zipfile
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from inventory.models import StockBalance
from production.imports import (
    XLSX_CONTENT_TYPE,
    ReportImportInvalid,
    report_import_submit,
    report_import_template,
)
from production.models import ProductionLine, ProductionReport
from production.services import production_reports_submit
from tests.factories import ItemFactory

NOW = dt.datetime(2020, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = NOW.date()
URL = reverse("production:report_import")
TEMPLATE_URL = reverse("production:report_import_template")
LANZHOU_CODE = "91350100M000100Y43"
TIANSHUI_CODE = "91110108551385082Q"
ENGLISH_HEADERS = [
    "Unified social credit code",
    "Producer",
    "Item code",
    "Item",
    "Unit",
    "Date",
    "Output",
    "Delivered into the province's held reserve",
    "Shipped to prefectures",
    "Sold on the market",
    "Stock at the factory",
    "Of which held for the province (代储)",
    "Raw materials on hand (days of production)",
    "Reason for correction",
]
# Columns of the template (row 3 is the header, data from row 4).
DATE, OUTPUT, TO_RESERVE, TO_PREFECTURES, TO_MARKET, STOCK, HELD, DAYS, REASON = range(6, 15)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def masks(reporting_producer):
    """A second line of the Lanzhou producer: surgical masks."""
    item = ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    ProductionLine.objects.create(producer=reporting_producer, item=item, daily_capacity=10)
    return item


def _template(user, *, language=None):
    if language:
        with translation.override(language):
            content = report_import_template(user=user, date=TODAY)
    else:
        content = report_import_template(user=user, date=TODAY)
    return load_workbook(io.BytesIO(content))


def _fill(ws, row, *, output=80_000, stock=30_000, **others):
    ws.cell(row, OUTPUT).value = output
    ws.cell(row, STOCK).value = stock
    columns = {"to_reserve": TO_RESERVE, "held": HELD, "days": DAYS, "reason": REASON}
    for key, value in others.items():
        ws.cell(row, columns[key]).value = value


def _bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(content, name="reports.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX_CONTENT_TYPE)


def _post(client, content, name="reports.xlsx", follow=False, **data):
    return client.post(URL, {"file": _upload(content, name), **data}, follow=follow)


def _cells(problems):
    return {(p.row, p.column, p.header) for p in problems}


def _problems(content, user, **kwargs):
    with pytest.raises(ReportImportInvalid) as caught:
        report_import_submit(_upload(content), user=user, **kwargs)
    return caught.value.problems


# --- The template ------------------------------------------------------------------------------


def test_the_template_round_trips_from_download_to_saved_reports(
    client, reporter, reporting_producer, masks, held_warehouse, n95
):
    client.force_login(reporter)

    response = client.get(TEMPLATE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    ws = workbook.worksheets[0]
    rows = {ws.cell(r, 3).value: r for r in range(4, ws.max_row + 1)}
    assert set(rows) == {"FH001", "FH002"}
    assert ws.cell(rows["FH001"], 1).value == LANZHOU_CODE
    assert ws.cell(rows["FH001"], 2).value == "兰州防护用品厂"
    assert ws.cell(rows["FH001"], DATE).value.date() == TODAY
    assert ws.cell(rows["FH001"], OUTPUT).value is None
    _fill(ws, rows["FH001"], to_reserve=20_000, held=5_000, days=6)
    _fill(ws, rows["FH002"], output=9, stock=3)

    response = _post(client, _bytes(workbook), follow=True)

    assert response.redirect_chain[-1][0] == URL
    saved = {r.item.code: r for r in ProductionReport.objects.filter(date=TODAY)}
    assert saved["FH001"].figures() == {
        "output": 80_000,
        "to_reserve": 20_000,
        "to_prefectures": 0,
        "to_market": 0,
        "factory_stock": 30_000,
        "held_for_province": 5_000,
        "raw_material_days": 6,
    }
    assert (saved["FH002"].output, saved["FH002"].raw_material_days) == (9, None)
    assert saved["FH001"].submitted_by == reporter
    assert StockBalance.objects.get(warehouse=held_warehouse, item=n95).quantity == 20_000
    [message] = response.context["messages"]
    assert "2" in str(message)


def test_a_template_of_a_reported_day_comes_filled_in_and_imports_unchanged(
    reporter, reporting_producer
):
    production_reports_submit(
        user=reporter,
        rows=[
            {
                "producer": LANZHOU_CODE,
                "item": "FH001",
                "date": "2020-03-10",
                "output": 5,
                "factory_stock": 4,
            }
        ],
    )
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    assert (ws.cell(4, OUTPUT).value, ws.cell(4, STOCK).value) == (5, 4)

    result = report_import_submit(_upload(_bytes(workbook)), user=reporter)

    assert (result.submitted.created, result.submitted.unchanged) == (0, 1)


def test_the_template_holds_only_the_reporters_own_producers(
    client, reporter, reporting_producer, other_reporting_producer
):
    client.force_login(reporter)
    ws = load_workbook(io.BytesIO(client.get(TEMPLATE_URL).content)).worksheets[0]

    assert {ws.cell(r, 1).value for r in range(4, ws.max_row + 1)} == {LANZHOU_CODE}


def test_the_office_template_holds_every_active_producer(
    office, reporting_producer, other_reporting_producer
):
    ws = _template(office).worksheets[0]

    assert {ws.cell(r, 1).value for r in range(4, ws.max_row + 1)} == {LANZHOU_CODE, TIANSHUI_CODE}


def test_the_template_headers_are_chinese_by_default_and_english_when_chosen(
    reporter, reporting_producer
):
    chinese = _template(reporter).worksheets[0]
    assert [c.value for c in chinese[3]][:6] == [
        "统一社会信用代码",
        "生产企业",
        "物资编码",
        "物资",
        "单位",
        "日期",
    ]

    english = _template(reporter, language="en")
    assert [c.value for c in english.worksheets[0][3]] == ENGLISH_HEADERS
    assert english.sheetnames == ["Production reports", "Instructions"]
    instructions = [row[0].value for row in english["Instructions"].iter_rows()]
    assert any("reason" in (text or "") for text in instructions)


def test_an_english_template_imports_from_the_chinese_page(client, reporter, reporting_producer):
    client.force_login(reporter)
    workbook = _template(reporter, language="en")
    _fill(workbook.worksheets[0], 4)

    assert _post(client, _bytes(workbook)).status_code == 302
    assert ProductionReport.objects.count() == 1


def test_the_template_validates_whole_numbers_and_greys_the_reference_cells(
    reporter, reporting_producer, masks
):
    ws = _template(reporter).worksheets[0]

    [validation] = ws.data_validations.dataValidation
    assert (validation.type, validation.operator, validation.formula1) == (
        "whole",
        "greaterThanOrEqual",
        "0",
    )
    assert str(validation.sqref) == "G4:M5"
    assert ws.freeze_panes == "A4"
    assert ws["A4"].fill.fgColor.rgb.endswith("E7E9EC")  # credit code: grey
    assert ws["G4"].fill.fgColor.rgb in (None, "00000000")  # output: to be filled in


# --- Problems of the rows ----------------------------------------------------------------------


def test_it_reports_each_problem_at_its_excel_row_and_column_and_saves_nothing(
    client, reporter, reporting_producer, masks
):
    client.force_login(reporter)
    client.cookies["django_language"] = "en"
    workbook = _template(reporter, language="en")
    ws = workbook.worksheets[0]
    _fill(ws, 4)  # row 4: fine
    _fill(ws, 5, output=-1, held=10)  # row 5: negative output, held above the stock of…
    ws.cell(5, STOCK).value = 5  # …5
    ws.append([LANZHOU_CODE, "", "ZZ999", "", "", TODAY, 1, None, None, None, 1])  # row 6
    ws.append([LANZHOU_CODE, "", "FH001", "", "", "2020-03-11", 1, None, None, None, 1])  # 7
    ws.append([LANZHOU_CODE, "", "FH002", "", "", TODAY, 1, None, None, None, None])  # 8

    response = _post(client, _bytes(workbook))

    assert response.status_code == 400
    assert ProductionReport.objects.count() == 0
    problems = response.context["problems"]
    assert {(p.row, p.column) for p in problems} == {
        (5, "G"),
        (5, "L"),
        (6, "C"),
        (7, "F"),
        (8, "C"),  # the same producer, item and date as row 5
    }
    by_cell = {(p.row, p.column): p for p in problems}
    assert by_cell[(5, "G")].header == "Output"
    assert by_cell[(5, "G")].message == "Must be zero or more."
    assert "row 5" in by_cell[(8, "C")].message
    text = response.content.decode()
    assert "Nothing was saved" in text
    assert "G (Output)" in text


def test_it_lists_the_problems_in_chinese_by_default(client, reporter, reporting_producer):
    client.force_login(reporter)
    workbook = _template(reporter)
    _fill(workbook.worksheets[0], 4, output=-5)

    response = _post(client, _bytes(workbook))

    assert "未保存任何数据" in response.content.decode()
    assert "不能为负数" in response.content.decode()


def test_it_refuses_rows_of_a_producer_that_is_not_the_reporters(
    client, reporter, reporting_producer, other_reporting_producer
):
    client.force_login(reporter)
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    _fill(ws, 4)
    ws.append([TIANSHUI_CODE, "", "FH001", "", "", TODAY, 1, None, None, None, 1])  # row 5

    response = _post(client, _bytes(workbook))

    assert ProductionReport.objects.count() == 0
    [problem] = response.context["problems"]
    assert (problem.row, problem.column) == (5, "A")
    assert TIANSHUI_CODE in problem.message


def test_it_needs_a_reason_to_correct_a_past_date(reporter, reporting_producer):
    yesterday = TODAY - dt.timedelta(days=1)
    first = {
        "producer": LANZHOU_CODE,
        "item": "FH001",
        "date": yesterday,
        "output": 1,
        "factory_stock": 1,
    }
    production_reports_submit(user=reporter, rows=[first])
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    ws.cell(4, DATE).value = yesterday
    _fill(ws, 4, output=2, stock=1)
    content = _bytes(workbook)

    [problem] = _problems(content, reporter)
    assert (problem.row, problem.column, problem.field) == (4, "N", "reason")
    assert ProductionReport.objects.get().output == 1

    result = report_import_submit(_upload(content), user=reporter, reason="Miscounted")
    assert result.submitted.updated == 1
    assert ProductionReport.objects.get().correction_reason == "Miscounted"


def test_a_rows_own_reason_corrects_a_past_date(reporter, reporting_producer):
    yesterday = TODAY - dt.timedelta(days=1)
    first = {
        "producer": LANZHOU_CODE,
        "item": "FH001",
        "date": yesterday,
        "output": 1,
        "factory_stock": 1,
    }
    production_reports_submit(user=reporter, rows=[first])
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    ws.cell(4, DATE).value = yesterday
    _fill(ws, 4, output=2, stock=1, reason="Late delivery counted")

    result = report_import_submit(_upload(_bytes(workbook)), user=reporter)

    assert result.submitted.updated == 1


def test_it_refuses_formulas_naming_the_cell(reporter, reporting_producer):
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    _fill(ws, 4)
    ws.cell(4, OUTPUT).value = "=1+1"

    [problem] = _problems(_bytes(workbook), reporter)

    assert (problem.row, problem.column) == (4, "G")
    assert ProductionReport.objects.count() == 0


def test_it_reports_a_missing_column_once(reporter, reporting_producer, masks):
    workbook = _template(reporter)
    ws = workbook.worksheets[0]
    _fill(ws, 4)
    _fill(ws, 5)
    ws.cell(3, STOCK).value = "Remarks"

    problems = _problems(_bytes(workbook), reporter)

    assert [(p.row, p.field) for p in problems] == [(3, "factory_stock")]


def test_it_skips_rows_without_figures_and_refuses_a_file_without_any(
    reporter, reporting_producer, masks
):
    workbook = _template(reporter)
    [problem] = _problems(_bytes(workbook), reporter)
    assert problem.row is None

    _fill(workbook.worksheets[0], 4)
    result = report_import_submit(_upload(_bytes(workbook)), user=reporter)
    assert (result.rows, result.skipped, result.submitted.created) == (1, 1, 1)


def test_it_refuses_a_workbook_without_the_header_row(client, reporter, reporting_producer):
    client.force_login(reporter)
    workbook = _template(reporter)
    workbook.worksheets[0].delete_rows(3)

    response = _post(client, _bytes(workbook))

    [problem] = response.context["problems"]
    assert problem.row is None
    assert ProductionReport.objects.count() == 0


# --- Files refused as a whole ------------------------------------------------------------------


def _zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("reports.csv", "统一社会信用代码,物资编码\n".encode(), ".xlsx"),
        ("reports.xlsx", "统一社会信用代码,物资编码\n".encode(), ".xlsx"),
        ("reports.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xlsx"),
        ("reports.xlsx", _zip_of({"notes.txt": b"hello"}), ".xlsx"),
        ("reports.xlsm", b"PK", "宏"),
    ],
    ids=["csv", "renamed-csv", "xls", "other-zip", "xlsm"],
)
def test_it_refuses_files_that_are_not_xlsx(
    client, reporter, reporting_producer, name, content, expected
):
    client.force_login(reporter)

    response = _post(client, content, name=name)

    assert response.status_code == 400
    assert expected in response.context["refusal"]
    assert ProductionReport.objects.count() == 0


def test_it_refuses_a_corrupt_workbook(client, reporter, reporting_producer):
    client.force_login(reporter)
    good = _bytes(_template(reporter))
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                info, data[: len(data) // 2] if info.filename.endswith("sheet1.xml") else data
            )

    response = _post(client, buffer.getvalue())

    assert response.context["refusal"]
    assert ProductionReport.objects.count() == 0


def test_it_refuses_a_file_above_the_size_limit(client, reporter, reporting_producer, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_BYTES": 4000}
    client.force_login(reporter)
    workbook = _template(reporter)
    _fill(workbook.worksheets[0], 4)
    content = _bytes(workbook)
    assert len(content) > 4000

    response = _post(client, content)

    assert "3.9" in response.context["refusal"]
    assert ProductionReport.objects.count() == 0


def test_it_refuses_an_upload_without_a_file(client, reporter):
    client.force_login(reporter)

    response = client.post(URL, {})

    assert response.status_code == 400
    assert response.context["refusal"]


# --- Permissions and the page ------------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "leader", "outsider"])
@pytest.mark.parametrize("url", [URL, TEMPLATE_URL])
def test_it_is_forbidden_to_roles_that_do_not_report(
    client, request, role, url, reporting_producer
):
    user = request.getfixturevalue(role)
    client.force_login(user)
    workbook = _template(request.getfixturevalue("office"))
    _fill(workbook.worksheets[0], 4)

    assert client.get(url).status_code == 403
    assert _post(client, _bytes(workbook)).status_code == 403
    assert ProductionReport.objects.count() == 0


@pytest.mark.parametrize("url", [URL, TEMPLATE_URL])
def test_it_sends_anonymous_users_to_login(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_page_offers_the_template_and_names_the_reporters_producers(
    client, reporter, reporting_producer, django_assert_max_num_queries
):
    client.force_login(reporter)

    with django_assert_max_num_queries(8):
        response = client.get(URL)

    text = response.content.decode()
    assert TEMPLATE_URL in text
    assert 'enctype="multipart/form-data"' in text
    assert "兰州防护用品厂" in text


def test_a_reporter_of_no_producer_gets_an_empty_template(
    client, outsider_reporter, reporting_producer
):
    client.force_login(outsider_reporter)

    assert 'id="no-producers"' in client.get(URL).content.decode()
    ws = load_workbook(io.BytesIO(client.get(TEMPLATE_URL).content)).worksheets[0]
    assert ws.max_row == 3


def test_it_answers_400_to_a_refused_file_and_saves_nothing(
    client, reporter, reporting_producer, masks, settings
):
    """A refused upload is a refused request: the page with its messages, answered 400, so a
    script posting files sees it failed. The form itself is 200."""
    client.force_login(reporter)
    assert client.get(URL).status_code == 200
    workbook = _template(reporter)
    _fill(workbook.worksheets[0], 4)
    _fill(workbook.worksheets[0], 5, output=-1)
    valid_but_one = _bytes(workbook)

    with_a_problem = _post(client, valid_but_one)

    assert with_a_problem.status_code == 400
    assert {(p.row, p.column) for p in with_a_problem.context["problems"]} == {(5, "G")}
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_BYTES": 1000}

    too_large = _post(client, valid_but_one)

    assert too_large.status_code == 400
    assert too_large.context["refusal"]
    assert ProductionReport.objects.count() == 0
