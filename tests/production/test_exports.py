"""Producer register and production ledger exports: scoped, filtered, readable files."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from production.models import (
    Licence,
    LicenceKind,
    LineStatus,
    Problem,
    ProblemCategory,
    ProducerStatus,
    ProductionLine,
)
from production.services import production_reports_submit
from supplycoord.exports import TITLE_ROWS
from tests.factories import ItemFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
LANZHOU = "兰州防护用品厂"
TIANSHUI = "天水口罩厂"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


def producers_url(fmt):
    return reverse("production:producers_export", args=[fmt])


def reports_url(fmt):
    return reverse("production:reports_export", args=[fmt])


def fetch(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def csv_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def xlsx_rows(response):
    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return sheet, [list(row) for row in sheet.iter_rows(values_only=True)][TITLE_ROWS:]


@pytest.fixture
def ledger(office, reporting_producer, other_reporting_producer, n95):
    """Two days of N95 output from each producer, entered by the office."""
    rows = []
    for day, lanzhou_output in ((dt.date(2020, 2, 9), 80_000), (DAY, 90_000)):
        rows.append(
            {
                "producer": reporting_producer,
                "item": n95,
                "date": day,
                "output": lanzhou_output,
                "to_reserve": 0,
                "to_prefectures": 30_000,
                "to_market": 10_000,
                "factory_stock": 40_000,
                "held_for_province": 15_000,
                "raw_material_days": 12,
            }
        )
        rows.append(
            {
                "producer": other_reporting_producer,
                "item": n95,
                "date": day,
                "output": 45_000,
                "factory_stock": 5_000,
            }
        )
    production_reports_submit(
        user=office, rows=rows, now=dt.datetime(2020, 2, 10, 15, 0, tzinfo=TZ)
    )


# --- Who may export what ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("office", {LANZHOU, TIANSHUI}),
        ("leader", {LANZHOU, TIANSHUI}),
        ("officer", {LANZHOU}),
        ("outsider", {TIANSHUI}),
        ("reporter", {LANZHOU}),
        ("outsider_reporter", set()),
    ],
)
def test_it_scopes_the_producer_register(
    client, role, expected, request, reporting_producer, other_reporting_producer
):
    response = fetch(client, request.getfixturevalue(role), producers_url("csv"))
    assert response.status_code == 200
    assert {row[0] for row in csv_rows(response)[1:]} == expected


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("office", {LANZHOU, TIANSHUI}),
        ("officer", {LANZHOU}),
        ("outsider", {TIANSHUI}),
        ("reporter", {LANZHOU}),
    ],
)
def test_it_scopes_the_production_ledger(client, role, expected, request, ledger):
    response = fetch(client, request.getfixturevalue(role), reports_url("csv"))
    assert response.status_code == 200
    assert {row[1] for row in csv_rows(response)[1:]} == expected


def test_it_sends_anonymous_visitors_to_log_in(client, ledger):
    assert client.get(reports_url("csv")).status_code == 302
    assert client.get(producers_url("xlsx")).status_code == 302


@pytest.mark.parametrize("fmt", ["pdf", "xls", "json"])
def test_it_has_no_other_formats(client, office, fmt):
    assert fetch(client, office, producers_url(fmt)).status_code == 404
    assert fetch(client, office, reports_url(fmt)).status_code == 404


# --- The producer register ------------------------------------------------------------------


def test_it_writes_the_register_with_capacity_licences_and_problems(
    client, office, reporter, reporting_producer, other_reporting_producer, n95
):
    reporting_producer.status = ProducerStatus.RESUMED
    reporting_producer.resumption_date = dt.date(2020, 2, 3)
    reporting_producer.provincial_whitelist_since = dt.date(2020, 2, 1)
    reporting_producer.save()
    ProductionLine.objects.create(
        producer=reporting_producer, item=n95, daily_capacity=60_000, status=LineStatus.BUILDING
    )
    for number, expires in (("A", dt.date(2020, 2, 1)), ("B", dt.date(2020, 3, 1)), ("C", None)):
        Licence.objects.create(
            producer=reporting_producer,
            kind=LicenceKind.OTHER,
            number=number,
            issued=dt.date(2019, 1, 1),
            expires=expires,
        )
    for _ in range(2):
        Problem.objects.create(
            producer=reporting_producer,
            category=ProblemCategory.LABOUR,
            description="short of workers",
            reported_by=reporter,
            reported_at=dt.datetime(2020, 2, 9, 9, 0, tzinfo=TZ),
        )

    response = fetch(client, office, producers_url("xlsx"))

    assert response.status_code == 200
    assert "2020-02-10.xlsx" in response["Content-Disposition"]
    sheet, rows = xlsx_rows(response)
    assert sheet.freeze_panes == f"A{TITLE_ROWS + 2}"
    header = rows[0]
    lanzhou = dict(zip(header, next(r for r in rows[1:] if r[0] == LANZHOU), strict=True))
    values = list(lanzhou.values())
    assert "91350100M000100Y43" in values
    assert "兰州市" in values
    # commissioned 100,000 and when all built 160,000 N95 a day, as numbers
    assert values[8:10] == [100_000, 160_000]
    # three licences, the next expiring on 1 March; two open problems
    assert values[-3:] == [3, dt.datetime(2020, 3, 1), 2]
    assert dt.datetime(2020, 2, 3) in values  # the resumption date, as a date cell


def test_it_writes_the_register_as_csv_with_a_bom(client, leader, reporting_producer):
    response = fetch(client, leader, producers_url("csv"))
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert len(rows) == 2
    assert rows[1][:3] == [LANZHOU, "91350100M000100Y43", "兰州市"]
    assert "100000" in rows[1]


def test_it_reads_the_register_in_a_fixed_number_of_queries(
    client, office, reporting_producer, other_reporting_producer, django_assert_max_num_queries
):
    surgical = ItemFactory(code="FH002")
    for producer in (reporting_producer, other_reporting_producer):
        ProductionLine.objects.create(
            producer=producer, item=surgical, daily_capacity=1, status=LineStatus.COMMISSIONED
        )
    client.force_login(office)
    with django_assert_max_num_queries(6):
        response = client.get(producers_url("csv"))
        rows = csv_rows(response)
    assert len(rows) == 3


# --- The production ledger ------------------------------------------------------------------


def test_it_writes_the_ledger_as_xlsx_with_numbers(client, office, ledger):
    response = fetch(
        client, office, reports_url("xlsx"), date_from="2020-02-10", date_to="2020-02-10"
    )

    assert response.status_code == 200
    assert "2020-02-10-2020-02-10.xlsx" in response["Content-Disposition"].replace("%2D", "-")
    sheet, rows = xlsx_rows(response)
    assert sheet.freeze_panes == f"A{TITLE_ROWS + 2}"
    assert len(rows) == 3  # header and the two producers' rows of the 10th
    lanzhou = next(r for r in rows[1:] if r[1] == LANZHOU)
    assert lanzhou[0] == dt.datetime(2020, 2, 10)
    assert lanzhou[2:4] == ["91350100M000100Y43", "FH001"]
    # output, to reserve, to prefectures, to market, shipped, factory stock, held, raw days
    assert lanzhou[6:14] == [90_000, 0, 30_000, 10_000, 40_000, 40_000, 15_000, 12]
    assert lanzhou[14] == "office"
    assert lanzhou[15] == dt.datetime(2020, 2, 10, 15, 0)


def test_it_writes_headers_in_the_ui_language(client, office, ledger):
    chinese = csv_rows(fetch(client, office, reports_url("csv")))
    assert chinese[0][0] == "日期"
    assert chinese[1][4] == "N95口罩"

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch
    english = xlsx_rows(client.get(reports_url("xlsx")))[1]
    assert english[0][:2] == ["Date", "Producer"]
    assert english[1][4] == "N95 respirator"


def test_it_writes_the_ledger_as_streamed_csv_with_a_bom(client, office, ledger):
    response = fetch(client, office, reports_url("csv"))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = csv_rows(response)
    assert len(rows) == 5
    first = rows[1]
    assert first[0] == "2020-02-09"
    assert first[1] == LANZHOU
    assert first[6] == "80000"
    assert first[10] == "40000"


def test_it_filters_the_ledger_by_dates_and_item(client, office, ledger, reporting_producer):
    surgical = ItemFactory(code="FH002")
    ProductionLine.objects.create(
        producer=reporting_producer,
        item=surgical,
        daily_capacity=1_000,
        status=LineStatus.COMMISSIONED,
    )
    production_reports_submit(
        user=office,
        rows=[
            {
                "producer": reporting_producer,
                "item": surgical,
                "date": DAY,
                "output": 900,
                "factory_stock": 0,
            }
        ],
    )

    def rows(**params):
        return csv_rows(fetch(client, office, reports_url("csv"), **params))[1:]

    assert len(rows()) == 5
    assert {r[0] for r in rows(date_from="2020-02-10")} == {"2020-02-10"}
    assert {r[0] for r in rows(date_to="2020-02-09")} == {"2020-02-09"}
    assert [r[3] for r in rows(item="FH002")] == ["FH002"]
    assert len(rows(item="FH001", date_from="2020-02-10", date_to="2020-02-10")) == 2


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "2020-02-31"},
        {"date_to": "yesterday"},
        {"date_from": "1999-12-31"},
        {"date_from": "2020-02-10", "date_to": "2020-02-09"},
        {"item": "NOPE"},
    ],
)
def test_it_refuses_unreadable_filters(client, office, ledger, params):
    response = fetch(client, office, reports_url("xlsx"), **params)
    assert response.status_code == 400
    assert response.content


def test_it_reads_the_ledger_in_a_fixed_number_of_queries(
    client, office, ledger, django_assert_max_num_queries
):
    client.force_login(office)
    with django_assert_max_num_queries(4):
        rows = csv_rows(client.get(reports_url("csv")))
    assert len(rows) == 5
