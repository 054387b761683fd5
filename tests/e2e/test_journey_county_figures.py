"""A prefecture reporting as the sum of its counties, in a real browser, in Chinese and in
English (issue 15 §3).

The office switches 兰州市 to report as the sum of its two active counties, 榆中县 (620123) and
皋兰县 (620122). Lanzhou's officer then finds no grid on its daily entry page, only the message
pointing to the counties' page. 榆中县's county officer lands on its figures and enters today's
N95; one county (皋兰县, not named to it) is still missing and Lanzhou has no row. 皋兰县's officer enters its own, and Lanzhou's lead sees both counties on time and
Lanzhou's row derived. N95 is the only key item, so one item is "every key item".

Today's N95, entered by hand (stock, received, consumption, demand, expected arrivals 3d):
    榆中县   100   0   10   12   0
    皋兰县    50   0    5    6   0
    兰州市   150   0   15   18   0   derived: 100 + 50, 0 + 0, 10 + 5, 12 + 6, 0 + 0

The clock: today at 10:00 in Shanghai, running (as tests/e2e/test_journey_current_demo.py, which
says why not frozen), so both counties report before the 16:00 cut-off and are on time.
Screenshots at 1366 and 390 px wide in /tmp/shots_county; nothing scrolls sideways at 390.
"""

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from inventory.models import CountyDailyFigure, DailyFigure
from supplycoord.lib.dates import local_now
from supplycoord.models import County, Prefecture, Role
from tests.e2e.test_journey_daily_figures import FIELDS, log_in, log_out
from tests.e2e.test_journey_requests import _post, _switch_language
from tests.factories import UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
SHOTS = Path("/tmp/shots_county")
WIDTHS = (1366, 390)

YUZHONG_N95 = (100, 0, 10, 12, 0)
GAOLAN_N95 = (50, 0, 5, 6, 0)
LANZHOU_N95 = {
    "stock": 150,
    "received": 0,
    "consumption": 15,
    "demand": 18,
    "expected_arrivals_3d": 0,
}

WORDS = {
    "zh-hans": {"lanzhou": "兰州市", "yuzhong": "榆中县", "gaolan": "皋兰县"},
    "en": {"lanzhou": "Lanzhou", "yuzhong": "Yuzhong", "gaolan": "Gaolan"},
}


@pytest.fixture
def ten_am():
    """Today at 10:00 in Shanghai, the clock running from there: before the cut-off."""
    today = local_now().date()
    with time_machine.travel(dt.datetime.combine(today, dt.time(10), tzinfo=SHANGHAI)):
        yield today


@pytest.fixture
def world(ten_am, office, officer, lead, county_officer, yuzhong, n95):
    """Lanzhou with two active counties and an officer for each; Lanzhou enters its own
    figures until the office switches it."""
    gaolan = County.objects.get_or_create(
        code="620122",
        defaults={"prefecture": yuzhong.prefecture, "name_zh": "皋兰县", "name_en": "Gaolan"},
    )[0]
    UserFactory(
        username="gaolan_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=gaolan.prefecture,
        county=gaolan,
    )
    assert not yuzhong.prefecture.reports_as_sum_of_counties
    return ten_am


def _shoot(page, name, language):
    """A full-page screenshot at each width; at 390 px nothing may scroll sideways."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}_{language}_{width}.png"), full_page=True)
        if width == 390:
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at 390"
    page.set_viewport_size({"width": 1440, "height": 1000})


def _open_county_figures_from_the_menu(page):
    """The menu "Daily figures and stock" → "County figures" (the entry grid for a county
    officer, the counties' page for a prefecture's officers and lead)."""
    page.click('details[data-menu="figures"] > summary')
    _post(page, 'details[data-menu="figures"] a[href*="/inventory/counties/"]')


def _enter_n95(page, values):
    grid = page.locator("#county-entry-form")
    inputs = grid.locator("input[name^='FH001-']")
    expect(inputs).to_have_count(len(FIELDS))
    for n in range(len(FIELDS)):
        expect(inputs.nth(n)).to_have_attribute("inputmode", "numeric")
    for field, value in zip(FIELDS, values, strict=True):
        page.fill(f'input[name="FH001-{field}"]', str(value))
    _post(page, "#county-entry-form button[type=submit]")
    expect(page.locator(".messages .message.success")).to_be_visible()
    expect(page.locator(".error[role=alert]")).to_have_count(0)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_lanzhou_reports_as_the_sum_of_its_counties(page, world, language, browser_log):
    today = world
    words = WORDS[language]
    lanzhou = Prefecture.objects.get(code="620100")

    # --- 1. The office opens Lanzhou's counties and switches it to the sum of its counties. ---
    log_in(page, "office")
    _switch_language(page, language)
    page.goto("/inventory/counties/?prefecture=620100")
    expect(page.locator("main h1")).to_contain_text(words["lanzhou"])
    expect(page.locator("#county-states")).to_have_count(0)  # not summed yet: no table
    _post(page, "#sum-switch button[type=submit]")
    expect(page.locator(".messages .message.success")).to_contain_text(words["lanzhou"])
    lanzhou.refresh_from_db()
    assert lanzhou.reports_as_sum_of_counties
    # Both counties listed, neither has reported today.
    states = page.locator("#county-states tbody tr")
    expect(states).to_have_count(2)
    expect(page.locator('#county-states tr[data-county="620122"] td.r-missing')).to_have_count(1)
    expect(page.locator('#county-states tr[data-county="620123"] td.r-missing')).to_have_count(1)
    expect(page.locator('#county-items tr[data-item="FH001"] td.prefecture-row')).to_have_class(
        re.compile(r"\bmissing\b")
    )
    # The switch now offers the way back.
    expect(page.locator('#sum-switch input[name="value"]')).to_have_value("off")
    _shoot(page, "county_status_switched", language)
    log_out(page)

    # --- 2. Lanzhou's officer lands on its daily entry page: a message, no grid. ---
    log_in(page, "officer")
    _switch_language(page, language)
    assert page.url.split("?")[0].endswith("/inventory/daily/")
    message = page.locator("#sum-of-counties")
    expect(message).to_be_visible()
    expect(message).to_contain_text(words["lanzhou"])
    expect(message.locator('a[href*="/inventory/counties/?prefecture=620100"]')).to_be_visible()
    expect(page.locator("#daily-entry-form")).to_have_count(0)
    expect(page.locator('input[name="FH001-stock"]')).to_have_count(0)
    _shoot(page, "county_daily_closed", language)
    log_out(page)

    # --- 3. 榆中县's officer lands on its figures (Lanzhou now sums its counties). ---
    log_in(page, "county_officer")
    _switch_language(page, language)
    assert page.url.split("?")[0].endswith("/inventory/counties/entry/")
    expect(page.locator("main h1")).to_contain_text(words["yuzhong"])
    expect(page.locator("#county-entry-form input[name=date]")).to_have_value(today.isoformat())
    # Before it saves, two counties are missing; a county officer is named only its own.
    expect(page.locator("#counties-missing")).to_contain_text("2")
    expect(page.locator("#counties-missing .r-missing")).to_have_text([words["yuzhong"]])
    _enter_n95(page, YUZHONG_N95)
    # Saved: one county (皋兰县, not named to 榆中县) is still missing; Lanzhou has no row yet.
    expect(page.locator("#counties-missing")).to_contain_text("1")
    expect(page.locator("#counties-missing .r-missing")).to_have_count(0)
    expect(page.locator("#counties-missing")).not_to_contain_text(words["gaolan"])
    expect(page.locator('input[name="FH001-stock"]')).to_have_value("100")
    figure = CountyDailyFigure.objects.get(county__code="620123", item__code="FH001", date=today)
    assert figure.figures() == dict(zip(FIELDS, YUZHONG_N95, strict=True))
    assert figure.on_time
    assert not DailyFigure.objects.filter(prefecture=lanzhou).exists()
    _shoot(page, "county_entry_yuzhong", language)
    # On a phone the five inputs sit under the item, inside the screen: typing needs no
    # sideways scrolling (the table itself does not scroll either).
    page.set_viewport_size({"width": 390, "height": 900})
    for field in FIELDS:
        box = page.locator(f'input[name="FH001-{field}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (field, box)
    page.set_viewport_size({"width": 1440, "height": 1000})
    log_out(page)

    # --- 4. 皋兰县's officer enters its figures: Lanzhou is complete. ---
    log_in(page, "gaolan_officer")
    _switch_language(page, language)
    # Its landing page, reached again through the menu as from any other page.
    _open_county_figures_from_the_menu(page)
    expect(page.locator("main h1")).to_contain_text(words["gaolan"])
    _enter_n95(page, GAOLAN_N95)
    expect(page.locator("#counties-missing .r-missing")).to_have_count(0)
    expect(page.locator("#counties-missing")).to_contain_text(words["lanzhou"])
    log_out(page)

    # --- 5. Lanzhou's lead: both counties on time, Lanzhou's row derived. ---
    log_in(page, "lead")
    _switch_language(page, language)
    _open_county_figures_from_the_menu(page)
    assert page.url.split("?")[0].endswith("/inventory/counties/")
    expect(page.locator("main h1")).to_contain_text(words["lanzhou"])
    expect(page.locator("#sum-switch")).to_have_count(0)  # the office's switch only
    for code in ("620122", "620123"):
        row = page.locator(f'#county-states tr[data-county="{code}"]')
        expect(row.locator("td.r-on_time")).to_have_count(1)
        expect(row.locator("td.num")).to_have_text("1 / 1")
    item = page.locator('#county-items tr[data-item="FH001"]')
    expect(item.locator("td.r-on_time")).to_have_count(2)
    expect(item.locator("td.prefecture-row")).to_have_class(re.compile(r"\bderived\b"))
    expect(item.locator("td.prefecture-row")).to_have_text(
        "derived" if language == "en" else "已汇总"
    )
    _shoot(page, "county_status_derived", language)

    derived = DailyFigure.objects.get(prefecture=lanzhou, item__code="FH001", date=today)
    assert derived.figures() == LANZHOU_N95
    assert derived.on_time
    browser_log.assert_clean()
