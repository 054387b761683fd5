"""Two people acting at the same moment: row locks and unique keys under real concurrency."""

import datetime as dt
import threading

import pytest
from django.db import connections
from django.utils import timezone

from inventory.models import DailyFigure
from inventory.services import daily_figures_submit
from reports.models import SnapshotRow
from reports.services import snapshot_build_for_date
from supplycoord.models import Role
from tests.factories import DailyFigureFactory, ItemFactory, PrefectureFactory, UserFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _run_together(target, n=2):
    barrier = threading.Barrier(n)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results, errors


def test_it_saves_one_row_when_the_same_new_figures_arrive_twice_at_once():
    prefecture = PrefectureFactory(code="620100")
    items = [ItemFactory(code=f"C{n:03d}") for n in range(30)]
    office = UserFactory(username="office-c", role=Role.OFFICE_STAFF)
    today = timezone.localdate()
    rows = [
        {
            "prefecture": "620100",
            "item": item.code,
            "date": today.isoformat(),
            "stock": 10,
            "received": 0,
            "consumption": 1,
            "demand": 1,
            "expected_arrivals_3d": 0,
        }
        for item in items
    ]
    results, errors = _run_together(lambda: daily_figures_submit(user=office, rows=rows))
    assert errors == []
    assert DailyFigure.objects.filter(prefecture=prefecture).count() == 30
    # One submission created the rows; the other found them identical.
    assert sorted((r.created, r.unchanged) for r in results) == [(0, 30), (30, 0)]


def test_it_builds_the_same_snapshot_when_two_builds_run_at_once():
    day = dt.date(2020, 2, 10)
    for code in ("620100", "620200", "620300"):
        prefecture = PrefectureFactory(code=code)
        for item_code in ("FH001", "XD001"):
            DailyFigureFactory(prefecture=prefecture, item=ItemFactory(code=item_code), date=day)
    results, errors = _run_together(lambda: snapshot_build_for_date(date=day).rows)
    assert errors == []
    assert results == [6, 6]
    assert SnapshotRow.objects.filter(date=day).count() == 6
