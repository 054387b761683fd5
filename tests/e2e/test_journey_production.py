"""Production in a real browser: the resident commissioner of a mask factory enters the day's
output (part of it delivered into the province's held reserve) and reports a problem; the
office takes the problem in hand and resolves it; the production dashboard shows the output
and the held-reserve warehouse holds the delivery.

Real time, no freezing: the live server and the browser run on today's date in Asia/Shanghai.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from inventory.models import StockBalance, WarehouseKind
from production.models import (
    LineStatus,
    Problem,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
)
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


@pytest.fixture
def factory(lanzhou, n95, reporter):
    """兰州防护用品厂: one commissioned N95 line of 100,000 a day, its held reserve DC09, and
    the commissioner `reporter` assigned to it."""
    held = WarehouseFactory(
        code="DC09",
        name_zh="兰州防护用品厂代储库",
        kind=WarehouseKind.PRODUCER_HELD,
        prefecture=lanzhou,
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


def test_a_commissioner_reports_output_and_a_problem_the_office_resolves_it(
    page, browser_log, artifacts_dir, factory, reporter, office
):
    today = timezone.localdate()

    # --- The commissioner lands on their desk: today's report is missing. ---
    log_in(page, "reporter")
    assert "/production/commissioner/" in page.url
    expect(page.locator("#today-reports")).to_contain_text("兰州防护用品厂")
    expect(page.locator("#missing-count")).to_be_visible()

    # --- ...enters the day's output from the link on the missing row. ---
    page.locator("#today-reports a[href*='/production/reports/new/']").first.click()
    page.fill('input[name="FH001-output"]', "82,000")
    page.fill('input[name="FH001-to_reserve"]', "20000")
    page.fill('input[name="FH001-to_prefectures"]', "50000")
    page.fill('input[name="FH001-to_market"]', "0")
    page.fill('input[name="FH001-factory_stock"]', "32000")
    page.fill('input[name="FH001-held_for_province"]', "20000")
    page.fill('input[name="FH001-raw_material_days"]', "9")
    with page.expect_navigation():
        page.click("#report-entry-form button[type=submit]")
    report = ProductionReport.objects.get(producer=factory, date=today)
    assert (report.output, report.to_reserve, report.factory_stock) == (82_000, 20_000, 32_000)
    balance = StockBalance.objects.get(warehouse=factory.held_reserve_warehouse)
    assert balance.quantity == 20_000  # the delivery is booked in the held reserve

    # --- ...and reports a problem: melt-blown fabric runs out in two days. ---
    page.goto("/production/problems/new/")
    page.select_option('#problem-form [name="producer"]', str(factory.pk))
    page.select_option('#problem-form [name="category"]', "raw_materials")
    page.fill('#problem-form [name="description"]', "熔喷布库存仅够两天，请协调调入")
    with page.expect_navigation():
        page.click("#problem-form button[type=submit]")
    problem = Problem.objects.get()
    assert problem.status == ProblemStatus.OPEN
    page.screenshot(path=artifacts_dir / "production-problem-reported.png", full_page=True)
    log_out(page)

    # --- The office sees it among the open problems, takes it in hand and resolves it. ---
    log_in(page, "office")
    page.goto("/production/problems/")
    page.locator(f"a[href$='/production/problems/{problem.pk}/']").first.click()
    with page.expect_navigation():
        page.click("#take-form button[type=submit]")
    expect(page.locator("#problem-status")).to_have_attribute("data-status", "in_progress")
    page.fill('#resolve-form [name="resolution"]', "省工信厅协调兰州某厂调入熔喷布 2 吨")
    with page.expect_navigation():
        page.click("#resolve-form button[type=submit]")
    expect(page.locator("#problem-status")).to_have_attribute("data-status", "resolved")
    expect(page.locator("#problem-resolution")).to_contain_text("熔喷布 2 吨")
    expect(page.locator("#problem-history tbody tr")).to_have_count(3)

    # --- The production dashboard shows today's output beside the capacity. ---
    page.goto(f"/production/dashboard/?item=FH001&date={today.isoformat()}")
    expect(page.locator("[data-chart='production-capacity']")).to_have_attribute(
        "data-rendered", "1"
    )
    today_row = page.locator(f"#capacity-series tr[data-date='{today.isoformat()}']")
    expect(today_row.locator(".output")).to_have_text("82,000", use_inner_text=False)
    expect(today_row.locator(".capacity")).to_have_text("100,000", use_inner_text=False)
    page.screenshot(path=artifacts_dir / "production-dashboard.png", full_page=True)

    # --- In English too: the same page, its headings translated back. ---
    page.click("form.langswitch button[value='en']")
    expect(page.locator("#capacity-output h2")).to_contain_text("Capacity, output and consumption")
    browser_log.assert_clean()
