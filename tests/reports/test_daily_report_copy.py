"""The daily report's CSV through COPY (issue 13) writes byte for byte what the generic writer
writes: header with BOM, names people typed made formula-safe and quoted as the csv module
quotes them, floats as Python writes them, labels in the request's language, empty cells,
CRLF line ends, totals per unit, the province rows; scoped to the caller as the rows are."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from reports import exports as report_exports
from reports.exports import DailyReportExport, daily_report_csv_lines
from reports.models import SnapshotRow
from reports.services import snapshot_build_for_date
from supplycoord.exports import csv_float_sql, csv_lines
from supplycoord.models import Item, Prefecture, Unit
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, ProvinceFactory

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = dt.date(2020, 2, 10)


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def tricky(frozen, lanzhou, tianshui, n95):
    """Three prefectures × three items in three units, names as people type them."""
    ProvinceFactory()
    gloves = ItemFactory(code="FH009", unit=Unit.BOX, is_key=True)
    kits = ItemFactory(code="-FH010", unit=Unit.SET, is_key=True)
    third = PrefectureFactory(code="620300")
    for prefecture in (lanzhou, tianshui, third):
        for item in (n95, gloves, kits):
            DailyFigureFactory(prefecture=prefecture, item=item, date=DAY, stock=100)
    snapshot_build_for_date(date=DAY)
    Prefecture.objects.filter(pk=lanzhou.pk).update(
        name_zh='=HYPERLINK("http://x","兰州")', name_en="  \n+Lanzhou, city"
    )
    Prefecture.objects.filter(pk=tianshui.pk).update(name_zh="\t天水", name_en="")
    Prefecture.objects.filter(pk=third.pk).update(name_zh='嘉峪关 "雄关"\r\n二行', name_en="@Jiayu")
    Item.objects.filter(pk=n95.pk).update(name_zh="-口罩, N95", name_en='"N95", mask\nline 2')
    Item.objects.filter(pk=gloves.pk).update(name_zh=" 手套", name_en="")
    rows = SnapshotRow.objects.filter(date=DAY)
    # Stale stock, no days of cover, whole and half days, figures as large as the columns
    # hold (Python writes 1e+16 and 1234567890123456.8, PostgreSQL 1e+16 and 1.23…e+15).
    rows.filter(prefecture=lanzhou, item=n95).update(
        stock_is_stale=True,
        days_of_cover=None,
        projected_days_of_cover=None,
        avg_consumption_7d=Decimal("1234567890123456.7891"),
    )
    rows.filter(prefecture=tianshui, item=n95).update(
        days_of_cover=Decimal("10.00"),
        projected_days_of_cover=Decimal("0.00"),
        avg_consumption_7d=Decimal("9999999999999999.9999"),
        stock=None,
        demand=None,
    )
    rows.filter(prefecture=third, item=gloves).update(
        days_of_cover=Decimal("999999999999.99"),
        projected_days_of_cover=Decimal("0.01"),
        avg_consumption_7d=Decimal("0.0001"),
        stock=-5,
    )
    rows.filter(prefecture=third, item=kits).update(
        days_of_cover=Decimal("-3.25"), avg_consumption_7d=Decimal("1000000000000000.0000")
    )
    return {"gloves": gloves, "kits": kits, "third": third}


def both(export):
    return "".join(csv_lines(export)), "".join(daily_report_csv_lines(export))


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_copy_path_writes_byte_for_byte_what_the_generic_writer_writes(
    leader, tricky, language
):
    with translation.override(language):
        generic, copied = both(DailyReportExport(leader, {"date": DAY.isoformat()}))

    assert copied == generic
    assert copied.startswith("\ufeff") and copied.count("\r\n") >= 1 + 9 + 3 + 3
    assert "'=HYPERLINK(" in copied or "'  \n+Lanzhou" in copied
    assert "1234567890123456.8" in copied and "1e+16" in copied and ",10.0," in copied
    yes = "yes" if language == "en" else "是"
    assert f",{yes}," in copied


def test_it_is_the_generic_csv_for_one_prefecture_an_officer_and_an_empty_day(
    leader, officer, tricky, lanzhou
):
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for export in (
                DailyReportExport(leader, {"date": DAY.isoformat(), "prefecture": "620300"}),
                DailyReportExport(officer, {"date": DAY.isoformat()}),
                DailyReportExport(leader, {"date": (DAY + dt.timedelta(days=1)).isoformat()}),
            ):
                generic, copied = both(export)
                assert copied == generic

    # The officer's file holds Lanzhou only: its three rows, a total per unit, no province.
    officer_csv = "".join(
        daily_report_csv_lines(DailyReportExport(officer, {"date": "2020-02-10"}))
    )
    lines = officer_csv.split("\r\n")
    assert sum(line.startswith("2020-02-10,620100,") for line in lines) == 3
    assert "620200" not in officer_csv and "620300" not in officer_csv


def test_its_queries_do_not_grow_with_the_rows(leader, tricky):
    def queries():
        export = DailyReportExport(leader, {"date": DAY.isoformat()})
        with CaptureQueriesContext(connection) as captured:
            "".join(daily_report_csv_lines(export))
        return len(captured.captured_queries)

    few = queries()
    for n in range(4):
        item = ItemFactory(code=f"T{n:03d}", unit=Unit.PAIR, is_key=True)
        for prefecture in Prefecture.objects.all():
            DailyFigureFactory(prefecture=prefecture, item=item, date=DAY)
    snapshot_build_for_date(date=DAY)

    assert queries() == few


def test_the_response_streams_the_copy_path(client, leader, tricky, monkeypatch):
    used = []

    def spy(export):
        used.append(export)
        return daily_report_csv_lines(export)

    monkeypatch.setattr(report_exports, "daily_report_csv_lines", spy)
    client.force_login(leader)

    response = client.get(reverse("reports:export", args=["csv"]), {"date": DAY.isoformat()})

    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content).decode("utf-8")
    assert len(used) == 1
    assert body == "".join(csv_lines(DailyReportExport(leader, {"date": DAY.isoformat()})))


@pytest.mark.django_db
def test_floats_are_written_as_python_writes_them():
    values = [
        "0", "0.0001", "0.1", "1.5", "10", "12.50", "-3.25", "123456789012.3456",
        "999999999999999.9999", "1000000000000000", "1234567890123456.7891",
        "9999999999999999.9999", "10000000000000000", "-1234567890123456.5", "3.1429",
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {csv_float_sql('v', decimal_places=4)} FROM unnest(%s::numeric[]) WITH ORDINALITY AS t(v, n) "
            "ORDER BY n",
            [values],
        )
        written = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT {csv_float_sql('NULL::numeric', decimal_places=4)}")
        assert cursor.fetchone()[0] is None

    assert written == [repr(float(Decimal(v))) for v in values]


@pytest.mark.django_db(transaction=True)
def test_its_rows_and_totals_are_read_from_one_snapshot(client, leader, tricky):
    """The rows and the totals per unit are two COPYs: outside any transaction they run in one
    REPEATABLE READ, READ ONLY transaction, so a rebuild committing between them cannot make a
    total disagree with the rows above it."""
    client.force_login(leader)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("reports:export", args=["csv"]), {"date": DAY.isoformat()})
        b"".join(response.streaming_content)
    sqls = [q["sql"] for q in queries.captured_queries]
    [isolation] = [n for n, sql in enumerate(sqls) if "REPEATABLE READ" in sql]
    copies = [n for n, sql in enumerate(sqls) if sql.startswith("COPY")]
    assert len(copies) == 2
    assert isolation < copies[0]
