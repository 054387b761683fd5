"""What is coming changes the province rollup of the day it changes and of later built days:
placing, cancelling or closing an order, announcing an allocation and an enterprise's report
request the built dates from that day on again (the reports' rebuild outbox, written in the
same transaction), so the rollup's inbound figures never lag until some later build."""

import datetime as dt

import pytest

from procurement.distribution_services import distribution_report_submit
from procurement.services import national_allocation_announce, order_cancel, order_place
from reports.models import ProvinceRollup, SnapshotRebuild
from reports.services import snapshot_build_for_date
from tests.procurement.conftest import TODAY
from tests.procurement.distribution_fixtures import *  # noqa: F403 (the enterprise fixtures)
from tests.procurement.distribution_fixtures import figures

D = TODAY


@pytest.fixture
def built(frozen_time, n95):
    # Built: D-3 and D. Nothing is waiting to be rebuilt.
    for day in (D - dt.timedelta(days=3), D):
        snapshot_build_for_date(date=day)
    SnapshotRebuild.objects.all().delete()


def _requested():
    return sorted(SnapshotRebuild.objects.values_list("date", flat=True))


def test_placing_an_order_requests_todays_rollup_again(built, office, make_order, n95):
    order = make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))], place=False)
    assert _requested() == []  # a draft is not inbound
    order_place(user=office, order=order, expected_version=order.version)
    # Placed on D: D is built again, D-3 (before it) is not.
    assert _requested() == [D]


def test_the_rebuild_moves_the_rollups_inbound(
    built, office, make_order, n95, django_capture_on_commit_callbacks
):
    assert ProvinceRollup.objects.get(date=D, item=n95).inbound_3d == 0
    with django_capture_on_commit_callbacks(execute=True):
        order = make_order([(n95, 300, "1.00", D + dt.timedelta(days=2))])
    # The queued build ran at commit: 300 due on D+2 is inbound within 3 days.
    assert ProvinceRollup.objects.get(date=D, item=n95).inbound_3d == 300
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(user=office, order=order, expected_version=order.version, note="供应商违约")
    assert ProvinceRollup.objects.get(date=D, item=n95).inbound_3d == 0


def test_an_announcement_requests_the_dates_from_its_day(built, office, n95, sz01):
    national_allocation_announce(
        user=office,
        item=n95,
        quantity=1000,
        expected_arrival=D + dt.timedelta(days=5),
        warehouse=sz01,
        announced_on=D - dt.timedelta(days=4),
    )
    # Announced on D-4: every built date from then on.
    assert _requested() == [D - dt.timedelta(days=3), D]


def test_an_enterprises_report_requests_its_day(built, dist_a, enterprise_a, n95, masks):
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=D,
        rows=[
            {"item": n95, **figures(1_000, 400, 2_000, 600)},
            {"item": masks, **figures(0, 0, 0, 0)},
        ],
    )
    assert _requested() == [D]
    SnapshotRebuild.objects.all().delete()
    # The same figures again change nothing and request nothing.
    distribution_report_submit(
        user=dist_a,
        enterprise=enterprise_a,
        date=D,
        rows=[
            {"item": n95, **figures(1_000, 400, 2_000, 600)},
            {"item": masks, **figures(0, 0, 0, 0)},
        ],
    )
    assert _requested() == []
