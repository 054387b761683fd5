"""One clock: the spot checks and the demand estimate of a past date are that date's.

The clock is frozen at 2020-03-20 10:00 in Shanghai. Six prefectures of 100 protected people
each report N95 consumption on one day of each window:

- 2020-03-10 (window 03-04 … 03-10): 10, 11, 12, 13, 14 and 100 → per person 0.10 … 0.14 and
  1.00; median (0.12 + 0.13) / 2 = 0.125; deviations 0.025, 0.015, 0.005, 0.005, 0.015,
  0.875 → MAD 0.015; the sixth scores 0.6745 × 0.875 / 0.015 = 39.35 > 3.5: flagged, the
  others at most 0.6745 × 0.025 / 0.015 = 1.12.
- 2020-03-20 (window 03-14 … 03-20): 10 … 15 → the same median and MAD, nobody above 1.12.

A norm of 2 N95 a person a day is in force from 2020-03-15: the estimate of 03-20 is
100 × 2 = 200 per prefecture, and 03-10 has no estimate at all.
"""

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from reports.services import snapshot_build_for_date
from reports.spotchecks import spot_checks_compute_for_date
from supplycoord.norms import norm_set
from tests.factories import (
    DailyFigureFactory,
    PrefectureFactory,
    ProtectedStaffFactory,
    StaffCategoryFactory,
)

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2020, 3, 20)
PAST = dt.date(2020, 3, 10)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 3, 20, 10, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def province(n95, office):
    ward = StaffCategoryFactory(code="ward")
    prefectures = []
    used = zip([10, 11, 12, 13, 14, 100], [10, 11, 12, 13, 14, 15], strict=True)
    for n, (past, today) in enumerate(used):
        prefecture = PrefectureFactory(code=f"62{n + 1:02d}00")
        ProtectedStaffFactory(prefecture=prefecture, category=ward, count=100)
        DailyFigureFactory(prefecture=prefecture, item=n95, date=PAST, consumption=past)
        DailyFigureFactory(prefecture=prefecture, item=n95, date=TODAY, consumption=today)
        prefectures.append(prefecture)
    norm_set(
        user=office,
        staff_category=ward,
        item=n95,
        effective_from=dt.date(2020, 3, 15),
        units_per_person_per_day=Decimal(2),
    )
    for day in (PAST, TODAY):
        snapshot_build_for_date(date=day)
        spot_checks_compute_for_date(date=day)
    return prefectures


def page(client, user, name, **params):
    client.force_login(user)
    response = client.get(reverse(name), params)
    assert response.status_code == 200
    return response


def test_the_spot_checks_of_a_past_date_are_that_dates(client, leader, province, n95):
    response = page(client, leader, "reports:spot_checks", date=PAST.isoformat())

    assert response.context["date"] == PAST
    assert [(f.prefecture, f.date, f.score) for f in response.context["flags"]] == [
        (province[-1], PAST, Decimal("39.35"))
    ]
    (comparison,) = response.context["comparisons"]
    assert comparison.figures[province[-1]] == Fraction(1)  # 100 used on 03-10 ÷ 100 people
    assert comparison.median == Fraction("0.125")
    assert comparison.mad == Fraction("0.015")


def test_the_spot_checks_of_today_are_todays(client, leader, province):
    response = page(client, leader, "reports:spot_checks")  # the default: the latest built

    assert response.context["date"] == TODAY
    assert response.context["flags"] == []
    (comparison,) = response.context["comparisons"]
    assert comparison.figures[province[-1]] == Fraction("0.15")
    assert comparison.outliers == []


def test_the_demand_estimate_of_a_past_date_uses_that_dates_norms(client, leader, province):
    past = page(client, leader, "reports:demand", date=PAST.isoformat())
    assert past.context["date"] == PAST
    assert [row.estimate for row in past.context["table"].rows] == [None] * 6

    today = page(client, leader, "reports:demand")
    assert today.context["date"] == TODAY
    assert [row.estimate for row in today.context["table"].rows] == [Decimal(200)] * 6
