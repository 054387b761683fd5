"""Reserve stock from the ledger reaches the province rollup of reports.md."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from inventory.models import WarehouseKind
from inventory.services import stock_issue, stock_receive
from reports.models import ProvinceRollup, Status
from reports.services import reserve_stock_by_item, snapshot_build_for_date
from tests.factories import DailyFigureFactory, PrefectureFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
D = dt.date(2020, 2, 20)


@pytest.fixture(autouse=True)
def frozen_time():
    with time_machine.travel(dt.datetime(2020, 2, 20, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def reports(n95):
    """Two prefectures report N95 on D: stock 100 and 20, consumption 10 each (Σ avg 20)."""
    for code, stock in (("620100", 100), ("620200", 20)):
        DailyFigureFactory(
            prefecture=PrefectureFactory(code=code), item=n95, date=D, stock=stock, consumption=10
        )


def test_it_counts_the_reserve_in_the_province_days_of_cover(office, n95, reports):
    """Without reserve: 120 / 20 = 6.00 days (amber). Receipts of 250 into the provincial
    reserve and 50 into producer-held reserve, 20 issued: reserve 280, (120 + 280) / 20 = 20.00
    days (green). Prefecture stock stays 120: reserve is beside it, not inside it.
    """
    snapshot_build_for_date(date=D)
    before = ProvinceRollup.objects.get(date=D, item=n95)
    assert (before.reserve_stock, before.days_of_cover, before.status) == (
        0,
        Decimal("6.00"),
        Status.AMBER,
    )

    reserve = WarehouseFactory(code="SZ01")
    held = WarehouseFactory(code="DC01", kind=WarehouseKind.PRODUCER_HELD)
    stock_receive(user=office, warehouse=reserve, lines=[(n95, 250)], source="purchase")
    stock_receive(user=office, warehouse=held, lines=[(n95, 50)], source="own_production")
    stock_issue(user=office, warehouse=reserve, lines=[(n95, 20)], issue_kind="dispatch")
    snapshot_build_for_date(date=D)

    rollup = ProvinceRollup.objects.get(date=D, item=n95)
    assert rollup.stock == 120
    assert rollup.reserve_stock == 280
    assert rollup.avg_consumption_7d == Decimal("20")
    assert rollup.days_of_cover == Decimal("20.00")
    assert rollup.status == Status.GREEN


def test_it_leaves_a_prefecture_warehouse_out_of_the_reserve(office, n95, lanzhou):
    """A prefecture's own warehouse is prefecture stock, reported in its daily figures."""
    city = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    stock_receive(user=office, warehouse=city, lines=[(n95, 500)], source="purchase")

    assert reserve_stock_by_item(D) == {}


def test_it_rebuilds_a_built_snapshot_when_reserve_stock_moves(
    office, lanzhou, n95, django_capture_on_commit_callbacks
):
    """A receipt into the provincial reserve today changes today's already built rollup."""
    import datetime as dt

    from django.utils import timezone

    from inventory.models import ReceiptSource
    from inventory.services import stock_receive
    from reports.models import ProvinceRollup
    from reports.services import snapshot_build_for_date
    from tests.factories import DailyFigureFactory, WarehouseFactory

    today = timezone.localdate()
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=today, stock=100, consumption=10)
    snapshot_build_for_date(date=today)
    assert ProvinceRollup.objects.get(date=today, item=n95).reserve_stock == 0
    reserve = WarehouseFactory(code="SZ09")
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(
            user=office,
            warehouse=reserve,
            lines=[(n95, 500)],
            source=ReceiptSource.PURCHASE,
            occurred_at=timezone.now() - dt.timedelta(minutes=1),
        )
    rollup = ProvinceRollup.objects.get(date=today, item=n95)
    assert rollup.reserve_stock == 500
    # (100 + 500) / 10 = 60 days
    assert rollup.days_of_cover == 60
