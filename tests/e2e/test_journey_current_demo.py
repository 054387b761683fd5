"""Issue 12's "Done when" in a real browser, on the demo as `make run` lays it: `load_demo`
(its last day is yesterday), then `build_snapshots --all`. In Chinese and in English.

1. The officer of 兰州市 logs in and meets today's form, the stock prefilled from the last
   report; enters today's figures for every key item.
2. The entry alone does not build today (reports/handlers.py: today is rebuilt only once it
   has been built; the scheduled build runs after the 16:00 cut-off). The office builds it
   with "Build today's snapshot now", as it would on `make run`, where no beat runs.
3. Leadership opens the overview.

Two lay-outs of the same story:

- **yesterday** (the default demo): every other prefecture reported yesterday, so today their
  stock is yesterday's, *stale* (reports.md "Coverage": stock from the 3 previous days counts).
  Today's figures therefore rest on 1 reported + 14 stale prefectures: 100 % of the province's
  7-day consumption, not partial. But today's reports are still coming in (1 of 15, before
  the 16:00 cut-off), so the overview opens on yesterday with the banner "今日报送进行中
  1/15，截止 16:00" (reports/selectors.py `dashboard_default_date`); its link shows today,
  whose province N95 days of cover is the 15-prefecture figure (worked out below from the
  daily figures), not the reserve divided by 兰州市's consumption.
- **four-days-ago** (`load_demo --as-of <today − 4>`, an office back after four days without
  reports): the other prefectures' stock is 4 days old, missing. Today rests on 兰州市 alone:
  the overview opens on the demo's last day with the banner "今日报送进行中 1/15，截止 16:00";
  its link shows today's N95 figure greyed, "based on 1 of 15 prefectures", never green.

The clock: today at 10:00 in Shanghai, running (time_machine patches the clock of every
thread, so the live server's too). Freezing it entirely (tick=False) would stamp cookies with
a frozen expiry that the browser, on the real clock, may already see as past; a date far
from the real one would do the same. Today at 10:00 keeps the real date and takes the
journey away from midnight (the demo laid for one day, the form opened on the next) and
before the 16:00 cut-off, so the entry is on time and the banner's cut-off is still ahead.
"""

import datetime as dt
import io
import re
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from playwright.sync_api import expect

from inventory.models import DailyFigure
from reports.models import ProvinceRollup, SnapshotBuild
from supplycoord.lib.dates import local_now
from supplycoord.models import Item, Prefecture
from tests.conftest import connected_to
from tests.e2e.test_journey_daily_figures import FIELDS, log_in, log_out

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
LANZHOU = "620100"
N95 = "FH001"
PASSWORDS = {
    "lanzhou_officer": "Demo-2020-lanzhou",
    "office": "Demo-2020-office",
    "leader": "Demo-2020-leader",
}
STALE_DAYS, WINDOW_DAYS = 3, 7  # settings.SUPPLYCOORD STALE_DAYS, AVG_WINDOW_DAYS
COLOURED = re.compile(r"\bs-(green|amber|red)\b")

WORDS = {
    "zh-hans": {
        "prefecture": "兰州市",
        "banner": "今日报送进行中 1/15，截止 16:00",
        "full": "基于 15/15 个市州",
        "alone": "基于 1/15 个市州",
        "partial": "数据不全",
        "stale_title": "已报送 1，沿用旧数据 14，未报送 0",
        "alone_title": "已报送 1，沿用旧数据 0，未报送 14",
    },
    "en": {
        "prefecture": "Lanzhou",
        "banner": "Today's reports are coming in: 1/15, cut-off 16:00",
        "full": "based on 15 of 15 prefectures",
        "alone": "based on 1 of 15 prefectures",
        "partial": "partial",
        "stale_title": "1 reported, 14 stale, 0 missing",
        "alone_title": "1 reported, 0 stale, 14 missing",
    },
}


@pytest.fixture
def ten_am():
    """Today at 10:00 in Shanghai, the clock running from there."""
    today = local_now().date()
    with time_machine.travel(dt.datetime.combine(today, dt.time(10), tzinfo=SHANGHAI)):
        yield today


@pytest.fixture(scope="module")
def laid_copies(django_db_blocker):
    """Copies of the test database holding a laid demo, by lay-out and day: the demo is laid
    once per lay-out (in Chinese), the other language's test starts from a copy of it."""
    copies = {}
    yield copies
    with django_db_blocker.unblock(), connection._nodb_cursor() as cursor:
        for name in copies.values():
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def copy_database(source: str, name: str) -> None:
    """`name`, a new database copied from `source`, which must have no other session (the copy
    waits up to 5 s for the live server's last ones to end)."""
    connection.close()
    with connection._nodb_cursor() as cursor:
        # A live-server thread of an earlier journey of this worker may have left its session
        # open on the source (the database is this worker's alone): end it, or the copy fails.
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [source],
        )
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')


@pytest.fixture
def laid_demo(request, ten_am, transactional_db, laid_copies):
    """The demo laid as `make run` lays it (or four days earlier), and every day built.

    Laying it takes ~15 s, and each test changes it (today's entry and build), which only a
    fresh database undoes. So the first test of a lay-out lays it in the test database and
    keeps a copy of it as laid; the next one runs on a new copy of that copy, dropped
    afterwards. The live server follows: its threads connect for each browser connection, and
    this test's browser context opens its connections after the switch."""
    last_day = ten_am - dt.timedelta(days=1 if request.param == "yesterday" else 4)
    key = (request.param, ten_am)
    test_database = connection.settings_dict["NAME"]
    if key in laid_copies:
        run = f"{test_database}_laid_run"
        copy_database(laid_copies[key], run)
        with connected_to(run):
            yield ten_am, last_day
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)')
        return
    out = io.StringIO()
    if request.param == "yesterday":
        call_command("load_demo", stdout=out)
    else:
        call_command("load_demo", "--as-of", last_day.isoformat(), stdout=out)
    call_command("build_snapshots", "--all", stdout=out)
    assert f"– {last_day.isoformat()}" in out.getvalue()
    # Every figure of the last day meets the coverage threshold: dashboards open on it.
    assert not ProvinceRollup.objects.filter(date=last_day, partial=True).exists()
    copy = f"{test_database}_laid_{len(laid_copies)}"
    copy_database(test_database, copy)
    laid_copies[key] = copy
    yield ten_am, last_day


def switch_language(page, language):
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", language)


def two_places(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{exact.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):.2f}"


def province_cover_by_hand(item_code: str, date: dt.date):
    """reports.md, from the daily figures themselves: each active prefecture's stock is its
    report of `date`, else its latest of the 3 previous days (stale); its rate, the mean
    consumption of its reports in [date − 6, date]. Province days of cover = (Σ stock of the
    prefectures with both + reserve) ÷ Σ their rate. The reserve is the rollup's (the ledger's
    end of day). Returns (days of cover, {prefecture code: (stock, rate)}, reserve)."""
    reserve = ProvinceRollup.objects.get(date=date, item__code=item_code).reserve_stock
    reports = {}
    for code, day, stock, consumption in DailyFigure.objects.filter(
        item__code=item_code,
        prefecture__active=True,
        date__range=(date - dt.timedelta(days=WINDOW_DAYS - 1), date),
    ).values_list("prefecture__code", "date", "stock", "consumption"):
        reports.setdefault(code, {})[day] = (stock, consumption)
    both = {}
    for code in Prefecture.objects.filter(active=True).values_list("code", flat=True):
        days = reports.get(code, {})
        stock = next(
            (
                days[date - dt.timedelta(days=back)][0]
                for back in range(STALE_DAYS + 1)
                if date - dt.timedelta(days=back) in days
            ),
            None,
        )
        if stock is not None and days:
            both[code] = (stock, Fraction(sum(c for _s, c in days.values()), len(days)))
    rate = sum(r for _s, r in both.values())
    return Fraction(sum(s for s, _r in both.values()) + reserve, rate), both, reserve


def status_by_hand(value: str, item: Item) -> str:
    days = Decimal(value)
    if days < item.red_threshold:
        return "red"
    return "amber" if days < item.amber_threshold else "green"


def enter_todays_figures(page, today, last_day, words):
    """The officer of 兰州市 opens today's form, finds the last stock prefilled, and enters
    today: what was consumed on the last day again, nothing received (stock reconciles)."""
    last = {
        f.item.code: f
        for f in DailyFigure.objects.filter(prefecture__code=LANZHOU, date=last_day).select_related(
            "item"
        )
    }
    assert page.url.endswith("/inventory/daily/")
    expect(page.locator("main h1")).to_contain_text(words["prefecture"])
    expect(page.locator("#daily-entry-form input[name=date]")).to_have_value(today.isoformat())
    # The stock is prefilled with the last report's, dated beside it.
    n95 = last[N95]
    expect(page.locator(f'input[name="{N95}-stock"]')).to_have_value(str(n95.stock))
    expect(page.locator(f'#daily-entry-form tr[data-item="{N95}"] td').nth(3)).to_contain_text(
        f"({last_day:%m-%d})"
    )
    codes = page.locator("#daily-entry-form tr[data-item]").evaluate_all(
        "rows => rows.map(row => row.dataset.item)"
    )
    assert sorted(codes) == sorted(last), "the form lists the key items 兰州市 reported"
    for code in codes:
        figure = last[code]
        used = min(figure.consumption, figure.stock)
        values = (figure.stock - used, 0, used, figure.demand or 0, 0)
        assert page.input_value(f'input[name="{code}-stock"]') == str(figure.stock)
        for field, value in zip(FIELDS, values, strict=True):
            page.fill(f'input[name="{code}-{field}"]', str(value))
    with page.expect_navigation():
        page.click("#daily-entry-form button[type=submit]")
    success = page.locator(".messages .message.success")
    expect(success).to_contain_text(words["prefecture"])
    expect(success).to_contain_text(today.isoformat())
    entered = DailyFigure.objects.filter(prefecture__code=LANZHOU, date=today)
    assert entered.count() == len(codes)
    assert entered.filter(on_time=True).count() == len(codes)  # 10:00, before the cut-off
    return len(codes)


def build_today_as_the_office(page, today, last_day, words):
    page.goto("/reports/")
    # Today is not built yet: the overview shows the last built day; the banner counts
    # today's reports from the figures themselves and has no link yet.
    expect(page.locator(".datadate")).to_contain_text(last_day.isoformat())
    expect(page.locator("#reports-in-progress")).to_contain_text(words["banner"])
    expect(page.locator("#today-not-built")).to_have_count(1)
    expect(page.locator("#show-today")).to_have_count(0)
    with page.expect_navigation():
        page.click("#build-snapshot")
    expect(page.locator(".messages .message.success")).to_contain_text(today.isoformat())
    assert SnapshotBuild.objects.filter(date=today).exists()


def assert_not_green(page, cell):
    """Neither a status class nor the green background (computed, as the eye sees it)."""
    expect(cell).not_to_have_class(COLOURED)
    expect(cell).to_have_css("font-style", "italic")
    green = page.evaluate(
        """() => { const td = document.createElement('td'); td.className = 's-green';
        document.body.appendChild(td); const bg = getComputedStyle(td).backgroundColor;
        td.remove(); return bg; }"""
    )
    assert cell.evaluate("el => getComputedStyle(el).backgroundColor") != green


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("laid_demo", ["yesterday", "four-days-ago"], indirect=True)
def test_one_officers_entry_today_never_becomes_the_province_figure(
    page, browser_log, artifacts_dir, laid_demo, language, request
):
    today, last_day = laid_demo
    layout = request.node.callspec.params["laid_demo"]
    words = WORDS[language]
    shot = f"journey-current-demo-{layout}-{{}}-{language}.png"

    # --- 1. The officer of 兰州市 enters today's figures. ---
    page.goto("/accounts/login/")
    switch_language(page, language)  # the language cookie outlives the sessions below
    log_in(page, "lanzhou_officer", PASSWORDS["lanzhou_officer"])
    key_items = enter_todays_figures(page, today, last_day, words)
    page.screenshot(path=artifacts_dir / shot.format("entry"), full_page=True)
    # The entry alone builds nothing for today (it is built once, then kept up to date).
    assert not SnapshotBuild.objects.filter(date=today).exists()
    log_out(page)

    # --- 2. The office builds today's snapshot. ---
    log_in(page, "office", PASSWORDS["office"])
    build_today_as_the_office(page, today, last_day, words)
    log_out(page)

    # What a province figure resting on 兰州市 alone would read: the whole reserve (and
    # 兰州市's stock) over 兰州市's consumption, the "552.90 in green".
    cover, behind, reserve = province_cover_by_hand(N95, today)
    stock, rate = behind[LANZHOU]
    one_prefecture = {two_places(reserve / rate), two_places((stock + reserve) / rate)}
    rollup = ProvinceRollup.objects.select_related("item").get(date=today, item__code=N95)

    # --- 3. Leadership opens the overview. ---
    log_in(page, "leader", PASSWORDS["leader"])
    page.goto("/reports/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    row = page.locator(f'#rollups tr[data-item="{N95}"]')
    cell = row.locator("td.days-of-cover")
    # Either way, today's reports are coming in (1 of 15, 10:00): the overview opens on the
    # demo's last day, a whole one whose N95 figure is coloured, with the banner to today.
    expect(page.locator(".datadate")).to_contain_text(last_day.isoformat())
    banner = page.locator("#reports-in-progress")
    expect(banner).to_contain_text(words["banner"])
    expect(row).not_to_have_class(re.compile(r"\bpartial\b"))
    expect(cell).to_have_class(COLOURED)
    page.screenshot(path=artifacts_dir / shot.format("overview-banner"), full_page=True)
    with page.expect_navigation():
        page.click("#show-today")
    expect(page.locator(".datadate")).to_contain_text(today.isoformat())
    expect(page.locator("#reports-in-progress")).to_have_count(0)

    if layout == "yesterday":
        # 14 prefectures' stock is yesterday's (stale), 兰州市's today's: 15 of 15, 100 %.
        assert len(behind) == 15
        assert (rollup.prefectures_reported, rollup.prefectures_stale) == (1, 14)
        assert not rollup.partial
        expect(page.locator("#stat-reported")).to_have_text("1 / 15")
        expect(page.locator("#stat-items-partial")).to_have_count(0)  # nothing partial
        expect(row).not_to_have_class(re.compile(r"\bpartial\b"))
        expect(cell).to_have_text(two_places(cover))
        expect(cell).to_have_class(
            re.compile(rf"\bs-{status_by_hand(two_places(cover), rollup.item)}\b")
        )
        expect(row.locator(".coverage")).to_contain_text(words["full"])
        expect(row.locator(".coverage")).to_contain_text("100%")
        expect(row.locator(".coverage")).to_have_attribute("title", words["stale_title"])
        assert cell.inner_text() not in one_prefecture
        page.screenshot(path=artifacts_dir / shot.format("overview-today"), full_page=True)
    else:
        # The others' last stock is 4 days old: missing. Today rests on 兰州市 alone.
        assert list(behind) == [LANZHOU]
        assert rollup.partial
        expect(row).to_have_class(re.compile(r"\bpartial\b"))
        # The figure over 兰州市 alone is shown for what it is, greyed, never green.
        expect(cell).to_have_text(two_places(cover))
        assert two_places(cover) in one_prefecture
        assert_not_green(page, cell)
        coverage = row.locator(".coverage")
        expect(coverage).to_have_attribute("data-partial", "1")
        expect(coverage).to_contain_text(words["alone"])
        expect(coverage).to_contain_text(words["partial"])
        expect(coverage).to_have_attribute("title", words["alone_title"])
        # No partial figure counts as a province item in red; the card says how many it
        # leaves out (every key item rests on 兰州市 alone today).
        partial = ProvinceRollup.objects.filter(date=today, partial=True).count()
        assert partial == key_items
        expect(page.locator("#stat-items-red")).to_have_text("0")
        expect(page.locator("#stat-items-partial")).to_have_attribute("data-partial", str(partial))
        if language == "en":
            expect(page.locator("#stat-items-partial")).to_have_text(
                f"{partial} partial province figures not counted"
            )
        expect(page.locator("#stat-reported")).to_have_text("1 / 15")
        page.screenshot(path=artifacts_dir / shot.format("overview-today"), full_page=True)

    # 兰州市 entered every key item on time: it counts as reported in the completeness.
    assert key_items == Item.objects.filter(is_key=True, active=True).count()
    assert SnapshotBuild.objects.get(date=today).prefectures_on_time == 1
    browser_log.assert_clean()
