"""The daily report and the spot-check notice list on the one exporter base: print-ready xlsx,
the same table in CSV and xlsx, totals per unit, and the daily report's xlsx in the
background above the row threshold."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from reports.exports import DailyReportExport, SpotCheckNoticeExport
from reports.services import snapshot_build_for_date
from supplycoord.exports import HEADER_ROW
from supplycoord.models import ExportJob, ExportStatus, Unit
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_rows,
    csv_text,
    xlsx_of,
)
from tests.factories import DailyFigureFactory, ItemFactory, ProvinceFactory
from tests.reports.test_decision_pages import D, seed

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2020, 2, 10)


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def snapshot(frozen, lanzhou, tianshui, n95):
    """Lanzhou holds 200 N95 (pieces) and 7 boxes of gloves, Tianshui 1,000 N95 and no
    figure of gloves: four snapshot rows."""
    ProvinceFactory()
    gloves = ItemFactory(code="FH009", unit=Unit.BOX, is_key=True)
    for prefecture, item, stock in (
        (lanzhou, n95, 200),
        (tianshui, n95, 1000),
        (lanzhou, gloves, 7),
    ):
        DailyFigureFactory(prefecture=prefecture, item=item, date=DAY, stock=stock, consumption=10)
    snapshot_build_for_date(date=DAY)


def test_the_daily_report_totals_each_unit_on_its_own(leader, snapshot):
    export = DailyReportExport(leader, {"date": DAY.isoformat()})

    header, *_rows, first_total, second_total = csv_rows(csv_text(export))

    stock, unit = header.index("库存"), header.index("单位")
    # 200 + 1,000 pieces of N95 = 1,200; 7 boxes of gloves on their own: never 1,207.
    totals = {row[unit]: row[stock] for row in (first_total, second_total)}
    assert totals == {"只": "1200", "盒": "7"}


def test_the_daily_report_prints_as_a_ledger_and_its_csv_is_its_xlsx(leader, snapshot):
    export = DailyReportExport(leader, {"date": DAY.isoformat()})

    book = xlsx_of(export)

    sheet = book.active
    assert sheet.title == "日报汇总"
    assert export.filename("xlsx") == "日报汇总-2020-02-10.xlsx"
    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    date = sheet.cell(row=HEADER_ROW + 1, column=1)
    assert date.is_date and date.value == dt.datetime(2020, 2, 10)
    assert assert_number_and_date_cells(sheet, export)["date"] == 4 + 2  # and the province rows
    # The header, 4 prefecture rows, a total per unit (2), a province row per item (2).
    assert len(assert_same_table(csv_text(export), sheet, export)) == 1 + 4 + 2 + 2


def test_a_large_daily_report_is_written_in_the_background(
    client, leader, snapshot, settings, django_capture_on_commit_callbacks
):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "DAILY_REPORT_EXPORT_ASYNC_ROWS": 2}
    client.force_login(leader)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("reports:export", args=["xlsx"]), {"date": "2020-02-10"})

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[job.pk])
    # 4 prefecture rows, a total per unit (2), a province row per item with its coverage (2).
    assert (job.status, job.row_count, job.requested_by) == (ExportStatus.DONE, 4 + 2 + 2, leader)
    download = client.get(reverse("exports:download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    assert sheet.max_row == HEADER_ROW + 4 + 2 + 2
    # A CSV streams in constant memory however long: never a job.
    csv = client.get(reverse("reports:export", args=["csv"]), {"date": "2020-02-10"})
    assert csv.status_code == 200


@pytest.fixture
def flagged(lanzhou, tianshui, n95):
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        ProvinceFactory()
        seed(n95, 7, first=[lanzhou, tianshui])
        yield


def test_the_spot_check_notice_list_prints_and_its_csv_is_its_xlsx(office, flagged):
    export = SpotCheckNoticeExport(office, {"date": D.isoformat()})

    sheet = xlsx_of(export).active

    assert sheet.title == "通报名单"
    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    figure = sheet.cell(row=HEADER_ROW + 1, column=3)
    assert (figure.value, figure.number_format) == (5.0, "#,##0.00")
    assert assert_number_and_date_cells(sheet, export)["number"] >= 3
    assert len(assert_same_table(csv_text(export), sheet, export)) >= 2
