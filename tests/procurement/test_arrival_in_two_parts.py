"""An order arriving in two parts: each part is a purchase receipt in the reserve warehouse's
ledger, linked to the order lines; the rest stays in transit until it arrives."""

import datetime as dt
import uuid

from inventory.models import ReceiptSource, StockEvent
from inventory.selectors import balances_visible_to
from procurement.models import FundingSource, OrderArrival, OrderStatus
from procurement.selectors import order_lines_in_transit
from procurement.services import order_arrival_record
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


def _balance(user, warehouse, item):
    row = balances_visible_to(user, warehouse=warehouse, item=item).first()
    return row.quantity if row else 0


def test_it_moves_the_reserve_balance_in_two_parts(
    frozen_time, office, unit, cb01, n95, masks, make_order
):
    order = make_order(
        [(n95, 10_000, "3.50", LATER), (masks, 4_000, "0.80", LATER)],
        buyer_unit=unit,
        funding=FundingSource.WORKING_CAPITAL,
    )
    n95_line, masks_line = order.lines.order_by("id")

    # Part one: 6,000 N95 and all 4,000 masks.
    first = order_arrival_record(
        user=office,
        order=order,
        warehouse=cb01,
        lines=[{"line": n95_line.pk, "quantity": 6000}, {"line": masks_line.pk, "quantity": 4000}],
        note="第一批",
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_ARRIVED
    assert _balance(office, cb01, n95) == 6000
    assert _balance(office, cb01, masks) == 4000
    # In transit: 10,000 − 6,000 = 4,000 N95; the masks are all in.
    assert [(line.item.code, line.outstanding) for line in order_lines_in_transit()] == [
        ("FH001", 4000)
    ]

    # Part two: the remaining 4,000 N95.
    second = order_arrival_record(
        user=office,
        order=order,
        warehouse="CB01",
        lines=[{"line": n95_line.pk, "quantity": 4000}],
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.ARRIVED
    # 6,000 + 4,000 = 10,000 N95 in CB01
    assert _balance(office, cb01, n95) == 10_000
    assert list(order_lines_in_transit()) == []

    # Each part is one purchase receipt whose source document is the order number.
    for arrival in (first, second):
        event = arrival.receipt_event
        assert event.kind == "receipt"
        assert event.receipt_source == ReceiptSource.PURCHASE
        assert event.source_document == order.number
        assert event.warehouse == cb01
    assert dict(first.receipt_event.lines.values_list("item__code", "quantity")) == {
        "FH001": 6000,
        "FH002": 4000,
    }
    assert sorted(
        order.arrivals.values_list("lines__order_line__item__code", "lines__quantity")
    ) == [("FH001", 4000), ("FH001", 6000), ("FH002", 4000)]


def test_a_retried_arrival_with_the_same_uuid_records_nothing_twice(
    frozen_time, office, sz01, n95, make_order
):
    order = make_order([(n95, 100, "1.00", LATER)])
    line = order.lines.get()
    key = uuid.uuid4()
    kwargs = {
        "user": office,
        "order": order,
        "warehouse": sz01,
        "lines": [{"line": line.pk, "quantity": 30}],
        "client_uuid": str(key),
    }

    first = order_arrival_record(**kwargs)
    again = order_arrival_record(**kwargs)

    assert again.pk == first.pk and again.replayed and not first.replayed
    assert OrderArrival.objects.count() == 1
    assert StockEvent.objects.filter(source_document=order.number).count() == 1
    line.refresh_from_db()
    assert line.arrived_quantity == 30
