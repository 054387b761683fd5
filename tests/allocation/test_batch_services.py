"""Dispatch batches from draft to closed, through the services, with every refusal."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from allocation.models import BatchReceipt, BatchStatus, BatchTransition, DispatchBatch
from allocation.services import (
    AllocationInvalid,
    BatchConflict,
    BatchStockShort,
    BatchWrongState,
    batch_approve,
    batch_cancel,
    batch_close,
    batch_dispatch,
    batch_receive,
    batch_update_draft,
)
from inventory.models import StockBalance, StockEvent, StockEventKind
from supplycoord.models import Role
from tests.allocation.conftest import NOW, TZ, dispatched_batch, make_batch
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("frozen_time")


def balance(warehouse, item) -> int:
    return StockBalance.objects.get(warehouse=warehouse, item=item).quantity


def transitions(batch):
    return list(
        BatchTransition.objects.filter(batch=batch)
        .order_by("id")
        .values_list("from_status", "to_status", "by__username")
    )


def test_it_numbers_batches_sequentially_per_year(office, stocked, to_lanzhou, n95, frozen_time):
    first = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    second = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    frozen_time.move_to(dt.datetime(2021, 1, 2, 9, 0, tzinfo=TZ))
    next_year = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    assert [first.number, second.number, next_year.number] == ["2020-001", "2020-002", "2021-001"]


def test_it_gives_a_refused_batch_number_back(office, stocked, to_lanzhou, n95):
    with pytest.raises(AllocationInvalid):
        make_batch(office, stocked, to_lanzhou, [(n95, 0)])

    assert make_batch(office, stocked, to_lanzhou, [(n95, 10)]).number == "2020-001"


def test_it_takes_a_batch_from_draft_to_closed(office, leader, officer, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 1000)], expected_arrival=NOW.date())
    assert (batch.status, batch.version) == (BatchStatus.DRAFT, 1)

    batch = batch_approve(user=leader, batch=batch, expected_version=1)
    batch = batch_dispatch(user=office, batch=batch, expected_version=2)
    batch = batch_receive(
        user=officer, batch=batch, expected_version=3, received={batch.lines.get().pk: 1000}
    )
    batch = batch_close(user=office, batch=batch, expected_version=4, note="settled")

    assert (batch.status, batch.version) == (BatchStatus.CLOSED, 5)
    assert batch.approved_by == leader and batch.dispatched_by == office
    assert batch.received_by == officer and batch.closed_by == office
    assert transitions(batch) == [
        ("", "draft", "office"),
        ("draft", "approved", "leader"),
        ("approved", "dispatched", "office"),
        ("dispatched", "received", "officer"),
        ("received", "closed", "office"),
    ]


def test_it_posts_one_issue_event_with_every_line_at_dispatch(
    office, leader, stocked, to_lanzhou, n95, masks
):
    # Two lines of N95 from different channels become one issue line of 1,500.
    batch = dispatched_batch(
        office,
        leader,
        stocked,
        to_lanzhou,
        [(n95, 1000), (masks, 200), {"item": n95, "quantity": 500, "channel": "purchase"}],
    )

    event = batch.issue_event
    assert event.kind == StockEventKind.ISSUE and event.issue_kind == "dispatch"
    assert event.source_document == batch.number and event.counterparty == "兰州市"
    assert sorted(event.lines.values_list("item__code", "quantity")) == [
        ("FH001", -1500),
        ("FH002", -200),
    ]
    assert balance(stocked, n95) == 3500 and balance(stocked, masks) == 1800
    assert batch.dispatched_at == NOW


def test_it_refuses_to_dispatch_short_stock_listing_each_item_and_changes_nothing(
    office, leader, stocked, to_lanzhou, n95, masks
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 6000), (masks, 2500)])
    batch = batch_approve(user=leader, batch=batch, expected_version=1)
    events_before = StockEvent.objects.count()

    with pytest.raises(BatchStockShort) as refused:
        batch_dispatch(user=office, batch=batch, expected_version=2)

    assert [(s.item.code, s.requested, s.available) for s in refused.value.shortfalls] == [
        ("FH001", 6000, 5000),
        ("FH002", 2500, 2000),
    ]
    # Each item by its name (the reader's language), its figures grouped.
    message = refused.value.message
    assert (n95.name, masks.name) == ("N95口罩", "医用外科口罩")
    assert all(text in message for text in ("N95口罩", "6,000", "5,000", "医用外科口罩", "2,500"))
    assert "FH001" not in message
    batch.refresh_from_db()
    assert (batch.status, batch.version, batch.issue_event) == (BatchStatus.APPROVED, 2, None)
    assert StockEvent.objects.count() == events_before
    assert balance(stocked, n95) == 5000
    assert BatchTransition.objects.filter(batch=batch).count() == 2


def test_it_refuses_transitions_from_the_wrong_state(office, leader, stocked, to_lanzhou, n95):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    with pytest.raises(BatchWrongState):
        batch_dispatch(user=office, batch=batch, expected_version=1)
    with pytest.raises(BatchWrongState):
        batch_close(user=office, batch=batch, expected_version=1, note="x")
    with pytest.raises(BatchWrongState):
        batch_receive(
            user=office, batch=batch, expected_version=1, received={batch.lines.get().pk: 1}
        )
    batch = batch_approve(user=leader, batch=batch, expected_version=1)
    with pytest.raises(BatchWrongState):
        batch_approve(user=leader, batch=batch, expected_version=2)
    with pytest.raises(BatchWrongState):
        batch_update_draft(user=office, batch=batch, expected_version=2, carrier="顺丰")


def test_it_cancels_only_before_dispatch(office, leader, stocked, to_lanzhou, n95):
    draft = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    approved = batch_approve(
        user=leader, batch=make_batch(office, stocked, to_lanzhou, [(n95, 10)]), expected_version=1
    )
    shipped = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])

    draft = batch_cancel(user=office, batch=draft, expected_version=1, note="duplicate")
    approved = batch_cancel(user=office, batch=approved, expected_version=2, note="merged")
    with pytest.raises(BatchWrongState):
        batch_cancel(user=office, batch=shipped, expected_version=shipped.version, note="late")

    assert draft.status == approved.status == BatchStatus.CANCELLED
    assert transitions(draft)[-1] == ("draft", "cancelled", "office")


def test_a_cancel_without_a_reason_is_refused_and_the_reason_is_audited(
    office, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    with translation.override("en"), pytest.raises(AllocationInvalid) as refused:
        batch_cancel(user=office, batch=batch, expected_version=1, note="   ")
    batch = batch_cancel(user=office, batch=batch, expected_version=1, note=" 与第12批重复 ")

    assert "reason for cancelling" in refused.value.message
    assert batch.status == BatchStatus.CANCELLED and batch.version == 2
    assert batch.transitions.order_by("at", "id").last().note == "与第12批重复"


@pytest.mark.parametrize(
    "role", [Role.OFFICE_STAFF, Role.PREFECTURE_OFFICER, Role.PRODUCER_REPORTER]
)
def test_it_lets_only_leadership_or_an_admin_approve(
    role, office, admin_user, lanzhou, stocked, to_lanzhou, n95
):
    user = UserFactory(username=f"u-{role}", role=role, prefecture=lanzhou)
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    with pytest.raises(PermissionDenied):
        batch_approve(user=user, batch=batch, expected_version=1)
    assert batch_approve(user=admin_user, batch=batch, expected_version=1).status == "approved"


def test_it_lets_only_the_office_create_dispatch_close_and_cancel(
    office, leader, officer, stocked, to_lanzhou, n95
):
    with pytest.raises(PermissionDenied):
        make_batch(leader, stocked, to_lanzhou, [(n95, 10)])
    batch = batch_approve(
        user=leader, batch=make_batch(office, stocked, to_lanzhou, [(n95, 10)]), expected_version=1
    )
    for user in (leader, officer):
        with pytest.raises(PermissionDenied):
            batch_dispatch(user=user, batch=batch, expected_version=2)
        with pytest.raises(PermissionDenied):
            batch_cancel(user=user, batch=batch, expected_version=2, note="no")
    with pytest.raises(PermissionDenied):
        batch_update_draft(user=officer, batch=batch, expected_version=2)
    batch = batch_dispatch(user=office, batch=batch, expected_version=2)
    batch = batch_receive(
        user=officer, batch=batch, expected_version=3, received={batch.lines.get().pk: 4}
    )
    with pytest.raises(PermissionDenied):
        batch_close(user=officer, batch=batch, expected_version=4, note="x")


def test_it_refuses_a_receipt_by_an_outsider_officer_or_leadership(
    office, leader, outsider, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 10)])
    line = batch.lines.get()

    for user in (outsider, leader):
        with pytest.raises(PermissionDenied):
            batch_receive(user=user, batch=batch, expected_version=3, received={line.pk: 10})
    assert not BatchReceipt.objects.exists()


def test_it_lets_the_confirming_officer_of_an_institution_receive(
    office, leader, outsider, stocked, to_hospital, n95
):
    to_hospital.confirming_officer = outsider
    to_hospital.save()
    batch = dispatched_batch(office, leader, stocked, to_hospital, [(n95, 10)])

    batch = batch_receive(
        user=outsider, batch=batch, expected_version=3, received={batch.lines.get().pk: 10}
    )

    assert batch.status == BatchStatus.RECEIVED


def test_it_adds_up_partial_receipts(office, leader, officer, stocked, to_lanzhou, n95, masks):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 1000), (masks, 200)])
    n95_line, masks_line = batch.lines.order_by("id")

    batch = batch_receive(
        user=officer, batch=batch, expected_version=3, received={n95_line.pk: 300}
    )
    assert batch.status == BatchStatus.PARTLY_RECEIVED
    batch = batch_receive(
        user=officer,
        batch=batch,
        expected_version=4,
        received={str(n95_line.pk): 700, masks_line.pk: 200},
    )

    assert batch.status == BatchStatus.RECEIVED
    n95_line.refresh_from_db()
    assert (n95_line.received_quantity, n95_line.discrepancy) == (1000, 0)
    assert list(BatchReceipt.objects.order_by("id").values_list("line", "quantity")) == [
        (n95_line.pk, 300),
        (n95_line.pk, 700),
        (masks_line.pk, 200),
    ]
    assert transitions(batch)[-2:] == [
        ("dispatched", "partly_received", "officer"),
        ("partly_received", "received", "officer"),
    ]


def test_it_keeps_a_shortage_visible_as_a_discrepancy_with_its_note(
    office, leader, officer, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 1000)])
    line = batch.lines.get()

    with pytest.raises(AllocationInvalid):  # completing short needs a note
        batch_receive(
            user=officer, batch=batch, expected_version=3, received={line.pk: 980}, complete=True
        )
    batch = batch_receive(
        user=officer,
        batch=batch,
        expected_version=3,
        received={line.pk: 980},
        complete=True,
        note="20 damaged in transport",
    )

    line.refresh_from_db()
    assert batch.status == BatchStatus.RECEIVED
    assert (line.received_quantity, line.discrepancy) == (980, -20)
    assert line.discrepancy_note == "20 damaged in transport"


def test_it_accepts_more_than_shipped_as_a_discrepancy_with_a_note(
    office, leader, officer, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 100)])
    line = batch.lines.get()

    with pytest.raises(AllocationInvalid):
        batch_receive(user=officer, batch=batch, expected_version=3, received={line.pk: 120})
    batch = batch_receive(
        user=officer, batch=batch, expected_version=3, received={line.pk: 120}, note="counted 120"
    )

    line.refresh_from_db()
    assert (batch.status, line.discrepancy) == (BatchStatus.RECEIVED, 20)


def test_it_refuses_receipts_of_nothing_foreign_lines_or_the_future(
    office, leader, officer, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 100)])
    other = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 100)])
    line = batch.lines.get()

    for kwargs in (
        {"received": {}},
        {"received": {line.pk: -1}},
        {"received": {other.lines.get().pk: 10}},
        {"received": {line.pk: 10}, "received_at": NOW + dt.timedelta(hours=1)},
        {"received": {line.pk: 10}, "received_at": NOW - dt.timedelta(days=1)},
    ):
        with pytest.raises(AllocationInvalid):
            batch_receive(user=officer, batch=batch, expected_version=3, **kwargs)
    assert not BatchReceipt.objects.exists()


def test_it_closes_a_partly_received_batch_with_a_note(
    office, leader, officer, stocked, to_lanzhou, n95
):
    batch = dispatched_batch(office, leader, stocked, to_lanzhou, [(n95, 100)])
    batch = batch_receive(
        user=officer, batch=batch, expected_version=3, received={batch.lines.get().pk: 60}
    )

    with pytest.raises(AllocationInvalid):
        batch_close(user=office, batch=batch, expected_version=4, note=" ")
    batch = batch_close(user=office, batch=batch, expected_version=4, note="40 lost, reported")

    assert batch.status == BatchStatus.CLOSED
    assert transitions(batch)[-1] == ("partly_received", "closed", "office")


def test_it_gives_the_second_of_two_calls_with_the_same_version_a_conflict(
    office, leader, stocked, to_lanzhou, n95
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])
    stale = DispatchBatch.objects.get(pk=batch.pk)

    batch_approve(user=leader, batch=batch, expected_version=1)
    with translation.override("en"), pytest.raises(BatchConflict) as conflict:
        batch_cancel(user=office, batch=stale, expected_version=1, note="stale")

    assert "Someone else changed this batch" in conflict.value.message
    assert DispatchBatch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED


def test_it_edits_a_draft_and_replaces_its_lines(
    office, stocked, to_lanzhou, to_hospital, n95, masks
):
    batch = make_batch(office, stocked, to_lanzhou, [(n95, 10)])

    batch = batch_update_draft(
        user=office,
        batch=batch,
        expected_version=1,
        destination=to_hospital,
        carrier="顺丰",
        lines=[{"item": masks, "quantity": 50, "channel": "purchase"}],
    )

    assert (batch.version, batch.destination, batch.carrier) == (2, to_hospital, "顺丰")
    assert list(batch.lines.values_list("item__code", "quantity", "channel")) == [
        ("FH002", 50, "purchase")
    ]
    assert transitions(batch)[-1] == ("draft", "draft", "office")


def test_it_refuses_invalid_lines_all_at_once(office, stocked, to_lanzhou, n95):
    with pytest.raises(AllocationInvalid) as invalid:
        make_batch(
            office,
            stocked,
            to_lanzhou,
            [
                {"item": "NOPE", "quantity": 1, "channel": "reserve"},
                {"item": n95, "quantity": -5, "channel": "reserve"},
                {"item": n95, "quantity": 5, "channel": "gift"},
                {"item": n95, "quantity": 5, "channel": "donation"},
            ],
        )

    assert [index for index, _message in invalid.value.errors] == [0, 1, 2, 3]
    assert not DispatchBatch.objects.exists()
