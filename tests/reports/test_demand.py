"""The demand estimate from norms (reports.md, "Demand estimate"), on numbers worked by hand.

Two prefectures, two staff categories, one key item (N95):

    protected staff     isolation ward   fever clinic
    Lanzhou                 100              50
    Tianshui                 20             200

    N95 norms (units per person per day)
    isolation ward: 3 from 2020-01-25, then 2 from 2020-02-10
    fever clinic:   1 from 2020-01-25

    estimate on 2020-02-09: Lanzhou 100×3 + 50×1 = 350   Tianshui 20×3 + 200×1 = 260
    estimate on 2020-02-10: Lanzhou 100×2 + 50×1 = 250   Tianshui 20×2 + 200×1 = 240
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.demand import (
    FLAG_HIGH,
    FLAG_LOW,
    demand_flag,
    demand_table,
    estimated_demand,
    items_with_norms,
)
from reports.services import snapshot_build_for_date
from supplycoord.norms import norm_set
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2020, 2, 10)
START = dt.date(2020, 1, 25)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def province(office, lanzhou, tianshui, n95):
    isolation = StaffCategoryFactory(code="isolation_ward", sort_order=20)
    fever = StaffCategoryFactory(code="fever_clinic", sort_order=10)
    for prefecture, (iso, fev) in ((lanzhou, (100, 50)), (tianshui, (20, 200))):
        ProtectedStaffFactory(prefecture=prefecture, category=isolation, count=iso)
        ProtectedStaffFactory(prefecture=prefecture, category=fever, count=fev)
    for category, units, start in ((isolation, 3, START), (isolation, 2, DAY), (fever, 1, START)):
        norm_set(
            user=office,
            staff_category=category,
            item=n95,
            effective_from=start,
            units_per_person_per_day=units,
        )
    return {"isolation": isolation, "fever": fever}


def report(prefecture, item, *, date=DAY, **figures):
    return DailyFigureFactory(prefecture=prefecture, item=item, date=date, **figures)


def row_of(table, prefecture):
    return next(r for r in table.rows if r.prefecture == prefecture)


# --- the estimate ----------------------------------------------------------------------------


def test_it_estimates_staff_times_norms_with_the_older_norm_before_the_new_ones_date(
    province, lanzhou, tianshui, n95
):
    before = estimated_demand(date=DAY - dt.timedelta(days=1), prefectures=[lanzhou, tianshui])
    on = estimated_demand(date=DAY, prefectures=[lanzhou, tianshui])

    assert before == {(lanzhou.pk, n95.pk): 350, (tianshui.pk, n95.pk): 260}
    assert on == {(lanzhou.pk, n95.pk): 250, (tianshui.pk, n95.pk): 240}


def test_it_has_no_estimate_before_any_norm_or_for_an_item_without_one(
    province, lanzhou, tianshui, n95
):
    gown = ItemFactory(code="FH005")

    assert estimated_demand(date=START - dt.timedelta(days=1), prefectures=[lanzhou]) == {}
    assert estimated_demand(date=DAY, prefectures=[lanzhou], items=[gown]) == {}
    assert items_with_norms(DAY) == {n95.pk}


def test_a_prefecture_without_staff_in_the_categories_gets_zero_not_missing(province, n95):
    empty = PrefectureFactory(code="620200")
    assert estimated_demand(date=DAY, prefectures=[empty]) == {(empty.pk, n95.pk): 0}


def test_it_shows_the_estimate_beside_reported_demand_with_the_ratio(
    province, leader, lanzhou, tianshui, n95
):
    # Lanzhou reports 375 = 1.5 × 250; Tianshui 120 = 0.5 × 240: both exactly on a bound.
    report(lanzhou, n95, demand=375)
    report(tianshui, n95, demand=120)
    snapshot_build_for_date(date=DAY)

    table = demand_table(leader, date=DAY, item=n95)

    lz, ts = row_of(table, lanzhou), row_of(table, tianshui)
    assert [c.code for c in table.categories] == ["fever_clinic", "isolation_ward"]
    assert lz.staff_cells == [50, 100] and lz.staff_total == 150
    assert (lz.estimate, lz.reported, lz.ratio) == (250, 375, Decimal("1.5"))
    assert (ts.estimate, ts.reported, ts.ratio) == (240, 120, Decimal("0.5"))
    # Exactly 1.5 and exactly 0.5 are not flagged: only beyond the bounds is.
    assert lz.flag == "" and ts.flag == ""
    assert table.flagged == []


def test_it_flags_reported_demand_beyond_the_bounds(province, leader, lanzhou, tianshui, n95):
    report(lanzhou, n95, demand=376)  # 376 / 250 = 1.504 > 1.5
    report(tianshui, n95, demand=119)  # 119 / 240 = 0.4958 < 0.5
    snapshot_build_for_date(date=DAY)

    table = demand_table(leader, date=DAY, item=n95)

    assert row_of(table, lanzhou).flag == FLAG_HIGH
    assert row_of(table, tianshui).flag == FLAG_LOW
    assert [r.prefecture for r in table.flagged] == [lanzhou, tianshui]


@pytest.mark.parametrize(
    "reported, estimate, flag",
    [
        (150, Decimal(100), ""),  # exactly 1.5
        (151, Decimal(100), FLAG_HIGH),
        (50, Decimal(100), ""),  # exactly 0.5
        (49, Decimal(100), FLAG_LOW),
        (100, Decimal(100), ""),
        (Decimal("7.5"), Decimal("5"), ""),  # 1.5 exactly with a fractional estimate
        (0, Decimal(100), FLAG_LOW),
        (None, Decimal(100), ""),  # nothing reported
        (10, Decimal(0), ""),  # no estimate to compare with
        (10, None, ""),
    ],
)
def test_the_flag_bounds_are_exclusive(reported, estimate, flag):
    assert demand_flag(reported, estimate, low=Decimal("0.5"), high=Decimal("1.5")) == flag


def test_the_bounds_come_from_the_settings(settings, province, leader, lanzhou, n95):
    settings.SUPPLYCOORD = {**settings.SUPPLYCOORD, "DEMAND_RATIO_HIGH": "1.2"}
    report(lanzhou, n95, demand=301)  # 301 / 250 = 1.204 > 1.2
    snapshot_build_for_date(date=DAY)

    assert row_of(demand_table(leader, date=DAY, item=n95), lanzhou).flag == FLAG_HIGH


def test_it_uses_the_norm_in_force_on_the_chosen_date(province, leader, lanzhou, n95):
    yesterday = DAY - dt.timedelta(days=1)
    report(lanzhou, n95, date=yesterday, demand=700)  # 700 / 350 = 2.0
    snapshot_build_for_date(date=yesterday)

    lz = row_of(demand_table(leader, date=yesterday, item=n95), lanzhou)

    assert (lz.estimate, lz.ratio, lz.flag) == (350, 2, FLAG_HIGH)


# --- the net requirement ---------------------------------------------------------------------


def test_it_works_out_the_net_requirement_over_the_horizon(
    province, leader, lanzhou, tianshui, n95
):
    report(lanzhou, n95, stock=1000, expected_arrivals_3d=100)
    report(tianshui, n95, stock=2000, expected_arrivals_3d=0)
    snapshot_build_for_date(date=DAY)

    table = demand_table(leader, date=DAY, item=n95)  # h = 7 by default

    lz, ts = row_of(table, lanzhou), row_of(table, tianshui)
    # Lanzhou: 250 × 7 − 1000 − 100 = 650 to send
    assert (lz.stock, lz.arriving_3d, lz.net_requirement) == (1000, 100, 650)
    assert (lz.requirement_units, lz.surplus_units) == (650, None)
    # Tianshui: 240 × 7 − 2000 − 0 = −320: a surplus of 320
    assert ts.net_requirement == -320
    assert (ts.requirement_units, ts.surplus_units) == (None, 320)
    # The province requirement adds the needs only: a surplus is not netted off.
    assert table.totals["requirement"] == 650
    assert table.totals["estimate"] == 490
    assert table.totals["staff_total"] == 370


def test_the_horizon_scales_the_requirement(province, leader, lanzhou, n95):
    report(lanzhou, n95, stock=1000, expected_arrivals_3d=100)
    snapshot_build_for_date(date=DAY)

    # 250 × 1 − 1100 = −850; 250 × 60 − 1100 = 13,900
    assert row_of(demand_table(leader, date=DAY, item=n95, horizon=1), lanzhou).surplus_units == 850
    assert row_of(
        demand_table(leader, date=DAY, item=n95, horizon=60), lanzhou
    ).net_requirement == (13900)
    with pytest.raises(ValueError):
        demand_table(leader, date=DAY, item=n95, horizon=61)


def test_a_fractional_requirement_rounds_up_and_a_surplus_down(office, leader, lanzhou):
    gloves = ItemFactory(code="FH008")
    ward = StaffCategoryFactory(code="ward")
    ProtectedStaffFactory(prefecture=lanzhou, category=ward, count=10)
    norm_set(
        user=office,
        staff_category=ward,
        item=gloves,
        effective_from=START,
        per_shift="0.25",
        shifts_per_day="1",
    )
    report(lanzhou, gloves, stock=0, expected_arrivals_3d=0)
    snapshot_build_for_date(date=DAY)

    # 10 × 0.25 = 2.5 a day; over 3 days 7.5 − 0 = 7.5 → 8 to send
    short = row_of(demand_table(leader, date=DAY, item=gloves, horizon=3), lanzhou)
    assert (short.estimate, short.net_requirement, short.requirement_units) == (
        Decimal("2.5"),
        Decimal("7.5"),
        8,
    )


def test_a_fractional_surplus_rounds_down(office, leader, lanzhou):
    gloves = ItemFactory(code="FH008")
    ward = StaffCategoryFactory(code="ward")
    ProtectedStaffFactory(prefecture=lanzhou, category=ward, count=10)
    norm_set(
        user=office,
        staff_category=ward,
        item=gloves,
        effective_from=START,
        units_per_person_per_day="0.25",
    )
    report(lanzhou, gloves, stock=10, expected_arrivals_3d=0)
    snapshot_build_for_date(date=DAY)

    # 2.5 × 3 − 10 = −2.5 → a surplus of 2 whole units
    row = row_of(demand_table(leader, date=DAY, item=gloves, horizon=3), lanzhou)
    assert (row.net_requirement, row.surplus_units) == (Decimal("-2.5"), 2)


def test_without_a_snapshot_or_a_norm_the_figures_are_missing(leader, lanzhou, n95, province):
    gown = ItemFactory(code="FH005")

    no_snapshot = row_of(demand_table(leader, date=DAY, item=n95), lanzhou)
    assert (no_snapshot.estimate, no_snapshot.reported, no_snapshot.ratio) == (250, None, None)
    assert no_snapshot.net_requirement is None and no_snapshot.flag == ""

    report(lanzhou, gown, demand=40)
    snapshot_build_for_date(date=DAY)
    no_norm = demand_table(leader, date=DAY, item=gown)
    assert not no_norm.has_norm
    row = row_of(no_norm, lanzhou)
    assert (row.estimate, row.reported, row.ratio, row.net_requirement) == (None, 40, None, None)


# --- who sees what ---------------------------------------------------------------------------


def test_an_officer_sees_only_their_own_prefecture(province, officer, lanzhou, n95):
    table = demand_table(officer, date=DAY, item=n95)
    assert [r.prefecture for r in table.rows] == [lanzhou]
    assert not table.whole_province


def test_an_outsider_sees_nothing_of_lanzhou(province, outsider, tianshui, n95):
    table = demand_table(outsider, date=DAY, item=n95)
    assert [r.prefecture for r in table.rows] == [tianshui]


# --- query count -----------------------------------------------------------------------------


def test_the_query_count_does_not_grow_with_prefectures_or_categories(
    province, leader, n95, office
):
    with CaptureQueriesContext(connection) as few:
        demand_table(leader, date=DAY, item=n95)

    for n in range(5):
        prefecture = PrefectureFactory(code=f"62{n + 10:02d}00")
        category = StaffCategoryFactory(code=f"extra{n}")
        ProtectedStaffFactory(prefecture=prefecture, category=category, count=10)
        norm_set(
            user=office,
            staff_category=category,
            item=n95,
            effective_from=START,
            units_per_person_per_day=1,
        )
        report(prefecture, n95)
    snapshot_build_for_date(date=DAY)

    with CaptureQueriesContext(connection) as many:
        table = demand_table(leader, date=DAY, item=n95)

    assert len(table.rows) == 7 and len(table.categories) == 7
    assert len(many) == len(few) == 4
