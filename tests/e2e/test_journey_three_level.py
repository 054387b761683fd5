"""Three-level dispatch in a real browser, in Chinese and in English (issue 15 §3 and §4): 榆中县's
county officer asks for 300 N95; Lanzhou's officer accepts and puts the request into a draft
from Lanzhou's own warehouse LZ01 (620100-YYYY-001); Lanzhou's lead lands on its drafts and
approves; the officer dispatches (LZ01: 1,000 → 700); the county receives 280 with a note
(discrepancy −20); the office sees the batch as Lanzhou's, read-only. Screenshots at 1366 and
390 px wide; nothing scrolls sideways at 390."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import (
    BatchStatus,
    Destination,
    DestinationKind,
    DispatchBatch,
    SupplyRequest,
)
from inventory.models import ReceiptSource, StockBalance, WarehouseKind
from inventory.services import stock_receive
from supplycoord.lib.dates import local_today
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.e2e.test_journey_requests import _post, _shoot, _switch_language
from tests.factories import WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def world(officer, lead, county_officer, office, yuzhong, n95):
    lz01 = WarehouseFactory(
        code="LZ01",
        name_zh="兰州市物资储备库",
        kind=WarehouseKind.PREFECTURE,
        prefecture=yuzhong.prefecture,
    )
    stock_receive(
        user=officer,
        warehouse=lz01,
        lines=[(n95, 1000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=5),
    )
    Destination.objects.create(
        kind=DestinationKind.COUNTY,
        code="620123",
        name_zh="榆中县",
        name_en="Yuzhong",
        prefecture=yuzhong.prefecture,
        county=yuzhong,
    )
    return lz01


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_county_asks_its_prefecture_ships_from_its_own_warehouse_and_the_province_sees_it(
    page, world, n95, language, browser_log
):
    number = f"620100-{local_today().year}-001"
    lanzhou = "Lanzhou" if language == "en" else "兰州市"

    # --- 榆中县's officer lands on its batches (none yet) and asks for 300 N95. ---
    log_in(page, "county_officer")
    assert page.url.endswith("/allocation/batches/")
    _switch_language(page, language)
    page.goto("/allocation/requests/")
    _post(page, "#new-request")
    expect(page.locator("#id_claimant option:checked")).to_contain_text("620123")
    page.select_option("#id_urgency", "urgent")
    page.fill("#id_needed_by", (local_today() + dt.timedelta(days=3)).isoformat())
    page.fill("#id_justification", "发热门诊扩容")
    page.select_option("#id_lines-0-item", "FH001")
    page.fill("#id_lines-0-quantity", "300")
    _post(page, "#submit-request")
    request = SupplyRequest.objects.get()
    log_out(page)

    # --- Lanzhou's officer: its badge, its decision, a draft from LZ01. ---
    log_in(page, "officer")
    _switch_language(page, language)
    expect(page.locator("#nav-awaiting-triage")).to_have_text("1")
    page.goto(f"/allocation/requests/{request.number}/")
    line = request.lines.get()
    page.select_option(f'select[name="line-{line.pk}-decision"]', "accepted")
    _post(page, "#triage-form button[type=submit]")
    # Only its own warehouse is offered.
    expect(page.locator("#id_source_warehouse option")).to_have_count(2)  # "---" and LZ01
    page.select_option("#id_source_warehouse", str(world.pk))
    _post(page, "#into-batches-form button[type=submit]")
    assert page.url.endswith(f"/allocation/batches/{number}/")
    expect(page.locator("#batch-level")).to_contain_text(lanzhou)
    log_out(page)

    # --- Lanzhou's lead lands on its drafts and approves. ---
    log_in(page, "lead")
    _switch_language(page, language)
    assert "status=draft" in page.url and "level=620100" in page.url
    expect(page.locator(f'#batches tr[data-batch="{number}"]')).to_be_visible()
    page.goto(f"/allocation/batches/{number}/")
    _post(page, 'form[data-action="approve"] button[type=submit]')
    log_out(page)

    # --- The officer dispatches: LZ01 goes from 1,000 to 700. ---
    log_in(page, "officer")
    page.goto(f"/allocation/batches/{number}/")
    _post(page, 'form[data-action="dispatch"] button[type=submit]')
    assert StockBalance.objects.get(warehouse=world, item=n95).quantity == 700
    log_out(page)

    # --- 榆中县 receives 280 of 300 and says why. ---
    log_in(page, "county_officer")
    _switch_language(page, language)
    page.goto(f"/allocation/batches/{number}/receive/")
    batch_line = DispatchBatch.objects.get(number=number).lines.get()
    page.fill(f'input[name="line-{batch_line.pk}"]', "280")
    page.fill('#receipt-form [name="note"]', "一箱破损")
    page.check('#receipt-form [name="complete"]')
    _post(page, "#receipt-form button[type=submit]")
    expect(page.locator('#batch-lines tr[data-item="FH001"] td.discrepancy')).to_have_text("-20")
    batch = DispatchBatch.objects.get(number=number)
    assert batch.status == BatchStatus.RECEIVED
    log_out(page)

    # --- The office sees it among the province's batches as Lanzhou's, without a button. ---
    log_in(page, "office")
    _switch_language(page, language)
    page.goto("/allocation/batches/")
    row = page.locator(f'#batches tr[data-batch="{number}"]')
    expect(row.locator(".batch-level")).to_have_text(lanzhou)
    _shoot(page, "three_level_batch_list", language)
    page.goto(f"/allocation/batches/{number}/")
    expect(page.locator("#batch-transitions")).to_have_count(0)
    _shoot(page, "three_level_batch_detail", language)
    browser_log.assert_clean()
