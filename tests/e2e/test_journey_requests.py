"""Requests from below in a real browser, in Chinese and in English (issue 15 section 1): a
hospital's requester submits an emergency request of two items; the office triages it (one
line accepted, one in part with a reason) and puts it into a draft batch; leadership approves
and the office dispatches (by the services); the requester sees its request dispatched with
the batch's number. Screenshots at 1366 and 390 px wide; nothing scrolls sideways at 390."""

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import Destination, DestinationKind, DispatchBatch, SupplyRequest
from allocation.services import batch_approve, batch_dispatch
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from supplycoord.lib.dates import local_today
from supplycoord.models import Role
from tests.e2e.test_journey_daily_figures import log_in, log_out
from tests.factories import ItemFactory, UserFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SHOTS = Path("/tmp/shots_reqpages")
WIDTHS = (1366, 390)


@pytest.fixture
def world(office, leader, n95):
    masks = ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 5000), (masks, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=1),
    )
    requester = UserFactory(username="hospital", role=Role.UNIT_REQUESTER)
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION,
        code="SRMYY",
        name_zh="甘肃省人民医院",
        name_en="Gansu Provincial Hospital",
    )
    hospital.requesters.add(requester)
    return warehouse


def _switch_language(page, language):
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
        expect(page.locator("html")).to_have_attribute("lang", "en")


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


def _post(page, selector):
    with page.expect_navigation():
        page.click(selector)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_hospital_asks_the_office_ships_and_the_hospital_sees_it_dispatched(
    page, world, office, leader, language, browser_log
):
    needed_by = (local_today() + dt.timedelta(days=2)).isoformat()

    # --- The hospital's requester lands on its requests and asks for two items. ---
    log_in(page, "hospital")
    assert page.url.endswith("/allocation/requests/")
    _switch_language(page, language)
    _post(page, "#new-request")
    # Its one unit is chosen already.
    hospital_name = "Gansu Provincial Hospital" if language == "en" else "甘肃省人民医院"
    expect(page.locator("#id_claimant option:checked")).to_contain_text(hospital_name)
    page.select_option("#id_urgency", "emergency")
    page.fill("#id_needed_by", needed_by)
    page.fill("#id_justification", "ICU 扩容 40 张床位")
    page.select_option("#id_lines-0-item", "FH001")
    page.fill("#id_lines-0-quantity", "1,000")
    expect(page.locator("#id_lines-0-quantity")).to_have_attribute("inputmode", "numeric")
    page.select_option("#id_lines-1-item", "FH002")
    page.fill("#id_lines-1-quantity", "2000")
    _shoot(page, "request_form", language)
    _post(page, "#submit-request")
    request = SupplyRequest.objects.get()
    assert page.url.endswith(f"/allocation/requests/{request.number}/")
    expect(page.locator('.urgency[data-urgency="emergency"]')).to_be_visible()
    expect(page.locator(".request-state")).to_have_attribute("data-state", "awaiting_triage")
    log_out(page)

    # --- The office: the badge, the triage, the draft batch. ---
    log_in(page, "office")
    _switch_language(page, language)
    expect(page.locator("#nav-awaiting-triage")).to_have_text("1")
    page.goto(f"/allocation/requests/{request.number}/")
    lines = {line.item.code: line.pk for line in request.lines.all()}
    page.select_option(f'select[name="line-{lines["FH001"]}-decision"]', "accepted")
    page.select_option(f'select[name="line-{lines["FH002"]}-decision"]', "accepted_part")
    page.fill(f'input[name="line-{lines["FH002"]}-accepted_quantity"]', "1500")
    page.fill(f'input[name="line-{lines["FH002"]}-reason"]', "储备不足，先发 1500")
    _shoot(page, "request_triage", language)
    _post(page, "#triage-form button[type=submit]")
    expect(page.locator('tr[data-item="FH002"]')).to_contain_text("1,500")
    expect(page.locator('tr[data-item="FH002"]')).to_contain_text("储备不足")
    page.select_option("#id_source_warehouse", str(world.pk))
    _post(page, "#into-batches-form button[type=submit]")
    batch = DispatchBatch.objects.get()
    assert page.url.endswith(f"/allocation/batches/{batch.number}/")
    log_out(page)

    # --- Leadership approves, the office dispatches (their own pages, tested elsewhere). ---
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    batch_dispatch(user=office, batch=batch, expected_version=batch.version)

    # --- The hospital sees its request dispatched, with the batch's number. ---
    log_in(page, "hospital")
    _switch_language(page, language)
    row = page.locator(f'#request-rows tr[data-request="{request.number}"]')
    expect(row).to_have_attribute("data-state", "dispatched")
    _shoot(page, "request_list", language)
    _post(page, f'#request-rows a:text("{request.number}")')
    expect(page.locator("#request-batches")).to_contain_text(batch.number)
    expect(page.locator('tr[data-item="FH001"]')).to_contain_text(batch.number)
    _shoot(page, "request_detail", language)
    browser_log.assert_clean()
