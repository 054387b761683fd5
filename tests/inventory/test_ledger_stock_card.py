"""The stock card, reserve stock at a date, and who sees which warehouse and balance.

One ledger, built in `card_events`, serves most tests; its running balances are worked out
by hand in the fixture's docstring.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from inventory.models import IssueKind, ReceiptSource, StockEventKind, WarehouseKind
from inventory.selectors import (
    balances_visible_to,
    reserve_stock_at,
    stock_card,
    warehouses_visible_to,
)
from inventory.services import stock_adjust, stock_count, stock_issue, stock_receive
from supplycoord.permissions import can_post_to_warehouse
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)


def at(day, hour=9):
    return dt.datetime(2020, 2, day, hour, 0, tzinfo=TZ)


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
def card_events(office, sz01, n95, masks):
    """N95 in SZ01, in the order recorded (back-dated events land in their place):

    recorded  happened     event                  N95 running balance, in date order
    1         14th 09:00   receipt +100           14th  +100 -> 100
    2         19th 09:00   issue −30              16th  +50  -> 150  (recorded 3rd)
    3         16th 12:00   receipt +50            17th  −5   -> 145  (recorded 4th)
    4         17th 08:00   adjustment −5          19th  −30  -> 115
    5         20th 10:00   count 110 (−5)         20th  −5   -> 110
    plus a masks receipt that is not on the N95 card.
    """
    events = [
        stock_receive(
            user=office,
            warehouse=sz01,
            lines=[(n95, 100)],
            source=ReceiptSource.PURCHASE,
            occurred_at=at(14),
        ),
        stock_issue(
            user=office,
            warehouse=sz01,
            lines=[(n95, 30)],
            issue_kind=IssueKind.DISPATCH,
            occurred_at=at(19),
        ),
        stock_receive(
            user=office,
            warehouse=sz01,
            lines=[(n95, 50)],
            source=ReceiptSource.DONATION,
            occurred_at=at(16, 12),
        ),
        stock_adjust(
            user=office, warehouse=sz01, lines=[(n95, -5)], reason="damaged", occurred_at=at(17, 8)
        ),
        stock_count(user=office, warehouse=sz01, counts=[(n95, 110)]),
    ]
    stock_receive(user=office, warehouse=sz01, lines=[(masks, 7)], source=ReceiptSource.DONATION)
    return events


def card_rows(card):
    return [(line.occurred_at.day, line.quantity, line.balance_after) for line in card.lines]


def test_it_shows_every_line_with_its_running_balance_in_date_order(office, sz01, n95, card_events):
    """Back-dated events sit at their date; each balance counts everything before it."""
    card = stock_card(office, warehouse=sz01, item=n95)

    assert card_rows(card) == [
        (14, 100, 100),
        (16, 50, 150),
        (17, -5, 145),
        (19, -30, 115),
        (20, -5, 110),
    ]
    assert (card.opening, card.closing) == (0, 110)
    # The card's last balance is the stored balance.
    assert sz01.balances.get(item=n95).quantity == 110


def test_it_starts_from_the_opening_balance_with_a_date_from(office, sz01, n95, card_events):
    """From the 16th: 100 received on the 14th is the opening balance, not a line."""
    card = stock_card(office, warehouse=sz01, item=n95, date_from=dt.date(2020, 2, 16))

    assert card.opening == 100
    assert card_rows(card) == [(16, 50, 150), (17, -5, 145), (19, -30, 115), (20, -5, 110)]
    assert card.closing == 110


def test_it_closes_at_the_end_of_date_to(office, sz01, n95, card_events):
    """16th to 17th: opening 100, lines to 145, closing 145 (the issue of the 19th is out)."""
    card = stock_card(
        office,
        warehouse=sz01,
        item=n95,
        date_from=dt.date(2020, 2, 16),
        date_to=dt.date(2020, 2, 17),
    )

    assert (card.opening, card.closing) == (100, 145)
    assert card_rows(card) == [(16, 50, 150), (17, -5, 145)]


def test_it_filters_by_kind_without_changing_the_balances(office, sz01, n95, card_events):
    """Receipts only: 100 and 150 are still the balances after each receipt."""
    card = stock_card(office, warehouse=sz01, item=n95, kinds=[StockEventKind.RECEIPT])

    assert card_rows(card) == [(14, 100, 100), (16, 50, 150)]
    assert (card.opening, card.closing) == (0, 110)
    # A paginator counts the filtered lines.
    assert card.lines.count() == 2


def test_it_combines_kind_and_date_filters(office, sz01, n95, card_events):
    """Issues from the 17th: opening 150 (before the 17th), the issue leaves 115."""
    card = stock_card(
        office, warehouse=sz01, item=n95, date_from=dt.date(2020, 2, 17), kinds=["issue"]
    )

    assert card.opening == 150
    assert card_rows(card) == [(19, -30, 115)]


def test_it_orders_events_of_the_same_moment_by_recording(office, sz01, n95):
    """Two events at 09:00 on the 19th: the one recorded first comes first."""
    stock_receive(
        user=office, warehouse=sz01, lines=[(n95, 10)], source="purchase", occurred_at=at(19)
    )
    stock_issue(
        user=office, warehouse=sz01, lines=[(n95, 4)], issue_kind="dispatch", occurred_at=at(19)
    )

    card = stock_card(office, warehouse=sz01, item=n95)

    assert card_rows(card) == [(19, 10, 10), (19, -4, 6)]


def test_it_paginates_in_two_queries(office, sz01, n95, card_events, django_assert_num_queries):
    """A page of the card is one query after the one aggregate for opening and closing."""
    with django_assert_num_queries(2):
        card = stock_card(office, warehouse=sz01, item=n95, date_from=dt.date(2020, 2, 15))
        page = list(card.lines[1:3])

    assert [(line.quantity, line.balance_after) for line in page] == [(-5, 145), (-30, 115)]
    assert page[0].event.document_number.startswith("SZ01-202002-")


def test_it_refuses_the_card_of_a_warehouse_one_cannot_see(outsider, lanzhou, n95):
    store = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)

    with pytest.raises(PermissionDenied):
        stock_card(outsider, warehouse=store, item=n95)


# --- reserve stock ---------------------------------------------------------------------


def test_it_sums_reserve_stock_at_the_end_of_a_date(office, n95, masks, lanzhou):
    """Provincial reserve and producer-held count; a prefecture store and a closed one don't.

    SZ01 +100 on the 18th; producer-held +40 on the 19th; SZ01 −30 on the 20th:
    18th -> 100, 19th -> 140, 20th -> 110, 17th -> nothing.
    """
    sz01 = WarehouseFactory(code="SZ01")
    held = WarehouseFactory(code="DC01", kind=WarehouseKind.PRODUCER_HELD)
    city = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    closed = WarehouseFactory(code="SZ99")
    stock_receive(
        user=office, warehouse=sz01, lines=[(n95, 100)], source="purchase", occurred_at=at(18)
    )
    stock_receive(
        user=office,
        warehouse=held,
        lines=[(n95, 40), (masks, 5)],
        source="own_production",
        occurred_at=at(19),
    )
    stock_receive(
        user=office, warehouse=city, lines=[(n95, 1000)], source="purchase", occurred_at=at(18)
    )
    stock_receive(
        user=office, warehouse=closed, lines=[(n95, 7)], source="purchase", occurred_at=at(18)
    )
    closed.active = False
    closed.save()
    stock_issue(
        user=office, warehouse=sz01, lines=[(n95, 30)], issue_kind="dispatch", occurred_at=at(20, 9)
    )

    assert reserve_stock_at(dt.date(2020, 2, 17)) == {}
    assert reserve_stock_at(dt.date(2020, 2, 18)) == {n95.pk: 100}
    assert reserve_stock_at(dt.date(2020, 2, 19)) == {n95.pk: 140, masks.pk: 5}
    assert reserve_stock_at(dt.date(2020, 2, 20)) == {n95.pk: 110, masks.pk: 5}


def test_it_reads_reserve_stock_in_one_query(office, n95, django_assert_num_queries):
    stock_receive(
        user=office, warehouse=WarehouseFactory(code="SZ01"), lines=[(n95, 1)], source="purchase"
    )

    with django_assert_num_queries(1):
        reserve_stock_at(dt.date(2020, 2, 20))


# --- scoping ---------------------------------------------------------------------------


@pytest.fixture
def stores(lanzhou, tianshui):
    return {
        "SZ01": WarehouseFactory(code="SZ01"),
        "LZ01": WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou),
        "LZ02": WarehouseFactory(
            code="LZ02", kind=WarehouseKind.HOSPITAL_OTHER, prefecture=lanzhou
        ),
        "TS01": WarehouseFactory(code="TS01", kind=WarehouseKind.PREFECTURE, prefecture=tianshui),
    }


@pytest.mark.parametrize(
    ("role_user", "visible"),
    [
        ("office", {"SZ01", "LZ01", "LZ02", "TS01"}),
        ("leader", {"SZ01", "LZ01", "LZ02", "TS01"}),
        ("admin_user", {"SZ01", "LZ01", "LZ02", "TS01"}),
        ("officer", {"LZ01", "LZ02"}),
        ("outsider", {"TS01"}),
        ("reporter", set()),
    ],
)
def test_it_shows_each_role_its_warehouses(role_user, visible, request, stores):
    user = request.getfixturevalue(role_user)

    assert set(warehouses_visible_to(user).values_list("code", flat=True)) == visible


@pytest.mark.parametrize(
    ("role_user", "postable"),
    [
        ("office", {"SZ01", "LZ01", "LZ02", "TS01"}),
        ("admin_user", {"SZ01", "LZ01", "LZ02", "TS01"}),
        ("leader", set()),
        # Only their prefecture's own warehouse: not a hospital's, not the province's.
        ("officer", {"LZ01"}),
        ("outsider", {"TS01"}),
        ("reporter", set()),
    ],
)
def test_it_lets_each_role_post_where_it_may(role_user, postable, request, stores):
    user = request.getfixturevalue(role_user)

    assert {code for code, w in stores.items() if can_post_to_warehouse(user, w)} == postable


def test_it_stops_an_officer_posting_to_a_closed_warehouse(officer, stores):
    stores["LZ01"].active = False

    assert not can_post_to_warehouse(officer, stores["LZ01"])


def test_it_scopes_balances(office, officer, outsider, stores, n95):
    """Each sees the balances of the warehouses they see, filtered by code or instance."""
    for code in ("SZ01", "LZ01", "TS01"):
        stock_receive(user=office, warehouse=stores[code], lines=[(n95, 10)], source="purchase")

    assert {b.warehouse.code for b in balances_visible_to(officer)} == {"LZ01"}
    assert {b.warehouse.code for b in balances_visible_to(outsider)} == {"TS01"}
    assert {b.warehouse.code for b in balances_visible_to(office, item="FH001")} == {
        "SZ01",
        "LZ01",
        "TS01",
    }
    assert [b.quantity for b in balances_visible_to(office, warehouse=stores["SZ01"])] == [10]
    assert not balances_visible_to(outsider, warehouse="LZ01").exists()
