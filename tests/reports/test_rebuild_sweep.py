"""The sweep queues again the rebuilds a lost or failed job left in the outbox.

Grace 2 minutes (the default): a pending row younger than that is its own job's business.
A failed row waits 2 min × 2^failures after its last attempt: 4 min after one failure, 8 after
two; after 5 failures it waits for a new request.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import psycopg2
import pytest
import time_machine
from django.db import connection

from reports.models import SnapshotBuild, SnapshotRebuild, SnapshotRebuildStatus
from reports.services import _date_lock_key, snapshot_rebuilds_claim
from reports.tasks import snapshot_rebuilds_sweep
from tests.factories import DailyFigureFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
OLD_DAY, FRESH_DAY = dt.date(2020, 2, 8), dt.date(2020, 2, 9)
PENDING, FAILED = SnapshotRebuildStatus.PENDING, SnapshotRebuildStatus.FAILED


@pytest.fixture(autouse=True)
def frozen(db, settings):
    settings.SUPPLYCOORD = {
        **settings.SUPPLYCOORD,
        "REBUILD_GRACE_SECONDS": 120,
        "REBUILD_MAX_ATTEMPTS": 5,
    }
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def row(day, *, requested_ago, status=PENDING, attempts=0, attempted_ago=None):
    return SnapshotRebuild.objects.create(
        date=day,
        requested_at=NOW - requested_ago,
        status=status,
        attempts=attempts,
        last_attempt_at=None if attempted_ago is None else NOW - attempted_ago,
    )


def minutes(n):
    return dt.timedelta(minutes=n)


def test_it_builds_pending_rows_older_than_the_grace_period_and_leaves_fresh_ones(
    lanzhou, n95, django_capture_on_commit_callbacks
):
    for day in (OLD_DAY, FRESH_DAY):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=day)
    row(OLD_DAY, requested_ago=minutes(3))
    row(FRESH_DAY, requested_ago=minutes(1))

    with django_capture_on_commit_callbacks(execute=True):
        result = snapshot_rebuilds_sweep.delay().get()

    assert result == {"queued": ["2020-02-08"]}
    assert list(SnapshotBuild.objects.values_list("date", flat=True)) == [OLD_DAY]
    assert list(SnapshotRebuild.objects.values_list("date", "status")) == [(FRESH_DAY, PENDING)]


def test_it_does_not_queue_a_row_again_within_the_grace_period(
    django_capture_on_commit_callbacks,
):
    """Queued at 10:00 by a sweep and still pending (its job waits in a long queue, or was
    lost): not at 10:01, again at 10:02."""
    row(OLD_DAY, requested_ago=minutes(3))
    with django_capture_on_commit_callbacks():
        assert snapshot_rebuilds_claim() == [OLD_DAY]

    assert snapshot_rebuilds_claim(now=NOW + minutes(1)) == []
    with django_capture_on_commit_callbacks():
        assert snapshot_rebuilds_claim(now=NOW + minutes(2)) == [OLD_DAY]


@pytest.mark.parametrize(
    ("attempts", "attempted_ago", "due"),
    [
        (1, minutes(3), False),  # 1 failure: 2 × 2 = 4 minutes
        (1, minutes(4), True),
        (2, minutes(7), False),  # 2 failures: 2 × 4 = 8 minutes
        (2, minutes(8), True),
        (4, minutes(32), True),  # 4 failures: 2 × 16 = 32 minutes
        (5, minutes(600), False),  # 5 failures: given up until requested again
    ],
)
def test_it_retries_a_failed_row_with_back_off_up_to_the_limit(
    attempts, attempted_ago, due, django_capture_on_commit_callbacks
):
    row(
        OLD_DAY,
        requested_ago=minutes(700),
        status=FAILED,
        attempts=attempts,
        attempted_ago=attempted_ago,
    )

    with django_capture_on_commit_callbacks() as callbacks:
        claimed = snapshot_rebuilds_claim()

    assert claimed == ([OLD_DAY] if due else [])
    assert len(callbacks) == (1 if due else 0)
    # still failed until a build succeeds; the claim is its attempt's time
    stored = SnapshotRebuild.objects.get()
    assert stored.status == FAILED
    assert stored.last_attempt_at == (NOW if due else NOW - attempted_ago)


def test_it_leaves_a_date_whose_build_is_running(django_capture_on_commit_callbacks):
    """Another session holds 02-08's build lock (a long build): 02-08 is left to it."""
    row(OLD_DAY, requested_ago=minutes(10))
    row(FRESH_DAY, requested_ago=minutes(10))
    other = psycopg2.connect(**connection.get_connection_params())
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_date_lock_key(OLD_DAY)])
        with django_capture_on_commit_callbacks():
            assert snapshot_rebuilds_claim() == [FRESH_DAY]
    finally:
        other.close()

    with django_capture_on_commit_callbacks():
        assert snapshot_rebuilds_claim() == [OLD_DAY]
