"""Two batches dispatched at the same moment, competing for the same stock (PostgreSQL)."""

import pytest

from allocation.models import BatchStatus, DispatchBatch
from allocation.services import BatchConflict, BatchStockShort, batch_approve, batch_dispatch
from inventory.management.commands.ledger_verify import ledger_drift
from inventory.models import ReceiptSource, StockBalance, StockEvent
from inventory.services import stock_receive
from tests.allocation.conftest import make_batch
from tests.inventory.test_concurrency import _run_together

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_it_dispatches_one_of_two_batches_competing_for_the_same_stock(
    office, leader, sz01, to_lanzhou, to_hospital, n95
):
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 1000)], source=ReceiptSource.PURCHASE)
    batches = []
    for destination in (to_lanzhou, to_hospital):
        batch = make_batch(office, sz01, destination, [(n95, 700)])
        batches.append(batch_approve(user=leader, batch=batch, expected_version=1))
    queue = list(batches)

    results, errors = _run_together(
        lambda: batch_dispatch(user=office, batch=queue.pop(), expected_version=2)
    )

    assert len(results) == 1 and len(errors) == 1
    assert isinstance(errors[0], BatchStockShort)
    assert [(s.requested, s.available) for s in errors[0].shortfalls] == [(700, 300)]
    statuses = sorted(DispatchBatch.objects.values_list("status", flat=True))
    assert statuses == [BatchStatus.APPROVED, BatchStatus.DISPATCHED]
    assert StockBalance.objects.get(warehouse=sz01, item=n95).quantity == 300
    assert StockEvent.objects.filter(issue_kind="dispatch").count() == 1
    assert ledger_drift() == []


def test_it_dispatches_a_batch_once_when_two_people_press_dispatch_at_once(
    office, leader, sz01, to_lanzhou, n95
):
    stock_receive(user=office, warehouse=sz01, lines=[(n95, 1000)], source=ReceiptSource.PURCHASE)
    batch = make_batch(office, sz01, to_lanzhou, [(n95, 100)])
    batch = batch_approve(user=leader, batch=batch, expected_version=1)

    results, errors = _run_together(
        lambda: batch_dispatch(user=office, batch=batch, expected_version=2)
    )

    assert len(results) == 1 and [type(e) for e in errors] == [BatchConflict]
    assert StockBalance.objects.get(warehouse=sz01, item=n95).quantity == 900
    assert ledger_drift() == []
