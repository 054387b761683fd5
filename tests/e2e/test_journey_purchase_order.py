"""A purchase order in a real browser (issue 14, sections 1-2): the office writes a draft of
two lines for a reserve-task unit, places it (the unit's working capital is committed), records
the goods arriving in two parts into the unit's reserve warehouse (the ledger's balances move,
the rest stays in transit), and reads the result in Chinese and in English; leadership reads
the order without its actions, and a prefecture officer is refused."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from inventory.models import StockBalance
from procurement.models import PurchaseOrder, SupplierOrigin
from procurement.services import reserve_unit_create, supplier_create
from supplycoord.lib.credit_code import check_character
from supplycoord.lib.dates import local_today
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FIRST17 = "91620100MA7000001"


@pytest.fixture
def world(office, n95):
    ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    cb01 = WarehouseFactory(code="CB01", name_zh="国药控股甘肃储备库", name_en="Sinopharm reserve")
    unit = reserve_unit_create(
        user=office,
        name="国药控股甘肃有限公司",
        capital_granted=Decimal("20000000.00"),
        warehouses=[cb01],
    )
    supplier = supplier_create(
        user=office,
        name="兰州康泰医疗用品有限公司",
        credit_code=FIRST17 + check_character(FIRST17),
        origin=SupplierOrigin.IN_PROVINCE,
    )
    return unit, supplier, cb01


def arrive(page, number, quantities):
    page.goto(f"/procurement/orders/{number}/arrival/")
    page.select_option('#arrival-form [name="warehouse"]', "CB01")
    for code, quantity in quantities.items():
        page.fill(f'#arrival-lines tr[data-item="{code}"] input', str(quantity))
    with page.expect_navigation():
        page.click("#arrival-form button[type=submit]")


def test_the_office_orders_and_receives_in_two_parts(
    page, world, office, leader, officer, browser_log, artifacts_dir
):
    unit, supplier, cb01 = world
    expected = (local_today() + dt.timedelta(days=3)).isoformat()
    log_in(page, "office")

    # --- A draft of two lines: 10,000 N95 at 3.50 and 20,000 masks at 0.80 (51,000 yuan). ---
    page.goto("/procurement/orders/new/")
    page.select_option('#order-form [name="buyer_unit"]', str(unit.pk))
    page.select_option('#order-form [name="supplier"]', str(supplier.pk))
    page.select_option('#order-form [name="funding_source"]', "working_capital")
    page.fill('#order-form [name="ordered_on"]', local_today().isoformat())
    for index, (code, quantity, price) in enumerate(
        [("FH001", "10,000", "3.50"), ("FH002", "20000", "0.80")]
    ):
        page.select_option(f'[name="lines-{index}-item"]', code)
        page.fill(f'[name="lines-{index}-quantity"]', quantity)
        page.fill(f'[name="lines-{index}-unit_price"]', price)
        page.fill(f'[name="lines-{index}-expected_arrival"]', expected)
    with page.expect_navigation():
        page.click("#order-form button[type=submit]")
    refused = page.locator("#form-errors, .fielderror").all_inner_texts()
    assert refused == []
    order = PurchaseOrder.objects.get()
    expect(page.locator("main h1")).to_contain_text(order.number)
    expect(page.locator("main h1 .badge")).to_have_text("草稿")

    # --- Placed: the unit's working capital holds the 51,000 yuan. ---
    with page.expect_navigation():
        page.click('form[data-action="place"] button[type=submit]')
    expect(page.locator("main h1 .badge")).to_have_text("已下达")
    page.goto(f"/procurement/units/{unit.pk}/")
    expect(page.locator("#capital-line")).to_contain_text("51,000")

    # --- First part: 6,000 N95. 4,000 N95 and the masks are still in transit. ---
    arrive(page, order.number, {"FH001": 6000})
    expect(page.locator("main h1 .badge")).to_have_text("部分到货")
    assert StockBalance.objects.get(warehouse=cb01, item__code="FH001").quantity == 6000
    expect(page.locator("td.in-transit").first).to_have_text("4,000")

    # --- The rest: 4,000 N95 and 20,000 masks. ---
    arrive(page, order.number, {"FH001": 4000, "FH002": 20000})
    expect(page.locator("main h1 .badge")).to_have_text("已到货")
    balances = dict(
        StockBalance.objects.filter(warehouse=cb01).values_list("item__code", "quantity")
    )
    assert balances == {"FH001": 10000, "FH002": 20000}
    page.screenshot(path=str(artifacts_dir / "purchase_order_zh.png"), full_page=True)

    # --- The same order in English. ---
    with page.expect_navigation():
        page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1 .badge")).to_have_text("Arrived")
    page.screenshot(path=str(artifacts_dir / "purchase_order_en.png"), full_page=True)
    log_out(page)

    # --- Leadership reads it, without the office's actions. ---
    log_in(page, "leader")
    page.goto(f"/procurement/orders/{order.number}/")
    expect(page.locator("main h1")).to_contain_text(order.number)
    expect(page.locator("#order-actions a")).to_have_count(0)
    expect(page.locator("#order-transitions form")).to_have_count(0)
    log_out(page)
    browser_log.assert_clean()

    # --- A prefecture officer may not see purchase orders at all. ---
    log_in(page, "officer")
    response = page.goto("/procurement/orders/")
    assert response.status == 403
