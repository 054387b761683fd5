"""Dashboard pages: who may see what, what they show, and that their query counts stay flat."""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.urls import reverse

from reports.models import ProvinceRollup, SnapshotRow
from reports.services import snapshot_build_for_date
from supplycoord.exports import TITLE_ROWS
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def province(lanzhou, tianshui, n95):
    """Two prefectures, one key item; Lanzhou red (2 days of cover), Tianshui green (10)."""
    for day in range(7):
        date = DAY - dt.timedelta(days=6 - day)
        DailyFigureFactory(
            prefecture=lanzhou, item=n95, date=date, stock=200, consumption=100, demand=120
        )
        DailyFigureFactory(
            prefecture=tianshui, item=n95, date=date, stock=1000, consumption=100, demand=80
        )
    snapshot_build_for_date(date=DAY)
    return {"lanzhou": lanzhou, "tianshui": tianshui, "n95": n95}


def test_it_shows_the_overview_grid_coloured_by_status(client, leader, province):
    client.force_login(leader)
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-prefecture="620100"' in content
    assert 'class="num s-red" data-prefecture="620100"' in content
    assert 'class="num s-green" data-prefecture="620500"' in content
    assert "2.00" in content and "10.00" in content
    # The page says which date its figures are and when they were built.
    assert "2020-02-10" in content


def test_it_shows_province_days_of_cover_and_completeness(client, leader, province):
    client.force_login(leader)
    response = client.get(reverse("reports:overview"), {"date": "2020-02-10"})
    data = response.context["data"]
    rollup = data.rollups[0]
    # (200 + 1000) / (100 + 100) = 6.00
    assert rollup.days_of_cover == pytest.approx(6)
    assert data.reported_count == 2


def test_it_sends_an_officer_from_the_overview_to_their_prefecture(client, officer, province):
    client.force_login(officer)
    response = client.get(reverse("reports:overview"))
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:prefecture", args=["620100"])


def test_it_hides_another_prefecture_page_from_an_officer(client, outsider, province):
    client.force_login(outsider)
    assert client.get(reverse("reports:prefecture", args=["620100"])).status_code == 404
    assert client.get(reverse("reports:prefecture", args=["620500"])).status_code == 200


def test_it_shows_an_officer_only_their_prefecture_on_the_item_page(client, outsider, province):
    client.force_login(outsider)
    response = client.get(reverse("reports:item", args=["FH001"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [r.prefecture.code for r in rows] == ["620500"]
    assert response.context["rollup"] is None


def test_it_sorts_the_item_page_by_days_of_cover(client, leader, province):
    client.force_login(leader)
    rows = client.get(reverse("reports:item", args=["FH001"])).context["rows"]
    assert [r.prefecture.code for r in rows] == ["620100", "620500"]


def test_it_forbids_the_dashboards_to_producer_reporters(client, reporter, province):
    client.force_login(reporter)
    assert client.get(reverse("reports:overview")).status_code == 403
    assert client.get(reverse("reports:export", args=["csv"])).status_code == 403


def test_it_swaps_the_trend_chart_for_another_item(client, leader, province):
    ItemFactory(code="XD001")
    client.force_login(leader)
    response = client.get(
        reverse("reports:trend"), {"item": "FH001", "date": "2020-02-10"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b'data-chart="trend"' in response.content
    assert b"<html" not in response.content
    series = response.context["trend"]
    assert len(series["dates"]) == 30
    assert series["stock"][-1] == 1200


def test_it_refuses_another_prefecture_trend_to_an_officer(client, outsider, province):
    client.force_login(outsider)
    url = reverse("reports:trend")
    assert client.get(url, {"item": "FH001", "prefecture": "620100"}).status_code == 404
    assert client.get(url, {"item": "FH001"}).status_code == 404


def test_it_exports_the_daily_report_to_excel_with_totals_equal_to_the_snapshot(
    client, leader, province
):
    client.force_login(leader)
    response = client.get(reverse("reports:export", args=["xlsx"]), {"date": "2020-02-10"})
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))[TITLE_ROWS:]
    # The prefecture rows, the total per unit, then one province row per item (leadership).
    header, body, totals, province_row = rows[0], rows[1:-2], rows[-2], rows[-1]
    assert sheet.freeze_panes == f"A{TITLE_ROWS + 2}"
    assert "库存" in header  # Chinese headers by default
    assert len(body) == 2
    stock_col = header.index("库存")
    rollup = ProvinceRollup.objects.get(date=DAY, item=province["n95"])
    assert totals[stock_col] == rollup.stock == 1200
    # The province row carries its coverage: both prefectures reported, 100 %.
    assert province_row[stock_col] == 1200
    assert province_row[header.index("已报送市州")] == 2
    assert province_row[-2] == 1.0  # coverage share
    assert province_row[-1] in ("", None)  # not partial


def test_it_exports_only_the_officers_prefecture(client, officer, province):
    client.force_login(officer)
    response = client.get(reverse("reports:export", args=["csv"]), {"date": "2020-02-10"})
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 3  # header, Lanzhou's row, totals
    assert "620100" in lines[1]
    assert "620500" not in text


def test_it_lets_office_staff_build_a_snapshot_from_the_page(
    client, office, province, django_capture_on_commit_callbacks
):
    client.force_login(office)
    SnapshotRow.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:build"), {"date": "2020-02-10"})
    assert response.status_code == 302
    assert SnapshotRow.objects.filter(date=DAY).count() == 2


@pytest.mark.parametrize("role", ["leader", "officer"])
def test_it_refuses_a_build_to_other_roles(client, request, role, province):
    client.force_login(request.getfixturevalue(role))
    assert client.post(reverse("reports:build"), {"date": "2020-02-10"}).status_code == 403


def _province_of(n_prefectures, n_items):
    """Grow the province to n prefectures × n key items, each with a figure for DAY."""
    from inventory.models import DailyFigure

    items = [ItemFactory(code=f"K{n:03d}") for n in range(n_items)]
    for index in range(n_prefectures):
        prefecture = PrefectureFactory(code=f"63{index:02d}00")
        for item in items:
            if not DailyFigure.objects.filter(prefecture=prefecture, item=item, date=DAY).exists():
                DailyFigureFactory(prefecture=prefecture, item=item, date=DAY)
    snapshot_build_for_date(date=DAY)


PAGES = [
    ("reports:overview", [], {}),
    ("reports:item", ["K000"], {}),
    ("reports:prefecture", ["630000"], {}),
    ("reports:trend", [], {"item": "K001"}),
    ("inventory:protected_staff", [], {}),
]


@pytest.mark.parametrize(("url_name", "args", "query"), PAGES)
def test_its_pages_run_the_same_queries_for_a_small_and_a_large_province(
    client, office, url_name, args, query, django_assert_num_queries
):
    """3 prefectures × 2 items and 15 × 12 run exactly as many queries: no per-row query."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(office)
    _province_of(3, 2)
    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(url_name, args=args), query).status_code == 200
    _province_of(15, 12)
    with CaptureQueriesContext(connection) as large:
        assert client.get(reverse(url_name, args=args), query).status_code == 200
    assert len(large) == len(small)
    # The overview's open-alerts panel reads its own two tables; today's reporting progress
    # (banner, and whether the page may open on today) reads key items, active prefectures,
    # today's figures and today's build: 4 more, whatever the province's size; the nav's badge
    # of requests awaiting triage, for the office: 1 (issue 15).
    assert len(small) <= 21


@pytest.mark.parametrize("raw", ["garbage", "0001-01-01", "2099-01-01"])
def test_it_falls_back_to_the_latest_snapshot_for_an_unusable_date(client, leader, province, raw):
    client.force_login(leader)
    for url in (reverse("reports:overview"), reverse("reports:prefecture", args=["620100"])):
        response = client.get(url, {"date": raw})
        assert response.status_code == 200
        assert response.context["date"] == DAY
        assert any(raw in str(m) for m in response.context["messages"])


def test_it_answers_404_for_an_export_of_a_date_never_built(client, leader, province):
    client.force_login(leader)
    response = client.get(reverse("reports:export", args=["xlsx"]), {"date": "2020-02-01"})
    assert response.status_code == 404


def test_it_exports_one_prefecture_from_its_page(client, leader, province):
    client.force_login(leader)
    response = client.get(
        reverse("reports:export", args=["csv"]), {"date": "2020-02-10", "prefecture": "620100"}
    )
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert "620100" in text and "620500" not in text
    assert (
        "兰州市" in response["Content-Disposition"]
        or "%E5%85%B0" in response["Content-Disposition"]
    )


def test_it_refuses_an_officer_the_export_of_another_prefecture(client, outsider, province):
    client.force_login(outsider)
    response = client.get(
        reverse("reports:export", args=["csv"]), {"date": "2020-02-10", "prefecture": "620100"}
    )
    assert response.status_code == 404


def test_it_colours_a_cell_by_the_figure_it_shows(client, leader, lanzhou, n95):
    """2.996 days shows as 3.00; 3.00 is amber, so the cell is amber, not red."""
    for day in range(7):
        DailyFigureFactory(
            prefecture=lanzhou,
            item=n95,
            date=DAY - dt.timedelta(days=6 - day),
            stock=749,
            consumption=250,
        )
    snapshot_build_for_date(date=DAY)
    row = SnapshotRow.objects.get(date=DAY)
    # 749 / 250 = 2.996 → 3.00
    assert str(row.days_of_cover) == "3.00"
    assert row.status == "amber"
