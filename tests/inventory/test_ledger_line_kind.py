"""Every ledger line carries its event's kind (for the stock card's covering index).

Whichever way an event is written (the one-statement path, the read-first path of counts and
back-dated issues, the batch import, a reversal, the migration of older lines), the line's
kind is the event's.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import F

from inventory.models import StockEventKind, StockEventLine
from inventory.services import (
    stock_adjust,
    stock_count,
    stock_events_import,
    stock_issue,
    stock_receive,
    stock_reverse,
)
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 3, 20, 10, 0, tzinfo=TZ)


@pytest.fixture
def sz01(db):
    return WarehouseFactory(code="SZ01")


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002")


def lines_whose_kind_differs_from_their_events():
    return StockEventLine.objects.exclude(kind=F("event__kind")).count()


def kinds_of(event):
    return sorted(event.lines.values_list("kind", flat=True))


def test_it_gives_each_line_the_kind_of_its_event_on_every_path(office, sz01, n95, masks):
    """Receipt, issue and adjustment dated now (one statement); a count and a back-dated
    issue (read first); reversals of a receipt and of a count."""
    with time_machine.travel(NOW, tick=False):
        receipt = stock_receive(
            user=office,
            warehouse=sz01,
            lines=[(n95, 100), (masks, 50)],
            source="purchase",
            occurred_at=NOW - dt.timedelta(hours=1),
        )
        issue = stock_issue(user=office, warehouse=sz01, lines=[(n95, 10)], issue_kind="dispatch")
        back_dated = stock_issue(
            user=office,
            warehouse=sz01,
            lines=[(masks, 5)],
            issue_kind="dispatch",
            occurred_at=NOW - dt.timedelta(minutes=5),
        )
        adjustment = stock_adjust(user=office, warehouse=sz01, lines=[(n95, -2)], reason="damaged")
        count = stock_count(user=office, warehouse=sz01, counts=[(n95, 80), (masks, 45)])
        reversal = stock_reverse(user=office, event=issue, reason="录错")
        count_reversal = stock_reverse(user=office, event=count, reason="重盘")

    assert kinds_of(receipt) == ["receipt", "receipt"]
    assert kinds_of(issue) == ["issue"]
    assert kinds_of(back_dated) == ["issue"]
    assert kinds_of(adjustment) == ["adjustment"]
    assert kinds_of(count) == ["count", "count"]
    assert kinds_of(reversal) == ["reversal"]
    assert kinds_of(count_reversal) == ["reversal", "reversal"]
    assert lines_whose_kind_differs_from_their_events() == 0


def test_it_gives_imported_lines_the_kind_of_their_event(office, sz01, n95):
    """An import with a receipt, an issue, an adjustment, a count and a reversal of the
    batch's own issue."""
    key = "6f1c2b1e-8d1a-4b8e-9a53-0c2f1d7e9a01"
    at = (NOW - dt.timedelta(days=3)).isoformat()

    def event(kind, **fields):
        return {"warehouse": "SZ01", "kind": kind, "occurred_at": at, **fields}

    with time_machine.travel(NOW, tick=False):
        events = stock_events_import(
            user=office,
            events=[
                event("receipt", source="purchase", lines=[{"item": "FH001", "quantity": 40}]),
                event(
                    "issue",
                    issue_kind="dispatch",
                    client_uuid=key,
                    lines=[{"item": "FH001", "quantity": 5}],
                ),
                event("adjustment", reason="expired", lines=[{"item": "FH001", "quantity": -1}]),
                event("count", lines=[{"item": "FH001", "counted": 30}]),
                event("reversal", reverses=key, note="重复出库"),
            ],
        )

    assert [kinds_of(e) for e in events] == [
        ["receipt"],
        ["issue"],
        ["adjustment"],
        ["count"],
        ["reversal"],
    ]
    assert lines_whose_kind_differs_from_their_events() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_it_backfills_the_kind_of_lines_written_before_the_column(office, sz01, n95):
    """Lines stored under migration 0006 (no kind) get their event's kind from 0007."""
    with time_machine.travel(NOW, tick=False):
        stock_receive(user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase")
        stock_issue(user=office, warehouse=sz01, lines=[(n95, 30)], issue_kind="dispatch")
    MigrationExecutor(connection).migrate([("inventory", "0006_stock_card_covering_index")])
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'inventory_stockeventline' AND column_name = 'kind'"
            )
            assert cursor.fetchone() == (0,)
    finally:
        executor = MigrationExecutor(connection)  # a fresh graph, as `migrate` loads it
        # Every app's latest migration: going back to 0006 also unapplied the migrations of
        # other apps that come after 0007 in the graph (reports/0010, 0011).
        executor.migrate(executor.loader.graph.leaf_nodes())

    assert sorted(StockEventLine.objects.values_list("kind", flat=True)) == [
        StockEventKind.ISSUE,
        StockEventKind.RECEIPT,
    ]
    assert lines_whose_kind_differs_from_their_events() == 0
