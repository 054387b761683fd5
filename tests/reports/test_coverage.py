"""Coverage of province figures (reports.md, "Coverage"): what each province figure rests on.

Numbers are worked out by hand in the comments; the expected values never come from the code.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from reports.alerts import alert_conditions_for_date
from reports.models import ProvinceRollup, Status
from reports.selectors import dashboard_default_date, latest_covered_date, reports_in_progress
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 10)


def back(days: int) -> dt.date:
    return D - dt.timedelta(days=days)


def english(client, user):
    client.force_login(user)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def rollup(item, date=D) -> ProvinceRollup:
    return ProvinceRollup.objects.get(date=date, item=item)


@pytest.fixture
def three(db, n95):
    """Three prefectures with 7-day rates 10, 20 and 70 a day on d-1 (none reported for d)."""
    prefectures = [PrefectureFactory(code=f"6201{n}0") for n in range(3)]
    for prefecture, rate in zip(prefectures, (10, 20, 70), strict=True):
        DailyFigureFactory(
            prefecture=prefecture, item=n95, date=back(5), stock=1000, consumption=rate
        )
    return prefectures


def test_it_counts_reported_stale_and_missing_prefectures(n95, three):
    """p0 reports d, p1 reported d-2 (stale), p2 last reported d-5 (beyond 3 days: missing)."""
    p0, p1, p2 = three
    DailyFigureFactory(prefecture=p0, item=n95, date=D, stock=100, consumption=10)
    DailyFigureFactory(prefecture=p1, item=n95, date=back(2), stock=200, consumption=20)

    snapshot_build_for_date(date=D)

    r = rollup(n95)
    assert (r.prefectures_reported, r.prefectures_stale, r.prefectures_missing) == (1, 1, 1)
    # rates: p0 10, p1 20, p2 70 (its d-5 report is in the 7-day window) -> all 100;
    # with a stock: p0 + p1 = 30 -> 30 / 100 = 30 %
    assert r.coverage_share == Decimal("0.3000")
    assert r.partial is True


def test_it_gives_thirty_percent_when_the_two_small_of_three_report(n95, three):
    """Rates 10/20/70, the prefectures of 10 and 20 reporting: 30 %, partial, never coloured."""
    p0, p1, _p2 = three
    DailyFigureFactory(prefecture=p0, item=n95, date=D, stock=100, consumption=10)
    DailyFigureFactory(prefecture=p1, item=n95, date=D, stock=200, consumption=20)

    snapshot_build_for_date(date=D)

    r = rollup(n95)
    assert r.coverage_share == Decimal("0.3000")
    assert r.partial is True
    # days of cover over p0 and p1 only: (100 + 200 + 0 reserve) / (10 + 20) = 10.00,
    # which would be green: partial, so grey.
    assert r.days_of_cover == Decimal("10.00")
    assert r.status == Status.GREY


def test_it_is_not_partial_at_or_above_the_threshold(n95, three):
    """p1 (20) and p2 (70) reporting: 90 / 100 = 90 % >= 80 %: a full, coloured figure."""
    _p0, p1, p2 = three
    DailyFigureFactory(prefecture=p1, item=n95, date=D, stock=40, consumption=20)
    DailyFigureFactory(prefecture=p2, item=n95, date=D, stock=140, consumption=70)

    snapshot_build_for_date(date=D)

    r = rollup(n95)
    assert r.coverage_share == Decimal("0.9000")
    assert r.partial is False
    # (40 + 140) / (20 + 70) = 2.00 < 3: red
    assert r.days_of_cover == Decimal("2.00")
    assert r.status == Status.RED


def test_it_reads_the_threshold_from_the_setting(n95, three, settings):
    """With the threshold at 0.95, 90 % is partial."""
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "COVERAGE_THRESHOLD": "0.95"}
    _p0, p1, p2 = three
    DailyFigureFactory(prefecture=p1, item=n95, date=D, stock=40, consumption=20)
    DailyFigureFactory(prefecture=p2, item=n95, date=D, stock=140, consumption=70)

    snapshot_build_for_date(date=D)

    assert rollup(n95).partial is True


def test_it_divides_the_reserve_only_by_the_rate_of_prefectures_with_a_stock(n95, three):
    """The issue's 552.90: one prefecture reporting must not carry the province's reserve.

    p0 reports stock 100 at rate 10; reserve 20,000 (put in the rollup by hand through the
    reserve reader). Days = (100 + reserve) / 10 over p0 alone — partial at 10 %, grey.
    """
    from unittest import mock

    p0, _p1, _p2 = three
    DailyFigureFactory(prefecture=p0, item=n95, date=D, stock=100, consumption=10)

    with mock.patch("reports.services.reserve_stock_by_item", return_value={n95.pk: 20000}):
        snapshot_build_for_date(date=D)

    r = rollup(n95)
    # (100 + 20,000) / 10 = 2,010.00; coverage 10 / 100 = 10 %
    assert r.days_of_cover == Decimal("2010.00")
    assert r.coverage_share == Decimal("0.1000")
    assert (r.partial, r.status) == (True, Status.GREY)


def test_it_counts_prefectures_when_none_has_a_rate(n95):
    """No consumption reported anywhere: coverage by count, 1 of 4 prefectures = 25 %."""
    prefectures = [PrefectureFactory(code=f"6202{n}0") for n in range(4)]
    DailyFigureFactory(prefecture=prefectures[0], item=n95, date=D, stock=5, consumption=0)

    snapshot_build_for_date(date=D)

    r = rollup(n95)
    assert r.coverage_share == Decimal("0.2500")
    assert r.partial is True
    assert r.days_of_cover is None


def test_a_partial_province_figure_counts_in_no_items_in_red(client, leader, n95, three):
    """Red days of cover resting on 10 % of consumption is grey: no "items in red" (the
    province alert of the overview) and no province-level alert row."""
    p0, _p1, _p2 = three
    DailyFigureFactory(prefecture=p0, item=n95, date=D, stock=10, consumption=10)
    snapshot_build_for_date(date=D)

    # 10 / 10 = 1.00 day: would be red, but coverage is 10 %
    r = rollup(n95)
    assert r.days_of_cover == Decimal("1.00") and r.partial is True
    client.force_login(leader)
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        response = client.get(reverse("reports:overview"), {"date": "2020-02-10"})
    assert response.context["data"].items_red == 0
    # Alerts are per prefecture row only; none is keyed on the province (no prefecture).
    assert all(c.get("prefecture_id") for c in alert_conditions_for_date(D).values())


# --- pages -----------------------------------------------------------------------------


@pytest.fixture
def partial_today(db, lanzhou, tianshui, n95):
    """Two prefectures reporting every day to d-1 (full); on d only Lanzhou has reported.

    Lanzhou: stock 100, rate 10; Tianshui: stock 900, rate 90; reserve 0.
    d-1: 100 % coverage, (100 + 900) / 100 = 10.00 green.
    d (today): Tianshui's stock is stale (d-1) -> still 100 % ... so Tianshui last reported
    d-4 instead: on d only Lanzhou has a stock: 10 / 100 = 10 %, partial.
    """
    for n in range(1, 7):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=back(n), stock=100, consumption=10)
    for n in range(4, 7):
        DailyFigureFactory(prefecture=tianshui, item=n95, date=back(n), stock=900, consumption=90)
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=D, stock=100, consumption=10)
    snapshot_build_for_date(date=back(4))
    snapshot_build_for_date(date=D)
    return {"full": back(4), "today": D}


@pytest.fixture
def today_is_d():
    with time_machine.travel(dt.datetime(2020, 2, 10, 11, 0, tzinfo=TZ), tick=False):
        yield


def test_dashboards_open_on_the_latest_date_meeting_the_threshold(partial_today, today_is_d):
    assert rollup(ProvinceRollup.objects.first().item, D).partial is True
    assert latest_covered_date(on_or_before=D) == back(4)


def test_the_overview_opens_on_a_covered_day_with_a_banner_for_today(
    client, leader, partial_today, today_is_d
):
    english(client, leader)
    response = client.get(reverse("reports:overview"))
    assert response.context["date"] == back(4)
    content = response.content.decode()
    # 1 of 2 prefectures reported every key item for today; cut-off 16:00
    assert "Today's reports are coming in: 1/2, cut-off 16:00" in content
    assert 'href="?date=2020-02-10" id="show-today"' in content


def test_today_shows_partial_greyed_and_based_on_one_of_two(
    client, leader, partial_today, today_is_d
):
    english(client, leader)
    response = client.get(reverse("reports:overview"), {"date": "2020-02-10"})
    content = response.content.decode()
    assert response.context["in_progress"] is None  # today is the page shown
    assert 'class="partial"' in content
    assert "based on 1 of 2 prefectures · 10%" in content
    # Lanzhou alone: 100 / 10 = 10.00 days, greyed, not green
    assert '<td class="num partial days-of-cover">10.00</td>' in content
    assert "s-green days-of-cover" not in content


def test_the_item_page_shows_the_coverage_of_the_province_figure(
    client, office, partial_today, today_is_d
):
    english(client, office)
    item = ProvinceRollup.objects.first().item
    response = client.get(reverse("reports:item", args=[item.code]), {"date": "2020-02-10"})
    content = response.content.decode()
    assert 'class="card stat partial" id="province-days-of-cover"' in content
    assert "based on 1 of 2 prefectures" in content
    # Opened without a date: the covered day d-4, coloured (10.00 green).
    response = client.get(reverse("reports:item", args=[item.code]))
    assert response.context["date"] == back(4)
    assert "s-text-green" in response.content.decode()


def test_an_officer_sees_no_province_coverage(client, officer, partial_today, today_is_d):
    """Province figures are for roles that see the whole province: none on the item page."""
    client.force_login(officer)
    item = ProvinceRollup.objects.first().item
    response = client.get(reverse("reports:item", args=[item.code]), {"date": "2020-02-10"})
    assert response.status_code == 200
    assert "province-days-of-cover" not in response.content.decode()


def test_no_banner_when_today_meets_the_threshold(db, lanzhou, n95, today_is_d):
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=D, stock=100, consumption=10)
    snapshot_build_for_date(date=D)
    assert reports_in_progress(today=D) is None
    assert latest_covered_date(on_or_before=D) == D


@pytest.fixture
def stale_covered_today(db, lanzhou, tianshui, n95):
    """Both prefectures report d-6 … d-1; on d (today) only Lanzhou has reported, so far.

    Lanzhou: stock 100, rate 10; Tianshui: stock 900, rate 90 (stale on d: its d-1 stock).
    Coverage of d: Lanzhou reported + Tianshui stale carry 10 + 90 = 100 % of the rates, so
    d meets the threshold (reports.md "Coverage"): (100 + 900) / (10 + 90) = 10.00 days. But
    only 1 of 2 prefectures has reported today: its reports are still coming in.
    """
    for n in range(1, 7):
        DailyFigureFactory(prefecture=lanzhou, item=n95, date=back(n), stock=100, consumption=10)
        DailyFigureFactory(prefecture=tianshui, item=n95, date=back(n), stock=900, consumption=90)
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=D, stock=100, consumption=10)
    snapshot_build_for_date(date=back(1))


def at(hour: int):
    return time_machine.travel(dt.datetime(2020, 2, 10, hour, 0, tzinfo=TZ), tick=False)


def test_while_reports_come_in_dashboards_open_on_yesterday_even_when_stale_stock_covers_today(
    client, leader, n95, stale_covered_today
):
    """Issue 12: one officer's entry must not move leadership onto a today that rests on
    yesterday's stock of everyone else. Before the 16:00 cut-off, with 1/2 reported, the
    overview opens on d-1 with the banner; today is built (by the office's button) and linked."""
    snapshot_build_for_date(date=D)
    assert rollup(n95).partial is False  # 100 % by the stale stock
    assert latest_covered_date(on_or_before=D) == D
    english(client, leader)
    with at(11):
        assert dashboard_default_date(today=D) == back(1)
        response = client.get(reverse("reports:overview"))
    assert response.context["date"] == back(1)
    content = response.content.decode()
    assert "Today's reports are coming in: 1/2, cut-off 16:00" in content
    assert 'href="?date=2020-02-10" id="show-today"' in content


def test_after_the_cut_off_a_covered_today_is_the_default(client, leader, stale_covered_today):
    """At 17:00 the cut-off has passed: d meets the threshold, so pages open on d (no banner:
    the banner is for a page showing another date)."""
    snapshot_build_for_date(date=D)
    english(client, leader)
    with at(17):
        assert dashboard_default_date(today=D) == D
        response = client.get(reverse("reports:overview"))
    assert response.context["date"] == D
    assert response.context["in_progress"] is None


def test_the_banner_counts_reports_before_today_is_built(client, leader, stale_covered_today):
    """Today not built yet: the banner still counts 1/2 from the daily figures themselves and
    says today's province figures are not built yet instead of linking to an empty page."""
    english(client, leader)
    with at(11):
        progress = reports_in_progress(today=D)
        response = client.get(reverse("reports:overview"))
    assert (progress.reported, progress.active, progress.built) == (1, 2, False)
    assert response.context["date"] == back(1)
    content = response.content.decode()
    assert "Today's reports are coming in: 1/2, cut-off 16:00" in content
    assert "Today's province figures are not built yet." in content
    assert 'id="show-today"' not in content


def test_in_chinese_the_banner_reads_as_the_issue_writes_it(client, leader, stale_covered_today):
    client.force_login(leader)
    with at(11):
        content = client.get(reverse("reports:overview")).content.decode()
    assert "今日报送进行中 1/2，截止 16:00" in content


def test_no_banner_once_every_prefecture_has_reported(
    client, leader, tianshui, n95, stale_covered_today
):
    DailyFigureFactory(prefecture=tianshui, item=n95, date=D, stock=800, consumption=100)
    with at(11):
        assert reports_in_progress(today=D) is None
        snapshot_build_for_date(date=D)
        assert dashboard_default_date(today=D) == D


def test_an_item_outside_the_key_items_is_not_in_the_rollups(n95, three):
    """Sanity: a non-key item has no rollup, so it never makes a date partial."""
    ItemFactory(code="XX001", is_key=False)
    snapshot_build_for_date(date=D)
    assert ProvinceRollup.objects.filter(date=D).count() == 1


# --- export and API ----------------------------------------------------------------------


def test_the_daily_export_carries_the_province_rows_with_their_coverage(
    client, office, partial_today, today_is_d
):
    """CSV of today, in English: after the prefecture rows and the total, the province row of
    N95: Lanzhou alone, 1 reported, 0 stale, 1 missing, 10 %, partial."""
    english(client, office)
    response = client.get(reverse("reports:export", args=["csv"]), {"date": "2020-02-10"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *_rows, province = text.strip().splitlines()
    assert header.endswith(
        "Prefectures reported,Prefectures stale,Prefectures missing,Coverage share,Partial"
    )
    assert ",Province," in province
    assert province.endswith(",1,0,1,0.1,yes")


def test_an_officers_export_has_no_province_rows(client, officer, partial_today, today_is_d):
    client.force_login(officer)
    response = client.get(reverse("reports:export", args=["csv"]), {"date": "2020-02-10"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 3  # header, Lanzhou's row, total


def test_the_rollup_api_gives_each_figure_with_its_coverage(
    client_for, office, officer, partial_today, today_is_d
):
    body = client_for(office).get("/api/v1/rollups/", {"date": "2020-02-10"}).json()
    assert body["date"] == "2020-02-10"
    (figure,) = body["results"]
    assert figure["item"] == "FH001"
    # Lanzhou alone: 100 / 10 = 10.00 days; 10 / (10 + 90) = 10 % of the consumption
    assert figure["days_of_cover"] == 10.0
    assert figure["coverage_share"] == 0.1
    assert (figure["prefectures_reported"], figure["prefectures_stale"]) == (1, 0)
    assert figure["prefectures_missing"] == 1
    assert (figure["partial"], figure["status"]) == (True, "grey")
    # An officer sees no province figure.
    assert (
        client_for(officer).get("/api/v1/rollups/", {"date": "2020-02-10"}).json()["results"] == []
    )


def test_the_rollup_api_refuses_a_bad_date_with_400(client_for, office, today_is_d):
    assert client_for(office).get("/api/v1/rollups/", {"date": "2020-13-45"}).status_code == 400


def test_the_rollup_fields_are_in_the_openapi_schema(client_for, office):
    schema = client_for(office).get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["ProvinceRollup"]["properties"]
    assert {"prefectures_reported", "prefectures_stale", "prefectures_missing"} <= set(fields)
    assert {"coverage_share", "partial", "days_of_cover"} <= set(fields)


def test_the_province_trend_marks_its_partial_days(leader, n95, partial_today):
    """The 30-day trend's last point, d, rests on Lanzhou alone (partial); d-4 is whole and
    the days without a build are not partial (nothing to mark)."""
    from reports.selectors import trend_series

    series = trend_series(leader, item=n95, end=D)
    flags = dict(zip(series["dates"], series["partial"], strict=True))
    assert flags["2020-02-10"] is True
    assert flags["2020-02-06"] is False
    assert sum(flags.values()) == 1
