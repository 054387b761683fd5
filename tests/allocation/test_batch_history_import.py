"""The paper ledger's batches migrate through the same transitions as the pages.

`batches_import_history` writes a draft, approves, dispatches, receives and closes each batch
with the functions `batch_approve`, `batch_dispatch`, `batch_receive` and `batch_close` use
(never an `.update()` of the status), so the audit trail, the version and the receipt rules are
the pages' own; only the people and times come from the ledger.
"""

import datetime as dt

import pytest
from django.urls import reverse

from allocation.models import BatchReceipt, BatchStatus, DispatchBatch
from allocation.services import AllocationError, AllocationInvalid, batches_import_history
from inventory.models import PAPER_LEDGER_NOTE, StockEvent
from reports.models import SnapshotBuild, SnapshotRebuild

from .conftest import NOW

pytestmark = pytest.mark.usefixtures("frozen_time")

DISPATCHED = NOW - dt.timedelta(days=4)


def ledger_row(warehouse, destination, lines, **extra):
    """A batch as the paper ledger has it; `approved_by` (leadership) is a required extra."""
    return {
        "number": "2020-007",
        "source_warehouse": warehouse,
        "destination": destination,
        "lines": [{"item": item, "quantity": q, "channel": "reserve"} for item, q in lines],
        "created_at": DISPATCHED - dt.timedelta(hours=20),
        "approved_at": DISPATCHED - dt.timedelta(hours=4),
        "dispatched_at": DISPATCHED,
        **extra,
    }


def test_it_records_every_step_of_the_paper_ledger_as_the_pages_would(
    office, leader, officer, stocked, to_lanzhou, n95, masks
):
    """1,000 N95 and 500 masks left on 02-16; 600 N95 and 500 masks arrived on 02-17, the
    other 400 N95 on 02-18; the office closed it on 02-19."""
    received_1, received_2 = DISPATCHED + dt.timedelta(days=1), DISPATCHED + dt.timedelta(days=2)
    closed = DISPATCHED + dt.timedelta(days=3)
    row = ledger_row(
        stocked,
        to_lanzhou,
        [(n95, 1000), (masks, 500)],
        approved_by=leader,
        receipts=[
            {"at": received_1, "by": officer, "quantities": [600, 500], "note": "第一批"},
            {"at": received_2, "by": officer, "quantities": [400, 0], "note": ""},
        ],
        closed_at=closed,
        close_note="已结清",
    )

    (batch,) = batches_import_history(user=office, batches=[row])

    steps = list(batch.transitions.values_list("from_status", "to_status", "by", "at", "note"))
    assert steps == [
        ("", BatchStatus.DRAFT, office.pk, row["created_at"], "从纸质台账迁移"),
        (BatchStatus.DRAFT, BatchStatus.APPROVED, leader.pk, row["approved_at"], "从纸质台账迁移"),
        (BatchStatus.APPROVED, BatchStatus.DISPATCHED, office.pk, DISPATCHED, "从纸质台账迁移"),
        (BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED, officer.pk, received_1, "第一批"),
        (BatchStatus.PARTLY_RECEIVED, BatchStatus.RECEIVED, officer.pk, received_2, ""),
        (BatchStatus.RECEIVED, BatchStatus.CLOSED, office.pk, closed, "已结清"),
    ]
    batch.refresh_from_db()
    # Five moves after the draft (version 1), each under the version check: 1 + 5.
    assert batch.version == 6
    assert (batch.approved_by, batch.dispatched_by, batch.received_by) == (leader, office, officer)
    assert (batch.received_at, batch.closed_at) == (received_2, closed)
    lines = {line.item.code: line for line in batch.lines.select_related("item")}
    assert (lines["FH001"].received_quantity, lines["FH001"].discrepancy) == (1000, 0)
    assert (lines["FH002"].received_quantity, lines["FH002"].discrepancy) == (500, 0)
    assert BatchReceipt.objects.filter(batch=batch).count() == 3  # 600 + 500, then 400
    assert batch.issue_event.source_document == "2020-007"


def test_it_refuses_a_completed_short_receipt_without_a_note_as_the_page_does(
    office, leader, stocked, to_lanzhou, n95
):
    """900 of 1,000 arrived and the receipt was closed as complete, with no note: the page
    would refuse it, and so does the migration, keeping nothing of the whole call."""
    row = ledger_row(
        stocked,
        to_lanzhou,
        [(n95, 1000)],
        approved_by=leader,
        receipts=[{"at": DISPATCHED + dt.timedelta(days=1), "quantities": [900], "note": ""}],
        complete=True,
    )
    events_before = StockEvent.objects.count()

    with pytest.raises(AllocationInvalid) as refused:
        batches_import_history(user=office, batches=[row])

    assert "备注" in str(refused.value.errors[0][1])  # "explain in a note"
    assert not DispatchBatch.objects.exists()
    assert StockEvent.objects.count() == events_before


def test_it_keeps_the_shortfall_of_a_completed_receipt_with_its_note(
    office, leader, stocked, to_lanzhou, n95
):
    row = ledger_row(
        stocked,
        to_lanzhou,
        [(n95, 1000)],
        approved_by=leader,
        receipts=[{"at": DISPATCHED + dt.timedelta(days=1), "quantities": [900], "note": "破损"}],
        complete=True,
    )

    (batch,) = batches_import_history(user=office, batches=[row])

    line = batch.lines.get()
    assert batch.status == BatchStatus.RECEIVED
    assert (line.received_quantity, line.discrepancy, line.discrepancy_note) == (900, -100, "破损")


def test_it_marks_the_built_snapshots_from_the_dispatch_on_stale(
    office, leader, stocked, to_lanzhou, n95
):
    """Snapshots of 02-15 and 02-18 are built; the batch left on 02-16: only 02-18 (and later
    built dates) carry its in-transit, so only 02-18 is queued for a rebuild."""
    for day in (dt.date(2020, 2, 15), dt.date(2020, 2, 18)):
        SnapshotBuild.objects.create(
            date=day,
            built_at=NOW,
            duration_ms=1,
            rows=0,
            prefectures_active=0,
            prefectures_on_time=0,
            prefectures_late=0,
            prefectures_missing=0,
        )
    SnapshotRebuild.objects.all().delete()

    row = ledger_row(stocked, to_lanzhou, [(n95, 10)], approved_by=leader)

    batches_import_history(user=office, batches=[row])

    assert list(SnapshotRebuild.objects.values_list("date", flat=True)) == [dt.date(2020, 2, 18)]


def _refused(office, row):
    """The migration refuses `row` with one message and keeps nothing of the call."""
    with pytest.raises(AllocationError) as refused:
        batches_import_history(user=office, batches=[row])
    assert not DispatchBatch.objects.exists()
    return str(refused.value)


@pytest.mark.parametrize(
    "case",
    ["approved_by_an_officer", "received_by_an_outsider", "received_twice", "nothing_received"],
)
def test_it_refuses_what_the_pages_refuse(
    case, office, leader, officer, outsider, stocked, to_lanzhou, n95
):
    """An officer cannot approve; Tianshui's officer cannot receive Lanzhou's batch; a batch
    received in full cannot be received again; a receipt of nothing (not completing) is no
    receipt."""
    arrived = DISPATCHED + dt.timedelta(days=1)
    receipts = {
        "approved_by_an_officer": [{"at": arrived, "quantities": [10]}],
        "received_by_an_outsider": [{"at": arrived, "by": outsider, "quantities": [10]}],
        "received_twice": [
            {"at": arrived, "quantities": [10]},
            {"at": arrived, "quantities": [0]},
        ],
        "nothing_received": [{"at": arrived, "quantities": [0]}],
    }[case]
    approver = officer if case == "approved_by_an_officer" else leader
    row = ledger_row(stocked, to_lanzhou, [(n95, 10)], approved_by=approver, receipts=receipts)

    _refused(office, row)


@pytest.mark.parametrize(
    "receipt",
    [
        {"at": "2020-02-17", "quantities": [10]},  # not a date and time
        {"at": NOW + dt.timedelta(days=1), "quantities": [10]},  # in the future
        {"at": DISPATCHED + dt.timedelta(days=1), "quantities": [10**15]},  # above the bound
        {"at": DISPATCHED + dt.timedelta(days=1), "quantities": [10, 10]},  # a line too many
    ],
)
def test_it_refuses_a_receipt_it_cannot_read_with_a_message(
    receipt, office, leader, stocked, to_lanzhou, n95
):
    row = ledger_row(stocked, to_lanzhou, [(n95, 10)], approved_by=leader, receipts=[receipt])

    assert _refused(office, row)


def test_it_refuses_a_closing_in_the_future(office, leader, stocked, to_lanzhou, n95):
    row = ledger_row(
        stocked,
        to_lanzhou,
        [(n95, 10)],
        approved_by=leader,
        receipts=[{"at": DISPATCHED + dt.timedelta(days=1), "quantities": [10]}],
        closed_at=NOW + dt.timedelta(days=30),
    )

    assert _refused(office, row)


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [
        ("en", "Migrated from the paper ledger", "从纸质台账迁移"),
        ("zh-hans", "从纸质台账迁移", "Migrated from the paper ledger"),
    ],
)
def test_the_dispatch_of_a_migrated_batch_says_so_in_the_readers_language(
    client, settings, office, leader, stocked, to_lanzhou, n95, language, shown, not_shown
):
    """The issue event stores the migration's marker as its note (PAPER_LEDGER_NOTE, the
    same whoever migrated); its page and its voucher word it in the reader's language."""
    (batch,) = batches_import_history(
        user=office, batches=[ledger_row(stocked, to_lanzhou, [(n95, 10)], approved_by=leader)]
    )
    event = batch.issue_event
    assert event.note == PAPER_LEDGER_NOTE

    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    for name in ("inventory:stock_event_detail", "inventory:stock_event_voucher"):
        page = client.get(reverse(name, args=[event.document_number]))
        assert page.status_code == 200
        content = page.content.decode()
        assert shown in content and not_shown not in content, name


def test_a_note_typed_on_a_stock_event_is_shown_as_typed():
    assert (
        StockEvent(note=f"{PAPER_LEDGER_NOTE}，另附清单").note_shown == "从纸质台账迁移，另附清单"
    )
    assert StockEvent(note="").note_shown == ""
