"""The overview's prefecture × item grid at national scale (issue 13): above
SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"] cells it is a heatmap drawn from one compact JSON blob,
not a table; every list on the page is bounded, with its total and an "all" link."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import DailyFigure
from reports.services import snapshot_build_for_date
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    UserFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def small_table_limit(settings):
    """Two cells at most as a table: the 2 × 2 province below is drawn as a heatmap."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "OVERVIEW_TABLE_MAX_CELLS": 2}


@pytest.fixture
def two_by_two(lanzhou, tianshui, n95):
    """Lanzhou × N95: stock 200, consumption 100 on DAY → 200 / 100 = 2.00 days, red.
    Tianshui × N95: reported on DAY − 1 only (stock 500, consumption 100): its stock is carried
    forward, stale → 500 / 100 = 5.00 days, amber. A second item, gloves, 1,000 / 100 = 10.00
    days, green, in both."""
    gloves = ItemFactory(code="FH002", name_zh="手套", name_en="Gloves", sort_order=2)
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, stock=200, consumption=100)
    DailyFigureFactory(
        prefecture=tianshui, item=n95, date=DAY - dt.timedelta(days=1), stock=500, consumption=100
    )
    for prefecture in (lanzhou, tianshui):
        DailyFigureFactory(
            prefecture=prefecture, item=gloves, date=DAY, stock=1000, consumption=100
        )
    snapshot_build_for_date(date=DAY)
    return gloves


def _blob(content: str) -> dict:
    match = re.search(
        r'<script id="cover-heatmap-data" type="application/json">(.*?)</script>', content
    )
    assert match, "no heatmap blob on the page"
    return json.loads(match.group(1))


def test_it_draws_the_grid_as_a_heatmap_above_the_threshold(
    client, leader, small_table_limit, two_by_two, n95
):
    client.force_login(leader)
    response = client.get(reverse("reports:overview"), {"date": "2020-02-10"})
    content = response.content.decode()
    assert 'id="cover-grid"' not in content
    assert 'data-chart="heatmap"' in content
    assert "js/heatmap.js" in content
    blob = _blob(content)
    assert [code for code, _name in blob["prefectures"]] == ["620100", "620500"]
    assert [code for code, _short, _name in blob["items"]] == ["FH001", "FH002"]
    # Lanzhou: N95 red, gloves green; Tianshui: N95 amber and stale (upper case), gloves green.
    assert blob["status"] == ["rg", "Ag"]
    # Days of cover in hundredths: 2.00 → 200, 5.00 → 500, 10.00 → 1000.
    assert blob["days"] == [[200, 1000], [500, 1000]]
    assert blob["stock"] == [[200, 1000], [500, 1000]]
    assert blob["cells_red"] == 1
    assert response.context["data"].cells_red == 1
    # The cell's click and the item's label open these pages.
    assert 'data-prefecture-url="/reports/prefectures/__code__/?date=2020-02-10"' in content
    assert 'data-item-url="/reports/items/__code__/?date=2020-02-10"' in content
    # Without the chart: the export and one page per item.
    assert 'id="cover-heatmap-alternative"' in content
    assert f'href="/reports/items/{n95.code}/?date=2020-02-10"' in content


def test_it_keeps_the_table_at_or_below_the_threshold(client, leader, two_by_two):
    assert settings.SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"] >= 4
    client.force_login(leader)
    content = client.get(reverse("reports:overview")).content.decode()
    assert 'id="cover-grid"' in content
    assert "cover-heatmap-data" not in content
    assert "js/heatmap.js" not in content


def test_it_reads_the_heatmap_in_as_many_queries_as_the_table(client, leader, two_by_two, settings):
    client.force_login(leader)
    url = reverse("reports:overview")
    with CaptureQueriesContext(connection) as table:
        client.get(url, {"date": "2020-02-10"})
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "OVERVIEW_TABLE_MAX_CELLS": 2}
    with CaptureQueriesContext(connection) as heatmap:
        assert "cover-heatmap-data" in client.get(url, {"date": "2020-02-10"}).content.decode()
    assert len(heatmap) == len(table)


def test_sixty_prefectures_by_twenty_items_stay_small(client, leader):
    """60 × 20 = 1,200 cells, above the default 1,000: a heatmap whose blob is under 20 kB
    (about 14 bytes a cell) and a page under 100 kB (the table was about 190 bytes a cell)."""
    author = UserFactory(username="bulk_author")
    prefectures = [
        PrefectureFactory(code=f"63{n + 1:02d}00", name_zh=f"大省市{n + 1}") for n in range(60)
    ]
    items = [ItemFactory(code=f"K{n:03d}", sort_order=n) for n in range(20)]
    at = dt.datetime(2020, 2, 10, 12, 0, tzinfo=TZ)
    DailyFigure.objects.bulk_create(
        DailyFigureFactory.build(
            prefecture=p,
            item=i,
            date=DAY,
            stock=1000,
            consumption=100,
            submitted_by=author,
            first_submitted_at=at,
            submitted_at=at,
        )
        for p in prefectures
        for i in items
    )
    snapshot_build_for_date(date=DAY)
    client.force_login(leader)
    content = client.get(reverse("reports:overview"), {"date": "2020-02-10"}).content.decode()
    blob = _blob(content)
    assert len(blob["status"]) == 60 and {len(s) for s in blob["status"]} == {20}
    assert blob["status"][0] == "g" * 20
    assert blob["days"][59][19] == 1000  # 1,000 / 100 = 10.00 days
    blob_bytes = len(
        re.search(r'id="cover-heatmap-data" type="application/json">(.*?)</script>', content)
        .group(1)
        .encode()
    )
    assert blob_bytes < 20_000, blob_bytes
    assert len(content.encode()) < 100_000, len(content.encode())
    # The reporting lists are bounded: 60 prefectures reported on time, none listed late.
    assert 'id="missing-more"' not in content
