"""The big screen in a browser at 1920×1080 (issue 16 §1): the map draws every prefecture of
Gansu, 兰州新区 (no region) is listed beside it, a figure changed in the database shows at the
next poll while unchanged parts answer 304, a failing part keeps its content and is marked
stale, and a click on a prefecture draws its counties and its own figures, then back.

Real time: the figures are of yesterday in Asia/Shanghai (the day the screen opens on); the
parts are polled every 2 s (?poll=2) and the items do not rotate during the test (?rotate=600).
"""

import csv
import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings

from reports.services import snapshot_build_for_date
from supplycoord.lib.dates import local_today
from supplycoord.models import County, Role
from tests.e2e.conftest import IGNORED_URLS
from tests.e2e.test_journey_daily_figures import log_in
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PREFECTURES_CSV = Path(settings.BASE_DIR) / "supplycoord" / "data" / "prefectures.csv"


@pytest.fixture
def gansu(db):
    """Gansu's 14 prefectures and 兰州新区, two key items reported yesterday by all, the
    snapshot of yesterday built; two counties of 兰州市."""
    with open(PREFECTURES_CSV, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["level"] == "prefecture"]
    prefectures = [
        PrefectureFactory(
            code=r["code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            is_gb_code=r["is_gb_code"] == "true",
        )
        for r in rows
    ]
    items = [
        ItemFactory(code="FH001", name_zh="医用防护口罩(N95)", name_en="N95", sort_order=10),
        ItemFactory(code="FH008", name_zh="检查手套", name_en="Exam gloves", sort_order=80),
    ]
    yesterday = local_today() - dt.timedelta(days=1)
    for n, prefecture in enumerate(prefectures):
        for item in items:
            # Days of cover 1, 4, 7, 10 … by prefecture: every colour is on the map.
            DailyFigureFactory(
                prefecture=prefecture,
                item=item,
                date=yesterday,
                stock=100 * (1 + 3 * (n % 4)),
                consumption=100,
            )
    snapshot_build_for_date(date=yesterday)
    lanzhou = prefectures[0]
    for code, zh, en in (("620102", "城关区", "Chengguan"), ("620123", "榆中县", "Yuzhong")):
        County.objects.create(prefecture=lanzhou, code=code, name_zh=zh, name_en=en)
    UserFactory(username="office_screen", role=Role.OFFICE_STAFF)
    return {"prefectures": prefectures, "items": items}


def _regions_with_figures(page):
    """The map's data items that carry one of our prefectures (or counties): ECharts adds an
    empty item for every other region of the map file, so the length alone counts regions."""
    return page.evaluate(
        """() => echarts.getInstanceByDom(document.getElementById('screen-map'))
                  .getOption().series[0].data.filter(d => d.code).map(d => d.code).sort()"""
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_screen_draws_every_prefecture_refreshes_and_drills_down(
    browser, live_server, artifacts_dir, gansu, language
):
    context = browser.new_context(
        base_url=live_server.url,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        viewport={"width": 1920, "height": 1080},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "500" not in msg.text and not msg.text.endswith(IGNORED_URLS)
            else None
        ),
    )
    try:
        log_in(page, "office_screen")
        if language == "en":
            with page.expect_navigation():
                page.click('.langswitch button[value="en"]')
        page.goto("/screen/?poll=2&rotate=600")
        page.wait_for_selector('#screen-map[data-rendered="1"]')

        # Every prefecture with a region is drawn: the 14 of the map file, each with its figures.
        gb_codes = sorted(p.code for p in gansu["prefectures"] if p.code != "LZXQ")
        assert _regions_with_figures(page) == gb_codes
        features = page.evaluate(
            "() => echarts.getMap('province-620000').geoJSON.features.map(f => f.properties.name)"
        )
        names = page.evaluate(
            """() => echarts.getInstanceByDom(document.getElementById('screen-map'))
                      .getOption().series[0].data.map(d => d.name)"""
        )
        assert len(features) == 14 and sorted(names) == sorted(features)
        # 兰州新区 has no region: it is listed beside the map, with its status.
        new_area = page.locator('#screen-unmapped li[data-code="LZXQ"]')
        assert new_area.count() == 1
        assert (
            "兰州新区" if language == "zh-hans" else "Lanzhou New Area"
        ) in new_area.inner_text()
        assert "N95" in page.locator("#screen-item-name").inner_text()
        page.screenshot(path=str(artifacts_dir / f"screen-{language}.png"))

        # Nobody has reported today: 0 %. Lanzhou reports both key items: 1 of 15 = 7 %.
        rate = page.locator("#kpi-reporting .kpi-value")
        assert rate.inner_text().replace("\n", "") == "0%"
        for item in gansu["items"]:
            DailyFigureFactory(prefecture=gansu["prefectures"][0], item=item, date=local_today())
        page.wait_for_function(
            "() => document.querySelector('#kpi-reporting .kpi-value').innerText.replace(/\\s/g, '') === '7%'"
        )
        # The build part did not change: it answers 304 to its ETag and is not swapped.
        page.wait_for_event(
            "response",
            predicate=lambda r: r.url.endswith("/screen/parts/build/") and r.status == 304,
        )

        # A part that fails keeps its content and the header says since when.
        alerts_before = page.locator("#screen-alerts").inner_text()
        page.route("**/screen/parts/alerts/*", lambda route: route.fulfill(status=500, body="down"))
        page.wait_for_selector("#screen-stale:not([hidden])")
        assert page.locator("#part-alerts[data-stale-since]").count() == 1
        assert page.locator("#screen-alerts").inner_text() == alerts_before
        page.unroute("**/screen/parts/alerts/*")
        page.wait_for_selector("#screen-stale", state="hidden")

        # A click on 兰州市 draws its counties (both matched to the county map) and its figures.
        x, y = page.evaluate(
            """() => { const el = document.getElementById('screen-map');
                       const chart = echarts.getInstanceByDom(el);
                       const [px, py] = chart.convertToPixel({seriesIndex: 0}, [103.82, 36.06]);
                       const box = el.getBoundingClientRect();
                       return [box.left + px, box.top + py]; }"""
        )
        page.mouse.click(x, y)
        page.wait_for_selector('#screen-map[data-drilled="620100"]')
        assert _regions_with_figures(page) == ["620102", "620123"]
        drill = page.locator("#screen-drill")
        assert drill.is_visible()
        assert ("兰州市" if language == "zh-hans" else "Lanzhou") in drill.inner_text()
        page.screenshot(path=str(artifacts_dir / f"screen-drill-{language}.png"))
        page.click("#screen-back")
        page.wait_for_function("() => !document.getElementById('screen-map').dataset.drilled")
        assert _regions_with_figures(page) == gb_codes
        assert errors == []
    finally:
        context.close()


HOSTILE = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'

# The tooltip of the region carrying `code`, as ECharts would render it (HTML).
_TOOLTIP = """([selector, code, seriesTooltip]) => {
    const chart = echarts.getInstanceByDom(document.querySelector(selector));
    const option = chart.getOption();
    const d = option.series[0].data.find(d => d.code === code);
    const formatter = seriesTooltip ? option.series[0].tooltip.formatter : option.tooltip[0].formatter;
    chart.dispatchAction({type: 'showTip', seriesIndex: 0, name: d.name});
    return formatter({data: d, name: d.name});
}"""


def test_names_with_html_are_shown_as_text_in_the_maps_tooltips(browser, live_server, gansu):
    """ECharts writes a tooltip's formatter result as HTML: a prefecture's or county's name
    (entered in the admin) with markup in it is shown as text on the screen, its drill-down
    and the small map, and runs nothing."""
    lanzhou = gansu["prefectures"][0]
    type(lanzhou).objects.filter(pk=lanzhou.pk).update(
        name_zh="兰州市" + HOSTILE, name_en="Lanzhou" + HOSTILE
    )
    County.objects.filter(code="620102").update(
        name_zh="城关区" + HOSTILE, name_en="Chengguan" + HOSTILE
    )
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1920, "height": 1080}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, "office_screen")
        page.goto("/screen/?poll=600&rotate=600")
        page.wait_for_selector('#screen-map[data-rendered="1"]')
        html = page.evaluate(_TOOLTIP, ["#screen-map", lanzhou.code, False])
        assert "&lt;img" in html and "<img" not in html
        # The drill-down: the county's label in its tooltip.
        page.evaluate(
            """(code) => { const chart = echarts.getInstanceByDom(document.getElementById('screen-map'));
                           chart.trigger('click', {data: {code}}); }""",
            lanzhou.code,
        )
        page.wait_for_selector('#screen-map[data-drilled="620100"]')
        html = page.evaluate(_TOOLTIP, ["#screen-map", "620102", True])
        assert "&lt;img" in html and "<img" not in html

        page.goto("/reports/")
        page.wait_for_selector('[data-minimap][data-rendered="1"]')
        html = page.evaluate(_TOOLTIP, ["[data-minimap]", lanzhou.code, False])
        assert "&lt;img" in html and "<img" not in html
        page.wait_for_timeout(300)
        assert page.evaluate("() => window.__xss || 0") == 0
    finally:
        context.close()


def test_a_wall_whose_session_ended_goes_to_log_in_and_comes_back(browser, live_server, gansu):
    """The session ends while the screen polls (here: its cookie is gone). The parts are not
    swapped for the log-in form under an "updated" clock: the wall opens the log-in page, and
    logging in brings the screen back as it was opened."""
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1920, "height": 1080}
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        log_in(page, "office_screen")
        page.goto("/screen/?poll=2&rotate=600")
        page.wait_for_selector('#screen-map[data-rendered="1"]')
        context.clear_cookies()
        page.wait_for_url(re.compile(r"/accounts/login/\?next="))
        assert page.url.endswith("/accounts/login/?next=/screen/%3Fpoll%3D2%26rotate%3D600")
        assert page.locator("#part-headline").count() == 0
        page.fill("#id_username", "office_screen")
        page.fill("#id_password", "pass-word-123")
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        assert page.url.endswith("/screen/?poll=2&rotate=600")
        page.wait_for_selector('#screen-map[data-rendered="1"]')
    finally:
        context.close()
