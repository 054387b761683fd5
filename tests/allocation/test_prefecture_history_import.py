"""A prefecture's own paper ledger migrates like the province's (three-level dispatch, issue 15).

The office types in what Lanzhou kept on paper: a batch numbered in Lanzhou's series
(620100-2020-003) from Lanzhou's warehouse LZ01 to its county 榆中县, drafted and dispatched by
Lanzhou's officer, approved by Lanzhou's lead, received by Yuzhong's county officer. The rules of
the batch's level hold for every person named; Lanzhou's series moves past the number.
"""

import datetime as dt

import pytest

from allocation.models import BatchStatus, Destination, DestinationKind, PrefectureBatchSequence
from allocation.services import AllocationInvalid, batch_create, batches_import_history
from inventory.models import ReceiptSource, WarehouseKind
from inventory.services import stock_receive
from tests.factories import WarehouseFactory

from .conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen_time")

DISPATCHED = NOW - dt.timedelta(days=4)


@pytest.fixture
def lz01(lanzhou, office, n95):
    """LZ01 holds 1,000 N95 from five days ago."""
    warehouse = WarehouseFactory(code="LZ01", kind=WarehouseKind.PREFECTURE, prefecture=lanzhou)
    stock_receive(
        user=office,
        warehouse=warehouse,
        lines=[(n95, 1000)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    return warehouse


@pytest.fixture
def to_yuzhong(yuzhong):
    return Destination.objects.create(
        kind=DestinationKind.COUNTY,
        name_zh="榆中县",
        prefecture=yuzhong.prefecture,
        county=yuzhong,
        code="620123",
    )


def row(lz01, to_yuzhong, n95, **people):
    return {
        "number": "620100-2020-003",
        "source_warehouse": lz01,
        "destination": to_yuzhong,
        "lines": [{"item": n95, "quantity": 300, "channel": "reserve"}],
        "created_at": DISPATCHED - dt.timedelta(hours=20),
        "approved_at": DISPATCHED - dt.timedelta(hours=4),
        "dispatched_at": DISPATCHED,
        **people,
    }


def test_it_migrates_a_prefectures_batch_with_its_own_people_and_series(
    office, officer, lead, county_officer, lz01, to_yuzhong, n95
):
    """300 N95 left LZ01 for 榆中县 four days ago; 280 arrived the next day (20 short)."""
    arrived = DISPATCHED + dt.timedelta(days=1)
    (batch,) = batches_import_history(
        user=office,
        batches=[
            row(
                lz01,
                to_yuzhong,
                n95,
                created_by=officer,
                approved_by=lead,
                dispatched_by=officer,
                receipts=[
                    {"at": arrived, "by": county_officer, "quantities": [280], "note": "破损"}
                ],
                complete=True,
            )
        ],
    )

    batch.refresh_from_db()
    assert batch.issuing_prefecture == lz01.prefecture
    assert (batch.created_by, batch.approved_by, batch.dispatched_by, batch.received_by) == (
        officer,
        lead,
        officer,
        county_officer,
    )
    assert batch.status == BatchStatus.RECEIVED
    line = batch.lines.get()
    assert (line.received_quantity, line.discrepancy) == (280, -20)
    # LZ01: 1,000 − 300 = 700.
    assert lz01.balances.get(item=n95).quantity == 700
    # Lanzhou's series moved past 3: its next batch is 004; the province's series is untouched.
    assert (
        PrefectureBatchSequence.objects.get(prefecture=lz01.prefecture, year=2020).last_number == 3
    )
    following = batch_create(
        user=officer,
        source_warehouse=lz01,
        destination=to_yuzhong,
        lines=[{"item": n95, "quantity": 10, "channel": "reserve"}],
    )
    assert following.number == "620100-2020-004"


@pytest.mark.parametrize(
    ("number", "people"),
    [
        # The province's numbering for a prefecture's warehouse.
        ("2020-003", {"approved_by": "lead"}),
        # Another prefecture's series.
        ("620500-2020-003", {"approved_by": "lead"}),
        # Leadership approves the province's batches, not Lanzhou's.
        ("620100-2020-003", {"approved_by": "leader"}),
        # Only Lanzhou's officers draft and dispatch Lanzhou's batches.
        ("620100-2020-003", {"approved_by": "lead", "dispatched_by": "outsider"}),
        ("620100-2020-003", {"approved_by": "lead", "created_by": "office"}),
    ],
)
def test_it_refuses_a_prefectures_batch_with_the_wrong_series_or_people(
    request, office, lz01, to_yuzhong, n95, number, people
):
    people = {key: request.getfixturevalue(name) for key, name in people.items()}
    raw = {**row(lz01, to_yuzhong, n95, **people), "number": number}

    with pytest.raises(AllocationInvalid):
        batches_import_history(user=office, batches=[raw])

    assert not lz01.prefecture.issued_batches.exists()
    assert lz01.balances.get(item=n95).quantity == 1000
