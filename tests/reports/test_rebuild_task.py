"""The build job and the outbox: it clears what it built, keeps what changed meanwhile, and
records what failed."""

import datetime as dt
import io
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from celery.exceptions import Retry
from django.core.management import call_command
from django.db import OperationalError

from reports import services
from reports.models import SnapshotBuild, SnapshotRebuild, SnapshotRebuildStatus
from reports.services import snapshot_rebuilds_request
from reports.tasks import BUILD_MAX_RETRIES, snapshot_build_for_date, snapshot_build_today
from tests.factories import DailyFigureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
DAY = dt.date(2020, 2, 9)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def figures(lanzhou, n95):
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=DAY, stock=100, consumption=10)


def requested(day=DAY):
    snapshot_rebuilds_request(dates=[day], queue=False)
    return SnapshotRebuild.objects.get(date=day)


def test_it_clears_the_row_once_the_date_is_built(figures):
    requested()

    result = snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True).get()

    assert result["rows"] == 1
    assert SnapshotBuild.objects.filter(date=DAY).exists()
    assert not SnapshotRebuild.objects.exists()


def test_it_keeps_the_row_pending_when_the_date_is_requested_again_during_the_build(
    figures, lanzhou, n95
):
    """A change committed while the build runs may be missing from it: the row stays, with
    the newer request, for the next build. The clock has not moved (frozen), yet the new
    request is later than the one the build saw."""
    first = requested()
    build = services.snapshot_build_for_date

    def build_while_figures_change(*, date):
        snapshot_rebuilds_request(dates=[date], queue=False)
        return build(date=date)

    with mock.patch.object(services, "snapshot_build_for_date", build_while_figures_change):
        snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True)

    row = SnapshotRebuild.objects.get(date=DAY)
    assert row.status == SnapshotRebuildStatus.PENDING
    assert row.requested_at == first.requested_at + dt.timedelta(microseconds=1)
    assert SnapshotBuild.objects.filter(date=DAY).exists()


def test_it_marks_the_row_failed_when_the_build_fails(figures):
    requested()

    with (
        mock.patch.object(services, "snapshot_build_for_date", side_effect=ValueError("boom")),
        pytest.raises(ValueError),
    ):
        snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True)

    row = SnapshotRebuild.objects.get(date=DAY)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "ValueError: boom")
    assert row.last_attempt_at == NOW


def test_it_retries_a_database_error_before_marking_the_row_failed(figures):
    """An OperationalError (the database restarting) is retried 5 times; the row stays
    pending meanwhile, and is marked failed (one failure) when the 6th run fails too. (In
    tests a retry is raised, not queued: each run is applied here with its retry count.)"""
    requested()
    failing = mock.Mock(side_effect=OperationalError("server closed the connection"))
    run = {"args": [DAY.isoformat()], "kwargs": {"if_requested": True}}

    with mock.patch.object(services, "snapshot_build_for_date", failing):
        for retries in range(BUILD_MAX_RETRIES):
            with pytest.raises(Retry):
                snapshot_build_for_date.apply(**run, retries=retries)
            assert SnapshotRebuild.objects.get(date=DAY).status == "pending"
        with pytest.raises(OperationalError):
            snapshot_build_for_date.apply(**run, retries=BUILD_MAX_RETRIES)

    assert failing.call_count == 1 + BUILD_MAX_RETRIES
    row = SnapshotRebuild.objects.get(date=DAY)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error == "OperationalError: server closed the connection"


def test_it_keeps_the_row_pending_when_a_failed_build_was_requested_again(figures):
    """The failure belongs to the request the build saw; the newer one still gets its build."""
    requested()

    def fail_after_a_new_request(*, date):
        snapshot_rebuilds_request(dates=[date], queue=False)
        raise ValueError("boom")

    with (
        mock.patch.object(services, "snapshot_build_for_date", fail_after_a_new_request),
        pytest.raises(ValueError),
    ):
        snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True)

    row = SnapshotRebuild.objects.get(date=DAY)
    assert (row.status, row.attempts, row.last_error) == ("pending", 0, "ValueError: boom")


def test_it_records_a_failed_build_nobody_requested_through_the_outbox(figures):
    """A direct job (no row) that fails leaves a failed row, for the overview and the sweep."""
    with (
        mock.patch.object(services, "snapshot_build_for_date", side_effect=ValueError("boom")),
        pytest.raises(ValueError),
    ):
        snapshot_build_for_date.delay(DAY.isoformat())

    row = SnapshotRebuild.objects.get(date=DAY)
    assert (row.status, row.attempts, row.requested_at) == ("failed", 1, NOW)


def test_it_skips_a_job_whose_request_an_earlier_build_covered(figures):
    """Two changes, two jobs, one row: the first job builds and clears, the second finds
    nothing to do."""
    requested()
    snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True)

    result = snapshot_build_for_date.delay(DAY.isoformat(), if_requested=True).get()

    assert result == {"date": "2020-02-09", "skipped": True}


def test_it_builds_a_direct_job_without_a_row(figures):
    """`delay(date)` without `if_requested` (people, scripts) always builds."""
    result = snapshot_build_for_date.delay(DAY.isoformat()).get()

    assert result["rows"] == 1
    assert not SnapshotRebuild.objects.exists()


def test_it_records_the_daily_build_in_the_outbox_and_clears_it(lanzhou, n95):
    """The scheduled build writes its row first (so a dead worker's build is swept), then
    clears it."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=NOW.date())
    seen = []
    build = services.snapshot_build_for_date

    def build_and_look(*, date):
        seen.append(list(SnapshotRebuild.objects.values_list("date", "status")))
        return build(date=date)

    with mock.patch.object(services, "snapshot_build_for_date", build_and_look):
        snapshot_build_today.delay()

    assert seen == [[(NOW.date(), "pending")]]
    assert not SnapshotRebuild.objects.exists()


def test_it_clears_the_rows_of_the_dates_the_command_builds(figures):
    """`build_snapshots` builds in-process and clears those dates' rows, and no others."""
    snapshot_rebuilds_request(dates=[DAY, DAY - dt.timedelta(days=5)], queue=False)

    call_command("build_snapshots", "--date", DAY.isoformat(), stdout=io.StringIO())

    assert list(SnapshotRebuild.objects.values_list("date", flat=True)) == [
        DAY - dt.timedelta(days=5)
    ]
