"""The overview says when the date it shows is being rebuilt, or failed to be, not only when
it was last built."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports.models import SnapshotRebuild, SnapshotRebuildStatus
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def built(lanzhou, n95):
    """Today's snapshot, built at 16:15."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY)
    snapshot_build_for_date(date=DAY, now=NOW.replace(hour=16, minute=15))


def overview(client, user):
    client.force_login(user)
    response = client.get(reverse("reports:overview"), {"date": DAY.isoformat()})
    assert response.status_code == 200
    return response.content.decode()


def test_it_shows_only_the_build_time_when_nothing_is_pending(client, leader, built):
    content = overview(client, leader)

    assert "2020-02-10 16:15" in content
    assert 'id="rebuild-pending"' not in content
    assert 'id="rebuild-failed"' not in content


def test_it_shows_since_when_a_rebuild_is_queued(client, leader, built):
    SnapshotRebuild.objects.create(date=DAY, requested_at=NOW.replace(hour=17, minute=40))

    content = overview(client, leader)

    assert "2020-02-10 16:15" in content  # the figures shown are still those of 16:15
    pending = content[content.index('id="rebuild-pending"') :].split("</span>")[0]
    assert "2020-02-10 17:40" in pending


def test_it_shows_when_and_why_a_rebuild_failed(client, leader, built):
    SnapshotRebuild.objects.create(
        date=DAY,
        requested_at=NOW.replace(hour=17, minute=0),
        status=SnapshotRebuildStatus.FAILED,
        attempts=2,
        last_attempt_at=NOW.replace(hour=17, minute=44),
        last_error="OperationalError: could not connect to server",
    )

    content = overview(client, leader)

    failed = content[content.index('id="rebuild-failed"') :].split("</strong>")[0]
    assert "2020-02-10 17:44" in failed
    assert "OperationalError: could not connect to server" in failed
    assert "已失败 2 次" in failed  # failed attempts: 2 (the page opens in Chinese)
    assert 'id="rebuild-pending"' not in content


def test_it_leaves_the_rebuilds_of_other_dates_out(client, leader, built):
    SnapshotRebuild.objects.create(
        date=DAY - dt.timedelta(days=1), requested_at=NOW, status=SnapshotRebuildStatus.FAILED
    )

    content = overview(client, leader)

    assert 'id="rebuild-failed"' not in content
    assert 'id="rebuild-pending"' not in content


def test_it_reads_the_rebuild_state_in_the_queries_it_ran_before(client, leader, built):
    """One query for the rebuild, one less for the build (read once, not twice): a pending
    row costs nothing more either."""
    client.force_login(leader)
    url = reverse("reports:overview")
    # Once first, so both measured requests read the build's figures from the cache.
    client.get(url, {"date": DAY.isoformat()})
    with CaptureQueriesContext(connection) as without:
        client.get(url, {"date": DAY.isoformat()})
    SnapshotRebuild.objects.create(date=DAY, requested_at=NOW)
    with CaptureQueriesContext(connection) as with_pending:
        client.get(url, {"date": DAY.isoformat()})

    builds = [q for q in without if 'FROM "reports_snapshotbuild"' in q["sql"]]
    rebuilds = [q for q in without if 'FROM "reports_snapshotrebuild"' in q["sql"]]
    # one read of the build for the date (the other may be the latest covered date, whose
    # EXISTS on the partial rollups compares dates too)
    assert len([q for q in builds if '"date" = ' in q["sql"] and "EXISTS" not in q["sql"]]) == 1
    assert len(rebuilds) == 1
    assert len(with_pending) == len(without)
