"""The big screen's reads (reports/screen_selectors.py) on a small world worked out by hand.

Clock: 2020-02-20 10:00 in Shanghai, before the 16:00 cut-off; the snapshot of the day before,
D = 2020-02-19, is built. Three active prefectures: 兰州市 620100 and 天水市 620500 (regions of
the vendored Gansu map) and 兰州新区 LZXQ (no region). Two key items, N95 (FH001) and gloves
(FH008), thresholds red < 3 and amber < 7 days. Figures of D (one reported day, so the 7-day
average is that day's consumption):

    prefecture  N95 stock / consumption -> days   gloves stock / consumption -> days
    兰州市        200 / 100 -> 2.00 red             800 / 100 -> 8.00 green
    天水市        500 / 100 -> 5.00 amber           900 / 100 -> 9.00 green
    兰州新区     1000 / 100 -> 10.00 green          (none)    -> grey

The provincial reserve SZ01 received 5,000 N95 five days before now, so N95's province days of
cover on D = (200 + 500 + 1000 + 5000) / (100 + 100 + 100) = 6700 / 300 = 22.33 (green).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from allocation.models import Destination, DestinationKind
from allocation.requests import request_submit
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from production.models import (
    LineStatus,
    Problem,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
)
from reports import screen_selectors as screen
from reports.services import snapshot_build_for_date
from supplycoord.models import Role
from tests.allocation.conftest import dispatched_batch
from tests.factories import (
    DailyFigureFactory,
    ItemFactory,
    PrefectureFactory,
    UserFactory,
    WarehouseFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)
TODAY = NOW.date()
D = TODAY - dt.timedelta(days=1)

FIGURES = {  # (prefecture code, item code): (stock, consumption) on D
    ("620100", "FH001"): (200, 100),
    ("620500", "FH001"): (500, 100),
    ("LZXQ", "FH001"): (1000, 100),
    ("620100", "FH008"): (800, 100),
    ("620500", "FH008"): (900, 100),
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def gloves(db):
    return ItemFactory(
        code="FH008", name_zh="检查手套", name_en="Exam gloves", sort_order=80, unit="pair"
    )


@pytest.fixture
def new_area(db):
    return PrefectureFactory(code="LZXQ", name_zh="兰州新区", name_en="Lanzhou New Area")


@pytest.fixture
def world(frozen, lanzhou, tianshui, new_area, n95, gloves, office, leader):
    n95.sort_order = 10
    n95.save()
    prefectures = {p.code: p for p in (lanzhou, tianshui, new_area)}
    items = {i.code: i for i in (n95, gloves)}
    for (prefecture, item), (stock, consumption) in FIGURES.items():
        DailyFigureFactory(
            prefecture=prefectures[prefecture],
            item=items[item],
            date=D,
            stock=stock,
            consumption=consumption,
            demand=consumption,
        )
    reserve = WarehouseFactory(code="SZ01", name_zh="省级储备一库")
    stock_receive(
        user=office,
        warehouse=reserve,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    snapshot_build_for_date(date=D)
    return {"prefectures": prefectures, "items": items, "reserve": reserve}


def test_each_item_counts_the_prefectures_of_each_colour_and_keeps_its_province_figures(
    world, office
):
    data = screen.screen_build(office, date=D, province_code="620000")
    n95, gloves = data.items
    assert [n95.item.code, gloves.item.code] == ["FH001", "FH008"]
    # N95: 兰州 red (2.00), 天水 amber (5.00), 兰州新区 green (10.00).
    assert n95.counts == {"red": 1, "amber": 1, "green": 1, "grey": 0}
    # Gloves: two greens (8.00, 9.00); 兰州新区 reported none: grey.
    assert gloves.counts == {"red": 0, "amber": 0, "green": 2, "grey": 1}
    # The rollup, not a sum made again: 6700 / 300 = 22.33; reserve 5,000 beside the stock.
    assert str(n95.rollup.days_of_cover) == "22.33"
    assert n95.rollup.stock == 1700 and n95.rollup.reserve_stock == 5000
    assert n95.rollup.prefectures_with_stock == 3


def test_the_map_data_names_each_prefectures_region_and_lists_the_one_without(world, office):
    data = screen.screen_build(office, date=D, province_code="620000")
    regions = {p["code"]: p["region"] for p in data.blob["prefectures"]}
    # Matched on the GB code to the vendored map's features, named as the map names them.
    assert regions == {"620100": "兰州市", "620500": "天水市", "LZXQ": None}
    assert [p["code"] for p in data.unmapped] == ["LZXQ"]
    assert data.unmapped[0]["index"] == 2  # its row in the blob (prefectures by code)
    # Status letters per prefecture, one per item (N95, gloves); days in hundredths.
    assert data.blob["status"] == ["rg", "ag", "gn"]
    assert data.blob["days"] == [[200, 800], [500, 900], [1000, None]]
    assert [i[0] for i in data.blob["items"]] == ["FH001", "FH008"]


def test_worst_status_counts_a_prefecture_once(world, office):
    # 兰州 has a red item: red. 天水's worst is amber. 兰州新区: green and grey, neither.
    assert screen.prefectures_by_worst_status(office, date=D) == {
        "red": 1,
        "amber": 1,
        "total": 3,
    }


def test_capacity_output_and_consumption_sit_side_by_side(world, office, n95, lanzhou):
    producer = Producer.objects.create(
        name="兰州防护用品厂", credit_code="91350100M000100Y43", prefecture=lanzhou
    )
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=1200, status=LineStatus.COMMISSIONED
    )
    ProductionLine.objects.create(
        producer=producer, item=n95, daily_capacity=800, status=LineStatus.BUILDING
    )
    ProductionReport.objects.create(
        producer=producer,
        item=n95,
        date=D,
        output=900,
        factory_stock=0,
        submitted_by=office,
        first_submitted_at=timezone.now(),
        submitted_at=timezone.now(),
    )
    n95_figures = screen.screen_build(office, date=D, province_code="620000").items[0]
    # Commissioned capacity only (the line under construction is not yet a capacity), D's
    # output, D's consumption of the province (100 + 100 + 100).
    assert (n95_figures.capacity, n95_figures.output, n95_figures.consumption) == (1200, 900, 300)
    # Bars as shares of the largest: 1200 -> 100 %, 900 -> 75 %, 300 -> 25 %.
    assert n95_figures.bars == [
        ("capacity", 1200, 100),
        ("output", 900, 75),
        ("consumption", 300, 25),
    ]


def test_the_live_figures_count_today_and_now(world, office, leader, n95, gloves, lanzhou):
    # Today 兰州 has reported both key items, 天水 one of two, 兰州新区 none: 1 of 3 (33 %).
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=TODAY)
    DailyFigureFactory(prefecture=lanzhou, item=gloves, date=TODAY)
    DailyFigureFactory(prefecture=world["prefectures"]["620500"], item=n95, date=TODAY)
    # One batch of 300 N95 dispatched today (and none other).
    to_lanzhou = Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", prefecture=lanzhou
    )
    dispatched_batch(office, leader, world["reserve"], to_lanzhou, [(n95, 300)])
    # Two requests of a hospital: an emergency one (open: awaiting triage) and a routine one.
    hospital = Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION, name_zh="甘肃省人民医院", code="SRMYY"
    )
    requester = UserFactory(username="hospital", role=Role.UNIT_REQUESTER)
    hospital.requesters.add(requester)
    for urgency in ("emergency", "routine"):
        request_submit(
            user=requester,
            claimant=hospital,
            urgency=urgency,
            needed_by=TODAY + dt.timedelta(days=3),
            justification="ICU",
            lines=[{"item": n95, "quantity": 100}],
        )
    # Two problems of a producer, one resolved.
    producer = Producer.objects.create(
        name="天水口罩厂", credit_code="91110108551385082Q", prefecture=lanzhou
    )
    for status in (ProblemStatus.OPEN, ProblemStatus.RESOLVED):
        Problem.objects.create(
            producer=producer,
            category="labour",
            description="—",
            reported_by=office,
            reported_at=NOW - dt.timedelta(days=1),
            status=status,
            resolved_at=NOW if status == ProblemStatus.RESOLVED else None,
        )

    live = screen.screen_live(leader, today=TODAY)
    assert (live.reported, live.active, live.reporting_pct) == (1, 3, 33)
    assert live.before_cutoff is True  # 10:00 < 16:00
    assert (live.batches_today, live.quantity_today) == (1, 300)
    assert live.emergency_open == 1
    assert live.problems_open == 1


def test_every_prefecture_reported_is_100_percent_not_no_figure(world, office, n95, gloves):
    for prefecture in world["prefectures"].values():
        for item in (n95, gloves):
            DailyFigureFactory(prefecture=prefecture, item=item, date=TODAY)
    live = screen.screen_live(office, today=TODAY)
    assert (live.reported, live.active, live.reporting_pct) == (3, 3, 100)


def test_the_drill_down_panel_lists_the_prefectures_items_shortest_cover_first(world, office):
    lanzhou = world["prefectures"]["620100"]
    lanzhou.refresh_from_db()
    panel = screen.prefecture_panel(office, prefecture=lanzhou, date=D)
    # N95 2.00 before gloves 8.00.
    assert [(r.item.code, str(r.days_of_cover)) for r in panel.rows] == [
        ("FH001", "2.00"),
        ("FH008", "8.00"),
    ]
    assert panel.reporting.state == "on_time"
    assert panel.county_map["url"].endswith("vendor/maps/620000/620100.json")


def test_the_drill_down_matches_counties_to_the_county_map(world, office, yuzhong):
    lanzhou = world["prefectures"]["620100"]
    panel = screen.prefecture_panel(office, prefecture=lanzhou, date=D)
    assert panel.county_map["counties"] == [
        {"code": "620123", "name": "榆中县", "region": "榆中县"}
    ]


def test_the_small_map_shows_only_what_the_user_may_see(world, officer, office, n95):
    # The office sees every prefecture's N95 status; Lanzhou's officer only Lanzhou's.
    everyone = screen.mini_map(office, item=n95, date=D)
    assert [(p["code"], p["status"], p["region"]) for p in everyone["prefectures"]] == [
        ("620100", "red", "兰州市"),
        ("620500", "amber", "天水市"),
        ("LZXQ", "green", None),
    ]
    assert everyone["url"].endswith("vendor/maps/620000.json")
    own = screen.mini_map(officer, item=n95, date=D)
    assert [(p["code"], p["days"]) for p in own["prefectures"]] == [("620100", 2.0)]


def test_without_a_build_the_screen_has_no_figures_but_still_a_map(frozen, lanzhou, n95, office):
    data = screen.screen_build(office, date=None, province_code="620000")
    assert data.items[0].rollup is None
    assert data.items[0].counts == {"red": 0, "amber": 0, "green": 0, "grey": 1}
    assert data.blob["prefectures"] == [{"code": "620100", "name": "兰州市", "region": "兰州市"}]
    assert screen.prefectures_by_worst_status(office, date=None) == {
        "red": 0,
        "amber": 0,
        "total": 0,
    }


# --- Matching a map's regions to prefectures and counties ------------------------------------

FEATURES = [
    ("620100", "兰州市"),
    ("620200", "嘉峪关市"),
    ("620824", "华亭县"),
    ("620500", "天水市"),
]


def test_regions_match_on_the_code_first():
    assert screen.match_regions([("620100", "随便")], FEATURES) == {"620100": "兰州市"}


def test_a_division_without_its_code_on_the_map_matches_on_its_chinese_name():
    assert screen.match_regions([("X1", "嘉峪关市")], FEATURES) == {"X1": "嘉峪关市"}


def test_a_renamed_division_matches_on_its_name_without_the_kind():
    # 华亭县 became 华亭市 (620881) in 2018; the map still has the county.
    assert screen.match_regions([("620881", "华亭市")], FEATURES) == {"620881": "华亭县"}


def test_a_region_is_taken_once_and_a_division_without_one_is_left_out():
    found = screen.match_regions(
        [("620100", "兰州市"), ("Z9", "兰州市"), ("LZXQ", "兰州新区")], FEATURES
    )
    assert found == {"620100": "兰州市"}


def test_no_map_file_matches_nothing():
    assert screen.match_regions([("620100", "兰州市")], None) == {}
    assert screen.map_file_url("990000") is None
