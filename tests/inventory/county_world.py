"""The world of the county-figures tests (issue 15 §3): Lanzhou reporting as the sum of its
two counties, 榆中县 (county A, its officer `county_officer` from tests/conftest.py) and 皋兰县
(county B); Tianshui, which enters its own figures, with its county 秦州区. The clock stands at
10:00 Shanghai time on TODAY (the cut-off is 16:00) unless a test travels.

Import the fixtures with `from tests.inventory.county_world import *` (pytest finds them in
the test module's namespace).
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from supplycoord.models import County, Role
from tests.factories import UserFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 2, 10)
MORNING = dt.datetime(2020, 2, 10, 10, 0, tzinfo=SHANGHAI)
AFTERNOON = dt.datetime(2020, 2, 10, 15, 0, tzinfo=SHANGHAI)  # before the 16:00 cut-off
EVENING = dt.datetime(2020, 2, 10, 17, 0, tzinfo=SHANGHAI)  # after it

__all__ = [
    "AFTERNOON",
    "EVENING",
    "MORNING",
    "SHANGHAI",
    "TODAY",
    "county_row",
    "frozen",
    "gaolan",
    "gaolan_officer",
    "qinzhou",
    "qinzhou_officer",
    "summed",
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def summed(lanzhou, yuzhong, gaolan):
    """兰州市 reporting as the sum of its two counties."""
    lanzhou.reports_as_sum_of_counties = True
    lanzhou.save(update_fields=["reports_as_sum_of_counties"])
    return lanzhou


@pytest.fixture
def gaolan(lanzhou):
    """皋兰县, Lanzhou's second county (county B)."""
    return County.objects.get_or_create(
        code="620122", defaults={"prefecture": lanzhou, "name_zh": "皋兰县", "name_en": "Gaolan"}
    )[0]


@pytest.fixture
def gaolan_officer(gaolan):
    return UserFactory(
        username="gaolan_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=gaolan.prefecture,
        county=gaolan,
    )


@pytest.fixture
def qinzhou(tianshui):
    """秦州区, a county of Tianshui, which enters its own figures."""
    return County.objects.get_or_create(
        code="620502",
        defaults={"prefecture": tianshui, "name_zh": "秦州区", "name_en": "Qinzhou"},
    )[0]


@pytest.fixture
def qinzhou_officer(qinzhou):
    """A county officer of another prefecture: never writes Lanzhou's counties."""
    return UserFactory(
        username="qinzhou_officer",
        role=Role.COUNTY_OFFICER,
        prefecture=qinzhou.prefecture,
        county=qinzhou,
    )


def county_row(**overrides) -> dict:
    """A row of county A (榆中县) for N95 today: stock 100, received 20, consumption 10,
    demand 12, expected arrivals 5."""
    row = {
        "county": "620123",
        "item": "FH001",
        "date": TODAY.isoformat(),
        "stock": 100,
        "received": 20,
        "consumption": 10,
        "demand": 12,
        "expected_arrivals_3d": 5,
    }
    row.update(overrides)
    return row
