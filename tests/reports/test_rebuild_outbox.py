"""A change that makes snapshots stale records their rebuild in its own transaction.

The outbox row (SnapshotRebuild) commits or rolls back with the daily figures, the ledger
event or the batch; the build itself is queued for after the commit.
"""

import datetime as dt
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from allocation.models import Destination, DestinationKind, DispatchBatch
from inventory.models import DailyFigure, ReceiptSource, StockEvent
from inventory.services import daily_figures_submit, stock_receive
from reports.models import SnapshotBuild, SnapshotRebuild, SnapshotRebuildStatus
from reports.services import snapshot_build_for_date
from tests.allocation.conftest import dispatched_batch
from tests.factories import DailyFigureFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 10, 10, 0, tzinfo=TZ)
TODAY = NOW.date()


class Boom(Exception):
    """Whatever makes the caller's transaction roll back after the change."""


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def back(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def pending_dates():
    return list(
        SnapshotRebuild.objects.filter(status=SnapshotRebuildStatus.PENDING)
        .order_by("date")
        .values_list("date", flat=True)
    )


def correction(prefecture, item, day, stock):
    return {
        "prefecture": prefecture.code,
        "item": item.code,
        "date": day.isoformat(),
        "stock": stock,
        "received": 0,
        "consumption": 10,
        "demand": 10,
        "expected_arrivals_3d": 0,
    }


@pytest.fixture
def corrected(lanzhou, n95):
    """Lanzhou's N95 figure of 02-06 exists, so a new one for that date is a correction."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=back(4), stock=90, consumption=10)


def test_it_records_the_rebuilds_of_a_correction_in_its_transaction(
    office, lanzhou, n95, corrected, django_capture_on_commit_callbacks
):
    """A correction of 02-06 makes 02-06..02-09 stale (today, 02-10, was never built and waits
    for the scheduled build): four rows, written before the commit, built after it."""
    with django_capture_on_commit_callbacks() as callbacks:
        daily_figures_submit(
            user=office, rows=[correction(lanzhou, n95, back(4), 95)], reason="recount"
        )
        assert pending_dates() == [back(4), back(3), back(2), back(1)]

    # nothing is built before the commit: one job per date is waiting for it
    assert not SnapshotBuild.objects.exists()
    assert len(callbacks) == 4
    for callback in callbacks:
        callback()
    assert sorted(SnapshotBuild.objects.values_list("date", flat=True)) == [
        back(4),
        back(3),
        back(2),
        back(1),
    ]
    assert pending_dates() == []


def test_it_rolls_the_rebuilds_back_with_the_figures(
    office, lanzhou, n95, corrected, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        daily_figures_submit(
            user=office, rows=[correction(lanzhou, n95, back(4), 95)], reason="recount"
        )
        assert len(pending_dates()) == 4
        raise Boom

    assert DailyFigure.objects.get(prefecture=lanzhou, item=n95, date=back(4)).stock == 90
    assert pending_dates() == []
    assert callbacks == []


@pytest.fixture
def built(lanzhou, n95):
    """Snapshots of 02-07, 02-09 and today are built; 02-08 never was."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=100, consumption=10)
    for day in (back(3), back(1), TODAY):
        snapshot_build_for_date(date=day)


def test_it_records_the_built_dates_from_a_ledger_event_on(office, n95, built):
    """A receipt dated 02-08 changes the reserve of 02-08 and every later date: of those, the
    built 02-09 and 02-10. 02-07 is before it; 02-08 is computed whenever it is built."""
    reserve = WarehouseFactory(code="SZ01")
    with CaptureQueriesContext(connection) as queries:
        stock_receive(
            user=office,
            warehouse=reserve,
            lines=[(n95, 500)],
            source=ReceiptSource.PURCHASE,
            occurred_at=NOW - dt.timedelta(days=2),
        )

    assert pending_dates() == [back(1), TODAY]
    # Ledger posting is hot (bench/ledger.py): the reports app costs it one statement, an
    # upsert of the outbox that finds the built dates itself, prepared once per connection.
    reports_sql = [q["sql"] for q in queries if "reports_" in q["sql"]]
    assert len(reports_sql) == 1
    assert reports_sql[0].startswith(("PREPARE reports_outbox_", "EXECUTE reports_outbox_"))


def test_it_rolls_the_rebuilds_back_with_the_ledger_event(
    office, n95, built, django_capture_on_commit_callbacks
):
    reserve = WarehouseFactory(code="SZ01")
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        stock_receive(
            user=office, warehouse=reserve, lines=[(n95, 500)], source=ReceiptSource.PURCHASE
        )
        assert pending_dates() == [TODAY]
        raise Boom

    assert not StockEvent.objects.exists()
    assert pending_dates() == []
    assert callbacks == []


@pytest.fixture
def batch_ready(office, leader, lanzhou, n95, built):
    """SZ01 holds 1,000 N95; a destination for Lanzhou."""
    reserve = WarehouseFactory(code="SZ01")
    stock_receive(
        user=office,
        warehouse=reserve,
        lines=[(n95, 1000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    SnapshotRebuild.objects.all().delete()  # the receipt's own requests
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", name_en="Lanzhou", prefecture=lanzhou
    )
    return reserve, destination


def test_it_records_the_rebuild_of_a_dispatch_in_its_transaction(
    office, leader, n95, batch_ready, django_capture_on_commit_callbacks
):
    """Dispatched today: today's built snapshot changes (in transit, and the reserve)."""
    reserve, destination = batch_ready
    with django_capture_on_commit_callbacks() as callbacks:
        dispatched_batch(office, leader, reserve, destination, [(n95, 300)])
        assert pending_dates() == [TODAY]

    for callback in callbacks:
        callback()
    assert pending_dates() == []


def test_it_rolls_the_rebuild_back_with_the_dispatch(
    office, leader, n95, batch_ready, django_capture_on_commit_callbacks
):
    reserve, destination = batch_ready
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        dispatched_batch(office, leader, reserve, destination, [(n95, 300)])
        assert pending_dates() == [TODAY]
        raise Boom

    assert not DispatchBatch.objects.exists()
    assert pending_dates() == []
    assert callbacks == []


def test_a_ledger_event_refreshes_the_rows_of_the_built_dates_on_a_reused_statement(
    office, n95, built, django_capture_on_commit_callbacks
):
    """The outbox upsert of a ledger event is prepared on the connection's first event and
    only executed afterwards; either way it does the same. Here the second event finds the
    rows the first wrote (02-09 pending; 02-10 failed meanwhile, twice): both become pending
    again with no failed attempts, their requested_at 1 µs later although the clock is
    frozen, and 02-07 (before the event) is left alone. Each event queues 02-09 and 02-10."""
    reserve = WarehouseFactory(code="SZ01")
    with django_capture_on_commit_callbacks() as callbacks:
        stock_receive(
            user=office,
            warehouse=reserve,
            lines=[(n95, 500)],
            source=ReceiptSource.PURCHASE,
            occurred_at=NOW - dt.timedelta(days=2),
        )
    first = {row.date: row.requested_at for row in SnapshotRebuild.objects.all()}
    assert sorted(first) == [back(1), TODAY]
    SnapshotRebuild.objects.filter(date=TODAY).update(
        status=SnapshotRebuildStatus.FAILED, attempts=2, last_error="boom"
    )

    with (
        mock.patch("reports.tasks.snapshot_build_for_date.delay") as delay,
        django_capture_on_commit_callbacks() as again,
        CaptureQueriesContext(connection) as queries,
    ):
        stock_receive(
            user=office,
            warehouse=reserve,
            lines=[(n95, 5)],
            source=ReceiptSource.PURCHASE,
            occurred_at=NOW - dt.timedelta(days=1, hours=1),
        )

    outbox = [q["sql"] for q in queries if "reports_outbox_" in q["sql"]]
    assert len(outbox) == 1 and outbox[0].startswith("EXECUTE reports_outbox_")
    rows = {
        row.date: (row.status, row.attempts, row.requested_at)
        for row in SnapshotRebuild.objects.all()
    }
    micro = dt.timedelta(microseconds=1)
    assert rows == {
        back(1): (SnapshotRebuildStatus.PENDING, 0, first[back(1)] + micro),
        TODAY: (SnapshotRebuildStatus.PENDING, 0, first[TODAY] + micro),
    }
    assert len(callbacks) == 2 and len(again) == 2
    for callback in again:
        callback()
    assert [call.args[0] for call in delay.call_args_list] == [
        back(1).isoformat(),
        TODAY.isoformat(),
    ]
