"""Through the API, the office keeps the supplier directory (a supplier's fields, the items it
can deliver) and the reserve-task units with their working-capital lines, as the pages do;
leadership reads them; an officer gets 403 and changes nothing."""

import datetime as dt
from decimal import Decimal

import pytest

from procurement.models import FundingSource, ReserveUnit, Supplier, SupplierCapability
from tests.procurement.conftest import TODAY


@pytest.fixture
def api(frozen_time, client_for, office):
    return client_for(office)


def test_it_sets_changes_and_removes_what_a_supplier_delivers(api, supplier, n95):
    url = f"/api/v1/suppliers/{supplier.pk}/items/FH001/"
    body = {"daily_capacity": 50000, "lead_time_days": 5, "minimum_order": 10000}
    first = api.put(url, {**body, "last_unit_price": "3.50"}, format="json")
    assert first.status_code == 200, first.json()
    assert first.json()["capabilities"] == [
        {
            "item": "FH001",
            "daily_capacity": 50000,
            "lead_time_days": 5,
            "minimum_order": 10000,
            "last_unit_price": "3.50",
        }
    ]
    # Set again: the one row changes; there are never two rows for one item.
    again = api.put(url, {**body, "lead_time_days": 3}, format="json")
    assert [c["lead_time_days"] for c in again.json()["capabilities"]] == [3]
    assert SupplierCapability.objects.filter(supplier=supplier).count() == 1
    gone = api.delete(url)
    assert gone.status_code == 200 and gone.json()["capabilities"] == []
    assert api.delete(url).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"daily_capacity": 0, "lead_time_days": 5}, "daily_capacity"),
        ({"daily_capacity": 10, "lead_time_days": 366}, "lead_time_days"),
        ({"daily_capacity": 10, "lead_time_days": -1}, "lead_time_days"),
        ({"daily_capacity": "1e3", "lead_time_days": 5}, "daily_capacity"),
        (
            {"daily_capacity": 10, "lead_time_days": 5, "last_unit_price": "0.001"},
            "last_unit_price",
        ),
    ],
)
def test_a_bad_capability_is_refused_by_field(api, supplier, n95, body, field):
    response = api.put(f"/api/v1/suppliers/{supplier.pk}/items/FH001/", body, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert not SupplierCapability.objects.exists()


def test_an_unknown_item_or_supplier_is_named(api, supplier):
    unknown_item = api.put(
        f"/api/v1/suppliers/{supplier.pk}/items/NOPE/",
        {"daily_capacity": 1, "lead_time_days": 1},
        format="json",
    )
    assert unknown_item.status_code == 400
    assert unknown_item.json()["errors"][0]["field"] == "item"
    assert api.put("/api/v1/suppliers/999999/items/FH001/", {}, format="json").status_code == 404


def test_it_edits_a_supplier_and_refuses_a_wrong_check_character(api, supplier):
    url = f"/api/v1/suppliers/{supplier.pk}/"
    changed = api.patch(url, {"contact": "赵经理", "active": False}, format="json")
    assert changed.status_code == 200
    assert (changed.json()["contact"], changed.json()["active"]) == ("赵经理", False)
    wrong = supplier.credit_code[:-1] + ("0" if supplier.credit_code[-1] != "0" else "1")
    refused = api.patch(url, {"credit_code": wrong}, format="json")
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["credit_code"]
    # "false" as text is not false: refused, not read as true.
    text_flag = api.patch(url, {"active": "false"}, format="json")
    assert text_flag.status_code == 400
    supplier.refresh_from_db()
    assert (supplier.contact, supplier.active) == ("赵经理", False)


def test_it_lists_units_with_their_capital_lines(api, unit, make_order, n95, cb01):
    # A placed 周转金 order of 10,000 × 3.50 = 35,000.00 commits that much of 20,000,000.00;
    # 5,000.00 paid of it leaves 30,000.00 committed, and 20,000,000 − 30,000 − 5,000 =
    # 19,965,000.00 remaining.
    order = make_order(
        [(n95, 10_000, "3.50", TODAY + dt.timedelta(days=3))],
        buyer_unit=unit,
        funding=FundingSource.WORKING_CAPITAL,
    )
    paid = api.post(
        f"/api/v1/purchase-orders/{order.number}/payments/", {"amount": "5000.00"}, format="json"
    )
    assert paid.status_code == 201
    [row] = api.get("/api/v1/reserve-units/").json()
    assert row == {
        "id": unit.pk,
        "name": "国药控股甘肃有限公司",
        "warehouses": ["CB01"],
        "contact": "",
        "phone": "",
        "note": "",
        "active": True,
        "capital_granted": "20000000.00",
        "capital_committed": "30000.00",
        "capital_paid": "5000.00",
        "capital_remaining": "19965000.00",
        "over": False,
    }
    # Lowering the line below what is used (35,000.00) puts the unit over it.
    lowered = api.patch(
        f"/api/v1/reserve-units/{unit.pk}/", {"capital_granted": "30000.00"}, format="json"
    )
    assert lowered.status_code == 200
    assert (lowered.json()["capital_remaining"], lowered.json()["over"]) == ("-5000.00", True)


def test_it_creates_a_unit_and_names_bad_fields(api, sz01, cb01):
    made = api.post(
        "/api/v1/reserve-units/",
        {"name": "重药集团（示例）", "capital_granted": "20000000", "warehouses": ["SZ01", "CB01"]},
        format="json",
    )
    assert made.status_code == 201, made.json()
    assert made.json()["warehouses"] == ["CB01", "SZ01"]
    assert made.json()["capital_remaining"] == "20000000.00"
    for body, field in (
        ({"name": "重药集团（示例）", "capital_granted": "1"}, "name"),  # taken
        ({"name": "x", "capital_granted": "-1"}, "capital_granted"),
        ({"name": "x", "capital_granted": "1", "warehouses": ["NOPE"]}, "warehouses"),
        ({"name": "x", "capital_granted": "1", "warehouses": "SZ01"}, "warehouses"),
    ):
        response = api.post("/api/v1/reserve-units/", body, format="json")
        assert response.status_code == 400, body
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert ReserveUnit.objects.count() == 1
    assert ReserveUnit.objects.get().capital_granted == Decimal("20000000.00")


def test_leadership_reads_and_an_officer_is_refused(client_for, leader, officer, supplier, unit):
    reader = client_for(leader)
    assert reader.get("/api/v1/reserve-units/").status_code == 200
    assert reader.get(f"/api/v1/reserve-units/{unit.pk}/").status_code == 200
    assert (
        reader.patch(f"/api/v1/suppliers/{supplier.pk}/", {"note": "x"}, format="json").status_code
        == 403
    )
    outsider = client_for(officer)
    assert outsider.get("/api/v1/reserve-units/").status_code == 403
    assert (
        outsider.put(
            f"/api/v1/suppliers/{supplier.pk}/items/FH001/",
            {"daily_capacity": 1, "lead_time_days": 1},
            format="json",
        ).status_code
        == 403
    )
    assert (
        outsider.patch(
            f"/api/v1/reserve-units/{unit.pk}/", {"capital_granted": "1"}, format="json"
        ).status_code
        == 403
    )
    unit.refresh_from_db()
    assert unit.capital_granted == Decimal("20000000.00")
    assert Supplier.objects.get(pk=supplier.pk).note == "2020年2月交货准时。"
