"""Many clerks posting to one warehouse at the same moment.

The row locks of the stock services are what keeps the balance and the document numbers right.
"""

import datetime as dt
import threading
import time
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections
from django.db.models import Sum

from inventory.models import DocumentSequence, StockBalance, StockEvent, StockEventLine
from inventory.services import (
    InsufficientStock,
    stock_events_import,
    stock_issue,
    stock_receive,
)
from supplycoord.models import Role
from tests.factories import ItemFactory, UserFactory, WarehouseFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
TZ = ZoneInfo("Asia/Shanghai")


def _run_together(target, n):
    """Run `target` in n threads released at once; (results, errors) in completion order."""
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - the test looks at whatever went wrong
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


@pytest.fixture
def setup(db):
    office = UserFactory(username="office-ledger", role=Role.OFFICE_STAFF)
    warehouse = WarehouseFactory(code="SZ01")
    item = ItemFactory(code="FH001")
    return office, warehouse, item


def _ledger_sum(warehouse, item) -> int:
    return (
        StockEventLine.objects.filter(warehouse=warehouse, item=item).aggregate(
            total=Sum("quantity")
        )["total"]
        or 0
    )


def test_it_lets_exactly_fifteen_of_twenty_issues_of_ten_take_a_balance_of_150(setup):
    """150 in stock, 20 clerks issue 10 each at once: 15 succeed, 5 are told there is not
    enough, the balance ends at 0 and equals the sum of the ledger; it never went negative
    (the database's check constraint would have failed an update)."""
    office, warehouse, item = setup
    stock_receive(user=office, warehouse=warehouse, lines=[(item, 150)], source="purchase")

    results, errors = _run_together(
        lambda: stock_issue(
            user=office, warehouse=warehouse, lines=[(item, 10)], issue_kind="dispatch"
        ),
        n=20,
    )

    assert len(results) == 15
    assert len(errors) == 5
    assert all(isinstance(exc, InsufficientStock) for exc in errors), errors
    assert all(exc.shortfalls[0].available < 10 for exc in errors)
    balance = StockBalance.objects.get(warehouse=warehouse, item=item).quantity
    assert balance == 0
    assert _ledger_sum(warehouse, item) == 0
    # Every issued line is −10, and the numbers of the winners follow the receipt's 0001.
    assert set(
        StockEventLine.objects.filter(event__kind="issue").values_list("quantity", flat=True)
    ) == {-10}


def test_it_hands_out_unique_gap_free_numbers_to_twenty_simultaneous_receipts(setup):
    """20 receipts at once into SZ01: numbers 0001 to 0020, each once; balance 20 × 5."""
    office, warehouse, item = setup

    results, errors = _run_together(
        lambda: (
            stock_receive(
                user=office, warehouse=warehouse, lines=[(item, 5)], source="donation"
            ).document_number
        ),
        n=20,
    )

    assert errors == []
    period = StockEvent.objects.values_list("document_number", flat=True).first()[5:11]
    assert sorted(results) == [f"SZ01-{period}-{n:04d}" for n in range(1, 21)]
    assert StockBalance.objects.get(warehouse=warehouse, item=item).quantity == 100
    assert _ledger_sum(warehouse, item) == 100


def test_it_records_one_event_when_five_retries_of_one_client_uuid_arrive_at_once(setup):
    """The same submission sent five times at once: one event, one number, 7 in stock."""
    office, warehouse, item = setup
    key = uuid.uuid4()

    results, errors = _run_together(
        lambda: stock_receive(
            user=office, warehouse=warehouse, lines=[(item, 7)], source="donation", client_uuid=key
        ),
        n=5,
    )

    assert errors == []
    assert len({event.pk for event in results}) == 1
    assert sorted(event.replayed for event in results) == [False, True, True, True, True]
    assert StockEvent.objects.count() == 1
    assert StockEvent.objects.get().document_number.endswith("-0001")
    # The losers' numbers were rolled back with the rest of their attempt: no gap follows.
    assert DocumentSequence.objects.get(warehouse=warehouse).last_number == 1
    assert StockBalance.objects.get(warehouse=warehouse, item=item).quantity == 7


def test_it_numbers_each_month_apart_when_receipts_for_two_months_arrive_at_once(setup):
    """On 1 March, 20 receipts at once, half back-dated into February, listing three new
    items in opposite orders: every one goes through, each month gets 0001 to 0010 (two
    counters, each gap-free), and each balance is 20 × 3.

    The two months' events hold different counters, so they meet on the balance rows; the
    fixed lock order (rows created in item order, locked in primary-key order) is what keeps
    them from deadlocking, though two transactions at a time rarely provoke one.
    """
    office, warehouse, first = setup
    items = [first, ItemFactory(code="FH002"), ItemFactory(code="FH003")]
    counter = iter(range(20))
    lock = threading.Lock()
    february = dt.datetime(2020, 2, 29, 9, 0, tzinfo=TZ)

    def post():
        with lock:
            n = next(counter)
        ordered = items if n % 2 else list(reversed(items))
        return stock_receive(
            user=office,
            warehouse=warehouse,
            lines=[(item, 3) for item in ordered],
            source="purchase",
            occurred_at=february if n % 4 < 2 else None,
        )

    with time_machine.travel(dt.datetime(2020, 3, 1, 10, 0, tzinfo=TZ)):
        results, errors = _run_together(post, n=20)

    assert errors == []
    numbers = sorted(event.document_number for event in results)
    assert numbers == sorted(
        [f"SZ01-202002-{n:04d}" for n in range(1, 11)]
        + [f"SZ01-202003-{n:04d}" for n in range(1, 11)]
    )
    assert sorted(
        StockBalance.objects.filter(warehouse=warehouse).values_list("quantity", flat=True)
    ) == [60, 60, 60]


def test_it_keeps_numbers_and_stock_right_when_imports_meet_single_issues(setup):
    """150 in stock; at once, 15 clerks issue 10 each and 5 imports each receive 20 and
    issue 5. Whatever the order, only "not enough stock" may be refused, the month's numbers
    run 0001 to the last without a gap, and the balance is the ledger's sum, never below 0."""
    office, warehouse, item = setup
    stock_receive(user=office, warehouse=warehouse, lines=[(item, 150)], source="purchase")
    counter = iter(range(20))
    lock = threading.Lock()
    batch = [
        {
            "warehouse": "SZ01",
            "kind": "receipt",
            "source": "donation",
            "lines": [{"item": "FH001", "quantity": 20}],
        },
        {
            "warehouse": "SZ01",
            "kind": "issue",
            "issue_kind": "dispatch",
            "lines": [{"item": "FH001", "quantity": 5}],
        },
    ]

    def post():
        with lock:
            n = next(counter)
        if n % 4 == 0:
            return stock_events_import(user=office, events=batch)
        return stock_issue(
            user=office, warehouse=warehouse, lines=[(item, 10)], issue_kind="dispatch"
        )

    results, errors = _run_together(post, n=20)

    assert all(isinstance(exc, InsufficientStock) for exc in errors), errors
    assert sum(isinstance(result, list) for result in results) == 5
    numbers = sorted(StockEvent.objects.values_list("document_number", flat=True))
    period = numbers[0][5:11]
    assert numbers == [f"SZ01-{period}-{n:04d}" for n in range(1, len(numbers) + 1)]
    assert len(numbers) == 1 + 10 + (15 - len(errors))
    balance = StockBalance.objects.get(warehouse=warehouse, item=item).quantity
    assert balance == _ledger_sum(warehouse, item) == 150 + 5 * 15 - 10 * (15 - len(errors))
    assert balance >= 0


def test_it_posts_a_batch_once_when_three_copies_of_the_import_arrive_at_once(setup):
    """The same import with client UUIDs sent three times at once: two events, numbered
    0001 and 0002; the other two calls get them back as replays."""
    office, warehouse, item = setup
    batch = [
        {
            "warehouse": "SZ01",
            "kind": "receipt",
            "source": "purchase",
            "occurred_at": dt.datetime(2020, 2, 1, 9, 0, tzinfo=TZ),
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"item": "FH001", "quantity": 40}],
        },
        {
            "warehouse": "SZ01",
            "kind": "issue",
            "issue_kind": "dispatch",
            "occurred_at": dt.datetime(2020, 2, 2, 9, 0, tzinfo=TZ),
            "client_uuid": str(uuid.uuid4()),
            "lines": [{"item": "FH001", "quantity": 15}],
        },
    ]

    results, errors = _run_together(lambda: stock_events_import(user=office, events=batch), n=3)

    assert errors == []
    assert sorted(tuple(event.replayed for event in result) for result in results) == [
        (False, False),
        (True, True),
        (True, True),
    ]
    assert sorted(StockEvent.objects.values_list("document_number", flat=True)) == [
        "SZ01-202002-0001",
        "SZ01-202002-0002",
    ]
    assert DocumentSequence.objects.get(warehouse=warehouse).last_number == 2
    assert StockBalance.objects.get(warehouse=warehouse, item=item).quantity == 25


# --- Two issues that together exceed the balance: the second waits for the first's lock ----

BEFORE_MIDNIGHT = dt.datetime(2020, 2, 29, 12, 0, tzinfo=TZ)


def _issue_60(office, warehouse, item, dated):
    """Issue 60: `dated` "now" (one statement) or "back" (the day before: read-first path)."""
    return stock_issue(
        user=office,
        warehouse=warehouse,
        lines=[(item, 60)],
        issue_kind="dispatch",
        occurred_at=BEFORE_MIDNIGHT if dated == "back" else None,
    )


def _waiting_on_a_lock() -> int:
    """Other sessions of the test database waiting for a lock."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize(
    "first, second",
    [("now", "back"), ("back", "now"), ("now", "now")],
    ids=["one-statement-first", "read-first-first", "both-one-statement"],
)
def test_it_lets_one_of_two_issues_of_sixty_from_a_hundred_through(setup, first, second):
    """100 in stock; at 00:30 on 1 March two clerks issue 60 each. The first has written its
    event and holds its locks, uncommitted; the second waits on a lock (a back-dated one and
    one dated now use different document counters, so they meet on the balance row itself).
    Once the first commits, the second reads the balance it left, 40, and is refused: never
    both, whichever path each takes."""
    from django.db import transaction

    office, warehouse, item = setup
    posted, release = threading.Event(), threading.Event()
    outcome = {}

    def hold_first_open():
        try:
            with transaction.atomic():
                outcome["first"] = _issue_60(office, warehouse, item, first)
                posted.set()
                release.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - the test looks at whatever went wrong
            outcome["first"] = exc
            posted.set()
        finally:
            connections.close_all()

    def post_second():
        try:
            outcome["second"] = _issue_60(office, warehouse, item, second)
        except Exception as exc:  # noqa: BLE001
            outcome["second"] = exc
        finally:
            connections.close_all()

    with time_machine.travel(dt.datetime(2020, 3, 1, 0, 30, tzinfo=TZ), tick=False):
        stock_receive(
            user=office,
            warehouse=warehouse,
            lines=[(item, 100)],
            source="purchase",
            occurred_at=dt.datetime(2020, 2, 28, 9, 0, tzinfo=TZ),
        )
        holder = threading.Thread(target=hold_first_open)
        holder.start()
        assert posted.wait(timeout=30)
        waiter = threading.Thread(target=post_second)
        waiter.start()
        for _ in range(200):  # up to 10 s for the second to reach the lock
            if _waiting_on_a_lock():
                break
            time.sleep(0.05)
        blocked = _waiting_on_a_lock() == 1 and waiter.is_alive()
        release.set()
        holder.join(timeout=30)
        waiter.join(timeout=30)

    assert blocked
    assert isinstance(outcome["first"], StockEvent), outcome
    assert isinstance(outcome["second"], InsufficientStock), outcome
    assert [(s.requested, s.available) for s in outcome["second"].shortfalls] == [(60, 40)]
    assert StockBalance.objects.get(warehouse=warehouse, item=item).quantity == 40
    assert _ledger_sum(warehouse, item) == 40
    assert StockEvent.objects.filter(kind="issue").count() == 1
