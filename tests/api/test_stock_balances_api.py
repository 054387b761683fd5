"""Reading stock balances over the API: codes, filters, scope, and a constant cost."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import WarehouseKind
from inventory.services import stock_issue, stock_receive
from tests.factories import ItemFactory, WarehouseFactory

URL = "/api/v1/stock-balances/"


@pytest.fixture
def balances(office, lanzhou, n95):
    """SZ01: N95 100 − 40 = 60, masks 25; LZ01 (Lanzhou's store): N95 7."""
    sz01 = WarehouseFactory(code="SZ01")
    lz01 = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    masks = ItemFactory(code="FH002", sort_order=2)
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 100), (masks, 25)], source="purchase")
    stock_issue(user=office, warehouse=sz01, lines=[(n95, 40)], issue_kind="dispatch")
    stock_receive(user=office, warehouse=lz01, lines=[(n95, 7)], source="donation")


def rows(response):
    assert response.status_code == 200
    return [(row["warehouse"], row["item"], row["quantity"]) for row in response.json()["results"]]


def test_it_lists_balances_by_warehouse_and_item_code(client_for, leader, balances):
    """Leadership reads every balance, ordered by warehouse code then catalogue order."""
    response = client_for(leader).get(URL)

    assert rows(response) == [("LZ01", "FH001", 7), ("SZ01", "FH001", 60), ("SZ01", "FH002", 25)]
    assert set(response.json()["results"][0]) == {"warehouse", "item", "quantity", "updated_at"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"warehouse": "SZ01"}, [("SZ01", "FH001", 60), ("SZ01", "FH002", 25)]),
        ({"item": "FH001"}, [("LZ01", "FH001", 7), ("SZ01", "FH001", 60)]),
        ({"warehouse": "SZ01", "item": "FH002"}, [("SZ01", "FH002", 25)]),
        ({"warehouse": "NOPE"}, []),
    ],
)
def test_it_filters_balances(client_for, office, balances, query, expected):
    assert rows(client_for(office).get(URL, query)) == expected


def test_it_shows_an_officer_only_their_prefectures_balances(
    client_for, officer, outsider, reporter, balances
):
    """Lanzhou's officer sees LZ01; Tianshui's sees nothing of Lanzhou; reporters see none."""
    assert rows(client_for(officer).get(URL)) == [("LZ01", "FH001", 7)]
    assert rows(client_for(outsider).get(URL, {"warehouse": "LZ01"})) == []
    assert rows(client_for(reporter).get(URL)) == []


def test_it_lists_balances_in_a_constant_number_of_queries(client_for, office, n95):
    """2 balances or 40: the same queries (token, count, page)."""
    client = client_for(office)
    items = [n95] + [ItemFactory(code=f"X{n:03d}") for n in range(19)]

    def receive_into(code):
        stock_receive(
            user=office,
            warehouse=WarehouseFactory(code=code),
            lines=[(item, 1) for item in items],
            source="purchase",
        )

    stock_receive(
        user=office, warehouse=WarehouseFactory(code="SZ00"), lines=[(n95, 1)], source="purchase"
    )
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(URL).json()["results"]) == 1
    receive_into("SZ01")
    receive_into("SZ02")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL).json()["results"]) == 41

    assert len(many) == len(few) <= 3
