"""The allocation proposal in a real browser: the office builds a proposal for N95 from
today's snapshot, changes one prefecture's quantity (the totals and days of cover after update
as it types), accepts it; leadership opens the draft batches it created and approves them.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import BatchStatus, Destination, DestinationKind, DispatchBatch, Proposal
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from reports.services import snapshot_build_for_date
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import DailyFigureFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def province(office, lanzhou, tianshui, n95):
    """SZ01 holds 5,000 N95. Lanzhou: stock 1,000 at 500 a day (2 days); Tianshui: 3,000 at
    500 a day (6 days). Both have a prefecture destination. Today's snapshot is built."""
    reserve = WarehouseFactory(code="SZ01", name_zh="省级医疗物资储备一库")
    stock_receive(
        user=office,
        warehouse=reserve,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=1),
    )
    today = timezone.localdate()
    for prefecture, stock in ((lanzhou, 1000), (tianshui, 3000)):
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=today, stock=stock, consumption=500
        )
        Destination.objects.create(
            kind=DestinationKind.PREFECTURE,
            name_zh=f"{prefecture.name_zh}卫生健康委员会",
            prefecture=prefecture,
        )
    snapshot_build_for_date(date=today)
    return reserve


def test_the_office_proposes_edits_and_accepts_leadership_approves(
    page, browser_log, artifacts_dir, province, office, leader
):
    # --- The office computes a proposal for N95 over today's snapshot. ---
    log_in(page, "office")
    page.goto("/reports/proposals/")
    page.click("#proposal-new")
    page.fill("#id_name", "N95 今日调拨")
    page.check('input[name="item-FH001"]')
    # The form offers a floor of 3 days × 1,000 a day = 3,000; this journey hands out all 5,000.
    expect(page.locator('input[name="floor-FH001"]')).to_have_value("3000")
    page.fill('input[name="floor-FH001"]', "0")
    with page.expect_navigation():
        page.click("#proposal-compute")
    proposal = Proposal.objects.get()
    # Water-filling: 500T − 1,000 + 500T − 3,000 = 5,000 → T = 9 days: 3,500 and 1,500.
    lanzhou = page.locator('#proposal-item-FH001 tr[data-prefecture="620100"]')
    expect(lanzhou.locator("input")).to_have_value("3500")
    expect(page.locator('#proposal-item-FH001 [data-after="620100"]')).to_have_text("9.00")
    expect(page.locator("[data-chart='proposal']")).to_have_attribute("data-rendered", "1")
    page.screenshot(path=artifacts_dir / "proposal-computed.png", full_page=True)

    # --- ...lowers Lanzhou to 3,000: the preview recomputes as they type. ---
    lanzhou.locator("input").fill("3000")
    expect(page.locator('#proposal-item-FH001 [data-total="handed-out"]')).to_have_text("4,500")
    expect(page.locator('#proposal-item-FH001 [data-after="620100"]')).to_have_text("8.00")
    expect(page.locator('#proposal-item-FH001 [data-total="kept"]')).to_have_text("500")

    # --- ...and accepts: one draft batch per prefecture. ---
    with page.expect_navigation():
        page.click("#proposal-accept")
    expect(page.locator("#proposal-batches li")).to_have_count(2)
    batches = {
        b.destination.prefecture.code: b for b in DispatchBatch.objects.filter(proposal=proposal)
    }
    assert {code: b.lines.get().quantity for code, b in batches.items()} == {
        "620100": 3000,
        "620500": 1500,
    }
    assert all(b.status == BatchStatus.DRAFT for b in batches.values())
    log_out(page)

    # --- Leadership opens the proposal, follows each batch and approves it. ---
    log_in(page, "leader")
    page.goto(f"/reports/proposals/{proposal.pk}/")
    expect(page.locator("#proposal-accept")).to_have_count(0)
    for batch in batches.values():
        page.goto(f"/reports/proposals/{proposal.pk}/")
        with page.expect_navigation():
            page.click(f"#proposal-batches a:text('{batch.number}')")
        with page.expect_navigation():
            page.click('form[data-action="approve"] button[type=submit]')
        batch.refresh_from_db()
        assert batch.status == BatchStatus.APPROVED
    page.screenshot(path=artifacts_dir / "proposal-batch-approved.png", full_page=True)
    browser_log.assert_clean()
