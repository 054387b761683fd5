"""Issue 12 in a real browser, in Chinese and in English: leadership approves a draft from the
overview's "awaiting approval" list and comes back to the overview; the office then dispatches
it with the batch page's one prominent button, cancel standing apart behind its disclosure."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import BatchStatus, Destination, DestinationKind
from allocation.services import batch_create
from inventory.models import ReceiptSource, StockBalance
from inventory.services import stock_receive
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def draft(office, lanzhou, n95):
    """SZ01 holds 5,000 N95; a draft sends 1,000 of them to 兰州市."""
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级医疗物资储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=1),
    )
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市卫生健康委员会", prefecture=lanzhou
    )
    return batch_create(
        user=office,
        source_warehouse=warehouse,
        destination=destination,
        lines=[{"item": n95.code, "quantity": 1000, "channel": "reserve"}],
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_leadership_approves_from_the_overview_and_the_office_dispatches(
    page, browser_log, artifacts_dir, draft, office, leader, language
):
    log_in(page, "leader")
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
    page.goto("/reports/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    row = page.locator(f'#awaiting-approval tr[data-awaiting="{draft.number}"]')
    expect(row).to_contain_text("1,000")
    page.screenshot(
        path=artifacts_dir / f"overview-awaiting-approval-{language}.png", full_page=True
    )
    with page.expect_navigation():
        row.locator('form[data-action="approve"] button[type=submit]').click()
    assert page.url.rstrip("/").endswith("/reports")
    expect(page.locator(f'#awaiting-approval tr[data-awaiting="{draft.number}"]')).to_have_count(0)
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by) == (BatchStatus.APPROVED, leader)
    log_out(page)

    log_in(page, "office")
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
    page.goto(f"/allocation/batches/{draft.number}/")
    # One prominent button: dispatch. Cancel is a secondary disclosure, closed.
    primary = page.locator("#batch-transitions button.primary")
    expect(primary).to_have_count(1)
    expect(
        page.locator('#batch-transitions form[data-action="dispatch"] button.primary')
    ).to_be_visible()
    expect(page.locator("#batch-cancel textarea[name=note]")).not_to_be_visible()
    page.screenshot(path=artifacts_dir / f"batch-one-primary-{language}.png", full_page=True)
    with page.expect_navigation():
        primary.click()
    draft.refresh_from_db()
    assert draft.status == BatchStatus.DISPATCHED
    assert StockBalance.objects.get(item__code="FH001").quantity == 4000
    browser_log.assert_clean()
