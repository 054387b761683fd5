"""The admin edits warehouses; it shows the ledger and balances but never changes them."""

import pytest

from inventory.models import StockBalance, StockEvent, Warehouse
from inventory.services import stock_receive
from tests.factories import WarehouseFactory


@pytest.fixture
def receipt(office, n95):
    return stock_receive(
        user=office, warehouse=WarehouseFactory(code="SZ01"), lines=[(n95, 10)], source="purchase"
    )


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_it_lets_an_admin_edit_a_warehouse(admin_client, receipt):
    warehouse = receipt.warehouse

    page = admin_client.get(f"/admin/inventory/warehouse/{warehouse.pk}/change/")
    response = admin_client.post(
        f"/admin/inventory/warehouse/{warehouse.pk}/change/",
        {
            "code": "SZ01",
            "name_zh": "省级储备一库",
            "name_en": "",
            "kind": "provincial_reserve",
            "prefecture": "",
            "address": "",
            "manager": "张三",
            "phone": "",
            "active": "on",
        },
    )

    assert page.status_code == 200
    assert response.status_code == 302
    assert Warehouse.objects.get(pk=warehouse.pk).manager == "张三"


def test_it_shows_an_event_with_its_lines_read_only(admin_client, receipt):
    """The event page renders (lines inline) without a save button; add and delete are 403."""
    page = admin_client.get(f"/admin/inventory/stockevent/{receipt.pk}/change/")

    assert page.status_code == 200
    content = page.content.decode()
    assert receipt.document_number in content
    assert 'name="_save"' not in content
    assert admin_client.get("/admin/inventory/stockevent/add/").status_code == 403
    assert admin_client.get(f"/admin/inventory/stockevent/{receipt.pk}/delete/").status_code == 403
    assert (
        admin_client.post(f"/admin/inventory/stockevent/{receipt.pk}/change/", {}).status_code
        == 403
    )
    assert StockEvent.objects.count() == 1


def test_it_lists_balances_without_letting_anyone_change_them(admin_client, receipt):
    balance = StockBalance.objects.get()

    assert admin_client.get("/admin/inventory/stockbalance/").status_code == 200
    assert admin_client.get("/admin/inventory/stockevent/").status_code == 200
    assert admin_client.get("/admin/inventory/stockbalance/add/").status_code == 403
    admin_client.post(f"/admin/inventory/stockbalance/{balance.pk}/change/", {"quantity": 99})
    assert StockBalance.objects.get().quantity == 10
