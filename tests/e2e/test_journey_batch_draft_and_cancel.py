"""Issue 12 §4 in a real browser, in Chinese and in English: a draft that asks more than its
source warehouse can give is flagged on its page (saved, not refused), and cancelling a batch
asks for a reason first.

SZ01 holds 5,000 N95 and 2,000 surgical masks; an approved batch (not yet dispatched) will take
1,500 of the N95 to 天水市. The office drafts 4,000 N95 and 500 surgical masks for 兰州市:
N95 can give 5,000 − 1,500 = 3,500 < 4,000, flagged; masks 2,000 − 0 = 2,000 ≥ 500, not.
"""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from allocation.models import (
    BatchStatus,
    BatchTransition,
    Destination,
    DestinationKind,
    DispatchBatch,
)
from allocation.services import batch_approve, batch_create
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from supplycoord.models import Unit
from tests.e2e.test_journey_daily_figures import log_in
from tests.factories import ItemFactory, WarehouseFactory

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

WORDS = {
    "zh-hans": {
        "warning": "该草稿所需数量超过调出仓库当前可调数量，按现状无法发运。",
        "n95": "FH001 N95口罩：申请 4,000 只，库存 5,000 只，其中 1,500 只 已用于其他已审批批次",
        "reason_required": "请填写取消该批次的原因。",
        "reason": "兰州市已从二库调拨，本批取消",
        "undone": "后无法恢复",
    },
    "en": {
        "warning": (
            "This draft asks for more than the source warehouse can give now; "
            "it cannot be dispatched as it stands."
        ),
        "n95": (
            "FH001 N95 respirator: 4,000 piece asked, 5,000 piece on hand, "
            "of which 1,500 piece are for other approved batches"
        ),
        "reason_required": "Give the reason for cancelling this batch.",
        "reason": "Lanzhou was supplied from the second warehouse instead",
        "undone": "cannot be undone",
    },
}


@pytest.fixture
def sz01(office, leader, n95, tianshui):
    """SZ01: 5,000 N95 and 2,000 surgical masks; 1,500 N95 promised to 天水市 (approved)."""
    masks = ItemFactory(
        code="FH002", name_zh="医用外科口罩", name_en="Surgical mask", unit=Unit.PIECE
    )
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级医疗物资储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 5000), (masks, 2000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=timezone.now() - dt.timedelta(minutes=1),
    )
    to_tianshui = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="天水市卫生健康委员会", prefecture=tianshui
    )
    promised = batch_create(
        user=office,
        source_warehouse=warehouse,
        destination=to_tianshui,
        lines=[{"item": n95.code, "quantity": 1500, "channel": "reserve"}],
    )
    batch_approve(user=leader, batch=promised, expected_version=promised.version)
    return warehouse


@pytest.fixture
def to_lanzhou(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.PREFECTURE,
        name_zh="兰州市卫生健康委员会",
        name_en="Lanzhou Health Commission",
        prefecture=lanzhou,
    )


def log_in_as_office(page, language):
    log_in(page, "office")
    if language == "en":
        with page.expect_navigation():
            page.click('.langswitch button[value="en"]')
    expect(page.locator("html")).to_have_attribute("lang", language)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_draft_asking_more_than_the_warehouse_can_give_is_saved_and_flagged(
    page, browser_log, artifacts_dir, sz01, to_lanzhou, office, language
):
    words = WORDS[language]
    log_in_as_office(page, language)
    page.goto("/allocation/batches/new/")
    page.select_option('#batch-form [name="source_warehouse"]', "SZ01")
    page.select_option('#batch-form [name="destination"]', str(to_lanzhou.pk))
    page.select_option('select[name="lines-0-item"]', "FH001")
    page.fill('input[name="lines-0-quantity"]', "4000")
    page.select_option('select[name="lines-0-channel"]', "reserve")
    page.select_option('select[name="lines-1-item"]', "FH002")
    page.fill('input[name="lines-1-quantity"]', "500")
    page.select_option('select[name="lines-1-channel"]', "reserve")
    with page.expect_navigation():
        page.click("#batch-form button[type=submit]")

    # Saved as a draft (flagged, not refused) ...
    batch = DispatchBatch.objects.get(destination=to_lanzhou)
    assert batch.status == BatchStatus.DRAFT
    assert sorted(batch.lines.values_list("item__code", "quantity")) == [
        ("FH001", 4000),
        ("FH002", 500),
    ]
    expect(page.locator("main h1")).to_contain_text(batch.number)
    # ... and its page says what cannot be given: N95 only, with asked, on hand, committed.
    warning = page.locator("#draft-shortfalls")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(words["warning"])
    expect(warning.locator("li")).to_have_count(1)
    expect(warning.locator('li[data-item="FH001"]')).to_have_text(words["n95"])
    page.screenshot(path=artifacts_dir / f"batch-draft-shortfall-{language}.png", full_page=True)
    browser_log.assert_clean()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_cancelling_asks_for_a_reason_and_the_timeline_keeps_it(
    page, browser_log, artifacts_dir, sz01, to_lanzhou, office, n95, language
):
    words = WORDS[language]
    draft = batch_create(
        user=office,
        source_warehouse=sz01,
        destination=to_lanzhou,
        lines=[{"item": n95.code, "quantity": 1000, "channel": "reserve"}],
    )
    log_in_as_office(page, language)
    page.goto(f"/allocation/batches/{draft.number}/")

    # Cancel is secondary: a closed disclosure, not the page's primary button.
    disclosure = page.locator("#batch-cancel")
    reason = disclosure.locator("textarea[name=note]")
    expect(reason).not_to_be_visible()
    expect(disclosure.locator("summary")).not_to_have_class("primary")
    disclosure.locator("summary").click()
    expect(reason).to_be_visible()
    expect(disclosure).to_contain_text(words["undone"])
    expect(disclosure).to_contain_text(draft.number)
    page.screenshot(path=artifacts_dir / f"batch-cancel-confirm-{language}.png", full_page=True)

    # Empty: the browser keeps the form (the reason is required) and nothing is sent.
    confirm = disclosure.locator("button[type=submit]")
    confirm.click()
    assert reason.evaluate("el => el.validity.valueMissing")
    assert page.url.endswith(f"/allocation/batches/{draft.number}/")
    # Blank (spaces only, which the browser lets through): the service refuses, translated,
    # with the disclosure left open; nothing changes.
    reason.fill("   ")
    with page.expect_navigation():
        confirm.click()
    expect(page.locator("[role=alert]")).to_contain_text(words["reason_required"])
    expect(page.locator("#batch-cancel")).to_have_attribute("open", "")
    draft.refresh_from_db()
    assert draft.status == BatchStatus.DRAFT
    page.screenshot(
        path=artifacts_dir / f"batch-cancel-reason-required-{language}.png", full_page=True
    )

    # With a reason: cancelled, and the timeline shows why.
    page.locator("#batch-cancel textarea[name=note]").fill(words["reason"])
    with page.expect_navigation():
        page.locator("#batch-cancel button[type=submit]").click()
    expect(page.locator(".messages .message.success")).to_be_visible()
    draft.refresh_from_db()
    assert draft.status == BatchStatus.CANCELLED
    transition = BatchTransition.objects.get(batch=draft, to_status=BatchStatus.CANCELLED)
    assert transition.note == words["reason"]
    last = page.locator("#batch-timeline tbody tr").last
    expect(last).to_contain_text(words["reason"])
    expect(page.locator("#batch-cancel")).to_have_count(0)  # nothing left to cancel
    page.screenshot(path=artifacts_dir / f"batch-cancelled-{language}.png", full_page=True)

    # The one refused POST is the only response >= 400; no script failed.
    assert [status for status, _url in browser_log.bad_responses] == [400]
    assert browser_log.failed_requests == []
    assert [e for e in browser_log.errors if "400" not in e] == []
