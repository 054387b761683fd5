"""The balance rows' one lock order, under real concurrency (two or three connections).

Every posting path takes the balance rows the same way: first the missing rows of the event's
(warehouse, item) pairs are inserted (ON CONFLICT DO NOTHING, in item order), then all of them
are locked FOR UPDATE in item order by a statement that began after the insert. So no two
postings wait on each other in a cycle, and a posting that waited for the first receipt of an
item sees the balance row that receipt created.
"""

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.db.models import Sum

from inventory.models import StockBalance, StockEvent, StockEventLine
from inventory.services import (
    stock_count,
    stock_events_import,
    stock_issue,
    stock_receive,
)
from supplycoord.models import Role
from tests.factories import ItemFactory, UserFactory, WarehouseFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TZ = ZoneInfo("Asia/Shanghai")
# Half an hour into March: "back" is the day before, in February (another document counter).
NOW = dt.datetime(2020, 3, 1, 0, 30, tzinfo=TZ)
FEBRUARY_MORNING = dt.datetime(2020, 2, 29, 9, 0, tzinfo=TZ)
FEBRUARY_NOON = dt.datetime(2020, 2, 29, 12, 0, tzinfo=TZ)


@pytest.fixture
def setup(db):
    office = UserFactory(username="office-lock-order", role=Role.OFFICE_STAFF)
    warehouse = WarehouseFactory(code="SZ01")
    return office, warehouse


def _ledger_sum(warehouse, item) -> int:
    return (
        StockEventLine.objects.filter(warehouse=warehouse, item=item).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )


def _waiting_on_a_lock() -> int:
    """Other sessions of the test database waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def _until_waiting(n: int) -> bool:
    """Up to 10 s for `n` other sessions to wait on a lock."""
    for _ in range(200):
        if _waiting_on_a_lock() >= n:
            return True
        time.sleep(0.05)
    return False


def _thread(outcome: dict, key: str, work, *, hold: threading.Event | None = None, done=None):
    """Run `work` in a thread with its own connection: in a transaction kept open until `hold`
    is set (then `done` is set once `work` has run), or as the service's own transaction."""

    def run():
        try:
            if hold is None:
                outcome[key] = work()
            else:
                with transaction.atomic():
                    outcome[key] = work()
                    done.set()
                    hold.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - the test looks at whatever went wrong
            outcome[key] = exc
            if done is not None:
                done.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "receipt_dated, issue_dated",
    [("now", "now"), ("back", "now"), ("back", "back")],
    ids=["same-month-one-statement", "receipt-in-february", "both-in-february-read-first"],
)
def test_an_issue_that_waited_for_the_first_receipt_of_its_item_takes_from_it(
    setup, receipt_dated, issue_dated
):
    """The first receipt of an item into SZ01 (10) is written, uncommitted; an issue of 4 of
    the item starts meanwhile and waits (on the month's document counter, or on the balance
    row the receipt is inserting). Once the receipt commits, the issue finds its 10 and goes
    through: it is not refused as "available 0"."""
    office, warehouse = setup
    item = ItemFactory(code="FH101")
    outcome: dict = {}
    written, release = threading.Event(), threading.Event()

    def receive():
        return stock_receive(
            user=office,
            warehouse=warehouse,
            lines=[(item, 10)],
            source="purchase",
            occurred_at=FEBRUARY_MORNING if receipt_dated == "back" else None,
        )

    def issue():
        return stock_issue(
            user=office,
            warehouse=warehouse,
            lines=[(item, 4)],
            issue_kind="dispatch",
            occurred_at=FEBRUARY_NOON if issue_dated == "back" else None,
        )

    with time_machine.travel(NOW, tick=False):
        receiver = _thread(outcome, "receipt", receive, hold=release, done=written)
        assert written.wait(timeout=30)
        issuer = _thread(outcome, "issue", issue)
        blocked = _until_waiting(1) and issuer.is_alive()
        release.set()
        receiver.join(timeout=30)
        issuer.join(timeout=30)

    assert blocked
    assert isinstance(outcome["receipt"], StockEvent), outcome
    assert isinstance(outcome["issue"], StockEvent), outcome
    assert StockBalance.objects.get(warehouse=warehouse, item=item).quantity == 6
    assert _ledger_sum(warehouse, item) == 6


@pytest.mark.parametrize("february", ["receipt", "count", "import"])
def test_two_events_across_the_month_boundary_bringing_new_items_both_go_through(setup, february):
    """SZ01 holds 100 of `known`; `new` was never there (and sorts first). A third session
    locks the balance of `known`. Then a receipt dated now lists [new, known] and waits for
    it; then an event back-dated into February (another document counter) lists [known, new]
    and waits too. When the third session lets go, both go through: no deadlock error (before
    the fix, the one-statement receipt held `known` while inserting `new`, and the February
    count or import had inserted `new` and wanted `known`), and each balance is its ledger."""
    office, warehouse = setup
    new = ItemFactory(code="FH201")
    known = ItemFactory(code="FH202")
    assert new.pk < known.pk
    with time_machine.travel(NOW, tick=False):
        stock_receive(
            user=office,
            warehouse=warehouse,
            lines=[(known, 100)],
            source="purchase",
            occurred_at=dt.datetime(2020, 2, 28, 9, 0, tzinfo=TZ),
        )

    def hold_known():
        return list(
            StockBalance.objects.select_for_update().filter(warehouse=warehouse, item=known)
        )

    def receive_now():
        return stock_receive(
            user=office, warehouse=warehouse, lines=[(new, 5), (known, 5)], source="purchase"
        )

    def post_in_february():
        if february == "receipt":
            return stock_receive(
                user=office,
                warehouse=warehouse,
                lines=[(known, 3), (new, 4)],
                source="purchase",
                occurred_at=FEBRUARY_NOON,
            )
        if february == "count":
            return stock_count(
                user=office,
                warehouse=warehouse,
                counts=[(known, 90), (new, 0)],
                occurred_at=FEBRUARY_NOON,
            )
        return stock_events_import(
            user=office,
            events=[
                {
                    "warehouse": "SZ01",
                    "kind": "receipt",
                    "source": "purchase",
                    "occurred_at": FEBRUARY_NOON,
                    "lines": [{"item": "FH202", "quantity": 3}, {"item": "FH201", "quantity": 4}],
                }
            ],
        )

    outcome: dict = {}
    locked, release = threading.Event(), threading.Event()
    with time_machine.travel(NOW, tick=False):
        holder = _thread(outcome, "holder", hold_known, hold=release, done=locked)
        assert locked.wait(timeout=30)
        now_thread = _thread(outcome, "now", receive_now)
        first_waits = _until_waiting(1)
        february_thread = _thread(outcome, "february", post_in_february)
        both_wait = _until_waiting(2)
        release.set()
        for thread in (holder, now_thread, february_thread):
            thread.join(timeout=30)

    assert first_waits and both_wait
    assert isinstance(outcome["now"], StockEvent), outcome
    assert not isinstance(outcome["february"], Exception), outcome
    expected = {
        "receipt": {known.pk: 108, new.pk: 9},
        "count": {known.pk: 95, new.pk: 5},
        "import": {known.pk: 108, new.pk: 9},
    }[february]
    for item in (new, known):
        balance = StockBalance.objects.get(warehouse=warehouse, item=item).quantity
        assert balance == _ledger_sum(warehouse, item) == expected[item.pk]
    numbers = sorted(StockEvent.objects.values_list("document_number", flat=True))
    assert numbers == ["SZ01-202002-0001", "SZ01-202002-0002", "SZ01-202003-0001"]
