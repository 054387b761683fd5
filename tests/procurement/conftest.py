"""Shared fixtures of the procurement tests: suppliers, a reserve-task unit with its reserve
warehouse and a 20,000,000-yuan working-capital line, and helpers that make orders."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from procurement.models import FundingSource, SupplierOrigin
from procurement.services import (
    order_create,
    order_place,
    reserve_unit_create,
    supplier_capability_set,
    supplier_create,
)
from supplycoord.lib.credit_code import check_character
from supplycoord.models import Role
from tests.factories import ItemFactory, UserFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2020, 2, 20, 10, 0, tzinfo=TZ)
TODAY = NOW.date()


def credit_code(serial: int) -> str:
    """A valid unified social credit code (GB 32100 check character computed)."""
    first17 = f"91620100MA7{serial:06d}"
    return first17 + check_character(first17)


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
def cb01(db):
    """The reserve warehouse the unit keeps (a provincial reserve warehouse)."""
    return WarehouseFactory(code="CB01", name_zh="国药控股甘肃储备库")


@pytest.fixture
def reporter_of_a_producer(db):
    return UserFactory(username="commissioner", role=Role.PRODUCER_REPORTER)


@pytest.fixture
def supplier(office):
    return supplier_create(
        user=office,
        name="兰州康泰医疗用品有限公司",
        credit_code=credit_code(1),
        origin=SupplierOrigin.IN_PROVINCE,
        contact="王经理",
        phone="0931-1234567",
        note="2020年2月交货准时。",
    )


@pytest.fixture
def supplier_b(office):
    return supplier_create(
        user=office,
        name="重庆渝防护科技有限公司",
        credit_code=credit_code(2),
        origin=SupplierOrigin.OTHER_PROVINCE,
    )


@pytest.fixture
def unit(office, cb01):
    """国药控股甘肃 with a working-capital line of 20,000,000 yuan (seed 002: 2,000万元)."""
    return reserve_unit_create(
        user=office,
        name="国药控股甘肃有限公司",
        capital_granted=Decimal("20000000.00"),
        warehouses=[cb01],
    )


@pytest.fixture
def n95_from_supplier(office, supplier, n95):
    return supplier_capability_set(
        user=office,
        supplier=supplier,
        item=n95,
        daily_capacity=50_000,
        lead_time_days=5,
        minimum_order=10_000,
        last_unit_price=Decimal("3.50"),
    )


@pytest.fixture
def make_order(office, supplier):
    """make_order(lines=[(item, quantity, unit price, expected arrival)], place=True, ...)."""

    def make(lines, *, place=True, buyer_unit=None, funding=FundingSource.FISCAL, **kwargs):
        order = order_create(
            user=office,
            supplier=kwargs.pop("supplier", supplier),
            buyer_unit=buyer_unit,
            funding_source=funding,
            ordered_on=kwargs.pop("ordered_on", TODAY),
            lines=[
                {
                    "item": item,
                    "quantity": quantity,
                    "unit_price": Decimal(price),
                    "expected_arrival": expected,
                }
                for item, quantity, price, expected in lines
            ],
            **kwargs,
        )
        if place:
            order = order_place(user=office, order=order, expected_version=order.version)
        return order

    return make
