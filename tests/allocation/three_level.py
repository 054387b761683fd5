"""The world of the three-level dispatch tests (issue 15 §3), shared by the
tests/allocation/test_three_level_*.py files (imported by name: pytest finds the fixtures
where a test module imports them).

Lanzhou (620100) runs its own warehouse LZ01 holding 1,000 N95 and ships to its county
榆中县 (620123); the province ships from SZ01 (5,000 N95, the allocation conftest's `stocked`).
Tianshui (620500) has its county 秦州区 (620502), Lanzhou a second county 皋兰县 (620122).
The people: Lanzhou's officer and lead, Yuzhong's county officer (tests/conftest.py), and the
outsiders: Tianshui's officer (`outsider`) and lead, 皋兰县's county officer. The clock stands
at 2026-03-10 10:00 in the office, so Lanzhou's first batch of the year is 620100-2026-001.

Import the fixtures with `from tests.allocation.three_level import *` (pytest finds them in
the test module's namespace).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from allocation.models import Destination, DestinationKind
from allocation.services import batch_approve, batch_create, batch_dispatch
from inventory.models import ReceiptSource, WarehouseKind
from inventory.services import stock_receive
from supplycoord.models import County, Role
from tests.factories import UserFactory, WarehouseFactory

__all__ = [
    "NOW",
    "clock_2026",
    "draft_300",
    "gaolan",
    "gaolan_officer",
    "lanzhou_batch",
    "lanzhou_dispatched",
    "lanzhou_itself",
    "lz01",
    "outsider_lead",
    "shipped_300",
    "sz01_2026",
    "to_gaolan",
    "to_qinzhou",
    "to_yuzhong",
]

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 10, 10, 0, tzinfo=TZ)


@pytest.fixture
def clock_2026():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def lz01(lanzhou, officer, clock_2026, n95):
    """Lanzhou's own warehouse with 1,000 N95 (bought by the prefecture)."""
    warehouse = WarehouseFactory(
        code="LZ01", name_zh="兰州市物资储备库", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou
    )
    stock_receive(
        user=officer,
        warehouse=warehouse,
        lines=[(n95, 1000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=2),
    )
    return warehouse


@pytest.fixture
def sz01_2026(office, clock_2026, n95):
    """The provincial reserve SZ01 with 5,000 N95."""
    warehouse = WarehouseFactory(code="SZ01", name_zh="省级储备一库")
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 5000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=2),
    )
    return warehouse


@pytest.fixture
def to_yuzhong(yuzhong):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="榆中县",
        name_en="Yuzhong",
        prefecture=yuzhong.prefecture,
        county=yuzhong,
        code="620123",
    )


@pytest.fixture
def lanzhou_itself(lanzhou):
    """兰州市 as a destination: never one of Lanzhou's own batches."""
    return Destination.objects.create(
        kind=DestinationKind.PREFECTURE,
        name_zh="兰州市",
        name_en="Lanzhou",
        prefecture=lanzhou,
        code="620100",
    )


@pytest.fixture
def gaolan(lanzhou):
    return County.objects.create(
        code="620122", prefecture=lanzhou, name_zh="皋兰县", name_en="Gaolan"
    )


@pytest.fixture
def to_gaolan(gaolan):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="皋兰县",
        name_en="Gaolan",
        prefecture=gaolan.prefecture,
        county=gaolan,
        code="620122",
    )


@pytest.fixture
def gaolan_officer(gaolan):
    """Another county's officer: sees nothing of 榆中县's."""
    return UserFactory(
        username="gaolan_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=gaolan.prefecture,
        county=gaolan,
    )


@pytest.fixture
def to_qinzhou(tianshui):
    """秦州区, a county of Tianshui: never a destination of Lanzhou's batches."""
    county = County.objects.create(
        code="620502", prefecture=tianshui, name_zh="秦州区", name_en="Qinzhou"
    )
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="秦州区",
        name_en="Qinzhou",
        prefecture=tianshui,
        county=county,
        code="620502",
    )


@pytest.fixture
def outsider_lead(tianshui):
    """Tianshui's lead: approves Tianshui's batches, never Lanzhou's."""
    return UserFactory(username="outsider_lead", role=Role.PREFECTURE_LEAD, prefecture=tianshui)


def lanzhou_batch(officer, lz01, destination, quantity, n95, **kwargs):
    """A draft Lanzhou issues from LZ01: `quantity` N95 from its reserve channel."""
    return batch_create(
        user=officer,
        source_warehouse=lz01,
        destination=destination,
        lines=[{"item": n95, "quantity": quantity, "channel": "reserve"}],
        **kwargs,
    )


def lanzhou_dispatched(officer, lead, lz01, destination, quantity, n95, **kwargs):
    """Drafted by Lanzhou's officer, approved by its lead, dispatched by the officer."""
    batch = lanzhou_batch(officer, lz01, destination, quantity, n95, **kwargs)
    batch = batch_approve(user=lead, batch=batch, expected_version=batch.version)
    return batch_dispatch(user=officer, batch=batch, expected_version=batch.version)


@pytest.fixture
def draft_300(officer, lz01, to_yuzhong, n95):
    """Lanzhou's first batch of 2026: 300 N95 from LZ01 to 榆中县, a draft."""
    return lanzhou_batch(officer, lz01, to_yuzhong, 300, n95)


@pytest.fixture
def shipped_300(draft_300, lead, officer):
    """The same batch, approved by Lanzhou's lead and dispatched by its officer."""
    batch = batch_approve(user=lead, batch=draft_300, expected_version=draft_300.version)
    return batch_dispatch(user=officer, batch=batch, expected_version=batch.version)
