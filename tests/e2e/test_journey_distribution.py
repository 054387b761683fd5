"""Distribution enterprises (医药流通企业) in a real browser, in Chinese and in English (issue 14,
section 4): a reporter lands on the day's report form, enters a day's figures, corrects one
(refused without a reason, then saved with one); the office reads the province rollup and the
enterprise's page with the correction's who and why; an outsider reporter is refused."""

import pytest
from playwright.sync_api import expect

from procurement.distribution_services import distribution_enterprise_create
from procurement.models import DistributionReport
from supplycoord.lib.credit_code import check_character
from supplycoord.lib.dates import local_today
from supplycoord.models import Role
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FIGURES = ("purchased", "shipped", "purchase_in_transit", "stock")


def _code(serial):
    first17 = f"91620100MA7{serial:06d}"
    return first17 + check_character(first17)


@pytest.fixture
def world(office, lanzhou, n95):
    ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    tianshui = PrefectureFactory(code="620500", name_zh="天水市", name_en="Tianshui")
    mine = UserFactory(username="dist_a", role=Role.DISTRIBUTION_REPORTER)
    other = UserFactory(username="dist_b", role=Role.DISTRIBUTION_REPORTER)
    a = distribution_enterprise_create(
        user=office,
        name="国药控股兰州有限公司",
        credit_code=_code(501),
        prefecture=lanzhou,
        reporters=[mine],
    )
    distribution_enterprise_create(
        user=office,
        name="天水医药有限公司",
        credit_code=_code(502),
        prefecture=tianshui,
        reporters=[other],
        items=[n95],
    )
    return a


def _switch_language(page, language):
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
        expect(page.locator("html")).to_have_attribute("lang", "en")


def _fill(page, code, values):
    for field, value in zip(FIGURES, values, strict=True):
        page.fill(f'#distribution-report-form input[name="{code}-{field}"]', str(value))


def _save(page):
    with page.expect_navigation():
        page.click("#distribution-report-form button[type=submit]")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_reporter_reports_and_corrects_and_the_office_reads_the_rollup(
    page, world, office, language, browser_log, artifacts_dir
):
    enterprise = world
    today = local_today().isoformat()

    # --- The reporter lands on their enterprise's form for today. ---
    log_in(page, "dist_a")
    _switch_language(page, language)
    assert "/procurement/distribution/report/" in page.url
    expect(page.locator("main h1")).to_contain_text("国药控股兰州有限公司")
    numeric = page.locator('#distribution-report-form input[name="FH001-stock"]')
    expect(numeric).to_have_attribute("inputmode", "numeric")

    # --- A day's figures: N95 1,000 / 400 / 2,000 / 600; masks 50,000 / 20,000 / 10,000 / 30,000.
    _fill(page, "FH001", (1000, 400, 2000, 600))
    _fill(page, "FH002", ("50,000", 20000, 10000, 30000))
    _save(page)
    expect(page.locator(".messages")).to_be_visible()
    assert DistributionReport.objects.count() == 2

    # --- Correcting N95's stock without a reason is refused on the reason; with one, saved.
    _fill(page, "FH001", (1000, 400, 2000, 650))
    _save(page)
    expect(page.locator("#entry-errors")).to_be_visible()
    assert DistributionReport.objects.get(item__code="FH001").stock == 600
    _fill(page, "FH001", (1000, 400, 2000, 650))
    page.fill("#id_reason_today", "盘点后更正")
    _save(page)
    report = DistributionReport.objects.get(item__code="FH001")
    assert (report.stock, report.correction_reason) == (650, "盘点后更正")
    page.screenshot(path=str(artifacts_dir / f"distribution_report_{language}.png"), full_page=True)
    # The refused save is the journey's only failed response so far.
    assert [status for status, _url in browser_log.bad_responses] == [400]
    log_out(page)

    # --- The office: the rollup for today and the enterprise's page. ---
    browser_log.responses.clear()
    browser_log.errors.clear()  # the browser's console line about that 400
    log_in(page, "office")
    _switch_language(page, language)
    page.goto(f"/procurement/distribution/rollup/?date={today}")
    n95_row = page.locator('#distribution-rollup tr[data-item="FH001"]')
    # One enterprise reported N95 (Tianshui's did not): in transit 2,000, stock 650.
    expect(n95_row).to_contain_text("2,000")
    expect(n95_row).to_contain_text("650")
    masks_row = page.locator('#distribution-rollup tr[data-item="FH002"]')
    expect(masks_row).to_contain_text("50,000")
    # Lanzhou's enterprise reported all its items (on time or late by the clock); Tianshui's
    # nothing: missing.
    expect(
        page.locator(f'#completeness-rows tr[data-enterprise="{enterprise.pk}"]')
    ).not_to_have_attribute("data-state", "missing")
    expect(page.locator('#completeness-rows tr[data-state="missing"]')).to_have_count(1)
    page.screenshot(path=str(artifacts_dir / f"distribution_rollup_{language}.png"), full_page=True)
    page.goto(f"/procurement/distribution/{enterprise.pk}/")
    expect(page.locator("#corrections")).to_contain_text("盘点后更正")
    expect(page.locator("#corrections")).to_contain_text("dist_a")
    browser_log.assert_clean()
    log_out(page)

    # --- The outsider reporter: another enterprise's page and form do not exist for them. ---
    log_in(page, "dist_b")
    assert page.goto(f"/procurement/distribution/{enterprise.pk}/").status == 404
    assert page.goto(f"/procurement/distribution/report/?enterprise={enterprise.pk}").status == 404
    assert page.goto("/procurement/distribution/rollup/").status == 403
