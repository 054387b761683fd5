"""The demo's allocation ledger reproduces Gansu's 10 March 2020 summary exactly.

The demo is loaded once for the module inside a transaction rolled back at the end (as in
tests/reports/test_load_demo.py); each test runs in its own savepoint.
"""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db.models import F

from allocation.models import (
    SHIPPED_STATUSES,
    BatchReceipt,
    BatchStatus,
    BatchTransition,
    DestinationKind,
    DispatchBatch,
    DispatchBatchLine,
    Donation,
    DonationRestriction,
)
from allocation.selectors import allocation_totals
from allocation.services import donation_remaining
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import StockEvent, StockEventKind
from reports.province import GANSU, province_read
from reports.province.generate import batch_plan, batch_reserve_receipts

DEMO = province_read(GANSU)


def demo_batch_plan():
    return batch_plan(DEMO)


def demo_reserve_receipts(plan):
    return batch_reserve_receipts(DEMO, plan)


def load_demo() -> str:
    out = io.StringIO()
    call_command("load_demo", "--historical", stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(demo_loaded, db):
    """The demo province, loaded once per module; changes made by a test are rolled back."""


def test_the_summary_reproduces_gansus_10_march_figures(demo):
    totals = allocation_totals(dt.date(2020, 1, 1), dt.date(2020, 3, 10))

    by_kind = {row["destination_kind"]: row["quantity"] for row in totals["by_destination_kind"]}
    assert totals["total"] == 4_637_000
    assert totals["batches"] == 58
    assert by_kind[DestinationKind.PROVINCIAL_INSTITUTION] == 115_700
    assert by_kind[DestinationKind.AID_TEAM] == 117_800
    # The 14 prefectures and Lanzhou New Area, all as prefecture destinations.
    assert by_kind[DestinationKind.PREFECTURE] == 2_350_800
    assert by_kind[DestinationKind.OTHER_PROVINCE] == 2_052_700
    assert DestinationKind.COUNTY not in by_kind
    prefectures = {
        row["name_zh"]
        for row in totals["by_destination"]
        if row["destination_kind"] == DestinationKind.PREFECTURE
    }
    assert len(prefectures) == 15 and "兰州新区" in prefectures


def test_the_batches_are_numbered_2020_001_to_058_in_dispatch_order(demo):
    # The province's batches; the prefectures' own series are tests/reports/test_demo_three_level.
    batches = list(DispatchBatch.objects.filter(issuing_prefecture=None).order_by("number"))
    assert [b.number for b in batches] == [f"2020-{n:03d}" for n in range(1, 59)]
    assert all(b.status in SHIPPED_STATUSES for b in batches)
    dispatched = [b.dispatched_at for b in batches]
    assert dispatched == sorted(dispatched)
    first, last = dispatched[0].date(), dispatched[-1].date()
    assert dt.date(2020, 1, 25) <= first <= dt.date(2020, 1, 31)
    assert last == dt.date(2020, 3, 10)
    # Each batch issued its lines in one dispatch event at its source warehouse.
    for batch in batches:
        event = batch.issue_event
        assert event.kind == StockEventKind.ISSUE
        assert event.warehouse_id == batch.source_warehouse_id
        assert event.source_document == batch.number
        assert -sum(event.lines.values_list("quantity", flat=True)) == sum(
            batch.lines.values_list("quantity", flat=True)
        )
        statuses = list(batch.transitions.values_list("to_status", flat=True))
        assert statuses[:3] == [BatchStatus.DRAFT, BatchStatus.APPROVED, BatchStatus.DISPATCHED]


def test_receipts_include_a_discrepancy_and_a_batch_still_in_transit(demo):
    short = DispatchBatchLine.objects.filter(received_quantity__lt=F("quantity"))
    assert short.filter(batch__status=BatchStatus.RECEIVED).count() == 1
    assert DispatchBatch.objects.get(number="2020-058").status == BatchStatus.PARTLY_RECEIVED
    for line in DispatchBatchLine.objects.all():
        assert line.received_quantity == sum(line.receipts.values_list("quantity", flat=True))
    assert BatchReceipt.objects.exists() and BatchTransition.objects.exists()


def test_the_donations_went_where_their_restrictions_allow_and_are_used_up(demo):
    donations = list(Donation.objects.all())
    assert len(donations) == 4
    restrictions = {d.restriction for d in donations}
    assert {DonationRestriction.FRONT_LINE_STAFF, DonationRestriction.NAMED_PREFECTURE} <= (
        restrictions
    )
    for donation in donations:
        assert set(donation_remaining(donation).values()) == {0}
        lines = DispatchBatchLine.objects.filter(donation=donation).select_related(
            "batch__destination"
        )
        for line in lines:
            if donation.restriction == DonationRestriction.NAMED_PREFECTURE:
                assert line.batch.destination.prefecture_id == donation.restricted_prefecture_id
            if donation.restriction == DonationRestriction.FRONT_LINE_STAFF:
                assert line.batch.destination.kind != DestinationKind.OTHER_PROVINCE


def test_the_reserve_ledger_stays_consistent(demo):
    assert ledger_drift() == []
    out = io.StringIO()
    call_command("ledger_verify", stdout=out)


def test_a_second_load_posts_nothing(demo):
    counts = (
        DispatchBatch.objects.count(),
        DispatchBatchLine.objects.count(),
        BatchReceipt.objects.count(),
        BatchTransition.objects.count(),
        Donation.objects.count(),
        StockEvent.objects.count(),
    )

    out = load_demo()

    assert (
        DispatchBatch.objects.count(),
        DispatchBatchLine.objects.count(),
        BatchReceipt.objects.count(),
        BatchTransition.objects.count(),
        Donation.objects.count(),
        StockEvent.objects.count(),
    ) == counts
    assert "0 batches created (58 already there)" in out
    assert "0 reserve receipts posted" in out


def test_the_plan_is_deterministic_and_adds_up():
    first, second = demo_batch_plan(), demo_batch_plan()
    assert [(b.number, b.at, b.lines) for b in first] == [(b.number, b.at, b.lines) for b in second]
    assert demo_reserve_receipts(first) == demo_reserve_receipts(second)
    assert sum(q for b in first for _i, _c, q, _d in b.lines) == 4_637_000
