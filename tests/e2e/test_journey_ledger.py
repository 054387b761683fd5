"""The reserve ledger in a real browser: the office receives into the provincial reserve,
is refused an issue larger than the stock, issues what there is, reads the stock card and
prints the issue voucher; the leadership reads the warehouse but cannot post to it."""

import re

import pytest
from playwright.sync_api import expect

from inventory.models import StockBalance, StockEvent, WarehouseKind
from supplycoord.models import ItemCategory, Unit
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def reserve(n95):
    ItemFactory(
        code="XD001",
        name_zh="84消毒液",
        name_en="84 disinfectant",
        category=ItemCategory.DISINFECTION,
        unit=Unit.BOTTLE,
    )
    return WarehouseFactory(
        code="SZ01", name_zh="省级医疗物资储备一库", kind=WarehouseKind.PROVINCIAL_RESERVE
    )


def post_event(page, kind, header, lines):
    page.goto(f"/inventory/warehouses/SZ01/new/{kind}/")
    for name, value in header.items():
        field = page.locator(f'#stock-event-form [name="{name}"]')
        if field.evaluate("el => el.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    for index, (code, quantity) in enumerate(lines):
        page.select_option(f'select[name="form-{index}-item"]', code)
        page.fill(f'input[name="form-{index}-quantity"]', str(quantity))
    with page.expect_navigation():
        page.click("#stock-event-form button[type=submit]")


def test_it_keeps_the_reserve_ledger_from_receipt_to_voucher(
    page, reserve, office, leader, artifacts_dir, browser_log
):
    log_in(page, "office")

    # --- Receipt of a national allocation: two lines, one document. ---
    post_event(
        page,
        "receipt",
        {"source": "national_allocation", "source_document": "国卫调拨〔2020〕12号"},
        [("FH001", "1,000"), ("XD001", 200)],
    )
    receipt = StockEvent.objects.get(kind="receipt")
    assert re.fullmatch(r"SZ01-\d{6}-0001", receipt.document_number)
    expect(page.locator("main h1")).to_contain_text(receipt.document_number)

    # --- An issue larger than the stock is refused, naming what is available. ---
    post_event(
        page, "issue", {"issue_kind": "dispatch", "counterparty": "兰州市"}, [("FH001", 5000)]
    )
    expect(page.locator("#shortages")).to_contain_text("1,000")
    assert StockEvent.objects.filter(kind="issue").count() == 0

    # --- The issue that fits goes through. ---
    post_event(
        page, "issue", {"issue_kind": "dispatch", "counterparty": "兰州市"}, [("FH001", 400)]
    )
    issue = StockEvent.objects.get(kind="issue")
    assert StockBalance.objects.get(warehouse=reserve, item__code="FH001").quantity == 600

    # --- The stock card: 1,000 in, 400 out, running balance 600. ---
    page.goto("/inventory/warehouses/SZ01/items/FH001/")
    expect(page.locator("#closing")).to_have_text("600")
    expect(page.locator("#stock-card tbody")).to_contain_text(issue.document_number)
    page.screenshot(path=artifacts_dir / "ledger-stock-card.png", full_page=True)

    # --- The printable issue voucher (出库单) with its signature block. ---
    page.goto(f"/inventory/events/{issue.document_number}/voucher/")
    expect(page.locator("#voucher")).to_contain_text(issue.document_number)
    expect(page.locator("#voucher-signatures")).to_be_visible()
    page.screenshot(path=artifacts_dir / "ledger-voucher.png", full_page=True)
    log_out(page)

    # --- Leadership reads the warehouse but has no posting buttons and no form. ---
    log_in(page, "leader")
    page.goto("/inventory/warehouses/SZ01/")
    expect(page.locator("main")).to_contain_text("600")
    expect(page.locator("a[href$='/new/receipt/']")).to_have_count(0)
    response = page.goto("/inventory/warehouses/SZ01/new/receipt/")
    assert response.status == 403
    # That 403 was asked for; anything else that failed to load is a defect.
    browser_log.responses[:] = [r for r in browser_log.responses if r[0] != 403]
    browser_log.errors[:] = [e for e in browser_log.errors if "/new/receipt/" not in e]
    browser_log.assert_clean()
