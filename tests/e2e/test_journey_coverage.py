"""Issue 12's scenario in a real browser: after one officer enters today's figures for one
prefecture, the leadership's overview opens on the last full day with a banner for today, and
today's province figure is partial (greyed, "based on 1 of 2 prefectures"), never green.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory

from .test_journey_daily_figures import log_in, log_out

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def history(lanzhou, tianshui, n95, officer, outsider):
    """兰州市 reported N95 on d-3..d-1 (stock 1300, 100 a day); 天水市 on d-6..d-4 (stock 8000,
    400 a day). Yesterday both have a stock (天水市's stale, 3 days old): coverage 100 %.
    Today 天水市's stock is missing (4 days old): coverage 100 / (100 + 400) = 20 % < 80 %."""
    today = timezone.localdate()
    for back in (3, 2, 1):
        DailyFigureFactory(
            prefecture=lanzhou,
            item=n95,
            date=today - dt.timedelta(days=back),
            stock=1300,
            consumption=100,
            submitted_by=officer,
        )
    for back in (6, 5, 4):
        DailyFigureFactory(
            prefecture=tianshui,
            item=n95,
            date=today - dt.timedelta(days=back),
            stock=8000,
            consumption=400,
            submitted_by=outsider,
        )
    for back in range(6, 0, -1):
        snapshot_build_for_date(date=today - dt.timedelta(days=back))
    return today


def test_one_officers_entry_leaves_the_province_figure_partial_in_zh_and_en(
    page, browser_log, artifacts_dir, history, leader
):
    today = history.isoformat()
    yesterday = (history - dt.timedelta(days=1)).isoformat()

    # --- The officer of 兰州市 enters today's N95 figures (reconciles: 1300 + 0 - 100). ---
    log_in(page, "officer")
    for field, value in zip(
        ("stock", "received", "consumption", "demand", "expected_arrivals_3d"),
        (1200, 0, 100, 100, 0),
        strict=True,
    ):
        page.fill(f'input[name="FH001-{field}"]', str(value))
    with page.expect_navigation():
        page.click("#daily-entry-form button[type=submit]")
    expect(page.locator(".messages .message.success")).to_be_visible()
    log_out(page)
    snapshot_build_for_date(date=history)  # as the rebuild after the entry does

    # --- The leadership opens the overview, in Chinese: yesterday, with today's banner. ---
    log_in(page, "leader")
    page.goto("/reports/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator(".datadate")).to_contain_text(yesterday)
    banner = page.locator("#reports-in-progress")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1/2")
    expect(banner).to_contain_text("16:00")
    # Yesterday rests on both prefectures: a full figure, coloured.
    expect(page.locator('#rollups tr[data-item="FH001"]')).not_to_have_class(re.compile("partial"))
    page.screenshot(path=artifacts_dir / "journey-coverage-banner.png", full_page=True)

    # --- The banner's link shows today: partial, greyed, not green. ---
    with page.expect_navigation():
        page.click("#show-today")
    expect(page.locator(".datadate")).to_contain_text(today)
    row = page.locator('#rollups tr[data-item="FH001"]')
    expect(row).to_have_class(re.compile(r"\bpartial\b"))
    cover = row.locator("td.days-of-cover")
    # (1200 + 0 reserve) / mean(100, 100, 100, 100) = 12.00 over 兰州市 alone
    expect(cover).to_have_text("12.00")
    expect(cover).not_to_have_class(re.compile(r"\bs-(green|amber|red)\b"))
    expect(row.locator(".coverage")).to_have_attribute("data-partial", "1")
    expect(row.locator(".coverage")).to_contain_text("20%")
    expect(page.locator("#stat-items-red")).to_have_text("0")
    expect(page.locator("#reports-in-progress")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "journey-coverage-partial.png", full_page=True)

    # --- In English: the same, in words. ---
    with page.expect_navigation():
        page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('#rollups tr[data-item="FH001"] .coverage')).to_contain_text(
        "based on 1 of 2 prefectures"
    )
    page.goto("/reports/")
    expect(page.locator("#reports-in-progress")).to_contain_text(
        "Today's reports are coming in: 1/2, cut-off 16:00"
    )
    browser_log.assert_clean()
