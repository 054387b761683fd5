"""Excel import of daily figures: the template, the upload, every problem at once, nothing
saved unless the whole file is valid."""

import datetime as dt
import io
import zipfile
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from inventory.imports import (
    XLSX_CONTENT_TYPE,
    DailyImportInvalid,
    daily_import_submit,
    daily_import_template,
)
from inventory.models import DailyFigure
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = dt.date(2020, 2, 10)
URL = reverse("inventory:daily_import")
TEMPLATE_URL = reverse("inventory:daily_import_template")
HEADERS = [
    "Prefecture code",
    "Prefecture",
    "Item code",
    "Item",
    "Unit",
    "Last stock",
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


@pytest.fixture
def items(n95):
    return [n95, ItemFactory(code="XD001", name_zh="84消毒液", name_en="84 disinfectant")]


def _row(prefecture, item, figures=(100, 5, 10, 12, 0)):
    return [prefecture, "", item, "", "", None, *figures]


def _xlsx(rows, *, date=TODAY, headers=HEADERS, sheet="日报", extra=None) -> bytes:
    """A workbook in the template's layout: title, a labelled date, a hint, headers, rows."""
    workbook = Workbook()
    ws = workbook.active
    ws.title = sheet
    ws.append(["Daily figures"])
    ws.append(["Date", date])
    ws.append(["hint"])
    ws.append(headers)
    for row in rows:
        ws.append(row)
    if extra:
        extra(ws)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _upload(content, name="daily.xlsx"):
    return SimpleUploadedFile(name, content, content_type=XLSX_CONTENT_TYPE)


def _post(client, content, name="daily.xlsx", follow=False, **data):
    return client.post(URL, {"file": _upload(content, name), **data}, follow=follow)


def _cells(response):
    return {(p.sheet, p.row, p.column) for p in response.context["problems"]}


def test_it_saves_every_row_of_a_valid_file_and_counts_them(client, officer, items):
    client.force_login(officer)
    content = _xlsx([_row("620100", "FH001"), _row("620100", "XD001", (7, 0, 1, 2, 3))])

    response = _post(client, content, follow=True)

    assert response.redirect_chain[-1][0] == URL
    assert DailyFigure.objects.filter(prefecture=officer.prefecture, date=TODAY).count() == 2
    figure = DailyFigure.objects.get(item__code="XD001")
    assert figure.figures() == {
        "stock": 7,
        "received": 0,
        "consumption": 1,
        "demand": 2,
        "expected_arrivals_3d": 3,
    }
    assert figure.submitted_by == officer
    [message] = response.context["messages"]
    assert "2" in str(message)

    again = daily_import_submit(_upload(content), user=officer)
    assert (again.submitted.created, again.submitted.updated, again.submitted.unchanged) == (
        0,
        0,
        2,
    )


def test_it_reports_five_different_errors_with_row_and_column_and_saves_nothing(
    client, officer, items
):
    ItemFactory(code="K01")
    ItemFactory(code="K02")
    client.force_login(officer)
    content = _xlsx(
        [
            _row("620100", "FH001"),  # row 5: fine
            _row("620100", "ZZ999"),  # row 6: unknown item
            _row("620100", "XD001", (-5, 0, 1, 1, 0)),  # row 7: negative stock
            _row("620100", "K01", (10, 1.5, 1, 1, 0)),  # row 8: received not whole
            _row("620100", "K02", (10, 1, None, 1, 0)),  # row 9: consumption empty
            _row("620100", "FH001"),  # row 10: same as row 5
        ]
    )

    response = _post(client, content)

    assert response.status_code == 400
    assert DailyFigure.objects.count() == 0
    assert _cells(response) == {
        ("日报", 6, "C"),
        ("日报", 7, "G"),
        ("日报", 8, "H"),
        ("日报", 9, "I"),
        ("日报", 10, "C"),
    }
    text = response.content.decode()
    assert "未保存任何数据" in text
    for message in ("不能为负数", "请输入整数", "此项为必填项"):
        assert message in text


def test_it_reports_problems_in_english_when_chosen(client, officer, items):
    client.force_login(officer)
    client.cookies["django_language"] = "en"
    content = _xlsx([_row("620100", "FH001", (-5, 0, 1, 1, 0))])

    response = _post(client, content)

    [problem] = response.context["problems"]
    assert (problem.row, problem.column, problem.header) == (5, "G", "Stock")
    assert problem.message == "Must be zero or more."
    assert "Nothing was saved" in response.content.decode()


def test_it_refuses_an_officers_file_for_another_prefecture(client, officer, items, tianshui):
    client.force_login(officer)
    content = _xlsx([_row("620100", "FH001"), _row("620500", "XD001")])

    response = _post(client, content)

    assert response.status_code == 400
    assert DailyFigure.objects.count() == 0
    [problem] = response.context["problems"]
    assert (problem.row, problem.column) == (6, "A")
    assert "620500" in problem.message


def test_it_reads_an_officers_file_without_a_prefecture_column_as_theirs(officer, items):
    headers = [h for h in HEADERS if h not in ("Prefecture code", "Prefecture")]
    content = _xlsx([["FH001", "", "", None, 100, 5, 10, 12, 0]], headers=headers)

    result = daily_import_submit(_upload(content), user=officer)

    assert result.submitted.created == 1
    assert DailyFigure.objects.get().prefecture == officer.prefecture


def test_it_saves_an_office_file_holding_several_prefectures(office, items, lanzhou, tianshui):
    content = _xlsx(
        [
            _row("620100", "FH001"),
            _row("620100", "XD001"),
            _row(620500, "FH001"),  # a code Excel turned into a number
            _row("620500", "XD001"),
        ]
    )

    result = daily_import_submit(_upload(content), user=office)

    assert result.submitted.created == 4
    assert DailyFigure.objects.filter(prefecture=lanzhou).count() == 2
    assert DailyFigure.objects.filter(prefecture=tianshui).count() == 2


def test_it_reads_every_sheet_and_names_the_sheet_of_each_problem(office, items, lanzhou, tianshui):
    workbook = load_workbook(io.BytesIO(_xlsx([_row("620100", "FH001")], sheet="兰州")))
    second = workbook.create_sheet("天水")
    for row in (["Date", TODAY], [], [], HEADERS, _row("620500", "FH001", (1, 1, "x", 1, 1))):
        second.append(row)
    workbook.create_sheet("说明").append(["notes without a header are ignored"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    with pytest.raises(DailyImportInvalid) as caught:
        daily_import_submit(_upload(buffer.getvalue()), user=office)

    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.column) == ("天水", 5, "I")
    assert DailyFigure.objects.count() == 0


def test_it_asks_the_office_to_name_the_prefecture(client, office, items):
    client.force_login(office)
    headers = [h for h in HEADERS if h not in ("Prefecture code", "Prefecture")]
    content = _xlsx([["FH001", "", "", None, 100, 5, 10, 12, 0]], headers=headers)

    response = _post(client, content)

    [problem] = response.context["problems"]
    assert (problem.row, problem.column) == (4, "")
    assert DailyFigure.objects.count() == 0


def test_it_refuses_formulas_naming_sheet_and_cell(client, officer, items):
    client.force_login(officer)

    def formulas(ws):
        ws["B2"] = "=TODAY()"
        ws["G5"] = "=100+1"
        ws["D6"] = "=B2"

    content = _xlsx([_row("620100", "FH001"), _row("620100", "XD001")], extra=formulas)

    response = _post(client, content)

    assert DailyFigure.objects.count() == 0
    # Only the formulas: the date and stock they stand for are not judged a second time.
    assert _cells(response) == {("日报", 2, "B"), ("日报", 5, "G"), ("日报", 6, "D")}
    assert all("公式" in p.message for p in response.context["problems"])


def _with_member(content, name, data=b"x"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("daily.xlsm", lambda ok: ok, "宏"),
        ("daily.xlsx", lambda ok: _with_member(ok, "xl/vbaProject.bin"), "宏"),
        ("daily.xlsx", lambda ok: "市州代码,物资编码\n620100,FH001\n".encode(), ".xlsx"),
        ("daily.csv", lambda ok: "市州代码,物资编码\n620100,FH001\n".encode(), ".xlsx"),
        ("daily.xls", lambda ok: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xlsx"),
        ("daily.xlsx", lambda ok: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xlsx"),
        ("daily.xlsx", lambda ok: _zip_of({"notes.txt": b"hello"}), ".xlsx"),
    ],
    ids=["xlsm", "vba-inside", "renamed-csv", "csv", "xls", "renamed-xls", "other-zip"],
)
def test_it_refuses_macros_and_files_that_are_not_xlsx(
    client, officer, items, name, make, expected
):
    client.force_login(officer)
    ok = _xlsx([_row("620100", "FH001")])

    response = _post(client, make(ok), name=name)

    assert response.status_code == 400
    assert expected in response.context["refusal"]
    assert DailyFigure.objects.count() == 0


def _zip_of(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_it_refuses_a_file_above_the_size_limit(client, officer, items, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_BYTES": 4000}
    client.force_login(officer)
    content = _xlsx([_row("620100", "FH001")])
    assert len(content) > 4000

    response = _post(client, content)

    assert "3.9" in response.context["refusal"]  # the limit, as Django writes a size
    assert DailyFigure.objects.count() == 0


def test_it_refuses_an_upload_without_a_file(client, officer):
    client.force_login(officer)
    response = client.post(URL, {})
    assert response.status_code == 400
    assert response.context["refusal"]


def test_it_reports_a_missing_column_once_not_on_every_row(officer, items):
    headers = [h if h != "Demand" else "Remarks" for h in HEADERS]
    content = _xlsx([_row("620100", "FH001"), _row("620100", "XD001")], headers=headers)

    with pytest.raises(DailyImportInvalid) as caught:
        daily_import_submit(_upload(content), user=officer)

    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (4, "")
    assert "需求" in problem.message


def test_it_reports_an_inactive_prefecture_left_out_of_the_file_on_its_rows(officer, items):
    officer.prefecture.active = False
    officer.prefecture.save()
    headers = [h for h in HEADERS if h not in ("Prefecture code", "Prefecture")]
    content = _xlsx([["FH001", "", "", None, 100, 5, 10, 12, 0]], headers=headers)

    with pytest.raises(DailyImportInvalid) as caught:
        daily_import_submit(_upload(content), user=officer)

    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.field) == (5, "", "prefecture")
    assert DailyFigure.objects.count() == 0


def test_it_refuses_a_workbook_without_the_header_row(client, officer, items):
    client.force_login(officer)
    content = _xlsx([["620100", "FH001", 5]], headers=["a", "b", "c"])
    response = _post(client, content)
    [problem] = response.context["problems"]
    assert problem.row is None
    assert DailyFigure.objects.count() == 0


def test_it_reports_a_date_too_old_for_an_officer_once_at_the_date_cell(client, officer, items):
    client.force_login(officer)
    old = TODAY - dt.timedelta(days=8)
    content = _xlsx([_row("620100", "FH001"), _row("620100", "XD001")], date=old)

    response = _post(client, content)

    assert _cells(response) == {("日报", 2, "B")}
    assert DailyFigure.objects.count() == 0


def test_it_reports_a_future_date(officer, items):
    content = _xlsx([_row("620100", "FH001")], date=TODAY + dt.timedelta(days=1))
    with pytest.raises(DailyImportInvalid) as caught:
        daily_import_submit(_upload(content), user=officer)
    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.field) == (2, "B", "date")


def test_it_reads_a_date_column_beside_the_labelled_date(office, items, lanzhou):
    yesterday = TODAY - dt.timedelta(days=1)
    content = _xlsx(
        [
            [*_row("620100", "FH001"), None],
            [*_row("620100", "FH001"), yesterday.isoformat()],
        ],
        headers=[*HEADERS, "日期"],
    )

    result = daily_import_submit(_upload(content), user=office)

    assert result.submitted.created == 2
    assert set(DailyFigure.objects.values_list("date", flat=True)) == {TODAY, yesterday}


def test_it_needs_a_reason_to_correct_a_past_date(client, officer, items, lanzhou):
    yesterday = TODAY - dt.timedelta(days=1)
    DailyFigureFactory(prefecture=lanzhou, item=items[0], date=yesterday, stock=100)
    client.force_login(officer)
    content = _xlsx([_row("620100", "FH001", (90, 0, 10, 10, 0))], date=yesterday)

    response = _post(client, content)

    assert _cells(response) == {("日报", 5, "C")}
    assert DailyFigure.objects.get().stock == 100

    response = _post(client, content, reason="counted again")

    assert response.status_code == 302
    figure = DailyFigure.objects.get()
    assert figure.stock == 90
    assert figure.history.first().history_change_reason == "counted again"


def test_it_skips_rows_without_figures_and_refuses_a_file_without_any(officer, items):
    content = _xlsx([_row("620100", "FH001"), _row("620100", "XD001", (None,) * 5), []])
    result = daily_import_submit(_upload(content), user=officer)
    assert (result.rows, result.skipped) == (1, 1)

    empty = _xlsx([_row("620100", "FH001", (None,) * 5)])
    with pytest.raises(DailyImportInvalid) as caught:
        daily_import_submit(_upload(empty), user=officer)
    assert len(caught.value.problems) == 1


# --- The template ----------------------------------------------------------------------------


def _sheet(content):
    return load_workbook(io.BytesIO(content)).worksheets[0]


def test_the_template_round_trips_from_download_to_saved_figures(client, officer, items, lanzhou):
    DailyFigureFactory(
        prefecture=lanzhou, item=items[0], date=TODAY - dt.timedelta(days=2), stock=4321
    )
    ItemFactory(code="NK001", is_key=False)
    client.force_login(officer)

    response = client.get(TEMPLATE_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    ws = workbook.worksheets[0]
    assert ws["B2"].value.date() == TODAY
    rows = {ws.cell(row, 3).value: row for row in range(5, ws.max_row + 1)}
    assert set(rows) == {"FH001", "XD001"}
    assert ws.cell(rows["FH001"], 1).value == "620100"
    assert ws.cell(rows["FH001"], 7).value == 4321  # stock prefilled with the last stock
    assert ws.cell(rows["XD001"], 7).value is None
    ws.cell(rows["XD001"], 7).value = 50
    for row in rows.values():
        for column, value in zip(range(8, 12), (1, 2, 3, 4), strict=True):
            ws.cell(row, column).value = value
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = _post(client, buffer.getvalue())

    assert response.status_code == 302
    saved = {f.item.code: f.figures() for f in DailyFigure.objects.filter(date=TODAY)}
    assert saved["FH001"] == {
        "stock": 4321,
        "received": 1,
        "consumption": 2,
        "demand": 3,
        "expected_arrivals_3d": 4,
    }
    assert saved["XD001"]["stock"] == 50


def test_the_template_headers_are_chinese_by_default_and_english_when_chosen(items, lanzhou):
    chinese = _sheet(daily_import_template(prefecture=lanzhou, date=TODAY))
    assert [c.value for c in chinese[4]][2:] == [
        "物资编码",
        "物资",
        "单位",
        "上次库存",
        "库存",
        "到货",
        "消耗",
        "需求",
        "预计3日内到货",
    ]
    assert chinese["A2"].value == "日期"

    with translation.override("en"):
        english = _sheet(daily_import_template(prefecture=lanzhou, date=TODAY))
    assert [c.value for c in english[4]] == HEADERS


def test_an_english_template_imports_from_the_chinese_page(client, officer, items):
    client.force_login(officer)
    with translation.override("en"):
        content = daily_import_template(prefecture=officer.prefecture, date=TODAY)
    workbook = load_workbook(io.BytesIO(content))
    ws = workbook.worksheets[0]
    for row in (5, 6):
        for column in range(7, 12):
            ws.cell(row, column).value = 1
    buffer = io.BytesIO()
    workbook.save(buffer)

    assert _post(client, buffer.getvalue()).status_code == 302
    assert DailyFigure.objects.count() == 2


def test_the_template_validates_whole_numbers_and_greys_the_reference_cells(items, lanzhou):
    ws = _sheet(daily_import_template(prefecture=lanzhou, date=TODAY))

    [validation] = ws.data_validations.dataValidation
    assert (validation.type, validation.operator, validation.formula1) == (
        "whole",
        "greaterThanOrEqual",
        "0",
    )
    assert str(validation.sqref) == "G5:K6"
    assert validation.showErrorMessage and "整数" in validation.error
    assert ws.freeze_panes == "A5"
    assert ws.column_dimensions["D"].width > ws.column_dimensions["E"].width
    assert ws["C5"].fill.fgColor.rgb.endswith("E7E9EC")  # item code: grey
    assert ws["G5"].fill.fgColor.rgb in (None, "00000000")  # stock: to be filled in


def test_the_office_downloads_one_sheet_for_every_prefecture(client, office, items, lanzhou):
    PrefectureFactory(code="620500", name_zh="天水市")
    PrefectureFactory(code="620600", active=False)
    DailyFigureFactory(prefecture=lanzhou, item=items[0], date=TODAY - dt.timedelta(days=1))
    client.force_login(office)

    response = client.get(TEMPLATE_URL, {"prefecture": "ALL", "date": "2020-02-09"})

    ws = _sheet(response.content)
    assert ws["B2"].value.date() == dt.date(2020, 2, 9)
    keys = [(ws.cell(r, 1).value, ws.cell(r, 3).value) for r in range(5, ws.max_row + 1)]
    assert keys == [
        ("620100", "FH001"),
        ("620100", "XD001"),
        ("620500", "FH001"),
        ("620500", "XD001"),
    ]
    # The figures of the day are already reported for one row: the sheet shows them.
    assert ws.cell(5, 7).value == 100
    assert ws.cell(6, 7).value is None

    # The office fills in one prefecture of the sheet; the rows left blank are skipped.
    workbook = ws.parent
    for column in range(7, 12):
        ws.cell(7, column).value = 3
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = _post(client, buffer.getvalue(), follow=True)
    [message] = response.context["messages"]
    assert "1" in str(message) and "2" in str(message)  # 1 new, 1 unchanged, 2 skipped
    figure = DailyFigure.objects.get(prefecture__code="620500")
    assert (figure.date, figure.item.code, figure.stock) == (dt.date(2020, 2, 9), "FH001", 3)


def test_an_officer_always_downloads_their_own_prefecture(client, officer, items, tianshui):
    client.force_login(officer)
    response = client.get(TEMPLATE_URL, {"prefecture": "620500"})
    ws = _sheet(response.content)
    assert {ws.cell(r, 1).value for r in range(5, ws.max_row + 1)} == {"620100"}


# --- Permissions and the page ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["leader", "reporter"])
@pytest.mark.parametrize("url", [URL, TEMPLATE_URL])
def test_it_is_forbidden_to_roles_that_do_not_report(client, request, role, url, items):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url).status_code == 403
    assert _post(client, _xlsx([_row("620100", "FH001")])).status_code == 403
    assert DailyFigure.objects.count() == 0


@pytest.mark.parametrize("url", [URL, TEMPLATE_URL])
def test_it_sends_anonymous_users_to_login(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_page_offers_the_template_and_is_linked_from_the_entry_form(
    client, office, items, lanzhou, django_assert_max_num_queries
):
    client.force_login(office)
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    text = response.content.decode()
    assert TEMPLATE_URL in text
    assert 'enctype="multipart/form-data"' in text
    assert 'value="ALL"' in text
    assert URL in client.get(reverse("inventory:daily_entry")).content.decode()


def test_it_refuses_a_workbook_whose_sheet_is_damaged(client, officer, items):
    """The zip opens but the sheet's XML is cut in half: openpyxl fails only while reading the
    rows. That is a refusal naming the file, not a server error, and nothing is saved."""
    good = _xlsx([_row("620100", "FH001")])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                info, data[: len(data) // 2] if info.filename.endswith("sheet1.xml") else data
            )
    client.force_login(officer)

    response = _post(client, buffer.getvalue())

    assert response.status_code == 400
    assert response.context["refusal"]
    assert not DailyFigure.objects.exists()


def test_only_office_staff_are_told_one_file_may_hold_several_prefectures(
    client, office, officer, lanzhou
):
    """The upload step is shared with the production import; its extra hint is the page's."""
    hint = "One file may hold several prefectures"
    for user, shown in ((office, True), (officer, False)):
        client.force_login(user)
        client.cookies["django_language"] = "en"
        html = client.get(URL).content.decode()
        assert 'id="daily-import-form"' in html
        assert (hint in html) is shown


def test_it_answers_400_to_a_refused_file_and_saves_nothing(client, officer, items, settings):
    """A refused upload is a refused request: the page with its messages, answered 400, so a
    script posting files sees it failed. The form itself is 200."""
    client.force_login(officer)
    assert client.get(URL).status_code == 200
    valid_but_one = _xlsx([_row("620100", "FH001"), _row("620100", "XD001", (-1, 0, 0, 0, 0))])

    with_a_problem = _post(client, valid_but_one)

    assert with_a_problem.status_code == 400
    assert _cells(with_a_problem) == {("日报", 6, "G")}
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "IMPORT_MAX_BYTES": 1000}

    too_large = _post(client, valid_but_one)

    assert too_large.status_code == 400
    assert too_large.context["refusal"]
    assert not DailyFigure.objects.exists()
