"""In-transit sums per prefecture and item, summed in SQL (allocation.selectors), worked by hand
for several lines and batches with partial receipts, and as the snapshot build reads them."""

import datetime as dt

import pytest
import time_machine

from allocation.selectors import in_transit_by_key
from allocation.services import batch_receive
from reports.models import SnapshotRow
from reports.services import snapshot_build_for_date
from tests.allocation.conftest import (  # noqa: F401 (fixtures)
    NOW,
    dispatched_batch,
    frozen_time,
    masks,
    stocked,
    sz01,
    to_lanzhou,
)
from tests.factories import DailyFigureFactory

D = NOW.date()  # 2020-02-20

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def on_the_road(office, leader, officer, stocked, to_lanzhou, n95, masks):  # noqa: F811
    """Batch A: 1,000 N95 and 500 masks dispatched on d-1, expected d+2; on d 300 N95 and 100
    masks of it are received. Batch B: 200 N95 dispatched on d, expected d+5."""
    with time_machine.travel(NOW, tick=False):
        a = dispatched_batch(
            office,
            leader,
            stocked,
            to_lanzhou,
            [(n95, 1000), (masks, 500)],
            expected_arrival=D + dt.timedelta(days=2),
            dispatched_at=NOW - dt.timedelta(days=1),
        )
        lines = {line.item_id: line.pk for line in a.lines.all()}
        batch_receive(
            user=officer,
            batch=a,
            expected_version=a.version,
            received={lines[n95.pk]: 300, lines[masks.pk]: 100},
        )
        dispatched_batch(
            office,
            leader,
            stocked,
            to_lanzhou,
            [(n95, 200)],
            expected_arrival=D + dt.timedelta(days=5),
        )


def test_it_sums_the_lines_of_every_batch_less_their_receipts(on_the_road, lanzhou, n95, masks):  # noqa: F811
    # End of d-1: only A had left, nothing received; expected d+2 <= d-1+3: all of it.
    assert in_transit_by_key(D - dt.timedelta(days=1)) == {
        (lanzhou.pk, n95.pk): (1000, 1000),
        (lanzhou.pk, masks.pk): (500, 500),
    }
    # End of d: N95 (1000 − 300) + 200 = 900, of which A's 700 arrive by d+3 (B's d+5 does
    # not); masks 500 − 100 = 400, all by d+3.
    assert in_transit_by_key(D) == {
        (lanzhou.pk, n95.pk): (900, 700),
        (lanzhou.pk, masks.pk): (400, 400),
    }
    # End of d+2: B's d+5 is within d+2+3 too.
    assert in_transit_by_key(D + dt.timedelta(days=2))[(lanzhou.pk, n95.pk)] == (900, 900)


def test_the_snapshot_adds_them_to_the_reported_arrivals(on_the_road, lanzhou, n95, office):
    # Reported expected arrivals 50: arriving_3d = 50 + 700 = 750; in transit 900.
    DailyFigureFactory(
        prefecture=lanzhou, item=n95, date=D, expected_arrivals_3d=50, submitted_by=office
    )
    snapshot_build_for_date(date=D)

    row = SnapshotRow.objects.get(date=D, prefecture=lanzhou, item=n95)
    assert (row.in_transit, row.arriving_3d) == (900, 750)
