"""The daily report export at national scale (issue 13): names and units read once per export,
not per row; the CSV streamed; the xlsx over its row threshold written by a background job
holding the same rows as the CSV."""

import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from inventory.models import DailyFigure
from reports.exports import DailyReportExport
from reports.services import snapshot_build_for_date
from supplycoord.models import ExportJob, ExportStatus, Unit
from tests.export_checks import assert_same_table, csv_rows, csv_text
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, ProvinceFactory

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2020, 2, 10)
UNITS = [Unit.PIECE, Unit.BOX, Unit.SET, Unit.BOTTLE, Unit.PAIR]


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


def build(prefectures: int, items: int):
    """`prefectures` × `items` snapshot rows of DAY (every item key, each its own unit)."""
    ProvinceFactory()
    places = [PrefectureFactory(code=f"62{n + 1:02d}00") for n in range(prefectures)]
    goods = [ItemFactory(code=f"T{n + 1:03d}", unit=UNITS[n % len(UNITS)]) for n in range(items)]
    for place in places:
        for item in goods:
            if not DailyFigure.objects.filter(prefecture=place, item=item, date=DAY).exists():
                DailyFigureFactory(prefecture=place, item=item, date=DAY, stock=100)
    snapshot_build_for_date(date=DAY)


def queries_of_an_export(user) -> int:
    export = DailyReportExport(user, {"date": DAY.isoformat()})
    with CaptureQueriesContext(connection) as queries:
        text = csv_text(export)
    assert len(csv_rows(text)) > 1
    return len(queries.captured_queries)


def test_it_reads_names_and_units_once_per_export_not_per_row(leader, frozen):
    build(5, 1)
    five = queries_of_an_export(leader)

    build(10, 5)  # 50 rows, five units

    assert queries_of_an_export(leader) == five


def test_each_row_names_its_items_unit(leader, frozen):
    build(2, 3)

    header, *rows = csv_rows(csv_text(DailyReportExport(leader, {"date": DAY.isoformat()})))

    code, unit = header.index("物资编码"), header.index("单位")
    units = {row[code]: row[unit] for row in rows if row[code]}
    assert units == {"T001": "只", "T002": "盒", "T003": "套"}


def test_the_csv_is_streamed_and_is_the_exporters_csv(client, leader, frozen):
    build(3, 2)
    client.force_login(leader)

    response = client.get(reverse("reports:export", args=["csv"]), {"date": DAY.isoformat()})

    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body == csv_text(DailyReportExport(leader, {"date": DAY.isoformat()}))


def test_an_xlsx_over_the_threshold_is_a_job_whose_file_holds_the_csvs_rows(
    client, leader, frozen, settings, django_capture_on_commit_callbacks
):
    build(3, 2)  # 6 rows, a total per unit (2), a province row per item (2)
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "DAILY_REPORT_EXPORT_ASYNC_ROWS": 5}
    client.force_login(leader)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("reports:export", args=["xlsx"]), {"date": DAY.isoformat()})

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exports:job", args=[job.pk])
    assert (job.status, job.row_count) == (ExportStatus.DONE, 6 + 2 + 2)
    download = client.get(reverse("exports:download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    export = DailyReportExport(leader, {"date": DAY.isoformat()})
    assert len(assert_same_table(csv_text(export), sheet, export)) == 1 + 6 + 2 + 2


def test_an_xlsx_at_the_threshold_is_downloaded_at_once(client, leader, frozen, settings):
    build(3, 2)
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "DAILY_REPORT_EXPORT_ASYNC_ROWS": 6}
    client.force_login(leader)

    response = client.get(reverse("reports:export", args=["xlsx"]), {"date": DAY.isoformat()})

    assert response.status_code == 200
    assert not ExportJob.objects.exists()
