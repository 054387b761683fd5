"""In transit and arriving within 3 days, worked by hand (reports.md), and the snapshot."""

import datetime as dt

import pytest
import time_machine

from allocation.models import Destination, DestinationKind
from allocation.selectors import allocation_totals, batches_visible_to, in_transit_by_key
from allocation.services import batch_close, batch_receive
from reports.models import SnapshotRow
from reports.services import snapshot_build_for_date
from supplycoord.models import County
from tests.allocation.conftest import NOW, TZ, dispatched_batch, make_batch
from tests.factories import DailyFigureFactory

D = NOW.date()  # 2020-02-20

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def shipped(office, leader, officer, stocked, to_lanzhou, n95):
    """1,000 N95 dispatched on d-1 (expected d+2), 300 received on d."""
    with time_machine.travel(NOW, tick=False):
        batch = dispatched_batch(
            office,
            leader,
            stocked,
            to_lanzhou,
            [(n95, 1000)],
            expected_arrival=D + dt.timedelta(days=2),
            dispatched_at=NOW - dt.timedelta(days=1),
        )
        return batch_receive(
            user=officer,
            batch=batch,
            expected_version=batch.version,
            received={batch.lines.get().pk: 300},
        )


def test_it_counts_shipped_minus_received_at_the_end_of_each_day(shipped, lanzhou, n95):
    key = (lanzhou.pk, n95.pk)

    assert in_transit_by_key(D - dt.timedelta(days=2)) == {}
    assert in_transit_by_key(D - dt.timedelta(days=1))[key] == (1000, 1000)
    assert in_transit_by_key(D)[key] == (700, 700)


def test_it_counts_only_the_part_expected_within_three_days(shipped, lanzhou, n95):
    # On d-2 the batch (expected d+2) had not left; on d-1 d+2 is within d-1+3 = d+2.
    # Viewed from further back it would not be: check a batch expected on d+5 instead.
    key = (lanzhou.pk, n95.pk)
    shipped.expected_arrival = D + dt.timedelta(days=5)
    shipped.save(update_fields=["expected_arrival"])

    assert in_transit_by_key(D)[key] == (700, 0)
    assert in_transit_by_key(D + dt.timedelta(days=2))[key] == (700, 700)


def test_it_stops_counting_once_the_batch_is_closed(office, shipped, lanzhou, n95):
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        batch_close(user=office, batch=shipped, expected_version=shipped.version, note="lost")

    assert in_transit_by_key(D)[(lanzhou.pk, n95.pk)] == (700, 700)
    assert in_transit_by_key(D + dt.timedelta(days=1)) == {}


def test_it_leaves_out_other_kinds_of_destination(office, leader, stocked, to_hospital, n95):
    with time_machine.travel(NOW, tick=False):
        dispatched_batch(office, leader, stocked, to_hospital, [(n95, 10)])

    assert in_transit_by_key(D) == {}


def test_it_puts_in_transit_into_the_snapshot(shipped, lanzhou, n95, office):
    # d: expected_arrivals_3d reported 50 → arriving_3d = 50 + 700.
    DailyFigureFactory(
        prefecture=lanzhou, item=n95, date=D, expected_arrivals_3d=50, submitted_by=office
    )
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        snapshot_build_for_date(date=D)
        snapshot_build_for_date(date=D - dt.timedelta(days=1))

    today = SnapshotRow.objects.get(date=D, prefecture=lanzhou, item=n95)
    yesterday = SnapshotRow.objects.get(date=D - dt.timedelta(days=1), prefecture=lanzhou, item=n95)
    assert (today.in_transit, today.arriving_3d) == (700, 750)
    assert (yesterday.in_transit, yesterday.arriving_3d) == (1000, 1000)


def test_it_rebuilds_built_snapshots_after_a_receipt(
    officer, shipped, lanzhou, n95, office, django_capture_on_commit_callbacks
):
    DailyFigureFactory(prefecture=lanzhou, item=n95, date=D, submitted_by=office)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        snapshot_build_for_date(date=D)
    with (
        time_machine.travel(NOW + dt.timedelta(hours=2), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        batch_receive(
            user=officer,
            batch=shipped,
            expected_version=shipped.version,
            received={shipped.lines.get().pk: 200},
        )

    assert SnapshotRow.objects.get(date=D, prefecture=lanzhou, item=n95).in_transit == 500


def test_it_shows_an_officer_only_batches_to_their_prefecture(
    office, leader, officer, outsider, stocked, to_lanzhou, to_hospital, n95
):
    with time_machine.travel(NOW, tick=False):
        mine = make_batch(office, stocked, to_lanzhou, [(n95, 1)])
        make_batch(office, stocked, to_hospital, [(n95, 1)])

    assert list(batches_visible_to(officer)) == [mine]
    assert list(batches_visible_to(outsider)) == []
    assert batches_visible_to(leader).count() == 2


def test_it_sums_allocation_totals_by_kind_destination_item_and_channel(
    office, leader, stocked, to_lanzhou, to_hospital, n95, masks
):
    aid_team = Destination.objects.create(kind=DestinationKind.AID_TEAM, name_zh="援鄂医疗队")
    with time_machine.travel(NOW, tick=False):
        dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 1000), (masks, 500)])
        dispatched_batch(office, leader, stocked, to_hospital, [(n95, 200)])
        dispatched_batch(
            office,
            leader,
            stocked,
            aid_team,
            [{"item": masks, "quantity": 300, "channel": "purchase"}],
        )
        make_batch(office, stocked, to_lanzhou, [(n95, 999)])  # a draft: never counted
    with time_machine.travel(dt.datetime(2020, 3, 1, 9, tzinfo=TZ), tick=False):
        dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 7)])  # outside the range

    totals = allocation_totals(D, D)

    assert (totals["total"], totals["batches"]) == (2000, 3)
    assert {r["destination_kind"]: r["quantity"] for r in totals["by_destination_kind"]} == {
        "prefecture": 1500,
        "provincial_institution": 200,
        "aid_team": 300,
    }
    assert {r["name_zh"]: r["quantity"] for r in totals["by_destination"]} == {
        "兰州市": 1500,
        "甘肃省人民医院": 200,
        "援鄂医疗队": 300,
    }
    assert {r["item_code"]: r["quantity"] for r in totals["by_item"]} == {
        "FH001": 1200,
        "FH002": 800,
    }
    assert {r["channel"]: r["quantity"] for r in totals["by_channel"]} == {
        "reserve": 1700,
        "purchase": 300,
    }


def test_it_counts_a_county_under_its_prefecture_and_no_date_as_not_expected(
    office, leader, stocked, lanzhou, n95
):
    county = County.objects.create(prefecture=lanzhou, code="620102", name_zh="城关区")
    to_county = Destination.objects.create(
        kind=DestinationKind.COUNTY, name_zh="城关区", prefecture=lanzhou, county=county
    )
    dispatched_batch(office, leader, stocked, to_county, [(n95, 10)])

    assert in_transit_by_key(D) == {(lanzhou.pk, n95.pk): (10, 0)}
