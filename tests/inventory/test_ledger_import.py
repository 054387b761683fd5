"""`stock_events_import`: a paper or Excel ledger, or history, posted as one batch.

Each test imports a few events and checks balances, stock cards and document numbers
against figures worked out by hand in its docstring.
"""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db.models import Sum
from django.utils import translation

from inventory.models import StockBalance, StockEvent, StockEventKind, StockEventLine
from inventory.selectors import stock_card
from inventory.services import (
    StockImportInvalid,
    stock_events_import,
    stock_issue,
    stock_receive,
)
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 3, 20, 10, 0, tzinfo=TZ)


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


def on(month, day, hour=9):
    return dt.datetime(2020, month, day, hour, 0, tzinfo=TZ).isoformat()


def receipt(when, lines, **extra):
    return {
        "warehouse": "SZ01",
        "kind": "receipt",
        "source": "purchase",
        "occurred_at": when,
        "lines": [{"item": code, "quantity": n} for code, n in lines],
        **extra,
    }


def issue(when, lines, **extra):
    return {
        "warehouse": "SZ01",
        "kind": "issue",
        "issue_kind": "dispatch",
        "occurred_at": when,
        "lines": [{"item": code, "quantity": n} for code, n in lines],
        **extra,
    }


def balance(warehouse, item) -> int:
    return StockBalance.objects.get(warehouse=warehouse, item=item).quantity


def errors_of(exc_info) -> set:
    return {(e.event, e.line, e.field) for e in exc_info.value.errors}


def test_it_posts_a_ledger_in_date_order_with_numbers_per_month(office, sz01, n95, masks):
    """Sent out of order: 31 Jan receipt 500, 3 Feb issue 200, 28 Jan receipt 100 + 40 masks,
    5 Feb issue 50. In date order: Jan 0001 (28th), Jan 0002 (31st), Feb 0001, Feb 0002.
    N95: 100 → 600 → 400 → 350; masks 40.
    """
    events = stock_events_import(
        user=office,
        events=[
            receipt(on(1, 31), [("FH001", 500)]),
            issue(on(2, 3), [("FH001", 200)], counterparty="兰州市"),
            receipt(on(1, 28), [("FH001", 100), ("FH002", 40)], source="national_allocation"),
            issue(on(2, 5), [("FH001", 50)]),
        ],
    )

    assert [e.document_number for e in events] == [
        "SZ01-202001-0002",
        "SZ01-202002-0001",
        "SZ01-202001-0001",
        "SZ01-202002-0002",
    ]
    assert [e.replayed for e in events] == [False] * 4
    assert events[1].counterparty == "兰州市"
    assert events[2].receipt_source == "national_allocation"
    assert (events[0].recorded_by, events[0].recorded_at) == (office, NOW)
    assert (balance(sz01, n95), balance(sz01, masks)) == (350, 40)
    card = stock_card(office, warehouse=sz01, item=n95)
    assert [line.balance_after for line in card.lines] == [100, 600, 400, 350]


def test_it_refuses_an_issue_dated_before_its_stock_arrived(office, sz01, n95):
    """Receipt of 100 on 10 Feb, issue of 30 on 5 Feb: nothing was there on the 5th."""
    with pytest.raises(StockImportInvalid) as exc_info, translation.override("en"):
        stock_events_import(
            user=office,
            events=[receipt(on(2, 10), [("FH001", 100)]), issue(on(2, 5), [("FH001", 30)])],
        )

    assert errors_of(exc_info) == {(1, 0, "quantity")}
    # The item by its name in the reader's language, not its code.
    assert exc_info.value.errors[0].message == (
        "Not enough stock of N95 respirator on 2020-02-05: 30 requested, 0 available."
    )
    assert not StockEvent.objects.exists()
    assert not StockBalance.objects.exists()


def test_it_reports_every_problem_with_event_line_and_field(office, sz01, n95):
    """Six bad events and one good: every problem is listed, and nothing is saved."""
    key = str(uuid.uuid4())
    with pytest.raises(StockImportInvalid) as exc_info:
        stock_events_import(
            user=office,
            events=[
                receipt(on(2, 1), [("FH001", 10)], client_uuid=key),
                receipt(on(2, 1), [("NOPE", 10), ("FH001", 0)], warehouse="XX99"),
                {**receipt(on(2, 1), [("FH001", 1)]), "source": "stolen"},
                receipt("2020-03-21T09:00:00", [("FH001", 1)]),
                {**receipt(on(2, 1), [("FH001", 1)]), "kind": "gift"},
                receipt(on(2, 2), [("FH001", 1)], client_uuid=key),
                "junk",
            ],
        )

    assert errors_of(exc_info) == {
        (1, None, "warehouse"),
        (1, 0, "item"),
        (1, 1, "quantity"),
        (2, None, "source"),
        (3, None, "occurred_at"),
        (4, None, "kind"),
        (5, None, "client_uuid"),
        (6, None, "non_field_errors"),
    }
    assert [e.event for e in exc_info.value.errors] == sorted(
        e.event for e in exc_info.value.errors
    )
    assert not StockEvent.objects.exists()


def test_it_posts_nothing_when_the_same_import_runs_again(office, sz01, n95):
    """Every event with a client UUID: the second run returns the stored events, replayed."""
    batch = [
        receipt(on(1, 28), [("FH001", 100)], client_uuid=str(uuid.uuid4())),
        issue(on(2, 3), [("FH001", 30)], client_uuid=str(uuid.uuid4())),
    ]
    first = stock_events_import(user=office, events=batch)

    again = stock_events_import(user=office, events=batch)

    assert [e.pk for e in again] == [e.pk for e in first]
    assert [e.replayed for e in again] == [True, True]
    assert StockEvent.objects.count() == 2
    assert balance(sz01, n95) == 70


def test_it_refuses_a_client_uuid_used_for_another_event(office, sz01, n95):
    key = str(uuid.uuid4())
    stock_events_import(user=office, events=[receipt(on(2, 1), [("FH001", 5)], client_uuid=key)])

    with pytest.raises(StockImportInvalid) as exc_info:
        stock_events_import(user=office, events=[issue(on(2, 2), [("FH001", 5)], client_uuid=key)])

    assert errors_of(exc_info) == {(0, None, "client_uuid")}


@pytest.mark.parametrize("role_user", ["officer", "leader", "reporter"])
def test_it_lets_only_office_staff_import(role_user, request, sz01, n95):
    """An officer posts to their own warehouse one event at a time; imports are the office's."""
    user = request.getfixturevalue(role_user)

    with pytest.raises(PermissionDenied):
        stock_events_import(user=user, events=[receipt(on(2, 1), [("FH001", 5)])])


def test_it_counts_against_the_balance_of_the_counts_date(office, sz01, n95):
    """100 in on 1 Feb, 30 out on 10 Feb, counted 65 on 15 Feb (−5), 8 damaged on 20 Feb:
    the count line is −5 and the balance 57."""
    events = stock_events_import(
        user=office,
        events=[
            receipt(on(2, 1), [("FH001", 100)]),
            {
                "warehouse": "SZ01",
                "kind": "count",
                "occurred_at": on(2, 15),
                "lines": [{"item": "FH001", "counted": 65}],
            },
            issue(on(2, 10), [("FH001", 30)]),
            {
                "warehouse": "SZ01",
                "kind": "adjustment",
                "reason": "damaged",
                "occurred_at": on(2, 20),
                "lines": [{"item": "FH001", "quantity": -8}],
            },
        ],
    )

    count = events[1].lines.get()
    assert (count.counted, count.quantity) == (65, -5)
    assert balance(sz01, n95) == 57


def test_it_reverses_an_event_of_the_same_import(office, sz01, n95, masks):
    """A receipt of 300 N95 and 20 masks booked to SZ01 by mistake on 2 Feb, reversed on
    4 Feb: lines −300 and −20, linked; what stays is the 50 received on 3 Feb."""
    key = str(uuid.uuid4())
    events = stock_events_import(
        user=office,
        events=[
            receipt(on(2, 2), [("FH001", 300), ("FH002", 20)], client_uuid=key),
            receipt(on(2, 3), [("FH001", 50)]),
            {"kind": "reversal", "reverses": key, "occurred_at": on(2, 4), "note": "应入二库"},
        ],
    )

    reversal = events[2]
    assert reversal.kind == StockEventKind.REVERSAL
    assert reversal.reverses == events[0]
    assert reversal.note == "应入二库"
    assert sorted(reversal.lines.values_list("quantity", flat=True)) == [-300, -20]
    assert (balance(sz01, n95), balance(sz01, masks)) == (50, 0)
    assert [e.document_number[-4:] for e in events] == ["0001", "0002", "0003"]


def test_it_reverses_a_stored_event_by_document_number(office, sz01, n95):
    stored = stock_events_import(user=office, events=[receipt(on(2, 2), [("FH001", 40)])])[0]

    stock_events_import(
        user=office,
        events=[{"kind": "reversal", "reverses": stored.document_number, "note": "重复录入"}],
    )

    assert balance(sz01, n95) == 0
    assert stored.reversed_by.occurred_at == NOW


def test_it_refuses_bad_reversals(office, sz01, n95):
    """Unknown target, no reason, dated before its event, the same event reversed twice."""
    key = str(uuid.uuid4())
    with pytest.raises(StockImportInvalid) as exc_info:
        stock_events_import(
            user=office,
            events=[
                receipt(on(2, 2), [("FH001", 40)], client_uuid=key),
                {"kind": "reversal", "reverses": "SZ01-202001-9999", "note": "x"},
                {"kind": "reversal", "reverses": key, "occurred_at": on(2, 3)},
                {"kind": "reversal", "reverses": key, "occurred_at": on(2, 1), "note": "x"},
            ],
        )

    assert errors_of(exc_info) == {
        (1, None, "reverses"),
        (2, None, "note"),
        (3, None, "reverses"),  # event 2 already reverses it
        (3, None, "occurred_at"),
    }


def test_it_slots_history_before_stored_lines_without_driving_them_negative(office, sz01, n95):
    """Stored: 100 received on 15 Mar, 90 issued on 18 Mar. An imported issue of 20 on
    16 Mar would leave −10 after the 18th: refused, naming the imported line. A receipt of
    500 on 1 Mar goes before both: numbers continue March's (0003), balance 510."""
    stock_receive(
        user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase", occurred_at=on(3, 15)
    )
    later = stock_issue(
        user=office, warehouse=sz01, lines=[(n95, 90)], issue_kind="dispatch", occurred_at=on(3, 18)
    )

    with pytest.raises(StockImportInvalid) as exc_info:
        stock_events_import(user=office, events=[issue(on(3, 16), [("FH001", 20)])])

    assert errors_of(exc_info) == {(0, 0, "quantity")}
    assert later.document_number in exc_info.value.errors[0].message
    assert "N95口罩" in exc_info.value.errors[0].message  # its name, not FH001

    imported = stock_events_import(user=office, events=[receipt(on(3, 1), [("FH001", 500)])])

    assert imported[0].document_number == "SZ01-202003-0003"
    assert balance(sz01, n95) == 510
    card = stock_card(office, warehouse=sz01, item=n95)
    assert [line.balance_after for line in card.lines] == [500, 600, 510]


def test_it_imports_any_number_of_events_in_a_fixed_number_of_queries(
    office, sz01, n95, masks, django_assert_max_num_queries
):
    """Set-based: 120 events over three months cost a handful of queries, not one each."""
    events = []
    for n in range(60):
        when = on(1 + n % 3, 1 + n % 15, 8)
        events.append(receipt(when, [("FH001", 10), ("FH002", 5)]))
        events.append(issue(on(1 + n % 3, 1 + n % 15, 9), [("FH001", 3)]))

    with django_assert_max_num_queries(16):
        stock_events_import(user=office, events=events)

    assert StockEvent.objects.count() == 120
    assert balance(sz01, n95) == 60 * 7
    totals = dict(
        StockEventLine.objects.values("item__code")
        .annotate(total=Sum("quantity"))
        .values_list("item__code", "total")
    )
    assert totals == {"FH001": 420, "FH002": 300}
    numbers = sorted(StockEvent.objects.values_list("document_number", flat=True))
    assert numbers[:2] == ["SZ01-202001-0001", "SZ01-202001-0002"]
    assert numbers[-1] == "SZ01-202003-0040"
