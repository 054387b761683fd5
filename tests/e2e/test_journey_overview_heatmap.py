"""Above SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"] cells the overview's grid is an ECharts heatmap
(issue 13): in Chinese and English it draws one cell per prefecture × key item, and a click
on a cell opens that prefecture's page for the same date."""

import pytest
from django.utils import timezone

from reports.services import snapshot_build_for_date
from supplycoord.models import Role
from tests.e2e.test_journey_daily_figures import log_in
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def heatmap_province(db, settings):
    """4 prefectures × 3 key items = 12 cells, above a table limit of 10."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "OVERVIEW_TABLE_MAX_CELLS": 10}
    today = timezone.localdate()
    prefectures = [
        PrefectureFactory(
            code=f"62{n + 1:02d}00", name_zh=f"热图市{n + 1}", name_en=f"Heat {n + 1}"
        )
        for n in range(4)
    ]
    items = [ItemFactory(code=f"H{n:03d}", is_key=True, sort_order=n) for n in range(3)]
    for p_index, prefecture in enumerate(prefectures):
        for item in items:
            DailyFigureFactory(
                prefecture=prefecture,
                item=item,
                date=today,
                stock=100 * (p_index + 1),
                consumption=100,
            )
    snapshot_build_for_date(date=today)
    UserFactory(username="office_heatmap", role=Role.OFFICE_STAFF)
    return prefectures


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_heatmap_draws_every_cell_and_a_click_opens_the_prefecture(
    browser, live_server, browser_log, artifacts_dir, heatmap_province, language
):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda error: browser_log.errors.append(str(error)))
    try:
        log_in(page, "office_heatmap")
        if language == "en":
            with page.expect_navigation():
                page.click('.langswitch button[value="en"]')
        page.goto("/reports/")
        page.wait_for_selector('#cover-heatmap[data-rendered="1"]')
        assert page.locator("#cover-grid").count() == 0
        cells = page.evaluate(
            """() => echarts.getInstanceByDom(document.getElementById('cover-heatmap'))
                      .getOption().series[0].data.length"""
        )
        assert cells == 4 * 3
        # The second prefecture's first cell, in page pixels.
        x, y = page.evaluate(
            """() => { const el = document.getElementById('cover-heatmap');
                       el.scrollIntoView({block: 'center'});
                       const chart = echarts.getInstanceByDom(el);
                       const [px, py] = chart.convertToPixel({seriesIndex: 0}, [0, 1]);
                       const box = el.getBoundingClientRect();
                       return [box.left + px, box.top + py]; }"""
        )
        page.screenshot(path=str(artifacts_dir / f"overview-heatmap-{language}.png"))
        with page.expect_navigation():
            page.mouse.click(x, y)
        assert f"/reports/prefectures/{heatmap_province[1].code}/?date=" in page.url
        assert browser_log.errors == []
    finally:
        context.close()
