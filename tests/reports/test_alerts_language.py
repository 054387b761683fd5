"""Alerts are worded when shown, in the reader's language, from their fields and rows: an
alert the build found while Chinese was active reads in English without one Chinese
character; numbers are grouped (12,345); a batch's days overdue are counted as of the date
the page shows (the overview's, the panel's ?date=), today on the alerts list, and the day it
closed for a closed alert.

The world, frozen on 2020-02-25 18:00 in Shanghai (TODAY): batch 2020-001 of 100 N95 left
for 兰州市 (Lanzhou), expected on 2020-02-18 and still on the road. The alert job last ran
for TODAY: 2020-02-25 − 2020-02-18 = 7 days overdue, as its detail records.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from allocation.models import Destination, DestinationKind
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from reports.alerts import alert_summary, alerts_panel, alerts_refresh, alerts_visible_to
from reports.models import Alert, AlertKind
from reports.services import snapshot_build_for_date
from tests.allocation.conftest import dispatched_batch
from tests.factories import DailyFigureFactory, ItemFactory, ProvinceFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 25)
PAGE_DATE = dt.date(2020, 2, 20)  # a past date the overview shows
EXPECTED = dt.date(2020, 2, 18)
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 25, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def warehouse(office, n95):
    ProvinceFactory()
    reserve = WarehouseFactory(code="SZ01")
    stock_receive(
        user=office, warehouse=reserve, lines=[(n95, 10_000)], source=ReceiptSource.PURCHASE
    )
    return reserve


def batch_to(office, leader, warehouse, n95, prefecture, *, expected=EXPECTED):
    destination = Destination.objects.create(
        kind=DestinationKind.PREFECTURE,
        name_zh=prefecture.name_zh,
        name_en=prefecture.name_en,
        prefecture=prefecture,
    )
    return dispatched_batch(
        office, leader, warehouse, destination, [(n95, 100)], expected_arrival=expected
    )


@pytest.fixture
def overdue(office, leader, warehouse, n95, lanzhou):
    """Batch 2020-001 to 兰州市, expected 2020-02-18; the alert job runs (in Chinese, the
    default language) for TODAY."""
    batch = batch_to(office, leader, warehouse, n95, lanzhou)
    alerts_refresh(date=TODAY)
    return batch


def in_english(client, user):
    """Signed in as `user`, with the language switch on English (pages follow the switch's
    cookie, not the browser's Accept-Language)."""
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def shown(user, kind=AlertKind.BATCH_OVERDUE):
    """The user's open alert of `kind`, as the pages read it (its rows joined)."""
    return alerts_visible_to(user).get(kind=kind)


def test_an_alert_found_in_chinese_reads_in_english_without_a_chinese_character(overdue, office):
    alert = shown(office)
    assert alert.detail["destination"] == "兰州市"  # what the job saw, in its language
    with translation.override("en"):
        summary = alert_summary(alert)
    assert summary == (
        f"Batch overdue · Lanzhou · Batch {overdue.number} to Lanzhou, 7 days overdue"
    )
    assert not CJK.search(summary)


def test_the_same_alert_reads_in_chinese_for_a_chinese_reader(overdue, office):
    summary = alert_summary(shown(office))
    assert "兰州市" in summary and "Lanzhou" not in summary
    assert summary.endswith(f"发往兰州市的批次{overdue.number}已逾期7天")


def test_a_renamed_destination_reads_with_its_name_of_now(overdue, office):
    """The name comes from the destination's row when shown, not from the alert's detail."""
    Destination.objects.filter(pk=overdue.destination_id).update(name_en="Lanzhou City")
    with translation.override("en"):
        assert "to Lanzhou City," in alert_summary(shown(office))


def test_an_item_in_red_groups_its_stock_in_both_languages(lanzhou, n95, office):
    """Lanzhou holds 12,345 N95 and used 4,938 today: 12,345 / 4,938 = 2.50 days, below the
    red threshold of 3."""
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY, stock=12_345, consumption=4_938)
    snapshot_build_for_date(date=TODAY)
    alerts_refresh(date=TODAY)
    alert = shown(office, AlertKind.ITEM_RED)

    with translation.override("en"):
        english = alert_summary(alert)
    assert (
        english == "Item in red · Lanzhou · N95 respirator: 2.50 days of cover (stock 12,345 piece)"
    )
    assert not CJK.search(english)
    assert alert_summary(alert).endswith("N95口罩：可保障2.50天（库存12,345只）")


def test_a_missing_report_names_its_prefecture_and_date_in_the_readers_language(
    lanzhou, tianshui, n95, office
):
    """Tianshui reported none of the 2 key items: "0 of 2"."""
    masks = ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")
    for item in (n95, masks):
        DailyFigureFactory(prefecture=lanzhou, item=item, date=TODAY, stock=900)
    snapshot_build_for_date(date=TODAY)
    alerts_refresh(date=TODAY)
    alert = shown(office, AlertKind.REPORT_MISSING)

    with translation.override("en"):
        english = alert_summary(alert)
    assert english == "Report missing · Tianshui · 0 of 2 key items reported for Feb. 25, 2020"
    assert not CJK.search(english)
    assert alert_summary(alert).endswith("2020年2月25日已报送重点物资0项（共2项）")


# --- Ages as of the page's date -----------------------------------------------------------


@pytest.fixture
def built_page_date(lanzhou, n95, overdue):
    """The overview of PAGE_DATE needs its snapshot; building it leaves the alerts alone
    (TODAY, a later date, is built and its alerts refreshed)."""
    for day in (TODAY, PAGE_DATE):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=day, stock=900)
        snapshot_build_for_date(date=day)
    assert alerts_refresh(date=PAGE_DATE)["skipped"] is True


def test_the_panel_asked_for_a_date_counts_as_of_it_and_agrees_with_the_overview(
    client, leader, overdue, built_page_date
):
    """On 2020-02-20 the batch was 2020-02-20 − 2020-02-18 = 2 days late; the job's own
    count (7, as of TODAY) shows nowhere on that page."""
    in_english(client, leader)
    page = client.get(reverse("reports:overview"), {"date": PAGE_DATE.isoformat()})
    assert page.status_code == 200
    table = {batch.number: batch.days_overdue for batch in page.context["overdue"]}
    assert table == {overdue.number: 2}
    [beside] = [a for a in page.context["alerts_panel"]["latest"] if a.batch_id]
    assert beside.summary.endswith(f"Batch {overdue.number} to Lanzhou, 2 days overdue")

    panel = client.get(reverse("reports:alerts_panel"), {"date": PAGE_DATE.isoformat()})
    assert panel.status_code == 200
    [fetched] = [a for a in panel.context["alerts_panel"]["latest"] if a.batch_id]
    assert fetched.summary == beside.summary
    assert "counted as of 2020-02-20" in panel.content.decode()


def test_the_panel_without_a_date_counts_as_of_today(client, leader, overdue):
    in_english(client, leader)
    for query in ({}, {"date": "not-a-date"}, {"date": "2999-01-01"}):
        panel = client.get(reverse("reports:alerts_panel"), query)
        [alert] = panel.context["alerts_panel"]["latest"]
        assert alert.summary.endswith(", 7 days overdue"), query  # 02-25 − 02-18


def test_the_panel_fetched_by_htmx_carries_the_pages_date():
    """The panel's lazy form (no panel rendered with the page) asks for the page's date."""
    from django.template.loader import render_to_string

    html = render_to_string("reports/_alerts_panel.html", {"alerts_panel": None, "date": PAGE_DATE})
    assert f"{reverse('reports:alerts_panel')}?date=2020-02-20" in html


def test_a_batch_not_yet_due_on_the_pages_date_says_when_it_was_expected(
    office, leader, warehouse, n95, tianshui
):
    """Expected 2020-02-24, late by TODAY (1 day); on 2020-02-20 it was not late at all."""
    batch_to(office, leader, warehouse, n95, tianshui, expected=dt.date(2020, 2, 24))
    alerts_refresh(date=TODAY)
    alert = shown(office)
    with translation.override("en"):
        assert alert_summary(alert).endswith(", 1 day overdue")
        early = alert_summary(alert, as_of=PAGE_DATE)
    assert early.endswith("to Tianshui, expected Feb. 24, 2020")


def test_the_alerts_list_counts_open_alerts_as_of_today_and_closed_ones_as_of_closing(
    client, office, leader, warehouse, n95, overdue, tianshui
):
    """Read on 2026-12-03: Lanzhou's batch, still open, is 2026-12-03 − 2020-02-18 = 2,480
    days overdue (six years of 365 days and two leap days, 2,192, to 2026-02-18; then 28 days
    to 03-18 and 260 to 12-03). Tianshui's batch (expected 2020-02-16) had its alert closed by
    the build of 2020-02-23: 2020-02-23 − 2020-02-16 = 7 days, however long ago that was."""
    other = batch_to(office, leader, warehouse, n95, tianshui, expected=dt.date(2020, 2, 16))
    alerts_refresh(date=TODAY)
    Alert.objects.filter(batch=other).update(
        closed_on=dt.date(2020, 2, 23), closed_at=timezone.now()
    )
    with time_machine.travel(dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ), tick=False):
        response = in_english(client, office).get(reverse("reports:alerts"), {"show": "all"})

    assert response.status_code == 200
    summaries = {alert.batch_id: alert.summary for alert in response.context["page"]}
    assert summaries[overdue.pk].endswith(", 2,480 days overdue")
    assert summaries[other.pk].endswith("to Tianshui, 7 days overdue")
    content = response.content.decode()
    assert "counted as of today (2026-12-03)" in content
    assert not CJK.search("".join(summaries.values()))


# --- Query counts stay flat with the destination joined --------------------------------------


@pytest.mark.parametrize("batches", [1, 4])
def test_the_panel_and_the_list_read_in_constant_queries(
    batches, office, leader, warehouse, n95, django_assert_num_queries
):
    from reports.alerts import alerts_page
    from tests.factories import PrefectureFactory

    for n in range(batches):
        batch_to(office, leader, warehouse, n95, PrefectureFactory(code=f"63{n + 1:02d}00"))
    alerts_refresh(date=TODAY)
    with translation.override("en"):
        with django_assert_num_queries(2):  # the latest open alerts, the counts by kind
            panel = alerts_panel(office, as_of=PAGE_DATE)
        with django_assert_num_queries(2):  # the count, the page
            page = alerts_page(office, open_only=False)
            summaries = [alert.summary for alert in page]
    assert len(panel["latest"]) == len(summaries) == batches
    assert all("Test City" in s and not CJK.search(s) for s in summaries)
