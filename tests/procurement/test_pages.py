"""The procurement pages open for the office and leadership, and the office's forms save
through the services: a draft order with lines, placing it, an arrival, a payment."""

import datetime as dt

import pytest
from django.urls import reverse

from procurement.models import FundingSource, OrderStatus, PurchaseOrder, Supplier
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


@pytest.fixture
def world(frozen_time, office, unit, supplier, n95_from_supplier, n95, masks, make_order):
    placed = make_order(
        [(n95, 1000, "3.50", LATER), (masks, 500, "0.80", LATER)],
        buyer_unit=unit,
        funding=FundingSource.WORKING_CAPITAL,
    )
    return {"placed": placed, "draft": make_order([(n95, 10, "3.00", LATER)], place=False)}


@pytest.mark.parametrize("who", ["office", "leader"])
def test_it_opens_every_page_for_the_province(client, request, world, who, unit, supplier):
    client.force_login(request.getfixturevalue(who))
    number = world["placed"].number
    urls = [
        reverse("procurement:supplier_list"),
        reverse("procurement:supplier_list") + "?item=FH001&within_days=5",
        reverse("procurement:supplier_detail", args=[supplier.pk]),
        reverse("procurement:unit_list"),
        reverse("procurement:unit_detail", args=[unit.pk]),
        reverse("procurement:order_list"),
        reverse("procurement:order_list") + "?status=placed&item=FH001&overdue=on",
        reverse("procurement:order_detail", args=[number]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
    detail = client.get(reverse("procurement:order_detail", args=[number])).content.decode()
    # 1,000 × 3.50 + 500 × 0.80 = 3,500.00 + 400.00 = 3,900.00 yuan
    assert "3,900.00" in detail


def test_it_shows_the_office_its_forms(client, office, world, supplier, unit):
    client.force_login(office)
    for url in [
        reverse("procurement:supplier_new"),
        reverse("procurement:supplier_edit", args=[supplier.pk]),
        reverse("procurement:unit_new"),
        reverse("procurement:unit_edit", args=[unit.pk]),
        reverse("procurement:order_new"),
        reverse("procurement:order_edit", args=[world["draft"].number]),
        reverse("procurement:order_arrival", args=[world["placed"].number]),
    ]:
        assert client.get(url).status_code == 200, url


def test_it_saves_a_draft_order_from_the_form_and_places_it(
    client, office, world, supplier, unit, n95
):
    client.force_login(office)
    form = {
        "buyer_unit": str(unit.pk),
        "supplier": str(supplier.pk),
        "funding_source": FundingSource.FISCAL,
        "ordered_on": TODAY.isoformat(),
        "note": "",
        "expected_version": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "0",
        "lines-0-item": "FH001",
        "lines-0-quantity": "20000",
        "lines-0-unit_price": "3.20",
        "lines-0-expected_arrival": LATER.isoformat(),
        "lines-1-item": "",
        "lines-1-quantity": "",
        "lines-1-unit_price": "",
        "lines-1-expected_arrival": "",
    }
    response = client.post(reverse("procurement:order_new"), form)

    assert response.status_code == 302, response.content.decode()[:2000]
    order = PurchaseOrder.objects.order_by("-pk").first()
    assert order.status == OrderStatus.DRAFT
    # 20,000 × 3.20 = 64,000.00
    assert order.lines.get().amount == 64000

    placed = client.post(
        reverse("procurement:order_action", args=[order.number, "place"]),
        {"expected_version": order.version, "note": ""},
    )
    assert placed.status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_it_records_an_arrival_and_a_payment_from_the_forms(client, office, world, cb01):
    client.force_login(office)
    order = world["placed"]
    lines = list(order.lines.order_by("id"))
    response = client.post(
        reverse("procurement:order_arrival", args=[order.number]),
        {
            "warehouse": "CB01",
            "arrived_at": "",
            "note": "",
            "expected_version": order.version,
            "client_uuid": "5b0c1b8e-7f44-4d0e-9d8f-0c6a3b7f0e11",
            f"line-{lines[0].pk}": "400",
            f"line-{lines[1].pk}": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_ARRIVED

    paid = client.post(
        reverse("procurement:order_payment", args=[order.number]),
        {"amount": "1000.00", "paid_on": TODAY.isoformat(), "note": ""},
    )
    assert paid.status_code == 302
    assert order.payments.get().amount == 1000


def test_it_creates_a_supplier_from_the_form_and_refuses_a_wrong_check_character(client, office):
    from tests.procurement.conftest import credit_code

    client.force_login(office)
    good = credit_code(7)
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    base = {"name": "天水新药业", "origin": "in_province", "contact": "", "phone": "", "note": ""}

    refused = client.post(reverse("procurement:supplier_new"), {**base, "credit_code": wrong})
    assert refused.status_code == 400
    assert 'id="err-credit_code"' in refused.content.decode()
    assert not Supplier.objects.filter(name="天水新药业").exists()

    saved = client.post(reverse("procurement:supplier_new"), {**base, "credit_code": good})
    assert saved.status_code == 302
    assert Supplier.objects.get(name="天水新药业").credit_code == good
