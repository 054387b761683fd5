"""“Who can supply N95 within 5 days”: active suppliers of the item with a lead time of at
most 5 days, shortest lead time first, then the largest capacity per day."""

from decimal import Decimal

from django.urls import reverse

from procurement.models import SupplierOrigin
from procurement.selectors import capabilities_for_item
from procurement.services import supplier_capability_set, supplier_create, supplier_update
from tests.procurement.conftest import credit_code


def _supplier(office, serial, name, origin=SupplierOrigin.IN_PROVINCE):
    return supplier_create(user=office, name=name, credit_code=credit_code(serial), origin=origin)


def test_it_finds_who_can_supply_an_item_within_n_days(office, leader, n95, masks, client_for):
    fast_small = _supplier(office, 11, "甲厂")
    fast_big = _supplier(office, 12, "乙厂")
    slow = _supplier(office, 13, "丙厂")
    gone = _supplier(office, 14, "丁厂")
    abroad = supplier_create(user=office, name="Acme Medical GmbH", origin=SupplierOrigin.ABROAD)
    for supplier, lead, capacity in [
        (fast_small, 3, 10_000),
        (fast_big, 3, 80_000),
        (slow, 7, 500_000),
        (gone, 1, 1_000_000),
        (abroad, 5, 20_000),
    ]:
        supplier_capability_set(
            user=office,
            supplier=supplier,
            item=n95,
            daily_capacity=capacity,
            lead_time_days=lead,
            last_unit_price=Decimal("3.20"),
        )
    supplier_capability_set(
        user=office, supplier=slow, item=masks, daily_capacity=1, lead_time_days=0
    )
    supplier_update(user=office, supplier=gone, active=False)

    found = [c.supplier.name for c in capabilities_for_item(leader, item=n95, within_days=5)]

    # 3 days (80,000/day before 10,000/day), then 5 days; 丙厂 (7 days) and the inactive 丁厂 out.
    assert found == ["乙厂", "甲厂", "Acme Medical GmbH"]

    answer = client_for(leader).get("/api/v1/supplier-capabilities/?item=FH001&within_days=5")
    assert answer.status_code == 200
    assert [row["supplier"]["name"] for row in answer.json()["results"]] == found


def test_the_page_lists_them_and_marks_a_scarce_item(client, office, n95):
    n95.scarce = True
    n95.save()
    supplier = _supplier(office, 21, "甲厂")
    supplier_capability_set(
        user=office, supplier=supplier, item=n95, daily_capacity=1000, lead_time_days=2
    )
    client.force_login(office)

    html = client.get(
        reverse("procurement:supplier_list") + "?item=FH001&within_days=5"
    ).content.decode()

    assert f'data-supplier="{supplier.pk}"' in html
    assert "s-red" in html  # the scarce-item badge
