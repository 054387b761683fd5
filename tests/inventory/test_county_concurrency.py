"""Two counties completing their prefecture at the same moment (issue 15 §3): each submission
alone sees the other county missing, unless they take turns. The prefecture's row lock makes
the second wait and then read the first's rows, so the prefecture row is derived."""

import threading

import pytest
from django.db import connections
from django.utils import timezone

from inventory.county_figures import county_figures_submit
from inventory.models import CountyDailyFigure, DailyFigure
from supplycoord.models import County, Role
from tests.factories import ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _run_together(targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_counties_reporting_at_once_still_derive_their_prefecture():
    lanzhou = PrefectureFactory(code="620100", name_zh="兰州市", reports_as_sum_of_counties=True)
    items = [ItemFactory(code=f"C{n:03d}") for n in range(30)]
    counties = [
        County.objects.create(prefecture=lanzhou, code=code, name_zh=name)
        for code, name in (("620122", "皋兰县"), ("620123", "榆中县"))
    ]
    officers = [
        UserFactory(
            username=f"county-{c.code}", role=Role.COUNTY_OFFICER, prefecture=lanzhou, county=c
        )
        for c in counties
    ]
    today = timezone.localdate().isoformat()

    def submit(officer, county, stock):
        rows = [
            {
                "county": county.code,
                "item": item.code,
                "date": today,
                "stock": stock,
                "received": 0,
                "consumption": 1,
                "demand": 1,
                "expected_arrivals_3d": 0,
            }
            for item in items
        ]
        return lambda: county_figures_submit(user=officer, rows=rows)

    errors = _run_together(
        [submit(officers[0], counties[0], 50), submit(officers[1], counties[1], 100)]
    )

    assert errors == []
    assert CountyDailyFigure.objects.count() == 60
    # 30 rows of Lanzhou, each 50 + 100 of stock and 1 + 1 of consumption.
    assert (
        sorted(DailyFigure.objects.filter(prefecture=lanzhou).values_list("stock", "consumption"))
        == [(150, 2)] * 30
    )
