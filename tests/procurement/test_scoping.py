"""Who sees procurement: the office and leadership (leadership reads only). A prefecture
officer — Lanzhou's and the outsider of Tianshui — and a producer's reporter get 403 on every
page and API endpoint, reads and writes alike, and change nothing."""

import datetime as dt

import pytest
from django.urls import reverse

from procurement.models import OrderStatus, PurchaseOrder, Supplier
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


@pytest.fixture
def placed(frozen_time, unit, supplier, n95, make_order):
    return make_order([(n95, 100, "1.00", LATER)], buyer_unit=unit)


def _pages(order, supplier, unit):
    return [
        reverse("procurement:supplier_list"),
        reverse("procurement:supplier_detail", args=[supplier.pk]),
        reverse("procurement:unit_list"),
        reverse("procurement:unit_detail", args=[unit.pk]),
        reverse("procurement:order_list"),
        reverse("procurement:order_detail", args=[order.number]),
        reverse("procurement:order_new"),
        reverse("procurement:order_arrival", args=[order.number]),
        reverse("procurement:supplier_new"),
    ]


API_READS = ["/api/v1/suppliers/", "/api/v1/purchase-orders/"]


@pytest.mark.parametrize("who", ["outsider", "officer", "reporter_of_a_producer"])
def test_officers_and_reporters_are_refused_everywhere(
    client, client_for, request, who, placed, supplier, unit
):
    user = request.getfixturevalue(who)
    client.force_login(user)
    for url in _pages(placed, supplier, unit):
        assert client.get(url).status_code == 403, url
    moved = client.post(
        reverse("procurement:order_action", args=[placed.number, "cancel"]),
        {"expected_version": placed.version, "note": "x"},
    )
    assert moved.status_code == 403

    api = client_for(user)
    for url in [*API_READS, f"/api/v1/purchase-orders/{placed.number}/"]:
        assert api.get(url).status_code == 403, url
    assert (
        api.post(
            f"/api/v1/purchase-orders/{placed.number}/cancel/",
            {"expected_version": placed.version, "note": "x"},
            format="json",
        ).status_code
        == 403
    )
    assert (
        api.post("/api/v1/suppliers/", {"name": "x", "origin": "abroad"}, format="json").status_code
        == 403
    )
    placed.refresh_from_db()
    assert placed.status == OrderStatus.PLACED
    assert not Supplier.objects.filter(name="x").exists()


def test_leadership_reads_but_does_not_change(client, client_for, leader, placed, supplier, unit):
    client.force_login(leader)
    for url in _pages(placed, supplier, unit)[:6]:
        assert client.get(url).status_code == 200, url
    for url in _pages(placed, supplier, unit)[6:]:
        assert client.get(url).status_code == 403, url
    detail = client.get(reverse("procurement:order_detail", args=[placed.number])).content.decode()
    assert 'data-action="cancel"' not in detail  # no button for what the service refuses

    api = client_for(leader)
    assert api.get("/api/v1/purchase-orders/").json()["count"] == 1
    refused = api.post(
        f"/api/v1/purchase-orders/{placed.number}/cancel/",
        {"expected_version": placed.version, "note": "x"},
        format="json",
    )
    assert refused.status_code == 403
    assert PurchaseOrder.objects.get().status == OrderStatus.PLACED


def test_the_office_works_through_the_api(client_for, office, placed, sz01):
    api = client_for(office)
    line = placed.lines.get()

    created = api.post(
        "/api/v1/purchase-orders/",
        {
            "supplier": placed.supplier_id,
            "funding_source": "fiscal",
            "lines": [
                {
                    "item": "FH001",
                    "quantity": 5,
                    "unit_price": "2.40",
                    "expected_arrival": "2020-02-25",
                }
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["amount"] == "12.00"  # 5 × 2.40
    number = created.json()["number"]
    placed_again = api.post(
        f"/api/v1/purchase-orders/{number}/place/",
        {"expected_version": created.json()["version"]},
        format="json",
    )
    assert placed_again.status_code == 200 and placed_again.json()["status"] == "placed"

    arrived = api.post(
        f"/api/v1/purchase-orders/{placed.number}/arrivals/",
        {"warehouse": "CB01", "lines": [{"line": line.pk, "quantity": 100}]},
        format="json",
    )
    assert arrived.status_code == 201, arrived.json()
    assert arrived.json()["status"] == "arrived"
    assert arrived.json()["arrivals"][0]["lines"] == [
        {"line": line.pk, "item": "FH001", "quantity": 100}
    ]
