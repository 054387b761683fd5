"""Daily figures typed on a bad connection are kept, resent, and saved once (issue 16 §2;
README "On the phone"; static/js/offline-entry.js).

On a phone (390 × 844) the officer types today's figures; the connection drops as the save
goes out (the browser's POST aborted), then the server answers 503 to a first resend: each
time the page says "not sent — resend" and nothing is in the database. The officer reloads
the page: the figures typed are still there, taken from the browser's storage; opening
yesterday's grid, a notice links back to today's unsent figures. The connection is back,
the officer resends: saved once. Sending the same figures once more
(as a phone would whose first answer was lost) changes nothing: still one row per item, the
same figures, one history record each.

Prefecture grid in Chinese (Lanzhou's officer), county grid in English (榆中县's officer,
Lanzhou reporting as the sum of its counties). Two key items:
    FH001 N95       stock 1250, received 150, consumption 200, demand 220, expected 300
    XD001 84 disinf. stock   36, received  10, consumption  24, demand  30, expected   0
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from inventory.models import CountyDailyFigure, DailyFigure
from supplycoord.lib.dates import local_today
from supplycoord.models import ItemCategory, Unit, User
from tests.e2e.test_journey_daily_figures import log_in
from tests.e2e.test_journey_requests import _switch_language
from tests.e2e.test_phone_pages import phone, shoot  # noqa: F401 - the phone fixture
from tests.factories import ItemFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

TYPED = {
    "FH001": {
        "stock": 1250,
        "received": 150,
        "consumption": 200,
        "demand": 220,
        "expected_arrivals_3d": 300,
    },
    "XD001": {
        "stock": 36,
        "received": 10,
        "consumption": 24,
        "demand": 30,
        "expected_arrivals_3d": 0,
    },
}

GRIDS = {
    # grid: (user, page, form, model)
    "prefecture": ("officer", "/inventory/daily/", "#daily-entry-form", DailyFigure),
    "county": (
        "county_officer",
        "/inventory/counties/entry/",
        "#county-entry-form",
        CountyDailyFigure,
    ),
}

# The banner's words in English; its Chinese is merged with the other new strings later
# (/tmp/i18n_phone.po), so the Chinese run checks the banner by its parts, not its words.
WORDS = {
    "zh-hans": {},
    "en": {"not_sent": "Not sent — resend", "resend": "Resend"},
}


@pytest.fixture
def key_items(n95):
    return [
        n95,
        ItemFactory(
            code="XD001",
            name_zh="84消毒液",
            name_en="84 disinfectant",
            category=ItemCategory.DISINFECTION,
            unit=Unit.BOTTLE,
        ),
    ]


@pytest.fixture
def world(lanzhou, officer, yuzhong, county_officer, key_items, request):
    if request.node.callspec.params["grid"] == "county":
        lanzhou.reports_as_sum_of_counties = True
        lanzhou.save(update_fields=["reports_as_sum_of_counties"])
    return {"prefecture": {"prefecture": lanzhou}, "county": {"county": yuzhong}}


def kept_copies(page):
    return page.evaluate(
        """Object.keys(localStorage).filter(k => k.startsWith('supplycoord:entry:'))
             .map(k => [k, JSON.parse(localStorage.getItem(k)).values])"""
    )


def saved(model, owner):
    """(rows, figures by item, history records) of today."""
    rows = model.objects.filter(date=local_today(), **owner).select_related("item")
    figures = {row.item.code: row.figures() for row in rows}
    return rows.count(), figures, model.history.filter(date=local_today(), **owner).count()


@pytest.mark.parametrize(("grid", "language"), [("prefecture", "zh-hans"), ("county", "en")])
def test_figures_typed_on_a_bad_connection_are_kept_resent_and_saved_once(
    phone,  # noqa: F811 - the fixture imported above
    browser_log,
    world,
    grid,
    language,
):
    user, url, form, model = GRIDS[grid]
    owner = world[grid]
    words = WORDS[language]
    today = local_today().isoformat()
    yesterday = (local_today() - dt.timedelta(days=1)).isoformat()
    log_in(phone, user)
    _switch_language(phone, language)
    phone.goto(url)
    path = re.compile(re.escape(url) + r"(\?.*)?$")

    # --- The connection drops as the save goes out. ---
    posts = []

    def network_down(route):
        if route.request.method == "POST":
            posts.append("aborted")
            route.abort("internetdisconnected")
        else:
            route.continue_()

    phone.route(path, network_down)
    for code, figures in TYPED.items():
        for field, value in figures.items():
            phone.fill(f'input[name="{code}-{field}"]', str(value))
    phone.click(f"{form} button[type=submit]")

    banner = phone.locator(f"{form}-offline")
    expect(banner).to_be_visible()
    if words:
        expect(banner).to_contain_text(words["not_sent"])
    expect(banner.locator(".offline-failed")).to_be_visible()
    expect(phone.locator(f"{form} button[type=submit]")).to_be_enabled()
    assert posts == ["aborted"]
    assert saved(model, owner) == (0, {}, 0)
    # The copy is kept under the user, the owner and the date, with what was typed.
    [(key, values)] = kept_copies(phone)
    user_pk = User.objects.get(username=user).pk
    kind = {"prefecture": "daily-figures", "county": "county-figures"}[grid]
    assert key == f"supplycoord:entry:{kind}:{user_pk}:{owner[grid].code}:{today}"
    assert values["FH001-stock"] == "1250" and values["XD001-demand"] == "30"
    shoot(phone, f"offline_{grid}_not_sent", language)

    # --- A first resend meets a server that answers 503: still not sent. ---
    phone.unroute(path)

    def server_down(route):
        if route.request.method == "POST":
            posts.append("503")
            route.fulfill(status=503, body="Service Unavailable")
        else:
            route.continue_()

    phone.route(path, server_down)
    banner.locator(".offline-resend").click()
    expect(phone.locator(f"{form} button[type=submit]")).to_be_enabled()
    expect(banner).to_be_visible()
    assert posts == ["aborted", "503"]
    assert saved(model, owner) == (0, {}, 0)

    # --- The officer reloads the page: the figures typed are back, with the banner. ---
    phone.reload()
    expect(banner).to_be_visible()
    expect(banner.locator(".offline-restored")).to_be_visible()
    expect(banner.locator(".offline-failed")).to_be_hidden()
    for code, figures in TYPED.items():
        for field, value in figures.items():
            expect(phone.locator(f'input[name="{code}-{field}"]')).to_have_value(str(value))
    shoot(phone, f"offline_{grid}_reloaded", language)

    # --- The next morning's habit, opening another date, points back to the unsent day. ---
    phone.goto(f"{url}?date={yesterday}")
    expect(banner).to_be_hidden()  # nothing kept for that day
    elsewhere = phone.locator(f"{form}-elsewhere a")
    expect(elsewhere).to_have_count(1)
    expect(elsewhere).to_contain_text(today)
    with phone.expect_navigation():
        elsewhere.click()
    expect(phone.locator(f"{form} input[name=date]")).to_have_value(today)
    expect(banner.locator(".offline-restored")).to_be_visible()
    expect(phone.locator('input[name="FH001-stock"]')).to_have_value("1250")

    # --- The connection is back: resend. Saved once; the copy is gone. ---
    phone.unroute(path)
    if words:
        expect(banner.locator(".offline-resend")).to_have_text(words["resend"])
    with phone.expect_navigation():
        banner.locator(".offline-resend").click()
    expect(phone.locator(".messages .message.success")).to_contain_text(today)
    expect(banner).to_be_hidden()
    assert kept_copies(phone) == []
    after_resend = saved(model, owner)
    assert after_resend == (2, TYPED, 2)  # two rows, the figures typed, one record each
    shoot(phone, f"offline_{grid}_resent", language)

    # --- The same figures once more, as a phone whose answer was lost: nothing doubles. ---
    with phone.expect_navigation():
        phone.click(f"{form} button[type=submit]")
    expect(phone.locator(".messages .message.success")).to_contain_text(
        "未变动2条" if language == "zh-hans" else "0 new, 0 corrected, 2 unchanged"
    )
    assert saved(model, owner) == after_resend

    # Only the two posts the test broke failed; no script error.
    assert browser_log.errors == [e for e in browser_log.errors if "Failed to load resource" in e]
    assert [status for status, _url in browser_log.bad_responses] == [503]
    assert [failure for url, failure in browser_log.failed_requests if path.search(url)] == [
        "net::ERR_INTERNET_DISCONNECTED"
    ]
