"""The first whole path in a real browser: an officer enters today's figures, the office builds
the snapshot, the leadership sees the new days of cover.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from inventory.models import DailyFigure
from reports.services import snapshot_build_for_date
from supplycoord.lib.dates import cutoff_for, local_now, local_today
from supplycoord.models import ItemCategory, Unit
from tests.factories import DailyFigureFactory, ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FIELDS = ("stock", "received", "consumption", "demand", "expected_arrivals_3d")

# What the officer of 兰州市 types today: (stock, received, consumption, demand, expected_3d).
# Each stock reconciles with yesterday: stock(d) = stock(d-1) + received - consumption.
TODAY_ENTRY = {
    "FH001": (1250, 150, 200, 220, 300),  # 1300 + 150 - 200 = 1250
    "FH002": (200, 30, 50, 60, 0),  # 220 + 30 - 50 = 200
    "XD001": (36, 10, 24, 30, 0),  # 50 + 10 - 24 = 36
}

# Earlier days of 兰州市 (days before today: (stock, consumption)), reported on time.
LANZHOU_EARLIER = {
    "FH001": {3: (1500, 100), 2: (1400, 100), 1: (1300, 100)},
    "FH002": {3: (300, 40), 2: (260, 40), 1: (220, 40)},
    "XD001": {3: (90, 20), 2: (70, 20), 1: (50, 20)},
}

# Days of cover of 兰州市 today = stock / mean consumption over the reported days in [d-6, d]
# (d-3, d-2, d-1 and today; reports.md), rounded half-up to 2 places:
#   FH001: 1250 / ((100 + 100 + 100 + 200) / 4) = 1250 / 125  = 10.00 -> green (>= 7)
#   FH002:  200 / (( 40 +  40 +  40 +  50) / 4) =  200 / 42.5 =  4.705… -> 4.71, amber (< 7)
#   XD001:   36 / (( 20 +  20 +  20 +  24) / 4) =   36 / 21   =  1.714… -> 1.71, red (< 3)
# Yesterday's snapshot said 13.00, 5.50 and 2.50 (1300/100, 220/40, 50/20): the leadership
# must see the new numbers, not those.
EXPECTED_COVER = [("10.00", "s-green"), ("4.71", "s-amber"), ("1.71", "s-red")]


def log_in(page, username, password="pass-word-123"):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert "/accounts/login/" not in page.url, f"{username} could not log in"


def log_out(page):
    with page.expect_navigation():
        page.click("header form[action$='/logout/'] button[type=submit]")
    assert "/accounts/login/" in page.url


def fill_row(page, code, values):
    for field, value in zip(FIELDS, values, strict=True):
        page.fill(f'input[name="{code}-{field}"]', str(value))


@pytest.fixture
def key_items(n95):
    return [
        n95,
        ItemFactory(
            code="FH002", name_zh="医用防护服", name_en="Medical protective suit", unit=Unit.SET
        ),
        ItemFactory(
            code="XD001",
            name_zh="84消毒液",
            name_en="84 disinfectant",
            category=ItemCategory.DISINFECTION,
            unit=Unit.BOTTLE,
        ),
    ]


@pytest.fixture
def earlier_days(lanzhou, tianshui, key_items, officer, outsider):
    """Three earlier days for both prefectures, and their snapshots (as the daily job built)."""
    today = local_today()
    for item in key_items:
        for back, (stock, consumption) in LANZHOU_EARLIER[item.code].items():
            DailyFigureFactory(
                prefecture=lanzhou,
                item=item,
                date=today - dt.timedelta(days=back),
                stock=stock,
                consumption=consumption,
                demand=consumption + 20,
                submitted_by=officer,
            )
            # 天水市 reports until yesterday and not today: its cells carry stale stock.
            DailyFigureFactory(
                prefecture=tianshui,
                item=item,
                date=today - dt.timedelta(days=back),
                stock=stock // 2,
                consumption=consumption // 2,
                demand=consumption // 2,
                submitted_by=outsider,
            )
    for back in (3, 2, 1):
        snapshot_build_for_date(date=today - dt.timedelta(days=back))
    return today


def test_it_carries_todays_figures_from_the_officer_to_the_leadership(
    page, browser_log, artifacts_dir, earlier_days, office, leader
):
    today = earlier_days.isoformat()

    # --- The officer of 兰州市 logs in and lands on today's entry form, in Chinese. ---
    log_in(page, "officer")
    assert page.url.endswith("/inventory/daily/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("main h1")).to_contain_text("兰州市")
    expect(page.locator("#daily-entry-form input[name=date]")).to_have_value(today)
    # Stock is prefilled with yesterday's.
    expect(page.locator('input[name="FH001-stock"]')).to_have_value("1300")
    assert page.evaluate("typeof window.htmx") == "object"

    for code, values in TODAY_ENTRY.items():
        fill_row(page, code, values)
    with page.expect_navigation():
        page.click("#daily-entry-form button[type=submit]")
    success = page.locator(".messages .message.success")
    expect(success).to_be_visible()
    expect(success).to_contain_text("兰州市")
    expect(success).to_contain_text(today)
    expect(page.locator(".error[role=alert]")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "journey-daily-entry.png", full_page=True)
    assert DailyFigure.objects.filter(prefecture__code="620100", date=earlier_days).count() == 3
    log_out(page)

    # --- The office opens the overview, picks today (not built yet) and builds it. ---
    log_in(page, "office")
    page.goto("/reports/")
    page.fill(".pagehead input[name=date]", today)
    with page.expect_navigation():
        page.click(".pagehead form[method=get] button[type=submit]")
    build_form = page.locator("form[action$='/reports/build/']")
    expect(build_form.locator("input[name=date]")).to_have_value(today)
    with page.expect_navigation():
        page.click("#build-snapshot")
    success = page.locator(".messages .message.success")
    expect(success).to_be_visible()
    expect(success).to_contain_text(today)
    log_out(page)

    # --- The leadership sees today's numbers. ---
    log_in(page, "leader")
    page.goto("/reports/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    # 天水市 has not reported today: before the 16:00 cut-off the overview opens on yesterday
    # with the banner "今日报送进行中 1/2" linking to today (issue 12); after it, on today.
    if local_now() < cutoff_for(earlier_days):
        expect(page.locator("#reports-in-progress")).to_contain_text("今日报送进行中 1/2")
        with page.expect_navigation():
            page.click("#show-today")
    else:
        expect(page.locator("#reports-in-progress")).to_have_count(0)
    expect(page.locator(".datadate")).to_contain_text(today)
    expect(page.locator("#build-snapshot")).to_have_count(0)  # leadership reads, office builds
    expect(page.locator("#stat-reported")).to_have_text("1 / 2")  # 兰州市 yes, 天水市 not yet
    cells = page.locator('#cover-grid td[data-prefecture="620100"]')
    expect(cells).to_have_text([cover for cover, _ in EXPECTED_COVER])
    for n, (_, status) in enumerate(EXPECTED_COVER):
        expect(cells.nth(n)).to_have_class(re.compile(rf"\b{status}\b"))
    expect(cells.first).to_have_attribute("title", re.compile(r"\b1250$"))  # the stock entered
    # 天水市 did not report today: yesterday's stock, marked stale.
    stale = page.locator('#cover-grid td[data-prefecture="620500"] .stale-mark')
    expect(stale).to_have_count(3)

    # ECharts is served by the app and draws the 30-day trend.
    assert page.evaluate("typeof window.echarts") == "object"
    chart = page.locator('#trend [data-chart="trend"]')
    expect(chart).to_have_attribute("data-rendered", "1")
    expect(chart.locator("canvas")).to_have_count(1)
    page.screenshot(path=artifacts_dir / "journey-overview.png", full_page=True)

    # htmx swaps in another item's chart, and it renders too.
    with page.expect_response(lambda r: "/reports/trend/" in r.url and r.status == 200):
        page.select_option("select[name=item]", "FH002")
    expect(page.locator('#trend [data-chart="trend"]')).to_have_attribute(
        "aria-label", re.compile("医用防护服")
    )
    expect(page.locator('#trend [data-chart="trend"]')).to_have_attribute("data-rendered", "1")
    expect(page.locator('#trend [data-chart="trend"] canvas')).to_have_count(1)

    # --- One click to English. ---
    with page.expect_navigation():
        page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("main h1")).to_have_text("Province overview")
    expect(page.locator("#cover-grid thead")).to_contain_text("N95 respirator")
    expect(page.locator('#cover-grid td[data-prefecture="620100"]')).to_have_text(
        [cover for cover, _ in EXPECTED_COVER]
    )
    expect(page.locator('#trend [data-chart="trend"]')).to_have_attribute("data-rendered", "1")
    page.screenshot(path=artifacts_dir / "journey-overview-en.png", full_page=True)

    # Every asset came from the app, and no script failed on any page.
    for asset in ("vendor/htmx/htmx.min.js", "vendor/echarts/echarts.min.js", "css/app.css"):
        assert browser_log.loaded(asset), f"{asset} was never requested"
    browser_log.assert_clean()
    for name in ("journey-daily-entry.png", "journey-overview.png", "journey-overview-en.png"):
        assert (artifacts_dir / name).stat().st_size > 10_000, name


def test_a_wrong_figure_is_shown_at_its_field_and_nothing_is_saved(
    page, browser_log, artifacts_dir, key_items, officer
):
    today = local_today()
    log_in(page, "officer")
    for code, values in TODAY_ENTRY.items():
        fill_row(page, code, values)
    page.fill('input[name="FH001-consumption"]', "-5")
    with page.expect_navigation():
        page.click("#daily-entry-form button[type=submit]")

    expect(page.locator(".error[role=alert]")).to_be_visible()
    field = page.locator('input[name="FH001-consumption"]')
    expect(field).to_have_value("-5")  # what the officer typed stays for correcting
    expect(field).to_have_attribute("aria-invalid", "true")
    error = page.locator("#err-FH001-consumption")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()
    # Only that field is marked; the other rows keep their values.
    expect(page.locator(".fielderror")).to_have_count(1)
    expect(page.locator('input[name="FH002-stock"]')).to_have_value("200")
    expect(page.locator(".messages .message.success")).to_have_count(0)
    page.screenshot(path=artifacts_dir / "entry-error.png", full_page=True)

    assert not DailyFigure.objects.filter(date=today).exists()
    browser_log.assert_clean()
