"""Notifications in a real browser (issue 16 section 3): Lanzhou's officer has two reminders;
signed in, the header's bell (loaded by htmx after the page) shows 2; the officer opens the
list, marks one read, and the bell shows 1."""

import pytest
from playwright.sync_api import expect

from supplycoord.notifications import recipients as to
from supplycoord.notifications.services import notify_now
from tests.e2e.test_journey_daily_figures import log_in

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def remind(prefecture, date):
    notify_now(
        event="figures_missing",
        recipients=[to.prefecture_officers(prefecture.pk)],
        params={
            "place": {"_t": {"zh-hans": prefecture.name_zh, "en": prefecture.name_en}},
            "date": date,
            "missing": 2,
            "expected": 26,
            "items": [{"_t": {"zh-hans": "N95口罩", "en": "N95 respirator"}}],
            "cutoff": "16:00",
        },
        url="/inventory/daily/",
    )


def test_a_user_sees_the_bell_count_opens_the_list_and_marks_one_read(
    page, browser_log, artifacts_dir, officer, outsider, lanzhou, tianshui
):
    remind(lanzhou, "2026-03-09")
    remind(lanzhou, "2026-03-10")
    remind(tianshui, "2026-03-10")  # the outsider's, never shown to Lanzhou's officer

    log_in(page, "officer")
    expect(page.locator("#bell-count")).to_have_text("2")

    with page.expect_navigation():
        page.click("#bell")
    items = page.locator("li.notification")
    expect(items).to_have_count(2)
    expect(page.locator("li.notification.unread")).to_have_count(2)
    expect(items.first).to_contain_text("兰州市")
    expect(page.locator("main")).not_to_contain_text("天水市")

    with page.expect_navigation():
        items.first.locator("button.mark-read").click()
    expect(page.locator("li.notification.unread")).to_have_count(1)
    expect(page.locator("#bell-count")).to_have_text("1")
    page.screenshot(path=str(artifacts_dir / "notifications-list.png"), full_page=True)
    browser_log.assert_clean()
