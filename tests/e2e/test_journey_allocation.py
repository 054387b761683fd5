"""A dispatch batch in a real browser: the office drafts it, leadership approves, the office
dispatches, the officer of 兰州市 confirms a partial receipt, and the dashboards show what is
still on the road (reports.md in_transit) and the batch as overdue on the province overview.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import BatchStatus, Destination, DestinationKind, DispatchBatch
from inventory.models import ReceiptSource, StockBalance
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import DailyFigureFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def reserve(office, n95):
    """SZ01 holds 5,000 N95, received a minute ago."""
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级医疗物资储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=1),
    )
    return warehouse


@pytest.fixture
def to_lanzhou(lanzhou, officer):
    return Destination.objects.create(
        kind=DestinationKind.PREFECTURE,
        name_zh="兰州市卫生健康委员会",
        name_en="Lanzhou Health Commission",
        prefecture=lanzhou,
        confirming_officer=officer,
    )


@pytest.fixture
def todays_figures(lanzhou, n95, officer):
    today = timezone.localdate()
    DailyFigureFactory(
        prefecture=lanzhou, item=n95, date=today, stock=800, consumption=100, submitted_by=officer
    )
    snapshot_build_for_date(date=today)
    return today


def in_transit_cell(page):
    """The in-transit cell of FH001's row on the prefecture page (after the item header)."""
    row = page.locator("#prefecture-items tbody tr", has=page.locator("a[href*='/FH001/']"))
    return row.locator("td").nth(5)


def test_a_batch_goes_from_draft_to_partial_receipt_and_shows_in_transit(
    page, browser_log, artifacts_dir, reserve, to_lanzhou, todays_figures, office, leader, officer
):
    yesterday = (todays_figures - dt.timedelta(days=1)).isoformat()

    # --- The office drafts a batch of 1,000 N95 from the reserve, due yesterday. ---
    log_in(page, "office")
    page.goto("/allocation/batches/new/")
    page.select_option('#batch-form [name="source_warehouse"]', "SZ01")
    page.select_option('#batch-form [name="destination"]', str(to_lanzhou.pk))
    page.select_option('#batch-form [name="priority"]', "hard_hit_area")
    page.fill('#batch-form [name="reason"]', "兰州市一线医护人员防护")
    page.fill('#batch-form [name="expected_arrival"]', yesterday)
    page.select_option('select[name="lines-0-item"]', "FH001")
    expect(page.locator("#available-lines-0")).to_contain_text("5,000")
    page.fill('input[name="lines-0-quantity"]', "1000")
    page.select_option('select[name="lines-0-channel"]', "reserve")
    with page.expect_navigation():
        page.click("#batch-form button[type=submit]")
    batch = DispatchBatch.objects.get()
    assert batch.status == BatchStatus.DRAFT
    expect(page.locator("main h1")).to_contain_text(batch.number)
    log_out(page)

    # --- Leadership approves it on the detail page. ---
    log_in(page, "leader")
    page.goto(f"/allocation/batches/{batch.number}/")
    with page.expect_navigation():
        page.click('form[data-action="approve"] button[type=submit]')
    batch.refresh_from_db()
    assert batch.status == BatchStatus.APPROVED
    log_out(page)

    # --- The office dispatches: 1,000 leave the reserve. ---
    log_in(page, "office")
    page.goto(f"/allocation/batches/{batch.number}/")
    with page.expect_navigation():
        page.click('form[data-action="dispatch"] button[type=submit]')
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DISPATCHED
    assert StockBalance.objects.get(warehouse=reserve, item__code="FH001").quantity == 4000
    page.screenshot(path=artifacts_dir / "allocation-batch-detail.png", full_page=True)
    page.goto(f"/allocation/batches/{batch.number}/note/")
    expect(page.locator("#dispatch-note")).to_contain_text(batch.number)
    expect(page.locator("#note-total")).to_have_text("1,000")
    expect(page.locator("#note-signatures")).to_be_visible()
    page.screenshot(path=artifacts_dir / "allocation-dispatch-note.png", full_page=True)
    log_out(page)

    # --- The officer of 兰州市 confirms that 300 arrived. ---
    log_in(page, "officer")
    page.goto(f"/allocation/batches/{batch.number}/receive/")
    line = batch.lines.get()
    page.fill(f'input[name="line-{line.pk}"]', "300")
    page.fill('#receipt-form [name="note"]', "首批到货300")
    with page.expect_navigation():
        page.click("#receipt-form button[type=submit]")
    batch.refresh_from_db()
    line.refresh_from_db()
    assert batch.status == BatchStatus.PARTLY_RECEIVED
    assert line.received_quantity == 300
    log_out(page)

    # --- The office builds today's snapshot; the overview lists the batch as overdue. ---
    log_in(page, "office")
    page.goto("/reports/")
    with page.expect_navigation():
        page.click("#build-snapshot")
    overdue = page.locator(f'#overdue-batches tr[data-batch="{batch.number}"]')
    expect(overdue.locator("td.days-overdue")).to_have_text("1")
    expect(overdue.locator("td.in-transit")).to_have_text("700")
    log_out(page)

    # --- Leadership reads 700 in transit for N95 on 兰州市's page. ---
    log_in(page, "leader")
    page.goto(f"/reports/prefectures/620100/?date={todays_figures.isoformat()}")
    expect(in_transit_cell(page)).to_have_text("700")
    browser_log.assert_clean()
