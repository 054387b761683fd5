"""The everyday pages on a phone, 390 × 844 (issue 16 §2; README "On the phone").

For each page an officer, a county officer or a commissioner uses every day — the daily
figures of a prefecture (30 key items × 5 figures) and of a county, receiving a batch, a new
request, the commissioner's desk, production report and problem — the person logs in on a
phone-sized mobile
browser, opens the page and finds: nothing scrolls sideways (neither the page nor a table
inside it), every field at least 44 px high with 16 px text (iOS zooms into smaller text),
`inputmode="numeric"` on every quantity, the unit beside a quantity field, each item of a
grid a card of its own with its inputs in one column; then submits, and the database holds
what was typed. Chinese and English. Screenshots in /tmp/shots_phone.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import datetime as dt
import re
from pathlib import Path

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
from allocation.services import batch_approve, batch_create, batch_dispatch
from inventory.models import CountyDailyFigure, DailyFigure, ReceiptSource
from inventory.services import stock_receive
from production.models import LineStatus, Problem, Producer, ProductionLine, ProductionReport
from supplycoord.lib.dates import local_today
from supplycoord.models import ItemCategory, Unit
from tests.e2e.conftest import IGNORED_URLS, _record_console_error
from tests.e2e.test_journey_daily_figures import log_in
from tests.e2e.test_journey_requests import _switch_language
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SHOTS = Path("/tmp/shots_phone")
PHONE = {"width": 390, "height": 844}
FIELDS = ("stock", "received", "consumption", "demand", "expected_arrivals_3d")


# --- The phone and what every page must be on it --------------------------------------------


@pytest.fixture
def phone(browser, browser_log, live_server):
    """A phone-sized mobile Chromium (390 × 844, touch, the page's viewport meta honoured),
    recording what failed as the desktop `page` fixture does."""
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("response", lambda r: browser_log.responses.append((r.status, r.url)))
    page.on(
        "requestfailed",
        lambda r: (
            None
            if r.url.endswith(IGNORED_URLS)
            else browser_log.failed_requests.append((r.url, r.failure))
        ),
    )
    page.on("pageerror", lambda exc: browser_log.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: _record_console_error(browser_log, msg))
    yield page
    context.close()


def shoot(page, name, language):
    """The whole page, and, when it is long, its first 1,500 px (readable at a glance)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}_{language}.png"), full_page=True)
    width, height = page.evaluate(
        "[document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    if height > 1500:
        page.screenshot(
            path=str(SHOTS / f"{name}_{language}_top.png"),
            full_page=True,
            clip={"x": 0, "y": 0, "width": width, "height": 1500},
        )


# Every element of the page that scrolls sideways by itself (a table's wrapper), and by how much.
SIDEWAYS = """() => Array.from(document.querySelectorAll('body *'))
  .filter(el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX)
                && el.scrollWidth > el.clientWidth + 1)
  .map(el => (el.id || el.className) + ' ' + (el.scrollWidth - el.clientWidth))"""

# The visible fields and buttons of a form: size, place and text size.
FIELDS_OF = """(form) => Array.from(document.querySelectorAll(
    form + ' input, ' + form + ' select, ' + form + ' textarea, ' + form + ' button'))
  .filter(el => el.type !== 'hidden' && el.getClientRects().length
                && el.getBoundingClientRect().right > 0)
  .map(el => {
    const r = el.getBoundingClientRect();
    return {what: el.name || el.id || el.textContent.trim(), type: el.type,
            height: r.height, left: r.left, right: r.right,
            font: parseFloat(getComputedStyle(el).fontSize)};
  })"""


def assert_no_sideways_scrolling(page):
    """Neither the page nor anything inside it (a table's wrapper) scrolls sideways."""
    scroll = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert scroll[0] <= scroll[1], f"the page scrolls sideways: {scroll}"
    assert page.evaluate(SIDEWAYS) == []


def assert_fits_a_phone(page, forms="main form"):
    """No sideways scrolling, anywhere; the fields and buttons of the page's forms (the date
    picker's too) inside the screen, 44 px high (a checkbox 24 px), 16 px text."""
    assert_no_sideways_scrolling(page)
    fields = page.evaluate(FIELDS_OF, forms)
    assert fields, f"no field in {forms}"
    for field in fields:
        assert field["left"] >= 0 and field["right"] <= PHONE["width"], field
        if field["type"] == "checkbox":
            assert field["height"] >= 24, field
        else:
            assert field["height"] >= 44, field
            assert field["font"] >= 16, field


def assert_numeric(inputs):
    count = inputs.count()
    assert count > 0
    for n in range(count):
        expect(inputs.nth(n)).to_have_attribute("inputmode", "numeric")


def assert_unit_beside(page, field, unit):
    """The unit is shown right of the field, on its line."""
    box = page.locator(field).bounding_box()
    shown = page.locator(field).locator(
        "xpath=following-sibling::span[contains(@class, 'unit')][1]"
    )
    expect(shown).to_be_visible()
    expect(shown).to_have_text(unit)
    beside = shown.bounding_box()
    assert beside["x"] >= box["x"] + box["width"] - 1, (box, beside)
    middle = beside["y"] + beside["height"] / 2
    assert box["y"] <= middle <= box["y"] + box["height"], (box, beside)


def assert_cards(page, form, count):
    """One card per item; in each, the inputs one under the other, in one column."""
    cards = page.locator(f"{form} tbody tr")
    expect(cards).to_have_count(count)
    for n in range(count):
        boxes = (
            cards.nth(n)
            .locator("input")
            .evaluate_all(
                "els => els.map(el => { const r = el.getBoundingClientRect();"
                " return {x: r.left, y: r.top, h: r.height}; })"
            )
        )
        assert len({round(box["x"]) for box in boxes}) == 1, boxes  # one column
        tops = [box["y"] for box in boxes]
        assert all(b >= a + boxes[0]["h"] for a, b in zip(tops, tops[1:], strict=False)), tops


def no_kept_copies(page):
    return (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('supplycoord:entry:'))")
        == []
    )


# --- The world ------------------------------------------------------------------------------

UNITS = [Unit.PIECE, Unit.SET, Unit.BOTTLE, Unit.BOX, Unit.PAIR, Unit.TEST]


@pytest.fixture
def thirty_items(n95):
    """N95 and 29 more key items: Shanxi issued 32 kinds; the grid is 30 × 5 on a phone."""
    items = [n95]
    items.append(
        ItemFactory(
            code="XD001",
            name_zh="84消毒液",
            name_en="84 disinfectant",
            category=ItemCategory.DISINFECTION,
            unit=Unit.BOTTLE,
            specification="500ml/瓶",
        )
    )
    for n in range(2, 30):
        items.append(
            ItemFactory(
                code=f"T{n:03d}",
                name_zh=f"测试物资{n}",
                name_en=f"Test item {n}",
                unit=UNITS[n % len(UNITS)],
            )
        )
    return items


def fill_the_rest(page, form, value):
    """Every empty figure of the grid set at once (typing 150 fields by hand proves nothing more)."""
    page.evaluate(
        """([form, value]) => document.querySelectorAll(form + ' input[inputmode=numeric]')
             .forEach(el => { if (!el.value) el.value = value; })""",
        [form, str(value)],
    )


# --- The daily figures of a prefecture ------------------------------------------------------

TYPED = {
    "stock": "1,250",
    "received": "150",
    "consumption": "200",
    "demand": "220",
    "expected_arrivals_3d": "300",
}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_an_officer_enters_thirty_items_on_a_phone(
    phone, browser_log, officer, thirty_items, language
):
    today = local_today()
    log_in(phone, "officer")
    _switch_language(phone, language)
    assert phone.url.split("?")[0].endswith("/inventory/daily/")
    form = "#daily-entry-form"

    assert_cards(phone, form, 30)
    assert_numeric(phone.locator(f"{form} input[name*='-']"))
    expect(phone.locator(f"{form} input[name*='-']")).to_have_count(150)
    assert_fits_a_phone(phone)
    # Each figure is labelled in the card and has its unit beside it.
    card = phone.locator(f'{form} tr[data-item="FH001"]')
    expect(card.locator(".cell-label")).to_have_text(
        ["库存", "到货", "消耗", "需求", "预计3日内到货"]
        if language == "zh-hans"
        else ["Stock", "Received", "Consumption", "Demand", "Expected arrivals within 3 days"]
    )
    piece, bottle = ("只", "瓶") if language == "zh-hans" else ("piece", "bottle")
    assert_unit_beside(phone, 'input[name="FH001-stock"]', piece)
    assert_unit_beside(phone, 'input[name="XD001-demand"]', bottle)
    shoot(phone, "daily_entry", language)

    # The officer types N95's five figures with the phone's keyboard, the rest are set.
    for field, value in TYPED.items():
        phone.locator(f'input[name="FH001-{field}"]').press_sequentially(value)
    fill_the_rest(phone, form, 7)
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")

    expect(phone.locator(".messages .message.success")).to_contain_text(today.isoformat())
    assert DailyFigure.objects.filter(prefecture=officer.prefecture, date=today).count() == 30
    n95 = DailyFigure.objects.get(prefecture=officer.prefecture, date=today, item__code="FH001")
    assert n95.figures() == {
        "stock": 1250,  # typed "1,250": the separator is allowed
        "received": 150,
        "consumption": 200,
        "demand": 220,
        "expected_arrivals_3d": 300,
    }
    assert no_kept_copies(phone)  # saved: the browser keeps no copy
    shoot(phone, "daily_entry_saved", language)
    browser_log.assert_clean()


def test_the_grid_is_still_a_table_on_a_desktop(page, officer, thirty_items):
    """The phone's cards are for phones only: at 1366 px the headers are the grid's."""
    log_in(page, "officer")
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.locator("#daily-entry-form thead th").first).to_be_visible()
    expect(page.locator("#daily-entry-form .cell-label").first).to_be_hidden()
    expect(page.locator("#daily-entry-form .cell-unit").first).to_be_hidden()
    row = page.locator('#daily-entry-form tr[data-item="FH001"]')
    tops = {
        round(box["y"])
        for box in row.locator("input").evaluate_all(
            "els => els.map(el => ({y: el.getBoundingClientRect().top}))"
        )
    }
    assert len(tops) == 1  # the five inputs on one line
    shoot(page, "daily_entry_desktop", "zh-hans")


# --- The daily figures of a county ----------------------------------------------------------


@pytest.fixture
def summed_lanzhou(lanzhou, yuzhong, county_officer, n95):
    ItemFactory(
        code="FH002", name_zh="医用防护服", name_en="Medical protective suit", unit=Unit.SET
    )
    lanzhou.reports_as_sum_of_counties = True
    lanzhou.save(update_fields=["reports_as_sum_of_counties"])
    return lanzhou


@pytest.mark.parametrize("language", ["en"])
def test_a_county_officer_enters_its_countys_figures_on_a_phone(
    phone, browser_log, summed_lanzhou, yuzhong, language
):
    today = local_today()
    log_in(phone, "county_officer")
    _switch_language(phone, language)
    phone.goto("/inventory/counties/entry/")
    form = "#county-entry-form"
    expect(phone.locator("main h1")).to_contain_text("Yuzhong")
    assert_cards(phone, form, 2)
    assert_numeric(phone.locator(f"{form} input[name*='-']"))
    assert_fits_a_phone(phone)
    assert_unit_beside(phone, 'input[name="FH001-consumption"]', "piece")
    assert_unit_beside(phone, 'input[name="FH002-consumption"]', "set")
    shoot(phone, "county_entry", language)

    for code in ("FH001", "FH002"):
        for field, value in zip(FIELDS, (100, 0, 10, 12, 0), strict=True):
            phone.fill(f'input[name="{code}-{field}"]', str(value))
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")
    expect(phone.locator(".messages .message.success")).to_contain_text("Yuzhong")
    rows = CountyDailyFigure.objects.filter(county=yuzhong, date=today)
    assert [row.figures()["stock"] for row in rows.order_by("item__code")] == [100, 100]
    assert no_kept_copies(phone)
    browser_log.assert_clean()


# --- Receiving a batch ----------------------------------------------------------------------


@pytest.fixture
def batch_to_lanzhou(lanzhou, officer, office, leader, n95):
    """2,000 N95 dispatched from the province's reserve to Lanzhou."""
    reserve = WarehouseFactory(code="SZ01", name_zh="省级医疗物资储备一库")
    stock_receive(
        user=office,
        warehouse=reserve,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=5),
    )
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE,
        name_zh="兰州市卫生健康委员会",
        name_en="Lanzhou Health Commission",
        prefecture=lanzhou,
        confirming_officer=officer,
    )
    batch = batch_create(
        user=office,
        source_warehouse=reserve,
        destination=destination,
        lines=[{"item": n95, "quantity": 2000, "channel": "reserve"}],
        reason="一线防护",
    )
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    return batch_dispatch(user=office, batch=batch, expected_version=batch.version)


@pytest.mark.parametrize("language", ["zh-hans"])
def test_an_officer_receives_a_batch_on_a_phone(phone, browser_log, batch_to_lanzhou, language):
    batch = batch_to_lanzhou
    line = batch.lines.get()
    log_in(phone, "officer")
    _switch_language(phone, language)
    phone.goto(f"/allocation/batches/{batch.number}/receive/")
    form = "#receipt-form"
    assert_cards(phone, form, 1)
    assert_numeric(phone.locator(f"{form} input[name^='line-']"))
    assert_fits_a_phone(phone)
    assert_unit_beside(phone, f'input[name="line-{line.pk}"]', "只")
    # What was shipped is on the card, named.
    expect(phone.locator(f'{form} tr[data-item="FH001"] td[data-label="发运数量"]')).to_have_text(
        "2,000"
    )
    shoot(phone, "batch_receive", language)

    phone.fill(f'input[name="line-{line.pk}"]', "2000")
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")
    expect(phone.locator(".messages .message.success")).to_contain_text(batch.number)
    batch = DispatchBatch.objects.get(pk=batch.pk)
    assert batch.status == BatchStatus.RECEIVED
    assert batch.lines.get().received_quantity == 2000
    browser_log.assert_clean()


# --- A new request --------------------------------------------------------------------------


@pytest.fixture
def yuzhong_claimant(yuzhong, county_officer, n95):
    ItemFactory(
        code="FH002", name_zh="医用防护服", name_en="Medical protective suit", unit=Unit.SET
    )
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        code="620123",
        name_zh="榆中县",
        name_en="Yuzhong",
        prefecture=yuzhong.prefecture,
        county=yuzhong,
    )


@pytest.mark.parametrize("language", ["en"])
def test_a_county_officer_asks_for_supplies_on_a_phone(
    phone, browser_log, yuzhong_claimant, language
):
    log_in(phone, "county_officer")
    _switch_language(phone, language)
    phone.goto("/allocation/requests/new/")
    form = "#request-form"
    assert_numeric(phone.locator(f"{form} input[name$='-quantity']"))
    assert_fits_a_phone(phone)

    phone.select_option("#id_urgency", "urgent")
    phone.fill("#id_needed_by", (local_today() + dt.timedelta(days=3)).isoformat())
    phone.fill("#id_justification", "Fever clinic doubled")
    # The unit follows the item chosen on the line.
    phone.select_option("#id_lines-0-item", "FH001")
    assert_unit_beside(phone, "#id_lines-0-quantity", "piece")
    phone.select_option("#id_lines-1-item", "FH002")
    assert_unit_beside(phone, "#id_lines-1-quantity", "set")
    phone.fill("#id_lines-0-quantity", "300")
    phone.fill("#id_lines-1-quantity", "40")
    assert_fits_a_phone(phone)
    shoot(phone, "request_new", language)

    with phone.expect_navigation():
        phone.click("#submit-request")
    request = SupplyRequest.objects.get()
    expect(phone.locator("main h1")).to_contain_text(request.number)
    lines = {line.item.code: line.quantity for line in request.lines.select_related("item")}
    assert lines == {"FH001": 300, "FH002": 40}
    browser_log.assert_clean()


# --- The commissioner: the day's production report and a problem ----------------------------


@pytest.fixture
def mask_factory(lanzhou, n95, reporter):
    held = WarehouseFactory(
        code="DC09", name_zh="兰州防护用品厂代储库", kind="producer_held", prefecture=lanzhou
    )
    producer = Producer.objects.create(
        name="兰州防护用品厂",
        credit_code="91350100M000100Y43",
        prefecture=lanzhou,
        held_reserve_warehouse=held,
    )
    producer.reporters.add(reporter)
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=100_000, status=LineStatus.COMMISSIONED
    )
    return producer


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_commissioner_reports_output_and_a_problem_on_a_phone(
    phone, browser_log, mask_factory, language
):
    today = local_today()
    log_in(phone, "reporter")
    _switch_language(phone, language)
    # The commissioner's desk: today's missing report is a card with a button to enter it.
    assert phone.url.split("?")[0].endswith("/production/commissioner/")
    missing = phone.locator(f'#today-reports tr[data-producer="{mask_factory.pk}"]')
    expect(missing).to_have_class(re.compile(r"\bmissing\b"))
    assert_no_sideways_scrolling(phone)
    enter = missing.locator("td.row-action a")
    assert enter.bounding_box()["height"] >= 44
    shoot(phone, "commissioner_desk", language)
    with phone.expect_navigation():
        enter.click()
    assert phone.url.split("?")[0].endswith("/production/reports/new/")
    form = "#report-entry-form"
    assert_cards(phone, form, 1)
    assert_numeric(phone.locator(f"{form} input[name^='FH001-']"))
    assert_fits_a_phone(phone)
    assert_unit_beside(
        phone, 'input[name="FH001-output"]', "只" if language == "zh-hans" else "piece"
    )
    if language == "en":  # (the Chinese of "days" is merged later with the other strings)
        assert_unit_beside(phone, 'input[name="FH001-raw_material_days"]', "days")
    shoot(phone, "production_report", language)

    for field, value in {
        "output": "82,000",
        "to_reserve": "20000",
        "to_prefectures": "50000",
        "to_market": "0",
        "factory_stock": "32000",
        "held_for_province": "20000",
        "raw_material_days": "9",
    }.items():
        phone.fill(f'input[name="FH001-{field}"]', value)
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")
    report = ProductionReport.objects.get(producer=mask_factory, date=today)
    assert (report.output, report.to_reserve, report.raw_material_days) == (82_000, 20_000, 9)

    phone.goto("/production/problems/new/")
    form = "#problem-form"
    assert_fits_a_phone(phone)
    phone.select_option(f'{form} [name="producer"]', str(mask_factory.pk))
    phone.select_option(f'{form} [name="category"]', "raw_materials")
    phone.fill(f'{form} [name="description"]', "熔喷布仅够两天")
    shoot(phone, "problem_new", language)
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")
    problem = Problem.objects.get()
    assert (problem.producer, problem.category) == (mask_factory, "raw_materials")
    expect(phone.locator(".messages .message.success")).to_be_visible()
    assert re.search(r"/production/problems/\d+/$", phone.url)
    browser_log.assert_clean()
