"""Arriving more than was ordered is refused by line and field, at every door, and nothing is
saved: no ledger event, no balance, no arrival, the order unmoved."""

import datetime as dt

import pytest
from django.urls import reverse

from inventory.models import StockBalance, StockEvent
from procurement.models import OrderArrival, OrderStatus
from procurement.services import ProcurementInvalid, order_arrival_record
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


@pytest.fixture
def half_arrived(frozen_time, office, sz01, n95, masks, make_order):
    """N95 1,000 ordered, 400 arrived (600 still expected); masks 200 ordered."""
    order = make_order([(n95, 1000, "3.00", LATER), (masks, 200, "0.50", LATER)])
    n95_line = order.lines.get(item=n95)
    order_arrival_record(
        user=office, order=order, warehouse=sz01, lines=[{"line": n95_line, "quantity": 400}]
    )
    order.refresh_from_db()
    return order


def _state(order):
    order.refresh_from_db()
    return (
        StockEvent.objects.count(),
        list(StockBalance.objects.order_by("pk").values_list("quantity", flat=True)),
        OrderArrival.objects.count(),
        order.version,
        order.status,
        list(order.lines.order_by("id").values_list("arrived_quantity", flat=True)),
    )


def test_it_refuses_the_line_that_exceeds_and_saves_nothing(half_arrived, office, sz01):
    order = half_arrived
    n95_line, masks_line = order.lines.order_by("id")
    before = _state(order)

    with pytest.raises(ProcurementInvalid) as refused:
        order_arrival_record(
            user=office,
            order=order,
            warehouse=sz01,
            # Line 0 (masks 150 of 200) is fine; line 1 asks 601 N95 where 600 are expected.
            lines=[
                {"line": masks_line.pk, "quantity": 150},
                {"line": n95_line.pk, "quantity": 601},
            ],
        )

    [problem] = refused.value.errors
    assert (problem.line, problem.field) == (1, "quantity")
    assert "600" in problem.message
    assert _state(order) == before
    assert order.status == OrderStatus.PARTLY_ARRIVED


def test_the_api_names_the_line_and_the_field(half_arrived, client_for, office):
    order = half_arrived
    n95_line = order.lines.order_by("id").first()
    before = _state(order)

    response = client_for(office).post(
        f"/api/v1/purchase-orders/{order.number}/arrivals/",
        {"warehouse": "SZ01", "lines": [{"line": n95_line.pk, "quantity": 10**6}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 0
    assert response.json()["errors"][0]["field"] == "quantity"
    assert _state(order) == before


def test_the_page_puts_the_error_on_the_line(half_arrived, client, office):
    order = half_arrived
    n95_line, masks_line = order.lines.order_by("id")
    before = _state(order)
    client.force_login(office)

    response = client.post(
        reverse("procurement:order_arrival", args=[order.number]),
        {
            "warehouse": "SZ01",
            "expected_version": order.version,
            "client_uuid": "0f8c1b8e-7f44-4d0e-9d8f-0c6a3b7f0e22",
            f"line-{n95_line.pk}": "700",
            f"line-{masks_line.pk}": "1",
        },
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="has-error"' in html and 'data-item="FH001"' in html
    assert _state(order) == before
