"""Shared fixtures of the allocation tests: a reserve warehouse with stock, destinations."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from allocation.models import Destination, DestinationKind
from allocation.services import batch_approve, batch_create, batch_dispatch
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from tests.factories import ItemFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)


@pytest.fixture
def frozen_time():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def masks(db):
    return ItemFactory(code="FH002", name_zh="医用外科口罩", name_en="Surgical mask")


@pytest.fixture
def sz01(db):
    return WarehouseFactory(code="SZ01", name_zh="省级储备一库")


@pytest.fixture
def stocked(sz01, office, n95, masks):
    """SZ01 holds 5,000 N95 and 2,000 surgical masks (purchased)."""
    stock_receive(
        user=office,
        warehouse=sz01,
        lines=[(n95, 5000), (masks, 2000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    return sz01


@pytest.fixture
def to_lanzhou(lanzhou):
    return Destination.objects.create(
        kind=DestinationKind.PREFECTURE, name_zh="兰州市", name_en="Lanzhou", prefecture=lanzhou
    )


@pytest.fixture
def to_hospital(db):
    return Destination.objects.create(
        kind=DestinationKind.PROVINCIAL_INSTITUTION, name_zh="甘肃省人民医院"
    )


@pytest.fixture
def to_tianjin(db):
    return Destination.objects.create(kind=DestinationKind.OTHER_PROVINCE, name_zh="天津市")


def make_batch(office, warehouse, destination, lines, **kwargs):
    """`lines`: (item, quantity) pairs from the reserve channel, or the services' dicts."""
    return batch_create(
        user=office,
        source_warehouse=warehouse,
        destination=destination,
        lines=[
            line
            if isinstance(line, dict)
            else {"item": line[0], "quantity": line[1], "channel": "reserve"}
            for line in lines
        ],
        **kwargs,
    )


def dispatched_batch(office, leader, warehouse, destination, lines, **kwargs):
    dispatched_at = kwargs.pop("dispatched_at", None)
    batch = make_batch(office, warehouse, destination, lines, **kwargs)
    batch = batch_approve(user=leader, batch=batch, expected_version=batch.version)
    return batch_dispatch(
        user=office, batch=batch, expected_version=batch.version, dispatched_at=dispatched_at
    )
