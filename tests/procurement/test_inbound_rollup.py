"""The province rollup carries inbound_3d / inbound_14d beside the reserve, and
projected_province_days_of_cover (reports.md "Inbound") over the prefectures of the province
days_of_cover, worked by hand with three prefectures."""

import datetime as dt
from decimal import Decimal

import pytest

import reports.services
from inventory.services import stock_receive
from procurement.services import national_allocation_announce
from reports.models import ProvinceRollup
from reports.services import snapshot_build_for_date
from tests.factories import DailyFigureFactory, PrefectureFactory
from tests.procurement.conftest import TODAY

D = TODAY


@pytest.fixture
def three_prefectures(frozen_time, n95, monkeypatch):
    """620100: stock 100, 10 a day, expects 30 within 3 days; 620200: stock 50, 5 a day,
    expects 20; 620300 reports nothing (no stock, no rate) but has 400 of a dispatched batch
    arriving within 3 days (given here as the allocation app's in-transit figure)."""
    p1 = PrefectureFactory(code="620100")
    p2 = PrefectureFactory(code="620200")
    p3 = PrefectureFactory(code="620300")
    DailyFigureFactory(
        prefecture=p1, item=n95, date=D, stock=100, consumption=10, expected_arrivals_3d=30
    )
    DailyFigureFactory(
        prefecture=p2, item=n95, date=D, stock=50, consumption=5, expected_arrivals_3d=20
    )
    monkeypatch.setattr(
        reports.services, "in_transit_by_key", lambda date: {(p3.pk, n95.pk): (400, 400)}
    )
    return p1, p2, p3


def test_it_projects_the_province_cover_with_what_is_inbound(
    three_prefectures, office, n95, sz01, make_order
):
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 150)], source="purchase")
    make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))])  # inbound within 3 days
    national_allocation_announce(
        user=office,
        item=n95,
        quantity=1000,
        expected_arrival=D + dt.timedelta(days=10),
        warehouse=sz01,
    )

    snapshot_build_for_date(date=D)
    rollup = ProvinceRollup.objects.get(date=D, item=n95)

    # Inbound: 300 within 3 days; 300 + 1,000 within 14 days; beside the reserve of 150.
    assert (rollup.reserve_stock, rollup.inbound_3d, rollup.inbound_14d) == (150, 300, 1300)
    # Σ arriving_3d over every prefecture: 30 + 20 + 400 = 450.
    assert rollup.arriving_3d == 450
    # days_of_cover over 620100 and 620200 (620300 has no stock and no rate):
    # (100 + 50 + 150) / (10 + 5) = 300 / 15 = 20.00.
    assert rollup.days_of_cover == Decimal("20.00")
    # Projected, over the same two: (150 + 150 + 300 + (30 + 20)) / 15 = 650 / 15 = 43.33;
    # with 620300's 400 it would wrongly be 1,050 / 15 = 70.00.
    assert rollup.projected_province_days_of_cover == Decimal("43.33")
    assert not rollup.partial


def test_it_is_missing_where_no_prefecture_has_a_rate(frozen_time, n95, make_order):
    make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))])
    PrefectureFactory(code="620100")  # active, reports nothing
    snapshot_build_for_date(date=D)
    rollup = ProvinceRollup.objects.get(date=D, item=n95)
    assert rollup.inbound_3d == 300
    assert rollup.days_of_cover is None
    assert rollup.projected_province_days_of_cover is None


def test_the_api_gives_the_inbound_beside_the_reserve_and_nothing_to_an_officer(
    three_prefectures, office, officer, n95, make_order, client_for
):
    make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))])
    snapshot_build_for_date(date=D)
    url = f"/api/v1/rollups/?date={D.isoformat()}"
    (row,) = client_for(office).get(url).json()["results"]
    # (100 + 50 + 0 + 300 + 50) / 15 = 500 / 15 = 33.33 (no reserve here).
    assert (row["reserve_stock"], row["inbound_3d"], row["inbound_14d"]) == (0, 300, 300)
    assert row["projected_province_days_of_cover"] == 33.33
    assert client_for(officer).get(url).json()["results"] == []


def test_the_overview_and_the_item_page_show_the_inbound_beside_the_reserve(
    three_prefectures, client, office, n95, make_order
):
    make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))])
    snapshot_build_for_date(date=D)
    client.force_login(office)
    overview = client.get(f"/reports/?date={D.isoformat()}").content.decode()
    # The inbound cells follow the reserve cell, the 3-day one linked to the calendar.
    assert f'?item={n95.code}&amp;date={D.isoformat()}">300</a></td>' in overview
    assert '<td class="num inbound-14d">300</td>' in overview
    item = client.get(f"/reports/items/{n95.code}/?date={D.isoformat()}").content.decode()
    assert 'id="province-inbound"' in item and "33.33" in item
