"""A build survives the death of the worker running it: a real Celery worker, killed mid-build.

The test holds a row lock the build needs near its end (the date's SnapshotBuild row), so
the build waits, mid-way and uncommitted, until the test kills the process running it. Then:

- the pool child killed (SIGKILL): its worker hands the message back to the broker
  (acks late + reject on worker lost) and runs it again;
- the whole worker killed (main process and child): the message is stuck in Redis until its
  visibility timeout (an hour); the outbox row is still pending, and the sweep of a new
  worker builds the date.

Either way, within a minute the date's snapshot equals a clean build and the outbox is empty.
Needs Redis: TEST_WORKER_REDIS_URL (default redis://127.0.0.1:6379/15), a database number of
its own, emptied before and after.
"""

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import psycopg2
import pytest
import redis
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from inventory.models import DailyFigure
from reports.models import ProvinceRollup, ReportingStatus, SnapshotRebuild, SnapshotRow
from reports.services import snapshot_build_for_date, snapshot_rebuilds_request
from tests.database_url import database_url
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/15")
DEADLINE = 60  # seconds, for each wait
BUILD_TASK = "reports.tasks.snapshot_build_for_date"
SWEEP_TASK = "reports.tasks.snapshot_rebuilds_sweep"


@pytest.fixture
def broker():
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.flushdb()
    # Not the current app: the shared tasks of this process stay eager.
    with Celery("sender", broker=REDIS_URL, set_as_current=False) as sender:
        yield sender
    client.flushdb()


@pytest.fixture
def workers(tmp_path):
    """`start()` runs a worker on the test database and the test's Redis; all are killed
    (with their pool children: each is its own process group) when the test ends."""
    started = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        # the sweep of the second worker may take the pending row at once
        "SUPPLYCOORD_REBUILD_GRACE_SECONDS": "1",
    }

    def start():
        log = open(tmp_path / f"worker-{len(started)}.log", "w")  # noqa: SIM115 - closed below
        process = subprocess.Popen(
            [
                str(Path(settings.BASE_DIR) / ".venv/bin/celery"),
                "-A",
                "supplycoord",
                "worker",
                "--pool=prefork",
                "-c",
                "1",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"rebuild-test-{os.getpid()}-{len(started)}@%h",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


@pytest.fixture
def stale_snapshot():
    """Yesterday's snapshot of 3 prefectures × 2 items is built; then Lanzhou's N95 stock of
    that day is corrected from 100 to 95 and the rebuild is requested (committed)."""
    day = timezone.localdate() - dt.timedelta(days=1)
    prefectures = [PrefectureFactory(code=code) for code in ("620100", "620200", "620500")]
    items = [ItemFactory(code="FH001"), ItemFactory(code="FH002")]
    for prefecture in prefectures:
        for item in items:
            for back in (1, 0):
                DailyFigureFactory(
                    prefecture=prefecture,
                    item=item,
                    date=day - dt.timedelta(days=back),
                    stock=100,
                    consumption=10,
                )
    snapshot_build_for_date(date=day)
    DailyFigure.objects.filter(date=day, prefecture__code="620100", item__code="FH001").update(
        stock=95
    )
    snapshot_rebuilds_request(dates=[day], queue=False)
    return day


@pytest.fixture
def build_row_lock(stale_snapshot):
    """Another session locks the date's SnapshotBuild row: a build of the date gets through
    its snapshot rows, then waits at its last upsert until `release()`."""
    other = psycopg2.connect(**connection.get_connection_params())
    with other.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM reports_snapshotbuild WHERE date = %s FOR UPDATE", [stale_snapshot]
        )
    yield other
    other.close()  # rolls back: releases the lock if the test did not


def wait_for(what, condition, deadline=DEADLINE):
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {deadline} s: {what}")


def build_waiting_on_the_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query LIKE %s",
            ['INSERT INTO "reports_snapshotbuild"%'],
        )
        return cursor.fetchone()[0] > 0


def pool_child(worker) -> int:
    path = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    children = path.read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def snapshot_values(day):
    """Every stored value of a date's snapshot except the build time."""
    tables = (
        SnapshotRow.objects.order_by("prefecture_id", "item_id"),
        ProvinceRollup.objects.order_by("item_id"),
        ReportingStatus.objects.order_by("prefecture_id"),
    )
    values = [list(rows.filter(date=day).values()) for rows in tables]
    for row in (row for rows in values for row in rows):
        row.pop("built_at")
    return values


def lanzhou_n95_stock(day) -> int:
    return SnapshotRow.objects.get(date=day, prefecture__code="620100", item__code="FH001").stock


def rebuilt(day) -> bool:
    return not SnapshotRebuild.objects.exists() and lanzhou_n95_stock(day) == 95


def assert_equal_to_a_clean_build(day):
    built_by_the_worker = snapshot_values(day)
    snapshot_build_for_date(date=day)
    assert built_by_the_worker == snapshot_values(day)


def test_it_builds_the_date_again_after_its_pool_process_was_killed(
    broker, workers, stale_snapshot, build_row_lock
):
    day = stale_snapshot
    worker = workers()
    broker.send_task(BUILD_TASK, args=[day.isoformat()], kwargs={"if_requested": True})
    wait_for("the build to wait on the test's lock", build_waiting_on_the_lock)

    os.kill(pool_child(worker), signal.SIGKILL)
    # The worker lives on and hands the message back; the new child's build waits in turn
    # (behind the dead one's transaction, which ends once the lock lets it reach its end).
    time.sleep(1)
    assert worker.poll() is None
    assert SnapshotRebuild.objects.get(date=day).status == "pending"
    assert lanzhou_n95_stock(day) == 100  # nothing of the killed build was committed

    build_row_lock.rollback()
    wait_for("the date rebuilt and its outbox row cleared", lambda: rebuilt(day))
    assert_equal_to_a_clean_build(day)


def test_it_builds_the_date_through_the_sweep_after_the_whole_worker_was_killed(
    broker, workers, stale_snapshot, build_row_lock
):
    day = stale_snapshot
    worker = workers()
    broker.send_task(BUILD_TASK, args=[day.isoformat()], kwargs={"if_requested": True})
    wait_for("the build to wait on the test's lock", build_waiting_on_the_lock)

    os.killpg(worker.pid, signal.SIGKILL)  # the main process and its pool child
    worker.wait(timeout=10)
    assert SnapshotRebuild.objects.get(date=day).status == "pending"
    assert lanzhou_n95_stock(day) == 100

    # The dead build's transaction ends once the lock lets its statement finish.
    build_row_lock.rollback()
    workers()

    def swept_and_rebuilt():
        # beat's job, every few minutes in production; here every few seconds
        broker.send_task(SWEEP_TASK)
        time.sleep(2)
        return rebuilt(day)

    wait_for("the sweep to rebuild the date", swept_and_rebuilt)
    assert_equal_to_a_clean_build(day)
