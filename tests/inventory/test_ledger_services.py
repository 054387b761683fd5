"""The stock services: receipts, issues, adjustments, counts and reversals of the reserve ledger.

Each test posts a few events through the services and checks the balance, the lines and the
document numbers against figures worked out by hand in its comments.
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from inventory.models import (
    AdjustmentReason,
    DocumentSequence,
    IssueKind,
    ReceiptSource,
    StockBalance,
    StockEvent,
    StockEventKind,
    StockEventLine,
    WarehouseKind,
)
from inventory.selectors import stock_card
from inventory.services import (
    InsufficientStock,
    LedgerError,
    LedgerInvalid,
    ReversalRefused,
    stock_adjust,
    stock_count,
    stock_issue,
    stock_receive,
    stock_reverse,
)
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sz01(db):
    return WarehouseFactory(code="SZ01", name_zh="省级储备一库")


@pytest.fixture
def lanzhou_store(lanzhou):
    return WarehouseFactory(
        code="LZ01", name_zh="兰州市物资库", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou
    )


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


def balance(warehouse, item) -> int:
    return StockBalance.objects.get(warehouse=warehouse, item=item).quantity


def receive(user, warehouse, lines, **kwargs):
    kwargs.setdefault("source", ReceiptSource.DONATION)
    return stock_receive(user=user, warehouse=warehouse, lines=lines, **kwargs)


def issue(user, warehouse, lines, **kwargs):
    kwargs.setdefault("issue_kind", IssueKind.DISPATCH)
    return stock_issue(user=user, warehouse=warehouse, lines=lines, **kwargs)


def errors_of(exc_info) -> set:
    return {(e.line, e.field) for e in exc_info.value.errors}


# --- receipts and issues ---------------------------------------------------------------


def test_it_records_a_receipt_and_raises_the_balances(office, sz01, n95, masks):
    """A receipt of two items writes one event, two positive lines and two balances."""
    event = receive(
        office,
        sz01,
        [(n95, 1000), (masks, 250)],
        source_document="JZ-0131",
        counterparty="红十字会",
        note="首批捐赠",
    )

    assert event.kind == StockEventKind.RECEIPT
    assert event.receipt_source == ReceiptSource.DONATION
    assert event.document_number == "SZ01-202002-0001"
    assert (event.recorded_by, event.recorded_at, event.occurred_at) == (office, NOW, NOW)
    assert (event.source_document, event.counterparty, event.note) == (
        "JZ-0131",
        "红十字会",
        "首批捐赠",
    )
    assert event.replayed is False
    lines = {line.item.code: line for line in event.lines.all()}
    assert {code: line.quantity for code, line in lines.items()} == {"FH001": 1000, "FH002": 250}
    # Lines carry the event's warehouse and time for the stock card.
    assert {(line.warehouse_id, line.occurred_at) for line in lines.values()} == {(sz01.pk, NOW)}
    assert (balance(sz01, n95), balance(sz01, masks)) == (1000, 250)


def test_it_accepts_item_codes_and_dict_lines(office, sz01, n95):
    """The API passes codes and {"item", "quantity"} dicts; pages pass Items and tuples."""
    receive(office, "SZ01", [{"item": "FH001", "quantity": "１，２００"}])

    assert balance(sz01, n95) == 1200


def test_it_issues_stock_and_lowers_the_balance(office, sz01, n95):
    """1000 received, 300 dispatched: the issue line is -300 and 700 remain."""
    receive(office, sz01, [(n95, 1000)])

    event = issue(office, sz01, [(n95, 300)], counterparty="兰州市")

    assert event.kind == StockEventKind.ISSUE
    assert event.issue_kind == IssueKind.DISPATCH
    assert event.document_number == "SZ01-202002-0002"
    assert [line.quantity for line in event.lines.all()] == [-300]
    assert balance(sz01, n95) == 700


def test_it_refuses_an_issue_above_the_balance_listing_every_short_item(office, sz01, n95, masks):
    """One line short is enough to refuse the whole issue; every short item is named."""
    receive(office, sz01, [(n95, 100), (masks, 50)])
    spare = ItemFactory(code="FH003")
    receive(office, sz01, [(spare, 10)])

    with pytest.raises(InsufficientStock) as exc_info:
        issue(office, sz01, [(n95, 150), (masks, 50), (spare, 11)])

    shortfalls = {(s.item.code, s.requested, s.available) for s in exc_info.value.shortfalls}
    # masks: 50 of 50 is fine; N95 150 > 100 and FH003 11 > 10 are short.
    assert shortfalls == {("FH001", 150, 100), ("FH003", 11, 10)}
    assert isinstance(exc_info.value, LedgerError)
    assert (balance(sz01, n95), balance(sz01, masks), balance(sz01, spare)) == (100, 50, 10)
    assert StockEvent.objects.filter(kind=StockEventKind.ISSUE).count() == 0


def test_it_refuses_an_issue_of_an_item_never_received(office, sz01, n95):
    """No balance row yet counts as 0 available; nothing is left behind by the refusal."""
    with pytest.raises(InsufficientStock) as exc_info:
        issue(office, sz01, [(n95, 1)])

    assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(1, 0)]
    assert not StockBalance.objects.exists()
    assert not StockEvent.objects.exists()


def test_it_gives_a_refused_events_document_number_back(office, sz01, n95):
    """A refused issue rolls its number back: the next event takes it, no gap."""
    receive(office, sz01, [(n95, 10)])
    with pytest.raises(InsufficientStock):
        issue(office, sz01, [(n95, 11)])

    event = issue(office, sz01, [(n95, 10)])

    assert event.document_number == "SZ01-202002-0002"


# --- validation ------------------------------------------------------------------------


def test_it_reports_every_invalid_line_at_once(office, sz01, n95, masks):
    """Unknown item, inactive item, duplicate item, zero, fraction, negative: all reported."""
    gone = ItemFactory(code="OLD01", active=False)

    with pytest.raises(LedgerInvalid) as exc_info:
        receive(
            office,
            sz01,
            [
                (n95, 10),
                ("NOPE", 5),
                (gone, 5),
                (n95, 3),
                (masks, 0),
                ("FH002", 1.5),
                {"item": "FH001", "quantity": -2},
                "junk",
            ],
        )

    assert errors_of(exc_info) == {
        (1, "item"),
        (2, "item"),
        (3, "item"),
        (4, "quantity"),
        (5, "item"),  # masks again: a duplicate of line 4
        (5, "quantity"),
        (6, "item"),
        (6, "quantity"),
        (7, "non_field_errors"),
    }
    messages = {(e.line, e.field): e.message for e in exc_info.value.errors}
    # The duplicate names the line it repeats (the 1-based number people see): 第1行 in Chinese.
    assert "1" in messages[(3, "item")]
    assert not StockEvent.objects.exists()


def test_it_reports_every_invalid_event_field_at_once(office, n95):
    """Inactive warehouse, unknown source, over-long text, bad UUID, no lines: all reported."""
    closed = WarehouseFactory(code="SZ09", active=False)

    with pytest.raises(LedgerInvalid) as exc_info:
        stock_receive(
            user=office,
            warehouse=closed,
            lines=[],
            source="stolen",
            counterparty="x" * 129,
            client_uuid="not-a-uuid",
        )

    assert errors_of(exc_info) == {
        (None, "warehouse"),
        (None, "source"),
        (None, "counterparty"),
        (None, "client_uuid"),
        (None, "lines"),
    }


def test_it_refuses_an_unknown_warehouse_code(office, n95):
    with pytest.raises(LedgerInvalid) as exc_info:
        receive(office, "NOPE", [(n95, 1)])

    assert errors_of(exc_info) == {(None, "warehouse")}


def test_it_reports_an_unknown_warehouse_code_and_unknown_items_together(office, n95):
    """Codes only, as from the API: the warehouse and the items are looked up together, and
    a known item is not reported because the warehouse was not found."""
    with pytest.raises(LedgerInvalid) as exc_info:
        receive(office, "NOPE", [("FH001", 1), ("NOPE", 1)])

    assert errors_of(exc_info) == {(None, "warehouse"), (1, "item")}


def test_it_refuses_an_inactive_warehouse_named_by_code(office, n95):
    WarehouseFactory(code="SZ09", active=False)

    with pytest.raises(LedgerInvalid) as exc_info:
        receive(office, "SZ09", [("FH001", 1)])

    assert errors_of(exc_info) == {(None, "warehouse")}


# --- document numbers ------------------------------------------------------------------


def test_it_numbers_documents_per_warehouse_and_month(office, sz01, n95):
    """SZ01 Feb: 0001, 0002; SZ02 Feb starts at 0001; a March event starts SZ01 at 0001."""
    sz02 = WarehouseFactory(code="SZ02")
    first = receive(office, sz01, [(n95, 10)])
    second = receive(office, sz01, [(n95, 10)])
    other = receive(office, sz02, [(n95, 10)])
    with time_machine.travel(dt.datetime(2020, 3, 1, 0, 30, tzinfo=TZ), tick=False):
        march = receive(office, sz01, [(n95, 10)])
        # Back-dated into February (within 7 days): February's sequence continues.
        late_february = receive(
            office, sz01, [(n95, 10)], occurred_at=dt.datetime(2020, 2, 29, 23, 0, tzinfo=TZ)
        )

    assert [e.document_number for e in (first, second, other, march, late_february)] == [
        "SZ01-202002-0001",
        "SZ01-202002-0002",
        "SZ02-202002-0001",
        "SZ01-202003-0001",
        "SZ01-202002-0003",
    ]
    assert DocumentSequence.objects.get(warehouse=sz01, period="202002").last_number == 3


def test_it_takes_the_month_of_the_local_date(office, sz01, n95):
    """00:30 on 1 March in Lanzhou is still February in UTC; the number says March."""
    with time_machine.travel(dt.datetime(2020, 3, 1, 0, 30, tzinfo=TZ), tick=False):
        event = receive(office, sz01, [(n95, 10)])

    assert event.document_number == "SZ01-202003-0001"


# --- back-dating -----------------------------------------------------------------------


def test_it_accepts_an_event_back_dated_within_seven_days(office, sz01, n95):
    """Seven days back to the minute is allowed (office staff and officers alike)."""
    seven_days_ago = NOW - dt.timedelta(days=7)

    event = receive(office, sz01, [(n95, 10)], occurred_at=seven_days_ago)

    assert event.occurred_at == seven_days_ago
    assert event.lines.get().occurred_at == seven_days_ago
    assert event.recorded_at == NOW


def test_it_refuses_an_event_back_dated_beyond_seven_days_even_for_office_staff(office, sz01, n95):
    """One minute beyond the window is refused; nothing is written."""
    with pytest.raises(LedgerInvalid) as exc_info:
        receive(office, sz01, [(n95, 10)], occurred_at=NOW - dt.timedelta(days=7, minutes=1))

    assert errors_of(exc_info) == {(None, "occurred_at")}
    assert "7" in exc_info.value.errors[0].message
    assert not StockEvent.objects.exists()


def test_it_follows_the_back_dating_setting(office, sz01, n95, settings):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "LEDGER_BACKDATE_DAYS": 2}

    with pytest.raises(LedgerInvalid):
        receive(office, sz01, [(n95, 10)], occurred_at=NOW - dt.timedelta(days=3))


def test_it_refuses_an_event_in_the_future(office, sz01, n95):
    with pytest.raises(LedgerInvalid) as exc_info:
        receive(office, sz01, [(n95, 10)], occurred_at=NOW + dt.timedelta(minutes=1))

    assert errors_of(exc_info) == {(None, "occurred_at")}


def test_it_reads_an_iso_time_without_offset_as_local_time(office, sz01, n95):
    """ "2020-02-19T08:00:00" from the API is 08:00 in Lanzhou."""
    event = receive(office, sz01, [(n95, 10)], occurred_at="2020-02-19T08:00:00")

    assert event.occurred_at == dt.datetime(2020, 2, 19, 8, 0, tzinfo=TZ)


def day(n, hour=9):
    """The nth day of a back-dated ledger: day 1 is 14 February, six days before NOW."""
    return dt.datetime(2020, 2, 13 + n, hour, 0, tzinfo=TZ)


@pytest.fixture
def received_then_issued(office, sz01, n95):
    """N95: 100 received on day 1, 80 issued on day 3; the balance is 20."""
    receive(office, sz01, [(n95, 100)], occurred_at=day(1))
    issue(office, sz01, [(n95, 80)], occurred_at=day(3))


def test_it_refuses_a_back_dated_issue_that_would_leave_a_later_balance_negative(
    office, sz01, n95, received_then_issued
):
    """30 issued on day 2 leaves 70 then, but −10 after day 3's issue: refused.

    The lowest balance from day 2 on is min(100 on day 2, 20 after day 3) = 20.
    """
    with pytest.raises(InsufficientStock) as exc_info:
        issue(office, sz01, [(n95, 30)], occurred_at=day(2))

    assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(30, 20)]
    assert balance(sz01, n95) == 20
    assert StockEvent.objects.count() == 2


def test_it_accepts_a_back_dated_issue_within_the_lowest_later_balance(
    office, sz01, n95, received_then_issued
):
    """20 issued on day 2: 100 → 80 on day 2 → 0 after day 3; the balance is 0."""
    issue(office, sz01, [(n95, 20)], occurred_at=day(2))

    assert balance(sz01, n95) == 0
    running = [line.balance_after for line in stock_card(office, warehouse=sz01, item=n95).lines]
    assert running == [100, 80, 0]


def test_it_refuses_a_back_dated_issue_before_a_later_receipt(office, sz01, n95):
    """10 on day 1, 100 more on day 4: 110 now, but only 10 on day 2 to issue 30 from."""
    receive(office, sz01, [(n95, 10)], occurred_at=day(1))
    receive(office, sz01, [(n95, 100)], occurred_at=day(4))

    with pytest.raises(InsufficientStock) as exc_info:
        issue(office, sz01, [(n95, 30)], occurred_at=day(2))

    assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(30, 10)]
    assert balance(sz01, n95) == 110


def test_it_refuses_a_back_dated_adjustment_and_count_that_would_go_negative_later(
    office, sz01, n95, received_then_issued
):
    """Damaged −21 on day 2, or counted 79 (−21) on day 2: both leave −1 after day 3."""
    with pytest.raises(InsufficientStock) as adjusted:
        stock_adjust(
            user=office, warehouse=sz01, lines=[(n95, -21)], reason="damaged", occurred_at=day(2)
        )
    with pytest.raises(InsufficientStock) as counted:
        stock_count(user=office, warehouse=sz01, counts=[(n95, 79)], occurred_at=day(2))

    for exc_info in (adjusted, counted):
        assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(21, 20)]
    # −20 on day 2 is the most either may take.
    stock_adjust(
        user=office, warehouse=sz01, lines=[(n95, -20)], reason="damaged", occurred_at=day(2)
    )
    assert balance(sz01, n95) == 0


def test_it_places_a_back_dated_issue_after_events_of_the_same_moment(office, sz01, n95):
    """Receipt of 10 and issue of 10 both at day 2 09:00: the issue comes after the receipt
    on the stock card (recorded later), so it may take the 10."""
    receive(office, sz01, [(n95, 10)], occurred_at=day(2))

    issue(office, sz01, [(n95, 10)], occurred_at=day(2))

    assert balance(sz01, n95) == 0


# --- adjustments -----------------------------------------------------------------------


def test_it_adjusts_a_balance_up_and_down(office, sz01, n95, masks):
    """100 + 5 (count difference) and 100 − 30 (damaged) in one adjustment."""
    receive(office, sz01, [(n95, 100), (masks, 100)])

    event = stock_adjust(
        user=office, warehouse=sz01, lines=[(n95, 5), (masks, -30)], reason="damaged"
    )

    assert event.adjustment_reason == AdjustmentReason.DAMAGED
    assert (balance(sz01, n95), balance(sz01, masks)) == (105, 70)


def test_it_refuses_an_adjustment_below_zero(office, sz01, n95):
    receive(office, sz01, [(n95, 20)])

    with pytest.raises(InsufficientStock) as exc_info:
        stock_adjust(user=office, warehouse=sz01, lines=[(n95, -21)], reason="expired")

    assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(21, 20)]
    assert balance(sz01, n95) == 20


def test_it_refuses_a_zero_adjustment_and_other_without_a_note(office, sz01, n95):
    """Reason "other" needs a note; a zero delta means nothing."""
    with pytest.raises(LedgerInvalid) as exc_info:
        stock_adjust(user=office, warehouse=sz01, lines=[(n95, 0)], reason="other", note=" ")

    assert errors_of(exc_info) == {(None, "note"), (0, "quantity")}


def test_it_accepts_other_with_a_note(office, sz01, n95):
    receive(office, sz01, [(n95, 20)])

    event = stock_adjust(
        user=office, warehouse=sz01, lines=[(n95, -2)], reason="other", note="鼠咬"
    )

    assert (event.note, balance(sz01, n95)) == ("鼠咬", 18)


# --- physical counts -------------------------------------------------------------------


def test_it_sets_the_balance_to_the_count_and_records_the_difference(office, sz01, n95, masks):
    """Balances 100 and 50; counted 96 and 50: lines −4 and 0, balances 96 and 50."""
    receive(office, sz01, [(n95, 100), (masks, 50)])

    event = stock_count(
        user=office, warehouse=sz01, counts=[(n95, 96), {"item": "FH002", "counted": 50}]
    )

    lines = {line.item.code: (line.counted, line.quantity) for line in event.lines.all()}
    assert lines == {"FH001": (96, -4), "FH002": (50, 0)}
    assert event.kind == StockEventKind.COUNT
    assert (balance(sz01, n95), balance(sz01, masks)) == (96, 50)


def test_it_records_a_count_that_finds_every_balance_as_expected(office, sz01, n95, masks):
    """Counted 100 and 50 of 100 and 50: two lines of 0, no balance moves."""
    receive(office, sz01, [(n95, 100), (masks, 50)])

    event = stock_count(user=office, warehouse=sz01, counts=[(n95, 100), (masks, 50)])

    assert sorted(event.lines.values_list("quantity", "counted")) == [(0, 50), (0, 100)]
    assert (balance(sz01, n95), balance(sz01, masks)) == (100, 50)


def test_it_counts_an_item_never_received(office, sz01, n95):
    """Found 12 of an item the ledger never saw: +12."""
    event = stock_count(user=office, warehouse=sz01, counts=[(n95, 12)])

    assert [(line.counted, line.quantity) for line in event.lines.all()] == [(12, 12)]
    assert balance(sz01, n95) == 12


def test_it_compares_a_back_dated_count_with_the_balance_of_its_time(office, sz01, n95):
    """100 received 5 days ago, count of 90 dated 3 days ago, 30 issued 1 day ago.

    The count's difference is 90 − 100 = −10 (the balance then), not 90 − 70: the balance
    becomes 100 − 30 − 10 = 60, and the stock card reads 90 right after the count.
    """
    receive(office, sz01, [(n95, 100)], occurred_at=NOW - dt.timedelta(days=5))
    issue(office, sz01, [(n95, 30)], occurred_at=NOW - dt.timedelta(days=1))

    event = stock_count(
        user=office, warehouse=sz01, counts=[(n95, 90)], occurred_at=NOW - dt.timedelta(days=3)
    )

    assert event.lines.get().quantity == -10
    assert balance(sz01, n95) == 60


def test_it_refuses_a_negative_count(office, sz01, n95):
    with pytest.raises(LedgerInvalid) as exc_info:
        stock_count(user=office, warehouse=sz01, counts=[(n95, -1)])

    assert errors_of(exc_info) == {(0, "counted")}


# --- reversals -------------------------------------------------------------------------


def test_it_reverses_a_receipt(office, sz01, n95, masks):
    """Receipt of 100 and 40 reversed: lines −100 and −40, balances back to 0."""
    receipt = receive(
        office, sz01, [(n95, 100), (masks, 40)], occurred_at=NOW - dt.timedelta(days=2)
    )

    reversal = stock_reverse(user=office, event=receipt, reason="录错仓库")

    assert reversal.kind == StockEventKind.REVERSAL
    assert reversal.reverses == receipt
    assert reversal.note == "录错仓库"
    # A reversal happens when it is recorded, whatever the original's date.
    assert reversal.occurred_at == NOW
    assert reversal.document_number == "SZ01-202002-0002"
    assert sorted(reversal.lines.values_list("quantity", flat=True)) == [-100, -40]
    assert (balance(sz01, n95), balance(sz01, masks)) == (0, 0)
    receipt.refresh_from_db()
    assert receipt.reversed_by == reversal


def test_it_reverses_an_issue(office, sz01, n95):
    """100 in, 30 out, the issue reversed: 100 again."""
    receive(office, sz01, [(n95, 100)])
    dispatch = issue(office, sz01, [(n95, 30)])

    stock_reverse(user=office, event=dispatch, reason="未发出")

    assert balance(sz01, n95) == 100


def test_it_reverses_an_adjustment(office, sz01, n95):
    """100 in, −10 damaged, the adjustment reversed: 100 again."""
    receive(office, sz01, [(n95, 100)])
    adjustment = stock_adjust(user=office, warehouse=sz01, lines=[(n95, -10)], reason="damaged")

    stock_reverse(user=office, event=adjustment, reason="并未损坏")

    assert balance(sz01, n95) == 100


def test_it_reverses_a_count(office, sz01, n95):
    """100 in, counted 94 (−6), the count reversed (+6): 100 again."""
    receive(office, sz01, [(n95, 100)])
    count = stock_count(user=office, warehouse=sz01, counts=[(n95, 94)])

    reversal = stock_reverse(user=office, event=count, reason="点错了")

    line = reversal.lines.get()
    assert (line.quantity, line.counted) == (6, None)
    assert balance(sz01, n95) == 100


def test_it_refuses_to_reverse_an_event_twice(office, sz01, n95):
    receipt = receive(office, sz01, [(n95, 100)])
    first = stock_reverse(user=office, event=receipt, reason="错")

    with pytest.raises(ReversalRefused) as exc_info:
        stock_reverse(user=office, event=receipt, reason="再错")

    assert first.document_number in exc_info.value.message
    assert StockEvent.objects.filter(kind=StockEventKind.REVERSAL).count() == 1


def test_it_refuses_to_reverse_a_reversal(office, sz01, n95):
    receipt = receive(office, sz01, [(n95, 100)])
    reversal = stock_reverse(user=office, event=receipt, reason="错")

    with pytest.raises(ReversalRefused):
        stock_reverse(user=office, event=reversal, reason="撤销撤销")


def test_it_refuses_to_reverse_a_receipt_already_issued(office, sz01, n95):
    """100 in, 80 out: reversing the receipt would leave −80; refused, balance still 20."""
    receipt = receive(office, sz01, [(n95, 100)])
    issue(office, sz01, [(n95, 80)])

    with pytest.raises(InsufficientStock) as exc_info:
        stock_reverse(user=office, event=receipt, reason="错")

    assert [(s.requested, s.available) for s in exc_info.value.shortfalls] == [(100, 20)]
    assert balance(sz01, n95) == 20
    assert not StockEvent.objects.filter(kind=StockEventKind.REVERSAL).exists()


def test_it_needs_a_reason_to_reverse(office, sz01, n95):
    receipt = receive(office, sz01, [(n95, 100)])

    with pytest.raises(LedgerInvalid) as exc_info:
        stock_reverse(user=office, event=receipt, reason="  ")

    assert errors_of(exc_info) == {(None, "reason")}


def test_it_reverses_lines_of_an_item_that_left_the_catalogue(office, sz01, n95):
    """A mistake stays correctable after its item is deactivated."""
    receipt = receive(office, sz01, [(n95, 100)])
    n95.active = False
    n95.save()

    stock_reverse(user=office, event=receipt, reason="错")

    assert balance(sz01, n95) == 0


# --- idempotency -----------------------------------------------------------------------


def test_it_returns_the_first_event_for_a_retried_client_uuid(office, sz01, n95):
    """The same UUID again is a no-op, even for an issue whose stock the first one took."""
    receive(office, sz01, [(n95, 10)])
    key = uuid.uuid4()
    first = issue(office, sz01, [(n95, 10)], client_uuid=key)

    again = issue(office, sz01, [(n95, 10)], client_uuid=str(key))

    assert again.pk == first.pk
    assert (first.replayed, again.replayed) == (False, True)
    assert balance(sz01, n95) == 0
    assert StockEvent.objects.count() == 2


def test_it_refuses_a_client_uuid_used_by_someone_else(office, sz01, n95, admin_user):
    key = uuid.uuid4()
    receive(office, sz01, [(n95, 10)], client_uuid=key)

    with pytest.raises(LedgerInvalid) as exc_info:
        receive(admin_user, sz01, [(n95, 10)], client_uuid=key)

    assert errors_of(exc_info) == {(None, "client_uuid")}
    assert balance(sz01, n95) == 10


# --- who may post ----------------------------------------------------------------------


def test_it_lets_an_officer_post_to_their_prefectures_warehouse(officer, lanzhou_store, n95):
    receive(officer, lanzhou_store, [(n95, 10)])

    assert balance(lanzhou_store, n95) == 10


def test_it_refuses_an_officer_the_provincial_reserve(officer, sz01, n95):
    """The provincial reserve is the office's, even when it stands in the officer's city."""
    sz01.prefecture = officer.prefecture
    sz01.save()

    with pytest.raises(PermissionDenied):
        receive(officer, sz01, [(n95, 10)])


def test_it_refuses_an_outsider_another_prefectures_warehouse(outsider, lanzhou_store, n95):
    with pytest.raises(PermissionDenied):
        receive(outsider, lanzhou_store, [(n95, 10)])
    assert not StockEvent.objects.exists()


@pytest.mark.parametrize("role_user", ["leader", "reporter"])
def test_it_refuses_roles_that_only_read(role_user, request, sz01, n95):
    """Leadership reads the ledger but never posts; producer reporters neither."""
    user = request.getfixturevalue(role_user)

    with pytest.raises(PermissionDenied):
        receive(user, sz01, [(n95, 10)])


def test_it_refuses_an_outsider_the_reversal_of_an_event(office, outsider, lanzhou_store, n95):
    receipt = receive(office, lanzhou_store, [(n95, 10)])

    with pytest.raises(PermissionDenied):
        stock_reverse(user=outsider, event=receipt, reason="不是我的")

    assert StockEventLine.objects.count() == 1
