"""How many statements (round trips to PostgreSQL) one posted event costs, BEGIN and COMMIT
included: posting throughput is bound by them (bench/ledger.py, issue 13).

An event dated now, or one that only adds stock, is one statement of the ledger (number,
event, balances, lines), prepared once per connection, and one of the reports' outbox (the
upsert of the built dates' rebuild rows, prepared once per connection too): four round trips
with BEGIN and COMMIT (seven before issue 13). The first event to bring an item
into a warehouse takes one more: its balance row is inserted first and locked by a second
statement (the services' one lock order: rows created, then locked, each in item order).
Transactional tests, so the real BEGIN and COMMIT are counted.
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from inventory.models import StockBalance, StockEvent
from inventory.services import InsufficientStock, stock_count, stock_issue, stock_receive
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = pytest.mark.django_db(transaction=True)
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sz01(db):
    return WarehouseFactory(code="SZ01")


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002")


@pytest.fixture
def stocked(office, sz01, n95, masks):
    stock_receive(
        user=office,
        warehouse=sz01,
        lines=[(n95, 100), (masks, 100)],
        source="purchase",
        occurred_at=NOW - dt.timedelta(days=1),
    )


def statements(captured) -> list[str]:
    """The first words of each statement (BEGIN, WITH seq AS, ...); the ledger's prepared
    posting statement, whether prepared now or executed again, as "post", and the reports'
    prepared outbox upsert as "outbox"."""
    return [
        "post"
        if query["sql"].startswith(("PREPARE inventory_", "EXECUTE inventory_"))
        else "outbox"
        if query["sql"].startswith(("PREPARE reports_outbox_", "EXECUTE reports_outbox_"))
        else " ".join(query["sql"].split()[:3])
        for query in captured.captured_queries
    ]


def test_it_posts_a_receipt_in_four_round_trips(
    office, sz01, n95, masks, stocked, django_assert_num_queries
):
    with django_assert_num_queries(4) as captured:
        stock_receive(
            user=office, warehouse=sz01, lines=[(n95, 10), (masks, 20)], source="purchase"
        )

    assert statements(captured) == [
        "BEGIN",
        "post",
        "outbox",
        "COMMIT",
    ]
    assert StockBalance.objects.get(item=n95).quantity == 110


def test_it_posts_the_first_receipt_of_an_item_in_five_round_trips(
    office, sz01, n95, masks, stocked, django_assert_num_queries
):
    """An item new to the warehouse: the first statement numbers the event and inserts the
    missing balance row; a second locks the rows (in item order) and moves them. One
    statement cannot: it would not see the row it inserted, nor one that a transaction it
    waited for (another first receipt) committed after it began."""
    gloves = ItemFactory(code="FH003")

    with django_assert_num_queries(5) as captured:
        stock_receive(
            user=office, warehouse=sz01, lines=[(gloves, 7), (n95, 10)], source="purchase"
        )

    assert statements(captured) == [
        "BEGIN",
        "post",
        "post",
        "outbox",
        "COMMIT",
    ]
    assert StockBalance.objects.get(item=gloves).quantity == 7
    assert StockBalance.objects.get(item=n95).quantity == 110


def test_it_posts_an_issue_in_four_round_trips(
    office, sz01, n95, masks, stocked, django_assert_num_queries
):
    with django_assert_num_queries(4) as captured:
        stock_issue(
            user=office, warehouse=sz01, lines=[(n95, 10), (masks, 20)], issue_kind="dispatch"
        )

    assert statements(captured)[1] == "post"
    assert sorted(StockBalance.objects.values_list("quantity", flat=True)) == [80, 90]


def test_it_refuses_an_issue_in_three_round_trips_writing_nothing(
    office, sz01, n95, stocked, django_assert_num_queries
):
    with django_assert_num_queries(3) as captured, pytest.raises(InsufficientStock):
        stock_issue(user=office, warehouse=sz01, lines=[(n95, 101)], issue_kind="dispatch")

    assert statements(captured) == ["BEGIN", "post", "ROLLBACK"]
    assert StockEvent.objects.count() == 1
    assert StockBalance.objects.get(item=n95).quantity == 100


def test_it_adds_one_read_for_codes_and_one_for_a_client_uuid(
    office, sz01, n95, stocked, django_assert_num_queries
):
    """The warehouse and items by code are one read; a client UUID one more (is it a retry?)."""
    with django_assert_num_queries(6):
        stock_issue(
            user=office,
            warehouse="SZ01",
            lines=[("FH001", 5)],
            issue_kind="dispatch",
            client_uuid=uuid.uuid4(),
        )


def test_it_reads_the_ledger_first_for_a_back_dated_issue(
    office, sz01, n95, stocked, django_assert_num_queries
):
    """Number and event; the balances locked (they exist: one statement); the ledger after the
    event; lines and balances; the outbox: seven round trips."""
    with django_assert_num_queries(7) as captured:
        stock_issue(
            user=office,
            warehouse=sz01,
            lines=[(n95, 5)],
            issue_kind="dispatch",
            occurred_at=NOW - dt.timedelta(hours=1),
        )

    assert statements(captured)[1:5] == [
        "WITH seq AS",
        "WITH p AS",
        "SELECT item_id, MAX(total),",
        "WITH new_lines AS",
    ]


def test_it_counts_in_six_round_trips(office, sz01, n95, stocked, django_assert_num_queries):
    """A count reads the locked balance before it knows its line: no ledger read when dated
    now."""
    with django_assert_num_queries(6):
        stock_count(user=office, warehouse=sz01, counts=[(n95, 90)])

    assert StockBalance.objects.get(item=n95).quantity == 90


def test_it_prepares_the_posting_statement_once_per_connection(
    office, sz01, n95, stocked, django_assert_num_queries
):
    """On a new connection the first event prepares and executes in one round trip; the next
    only executes."""
    connection.close()

    with django_assert_num_queries(4) as first:
        stock_receive(user=office, warehouse=sz01, lines=[(n95, 10)], source="purchase")
    with django_assert_num_queries(4) as second:
        stock_receive(user=office, warehouse=sz01, lines=[(n95, 20)], source="purchase")

    prepared, executed = first.captured_queries[1]["sql"], second.captured_queries[1]["sql"]
    name = prepared.split()[1]
    assert prepared.startswith(f"PREPARE {name} AS WITH seq AS")
    assert f"; EXECUTE {name}(" in prepared
    assert executed.startswith(f"EXECUTE {name}(")
    # The reports' outbox upsert, which every posting runs, likewise; under its own name.
    prepared, executed = first.captured_queries[2]["sql"], second.captured_queries[2]["sql"]
    outbox = prepared.split()[1]
    assert outbox.startswith("reports_outbox_") and outbox != name
    assert prepared.startswith(f'PREPARE {outbox} AS INSERT INTO "reports_snapshotrebuild"')
    assert f"; EXECUTE {outbox}(" in prepared
    assert executed.startswith(f"EXECUTE {outbox}(")
    assert StockBalance.objects.get(item=n95).quantity == 130


def test_it_executes_the_statement_plainly_behind_a_transaction_pooler(
    office, sz01, n95, stocked, monkeypatch, django_assert_num_queries
):
    """DISABLE_SERVER_SIDE_CURSORS (set for PgBouncer's transaction pooling, where a prepared
    statement may live in another server session) turns prepared statements off."""
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)

    with django_assert_num_queries(4) as captured:
        stock_receive(user=office, warehouse=sz01, lines=[(n95, 10)], source="purchase")

    assert captured.captured_queries[1]["sql"].startswith("WITH seq AS")
    assert captured.captured_queries[2]["sql"].startswith('INSERT INTO "reports_snapshotrebuild"')
    assert StockBalance.objects.get(item=n95).quantity == 110


def test_a_prepare_that_fails_is_prepared_afresh_next_time(db):
    """A PREPARE that fails (here: its table does not exist yet; in production a lock or
    statement timeout, a cancel) leaves no statement on the server. The next call must prepare
    again instead of EXECUTE-ing a name that was never made."""
    from django.db import DatabaseError, transaction

    from supplycoord.lib.pg import execute_prepared

    sql = "SELECT count(*) FROM zz_prepare_probe WHERE n > %(floor)s"
    with connection.cursor() as cursor:
        with pytest.raises(DatabaseError), transaction.atomic():
            execute_prepared(cursor, sql, {"floor": 0}, prefix="test")
        cursor.execute("CREATE TEMPORARY TABLE zz_prepare_probe (n int)")
        cursor.execute("INSERT INTO zz_prepare_probe VALUES (1), (2), (3)")
        execute_prepared(cursor, sql, {"floor": 1}, prefix="test")
        assert cursor.fetchone() == (2,)  # 2 and 3
        execute_prepared(cursor, sql, {"floor": 2}, prefix="test")  # now only EXECUTE
        assert cursor.fetchone() == (1,)


def test_the_prepared_statements_keep_their_generic_plan(office, sz01, n95, masks, stocked):
    """PostgreSQL plans a prepared statement's first 5 executions with the values given, then
    keeps one generic plan unless it looks dearer than those. The posting statement's did,
    once its balance rows were probed one by one (it guessed 10 line items for a parameter
    array, against 2 seen): every event was planned again. 7 events on one connection: 5
    custom plans, then the generic plan twice, for the ledger's statement and the outbox's."""
    connection.close()
    for quantity in range(1, 8):
        stock_receive(
            user=office, warehouse=sz01, lines=[(n95, quantity), (masks, 1)], source="purchase"
        )

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT split_part(name, '_', 1), custom_plans, generic_plans "
            "FROM pg_prepared_statements ORDER BY 1"
        )
        assert cursor.fetchall() == [("inventory", 5, 2), ("reports", 5, 2)]
    assert StockBalance.objects.get(item=n95).quantity == 128  # 100 + 1 + 2 + ... + 7
