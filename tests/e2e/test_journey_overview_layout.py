"""The overview at 1366 × 768 (an office laptop) in Chinese and English: the page body never
scrolls sideways, the English navigation is one line, and the prefecture × item grid keeps its
prefecture column in view when it is scrolled sideways (issue 12 §4). Screenshots go to
tests/artifacts/."""

import pytest
from django.utils import timezone

from reports.services import snapshot_build_for_date
from supplycoord.models import Role
from tests.e2e.test_journey_daily_figures import log_in
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture
def wide_province(db):
    """15 prefectures × 30 key items with long names, reported today: a grid wider than the
    screen, so it has to scroll inside its own box."""
    today = timezone.localdate()
    prefectures = [
        PrefectureFactory(
            code=f"62{n + 1:02d}00", name_zh=f"测试市{n + 1}", name_en=f"City {n + 1}"
        )
        for n in range(15)
    ]
    items = [
        ItemFactory(
            code=f"W{n:03d}",
            name_zh=f"一次性使用医用防护用品测试物资{n}",
            name_en=f"Disposable medical protective test supply number {n}",
            short_name_zh=f"物资{n}",
            short_name_en=f"Supply {n}",
            is_key=True,
            sort_order=n,
        )
        for n in range(30)
    ]
    for prefecture in prefectures:
        for item in items:
            DailyFigureFactory(
                prefecture=prefecture, item=item, date=today, stock=500, consumption=100
            )
    snapshot_build_for_date(date=today)
    return UserFactory(username="office_layout", first_name="陈静", role=Role.OFFICE_STAFF)


def open_overview(browser, live_server, language):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai", viewport=VIEWPORT
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, "office_layout")
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
    page.goto("/reports/")
    page.wait_for_selector("#cover-grid")
    return context, page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_overview_fits_1366_and_the_grid_keeps_its_first_column(
    browser, live_server, artifacts_dir, wide_province, language
):
    context, page = open_overview(browser, live_server, language)
    try:
        # The page body does not scroll sideways: only the grid's own box does.
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], widths

        # The navigation is one line: every item of it sits on the first one's line.
        tops = page.evaluate(
            """() => Array.from(document.querySelectorAll('.mainnav > a, .mainnav > details > summary'))
                 .map(e => Math.round(e.getBoundingClientRect().top))"""
        )
        assert len(tops) >= 5
        assert max(tops) - min(tops) <= 2, tops
        nav_height = page.evaluate(
            "() => document.querySelector('.mainnav').getBoundingClientRect().height"
        )
        summary_height = page.evaluate(
            "() => document.querySelector('.mainnav summary').getBoundingClientRect().height"
        )
        assert nav_height < 2 * summary_height, (nav_height, summary_height)

        # Short item names head the grid; the full name is on hover.
        head = page.locator("#cover-grid thead th.rot a").first
        expected = "Supply 0" if language == "en" else "物资0"
        assert head.inner_text().strip() == expected
        assert "0" in (head.get_attribute("title") or "")

        page.screenshot(path=artifacts_dir / f"overview-1366-{language}.png")

        # Scroll the grid sideways: the first column stays where it was.
        wrap = page.locator("#cover-grid-wrap")
        wrap.scroll_into_view_if_needed()
        first = page.locator("#cover-grid tbody tr:first-child th")
        before = first.bounding_box()
        scrolled = page.evaluate(
            """() => { const w = document.getElementById('cover-grid-wrap');
                       w.scrollLeft = 600; return w.scrollLeft; }"""
        )
        assert scrolled > 0, "the grid is wider than its box"
        after = first.bounding_box()
        assert abs(after["x"] - before["x"]) < 1
        wrap_box = wrap.bounding_box()
        assert after["x"] >= wrap_box["x"] - 1
        # A cell that was right of the first column moved left by the scroll.
        page.screenshot(path=artifacts_dir / f"overview-1366-{language}-scrolled.png")
    finally:
        context.close()
