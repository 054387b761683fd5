"""The overview's figures of a build are rendered once per build version and kept in the cache
(issue 13: ≥ 20 overview requests/s at national scale). What this proves: a cached page is the
page; a rebuild, a renamed item, the other language or another set of prefectures is never
served an old rendering; a cache that fails costs time, not the page."""

import datetime as dt
import re
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from inventory.models import DailyFigure
from reports.models import SnapshotBuild
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
URL = reverse("reports:overview")


@pytest.fixture(autouse=True)
def _frozen():
    # tick=False: a rebuild below has the same built_at as the build before it; only its
    # version tells them apart.
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def built(lanzhou, n95):
    """Lanzhou × N95 on DAY: stock 300, consumption 100 → 3.00 days of cover."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, stock=300, consumption=100)
    snapshot_build_for_date(date=DAY)


def rollup_cover(content: str) -> str:
    """The days of cover in the N95 row of the province rollups."""
    row = re.search(r'<tr data-item="FH001"[^>]*>(.*?)</tr>', content, re.S)
    assert row, "no N95 rollup row"
    return re.search(r'days-of-cover">([^<]*)<', row.group(1)).group(1)


def unmasked(content: str) -> str:
    content = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", content)


def get(client, **params):
    response = client.get(URL, {"date": DAY.isoformat(), **params})
    assert response.status_code == 200
    return response.content.decode()


def test_the_cached_page_is_the_page_and_reads_less(client, leader, built):
    client.force_login(leader)
    with CaptureQueriesContext(connection) as first:
        uncached = get(client)
    with CaptureQueriesContext(connection) as second:
        again = get(client)
    # Equal but for the CSRF tokens, masked anew in every response.
    assert unmasked(again) == unmasked(uncached)
    assert rollup_cover(again) == "3.00"
    # The reporting rows and the snapshot rows are not read again, nor the day's rollups (the
    # trend and the default date still read rollups of other dates: one query fewer).
    for table in ("reports_reportingstatus", "reports_snapshotrow"):
        assert any(table in q["sql"] for q in first.captured_queries), table
        assert not any(table in q["sql"] for q in second.captured_queries), table

    def rollup_reads(queries):
        return sum("reports_provincerollup" in q["sql"] for q in queries.captured_queries)

    assert rollup_reads(second) == rollup_reads(first) - 1

    # Nor the prefectures and key items as rows (their cache key is one query hashed by
    # PostgreSQL, selectors.overview_register), but the trend's one item: the day's rollups,
    # snapshot rows, reporting rows, prefectures and items, 5 queries fewer.
    def rows_of(table, queries):
        return [
            q["sql"] for q in queries.captured_queries if q["sql"].startswith(f'SELECT "{table}"')
        ]

    assert rows_of("supplycoord_prefecture", second) == []
    assert [sql.endswith("LIMIT 1") for sql in rows_of("supplycoord_item", second)] == [True]
    assert len(second) == len(first) - 5


def test_a_rebuild_is_shown_at_once_even_at_the_same_moment(client, leader, built, lanzhou, n95):
    client.force_login(leader)
    before = SnapshotBuild.objects.get(date=DAY)
    assert rollup_cover(get(client)) == "3.00"

    DailyFigure.objects.filter(prefecture=lanzhou, item=n95, date=DAY).update(stock=600)
    snapshot_build_for_date(date=DAY)

    after = SnapshotBuild.objects.get(date=DAY)
    assert after.built_at == before.built_at  # the clock stood still
    assert after.version != before.version
    assert rollup_cover(get(client)) == "6.00"  # 600 ÷ 100


def test_a_renamed_item_is_shown_without_a_rebuild(client, leader, built, n95):
    client.force_login(leader)
    assert "Renamed mask" not in get(client)
    n95.name_zh = "Renamed mask"
    n95.save()
    assert "Renamed mask" in get(client)


def test_each_language_has_its_own_rendering(client, leader, built, n95, settings):
    n95.name_zh, n95.name_en = "口罩甲", "Mask A"
    n95.save()
    client.force_login(leader)
    chinese = get(client)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = get(client)
    assert "口罩甲" in chinese and "Mask A" not in chinese
    assert "Mask A" in english and "口罩甲" not in english
    assert "Province days of cover per key item" in english
    assert "Province days of cover per key item" not in chinese


def test_a_failing_cache_costs_time_not_the_page(client, leader, built):
    client.force_login(leader)
    with (
        mock.patch("supplycoord.lib.cache.cache.get", side_effect=ConnectionError("down")),
        mock.patch("supplycoord.lib.cache.cache.set", side_effect=ConnectionError("down")),
    ):
        assert rollup_cover(get(client)) == "3.00"
