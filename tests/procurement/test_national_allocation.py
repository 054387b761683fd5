"""National allocation (上面调): a request sent up is granted by the announcements linked to it
(partly granted, then granted), or refused with a reason; each announcement arrives as
receipts (national allocation) into its reserve warehouse, in parts, never above what was
announced; an announcement past its expected arrival with goods outstanding is overdue."""

import datetime as dt
import uuid

import pytest

from inventory.models import ReceiptSource, StockBalance, StockEvent
from inventory.selectors import balances_visible_to
from procurement.models import (
    NationalAllocation,
    NationalAllocationArrival,
    NationalRequestStatus,
)
from procurement.selectors import (
    national_allocations_outstanding_by_item,
    overdue_national_allocations,
)
from procurement.services import (
    ProcurementError,
    ProcurementInvalid,
    RequestConflict,
    national_allocation_announce,
    national_allocation_arrival_record,
    national_request_create,
    national_request_refuse,
)
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


def _balance(user, warehouse, item):
    row = balances_visible_to(user, warehouse=warehouse, item=item).first()
    return row.quantity if row else 0


@pytest.fixture
def sent(frozen_time, office, n95):
    """SQ-2020-001: 100,000 N95 asked for; net requirement 80,000 (entered by the office)."""
    return national_request_create(
        user=office,
        item=n95,
        quantity=100_000,
        net_requirement=80_000,
        justification="全省N95缺口：日消耗2万只，库存仅够4天。",
    )


def _announce(office, item, quantity, warehouse, **kwargs):
    return national_allocation_announce(
        user=office,
        item=item,
        quantity=quantity,
        expected_arrival=kwargs.pop("expected_arrival", LATER),
        warehouse=warehouse,
        **kwargs,
    )


def test_it_numbers_requests_per_year_and_records_them_as_sent(sent, office, n95):
    second = national_request_create(user=office, item=n95, quantity=1, justification="再申请")

    assert (sent.number, second.number) == ("SQ-2020-001", "SQ-2020-002")
    assert sent.status == NationalRequestStatus.SENT
    assert sent.sent_on == TODAY
    assert sent.net_requirement == 80_000
    assert [(t.from_status, t.to_status, t.by) for t in sent.transitions.all()] == [
        ("", "sent", office)
    ]


def test_two_announcements_grant_it_partly_then_fully(sent, office, sz01, n95):
    # First: 60,000 of 100,000 → partly granted (granted 60,000 < requested 100,000).
    _announce(office, n95, 60_000, sz01, request=sent, reference="国调〔2020〕1号")
    sent.refresh_from_db()
    assert (sent.status, sent.granted_quantity) == ("partly_granted", 60_000)

    # Second, by number: 60,000 + 40,000 = 100,000 = requested → granted.
    _announce(office, n95, 40_000, sz01, request=sent.number, reference="国调〔2020〕2号")
    sent.refresh_from_db()
    assert (sent.status, sent.granted_quantity) == ("granted", 100_000)
    assert sent.version == 3
    assert [(t.from_status, t.to_status, t.note) for t in sent.transitions.all()] == [
        ("", "sent", ""),
        ("sent", "partly_granted", "国调〔2020〕1号"),
        ("partly_granted", "granted", "国调〔2020〕2号"),
    ]


def test_an_announcement_for_another_item_than_the_request_is_refused(sent, office, sz01, masks):
    with pytest.raises(ProcurementInvalid) as caught:
        _announce(office, masks, 10, sz01, request=sent)
    assert [e.field for e in caught.value.errors] == ["request"]
    assert NationalAllocation.objects.count() == 0


def test_arrival_in_two_parts_moves_the_reserve_balance(frozen_time, office, sz01, n95):
    allocation = _announce(office, n95, 10_000, sz01, reference="国调〔2020〕3号")

    first = national_allocation_arrival_record(
        user=office, allocation=allocation, quantity=6_000, note="第一批"
    )
    allocation.refresh_from_db()
    # 6,000 in the warehouse; 10,000 − 6,000 = 4,000 still expected.
    assert _balance(office, sz01, n95) == 6_000
    assert allocation.outstanding == 4_000
    assert national_allocations_outstanding_by_item(until=LATER) == {n95.pk: 4_000}

    second = national_allocation_arrival_record(user=office, allocation=allocation, quantity=4_000)
    allocation.refresh_from_db()
    assert _balance(office, sz01, n95) == 10_000
    assert allocation.outstanding == 0
    assert national_allocations_outstanding_by_item(until=LATER) == {}

    for arrival in (first, second):
        event = arrival.receipt_event
        assert event.receipt_source == ReceiptSource.NATIONAL_ALLOCATION
        assert event.source_document == "国调〔2020〕3号"
        assert event.warehouse == sz01


def test_a_retried_arrival_with_its_client_uuid_records_nothing_twice(
    frozen_time, office, sz01, n95
):
    allocation = _announce(office, n95, 100, sz01)
    key = uuid.uuid4()
    first = national_allocation_arrival_record(
        user=office, allocation=allocation, quantity=30, client_uuid=key
    )
    again = national_allocation_arrival_record(
        user=office, allocation=allocation, quantity=30, client_uuid=str(key)
    )

    assert again.pk == first.pk and again.replayed
    assert _balance(office, sz01, n95) == 30
    assert NationalAllocationArrival.objects.count() == 1


def test_over_arrival_is_refused_by_field_and_nothing_is_saved(frozen_time, office, sz01, n95):
    allocation = _announce(office, n95, 1_000, sz01)
    national_allocation_arrival_record(user=office, allocation=allocation, quantity=400)
    before = (StockEvent.objects.count(), list(StockBalance.objects.values_list("quantity")))

    # 1,000 announced − 400 arrived = 600 still expected: 601 is one too many.
    with pytest.raises(ProcurementInvalid) as caught:
        national_allocation_arrival_record(user=office, allocation=allocation, quantity=601)

    assert [(e.line, e.field) for e in caught.value.errors] == [(None, "quantity")]
    assert "600" in caught.value.errors[0].message
    allocation.refresh_from_db()
    assert allocation.arrived_quantity == 400
    assert (StockEvent.objects.count(), list(StockBalance.objects.values_list("quantity"))) == (
        before
    )
    assert NationalAllocationArrival.objects.count() == 1


def test_a_refused_request_keeps_its_reason_and_takes_no_announcement(sent, office, sz01, n95):
    refused = national_request_refuse(
        user=office, request=sent, expected_version=sent.version, reason="国家储备不足"
    )

    assert (refused.status, refused.refusal_reason) == ("refused", "国家储备不足")
    assert refused.transitions.last().note == "国家储备不足"
    with pytest.raises(ProcurementInvalid):
        _announce(office, n95, 10, sz01, request=refused)
    with pytest.raises(ProcurementError):
        national_request_refuse(
            user=office, request=refused, expected_version=refused.version, reason="again"
        )


def test_refusal_needs_a_reason_and_the_version_read(sent, office):
    with pytest.raises(ProcurementInvalid) as caught:
        national_request_refuse(user=office, request=sent, expected_version=sent.version, reason="")
    assert [e.field for e in caught.value.errors] == ["reason"]
    with pytest.raises(RequestConflict):
        national_request_refuse(user=office, request=sent, expected_version=99, reason="x")
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_overdue_on_a_given_date_and_outstanding_by_item(frozen_time, office, sz01, n95, masks):
    day = dt.date(2020, 2, 25)  # the date asked about
    # A: N95 10,000 expected the 21st, 3,000 arrived → overdue on the 25th, 7,000 outstanding.
    a = _announce(office, n95, 10_000, sz01, expected_arrival=dt.date(2020, 2, 21))
    national_allocation_arrival_record(user=office, allocation=a, quantity=3_000)
    # B: masks 500 expected the 24th, nothing arrived → overdue.
    b = _announce(office, masks, 500, sz01, expected_arrival=dt.date(2020, 2, 24))
    # C: N95 2,000 expected on the 25th itself → not yet overdue; in the window.
    _announce(office, n95, 2_000, sz01, expected_arrival=day)
    # D: masks 100 expected the 21st, all arrived → not overdue.
    d = _announce(office, masks, 100, sz01, expected_arrival=dt.date(2020, 2, 21))
    national_allocation_arrival_record(user=office, allocation=d, quantity=100)
    # E: N95 900 expected the 28th (d + 3) and F: 50 the 29th (beyond d + 3).
    _announce(office, n95, 900, sz01, expected_arrival=dt.date(2020, 2, 28))
    _announce(office, n95, 50, sz01, expected_arrival=dt.date(2020, 2, 29))

    assert list(overdue_national_allocations(date=day)) == [a, b]
    assert list(overdue_national_allocations(date=day, item=masks)) == [b]
    # In the 3-day window [25th, 28th], overdue apart: N95 2,000 + 900 = 2,900; masks none.
    assert national_allocations_outstanding_by_item(
        since=day, until=day + dt.timedelta(days=3)
    ) == {n95.pk: 2_900}
    # Everything expected by the 28th, overdue included: N95 7,000 + 2,000 + 900 = 9,900;
    # masks 500.
    assert national_allocations_outstanding_by_item(until=dt.date(2020, 2, 28)) == {
        n95.pk: 9_900,
        masks.pk: 500,
    }


def test_an_announcement_beyond_what_is_still_requested_is_refused(sent, office, sz01, n95):
    # Requested 100,000; 100,000 announced (granted). The same notice recorded again (a second
    # click) would make it 200,000: refused by field, nothing saved; 1 more is refused too.
    _announce(office, n95, 100_000, sz01, request=sent, reference="国调〔2020〕1号")
    for quantity in (100_000, 1):
        with pytest.raises(ProcurementInvalid) as caught:
            _announce(office, n95, quantity, sz01, request=sent, reference="国调〔2020〕1号")
        assert [e.field for e in caught.value.errors] == ["quantity"]
    sent.refresh_from_db()
    assert (sent.status, sent.granted_quantity) == ("granted", 100_000)
    assert NationalAllocation.objects.count() == 1
    # Unlinked, an allocation beyond the request is recorded.
    _announce(office, n95, 5_000, sz01)
    assert NationalAllocation.objects.count() == 2
