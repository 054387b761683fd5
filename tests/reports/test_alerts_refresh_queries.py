"""The alert refresh is set-based: its queries do not grow with the number of alerts opened,
seen again or closed, and what it writes is what the row-by-row refresh wrote."""

import datetime as dt

import pytest

from reports.alerts import alerts_refresh
from reports.models import Alert
from reports.services import snapshot_build_for_date
from tests.factories import PrefectureFactory
from tests.reports.test_alerts import D, frozen_time, report

__all__ = ["frozen_time"]


def red_prefectures(n95, count, *, stock=20):
    prefectures = [PrefectureFactory(code=f"64{n + 1:02d}00") for n in range(count)]
    figures = [report(p, n95, stock=stock) for p in prefectures]  # 20 / 10 = 2 days: red
    return prefectures, figures


@pytest.mark.parametrize("count", [2, 25])
def test_a_refresh_runs_a_constant_number_of_queries(n95, django_assert_max_num_queries, count):
    _prefectures, figures = red_prefectures(n95, count)
    snapshot_build_for_date(date=D)
    # 10: the emergency requests left open (issue 15) are one query more; 7 more record the
    # office's notification of the opened alerts with them (issue 16), whatever the count.
    with django_assert_max_num_queries(17):
        assert alerts_refresh(date=D)["opened"] == count

    for figure in figures[: count // 2]:  # half go green, the others stay red at 1.5 days
        figure.stock = 200
        figure.save()
    for figure in figures[count // 2 :]:
        figure.stock = 15
        figure.save()
    snapshot_build_for_date(date=D)
    with django_assert_max_num_queries(10):
        assert alerts_refresh(date=D) == {"opened": 0, "closed": count // 2, "skipped": False}

    still_open = Alert.objects.filter(closed_at__isnull=True)
    assert still_open.count() == count - count // 2
    assert {a.detail["days_of_cover"] for a in still_open} == {"1.50"}  # detail brought up to date
    assert not Alert.objects.filter(closed_at__isnull=False, closed_on__isnull=True).exists()


def test_a_later_date_moves_last_seen_on_and_keeps_the_opening(n95):
    [prefecture], [figure] = red_prefectures(n95, 1)
    snapshot_build_for_date(date=D)
    alerts_refresh(date=D)
    later = D + dt.timedelta(days=1)
    report(prefecture, n95, stock=20, date=later)
    snapshot_build_for_date(date=later)

    assert alerts_refresh(date=later) == {"opened": 0, "closed": 0, "skipped": False}
    assert alerts_refresh(date=later) == {"opened": 0, "closed": 0, "skipped": False}

    alert = Alert.objects.get()
    assert (alert.opened_on, alert.last_seen_on, alert.closed_at) == (D, later, None)
