"""The inbound view in a real browser (issue 14, sections 5 and 6): the office places an order
of two lines, the inbound calendar shows it on its expected day; it arrives in two parts, and
after each the calendar and the province rollup (built with the overview's button) move by
the quantities that arrived. Read in Chinese, then in English; leadership reads the calendar,
a prefecture officer is refused.

Numbers: Lanzhou reports 1,000 N95 in stock and 100 consumed (rate 100 a day). The order:
1,000 N95 expected d+2 and 500 masks expected d+5. The reserve SZ01 holds nothing at first.
- placed:     N95 inbound_3d 1,000, reserve 0,   days of cover (1,000 + 0) / 100 = 10.00,
              projected (1,000 + 0 + 1,000) / 100 = 20.00; masks inbound_14d 500, inbound_3d 0
- part one:   600 N95 arrive: inbound_3d 400, reserve 600, cover 16.00, projected still 20.00
- part two:   400 N95 and 500 masks: inbound 0, reserve 1,000, cover 20.00, projected 20.00
"""

import datetime as dt

import pytest
from playwright.sync_api import expect

from procurement.models import PurchaseOrder, SupplierOrigin
from procurement.services import supplier_create
from supplycoord.lib.credit_code import check_character
from supplycoord.lib.dates import local_today
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import DailyFigureFactory, ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FIRST17 = "91620100MA7000002"


@pytest.fixture
def world(office, n95, lanzhou):
    ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    WarehouseFactory(code="SZ01", name_zh="省级储备一库", name_en="Provincial reserve 1")
    DailyFigureFactory(
        prefecture=lanzhou, item=n95, date=local_today(), stock=1000, consumption=100
    )
    return supplier_create(
        user=office,
        name="兰州康泰医疗用品有限公司",
        credit_code=FIRST17 + check_character(FIRST17),
        origin=SupplierOrigin.IN_PROVINCE,
    )


def build_today(page):
    page.goto(f"/reports/?date={local_today().isoformat()}")
    with page.expect_navigation():
        page.click("#build-snapshot")


def rollup_cells(page, code):
    row = page.locator(f'#rollups tr[data-item="{code}"]')
    return row.locator("td.inbound-3d").inner_text(), row.locator("td.inbound-14d").inner_text()


def calendar_total(page, code):
    page.goto(f"/reports/inbound/?item={code}")
    cells = page.locator('#inbound-calendar tr[data-channel="total"] td').all_inner_texts()
    return [cell.strip() for cell in cells]


def item_page(page):
    page.goto(f"/reports/items/FH001/?date={local_today().isoformat()}")
    return (
        page.locator("#province-reserve-stock .value").inner_text(),
        page.locator("#province-inbound .value").inner_text(),
        page.locator("#province-days-of-cover .value").inner_text(),
        page.locator("#province-inbound").inner_text(),
    )


def arrive(page, number, quantities):
    page.goto(f"/procurement/orders/{number}/arrival/")
    page.select_option('#arrival-form [name="warehouse"]', "SZ01")
    for code, quantity in quantities.items():
        page.fill(f'#arrival-lines tr[data-item="{code}"] input', str(quantity))
    with page.expect_navigation():
        page.click("#arrival-form button[type=submit]")


def test_the_calendar_and_the_rollup_follow_an_order_arriving_in_two_parts(
    page, world, office, leader, officer, browser_log, artifacts_dir
):
    today = local_today()
    log_in(page, "office")

    # --- An order of two lines, placed. ---
    page.goto("/procurement/orders/new/")
    page.select_option('#order-form [name="supplier"]', str(world.pk))
    page.select_option('#order-form [name="funding_source"]', "fiscal")
    page.fill('#order-form [name="ordered_on"]', today.isoformat())
    for index, (code, quantity, days) in enumerate([("FH001", "1,000", 2), ("FH002", "500", 5)]):
        page.select_option(f'[name="lines-{index}-item"]', code)
        page.fill(f'[name="lines-{index}-quantity"]', quantity)
        page.fill(f'[name="lines-{index}-unit_price"]', "1.00")
        page.fill(
            f'[name="lines-{index}-expected_arrival"]',
            (today + dt.timedelta(days=days)).isoformat(),
        )
    with page.expect_navigation():
        page.click("#order-form button[type=submit]")
    order = PurchaseOrder.objects.get()
    with page.expect_navigation():
        page.click('form[data-action="place"] button[type=submit]')
    expect(page.locator("main h1 .badge")).to_have_text("已下达")

    # --- The calendar shows the 1,000 N95 on d+2 and the masks on d+5. ---
    total = calendar_total(page, "FH001")
    # The page's own words are translated when the lead merges this task's messages; the
    # order's status words above are translated already.
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # 15 day columns d+0 .. d+14, then no date, 3 days, 14 days.
    assert total[2] == "1,000" and total[15:] == ["0", "1,000", "1,000"]
    assert calendar_total(page, "FH002")[5] == "500"
    page.screenshot(path=str(artifacts_dir / "inbound_calendar_zh.png"), full_page=True)

    build_today(page)
    assert rollup_cells(page, "FH001") == ("1,000", "1,000")
    assert rollup_cells(page, "FH002") == ("0", "500")
    reserve, inbound, cover, card = item_page(page)
    assert (reserve, inbound, cover) == ("0", "1,000", "10.00")
    assert "20.00" in card  # projected province days of cover

    # --- Part one: 600 N95. ---
    arrive(page, order.number, {"FH001": 600})
    expect(page.locator("main h1 .badge")).to_have_text("部分到货")
    total = calendar_total(page, "FH001")
    assert total[2] == "400" and total[15:] == ["0", "400", "400"]
    build_today(page)
    assert rollup_cells(page, "FH001") == ("400", "400")
    reserve, inbound, cover, card = item_page(page)
    assert (reserve, inbound, cover) == ("600", "400", "16.00")
    assert "20.00" in card

    # --- Part two: the other 400 N95 and the 500 masks. ---
    arrive(page, order.number, {"FH001": 400, "FH002": 500})
    expect(page.locator("main h1 .badge")).to_have_text("已到货")
    assert calendar_total(page, "FH001")[15:] == ["0", "0", "0"]
    build_today(page)
    assert rollup_cells(page, "FH001") == ("0", "0")
    assert rollup_cells(page, "FH002") == ("0", "0")
    reserve, inbound, cover, card = item_page(page)
    assert (reserve, inbound, cover) == ("1,000", "0", "20.00")

    # --- In English. ---
    page.goto("/reports/inbound/?item=FH001")
    with page.expect_navigation():
        page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_contain_text("Inbound calendar")
    expect(page.locator("#producers-note")).to_contain_text("not part of the inbound figures")
    page.screenshot(path=str(artifacts_dir / "inbound_calendar_en.png"), full_page=True)
    log_out(page)

    # --- Leadership reads the calendar. ---
    log_in(page, "leader")
    response = page.goto("/reports/inbound/?item=FH001")
    assert response.status == 200
    expect(page.locator("#inbound-calendar")).to_be_visible()
    log_out(page)
    browser_log.assert_clean()

    # --- A prefecture officer is refused. ---
    log_in(page, "officer")
    response = page.goto("/reports/inbound/")
    assert response.status == 403
