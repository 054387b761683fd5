"""An order goes draft → placed → partly arrived → arrived → closed, or is cancelled from
draft or placed only; every step is one audited service under the order's version."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from procurement.models import OrderStatus, OrderTransition
from procurement.services import (
    OrderConflict,
    OrderWrongState,
    ProcurementInvalid,
    order_arrival_record,
    order_cancel,
    order_close,
    order_place,
    order_update_draft,
)
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


def _arrive(user, order, warehouse, quantity):
    line = order.lines.get()
    return order_arrival_record(
        user=user, order=order, warehouse=warehouse, lines=[{"line": line, "quantity": quantity}]
    )


def test_it_walks_the_whole_way_and_audits_every_step(frozen_time, office, n95, sz01, make_order):
    order = make_order([(n95, 100, "3.00", LATER)], place=False)
    assert order.number == "CG-2020-001"  # the first order of 2020 (numbered per year)

    order = order_place(user=office, order=order, expected_version=order.version)
    _arrive(office, order, sz01, 40)
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTLY_ARRIVED
    _arrive(office, order, sz01, 60)
    order.refresh_from_db()
    assert order.status == OrderStatus.ARRIVED
    order = order_close(user=office, order=order, expected_version=order.version)

    steps = list(
        OrderTransition.objects.filter(order=order).values_list("from_status", "to_status", "by")
    )
    assert steps == [
        ("", "draft", office.pk),
        ("draft", "placed", office.pk),
        ("placed", "partly_arrived", office.pk),
        ("partly_arrived", "arrived", office.pk),
        ("arrived", "closed", office.pk),
    ]
    # Five moves after creation: version 1 → 5.
    assert order.version == 5


def test_it_cancels_a_draft_or_a_placed_order_with_a_reason(frozen_time, office, n95, make_order):
    draft = make_order([(n95, 10, "1.00", LATER)], place=False)
    placed = make_order([(n95, 10, "1.00", LATER)])

    with pytest.raises(ProcurementInvalid) as refused:
        order_cancel(user=office, order=draft, expected_version=draft.version, note="  ")
    assert refused.value.errors[0].field == "note"

    for order in (draft, placed):
        order = order_cancel(
            user=office, order=order, expected_version=order.version, note="供应商无法供货"
        )
        assert order.status == OrderStatus.CANCELLED
        assert order.transitions.last().note == "供应商无法供货"


def test_it_refuses_to_cancel_once_goods_arrived(frozen_time, office, n95, sz01, make_order):
    order = make_order([(n95, 10, "1.00", LATER)])
    _arrive(office, order, sz01, 4)
    order.refresh_from_db()

    with pytest.raises(OrderWrongState):
        order_cancel(user=office, order=order, expected_version=order.version, note="晚了")


def test_it_refuses_wrong_states(frozen_time, office, n95, make_order):
    placed = make_order([(n95, 10, "1.00", LATER)])

    with pytest.raises(OrderWrongState):
        order_place(user=office, order=placed, expected_version=placed.version)
    with pytest.raises(OrderWrongState):
        order_close(user=office, order=placed, expected_version=placed.version, note="x")
    with pytest.raises(OrderWrongState):
        order_update_draft(user=office, order=placed, expected_version=placed.version, note="x")


def test_it_needs_a_note_to_close_an_order_short(frozen_time, office, n95, sz01, make_order):
    order = make_order([(n95, 10, "1.00", LATER)])
    _arrive(office, order, sz01, 4)
    order.refresh_from_db()

    with pytest.raises(ProcurementInvalid):
        order_close(user=office, order=order, expected_version=order.version, note="")
    order = order_close(user=office, order=order, expected_version=order.version, note="余量取消")
    assert order.status == OrderStatus.CLOSED


def test_the_second_of_two_people_is_told_to_reload(frozen_time, office, n95, make_order):
    order = make_order([(n95, 10, "1.00", LATER)], place=False)
    seen = order.version
    order_update_draft(user=office, order=order, expected_version=seen, note="改了")

    with pytest.raises(OrderConflict):
        order_place(user=office, order=order, expected_version=seen)


def test_only_the_office_moves_orders(frozen_time, leader, officer, n95, make_order):
    order = make_order([(n95, 10, "1.00", LATER)], place=False)

    for user in (leader, officer):
        with pytest.raises(PermissionDenied):
            order_place(user=user, order=order, expected_version=order.version)
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT


def test_it_numbers_orders_per_year(office, n95, make_order):
    import time_machine

    from tests.procurement.conftest import TZ

    with time_machine.travel(dt.datetime(2020, 12, 31, 10, 0, tzinfo=TZ), tick=False):
        first = make_order([(n95, 1, "1.00", dt.date(2021, 1, 5))], place=False)
        second = make_order(
            [(n95, 1, "1.00", dt.date(2021, 1, 5))], place=False, ordered_on=dt.date(2020, 12, 31)
        )
    # 2020-12-31 23:30 UTC is already 1 January 2021 in the office (the one clock).
    with time_machine.travel(dt.datetime(2020, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        third = make_order(
            [(n95, 1, "1.00", dt.date(2021, 1, 5))], place=False, ordered_on=dt.date(2021, 1, 1)
        )

    assert [first.number, second.number, third.number] == [
        "CG-2020-001",
        "CG-2020-002",
        "CG-2021-001",
    ]


def test_it_refuses_to_cancel_an_order_with_payments(frozen_time, office, n95, make_order):
    # Paid 100.00 of 300.00: cancelling would drop the payment from the capital line's "paid".
    from procurement.services import order_payment_record

    order = make_order([(n95, 100, "3.00", LATER)])
    order_payment_record(user=office, order=order, amount="100.00")
    order.refresh_from_db()

    with pytest.raises(ProcurementInvalid) as caught:
        order_cancel(user=office, order=order, expected_version=order.version, note="不要了")

    assert [e.field for e in caught.value.errors] == ["non_field_errors"]
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_the_list_puts_the_thousandth_order_of_a_year_first(frozen_time, office, n95, make_order):
    # Numbers are text: "CG-2020-1000" sorts before "CG-2020-999". The list is newest first.
    from procurement.models import OrderYearSequence, PurchaseOrder

    make_order([(n95, 1, "1.00", LATER)], place=False)  # CG-2020-001 … then jump to 999
    OrderYearSequence.objects.filter(year=2020).update(last_number=998)
    make_order([(n95, 1, "1.00", LATER)], place=False)
    make_order([(n95, 1, "1.00", LATER)], place=False)

    assert list(PurchaseOrder.objects.values_list("number", flat=True)) == [
        "CG-2020-1000",
        "CG-2020-999",
        "CG-2020-001",
    ]


def test_a_draft_edit_changes_the_orders_note_not_the_audit_rows(
    frozen_time, office, make_order, n95
):
    """The draft edit once passed the order's note as the audit row's: the order kept its old
    note and the timeline showed the new one."""
    order = make_order([(n95, 100, "3.50", LATER)], place=False)
    order = order_update_draft(
        user=office, order=order, expected_version=order.version, note="改为下周交货"
    )
    order.refresh_from_db()
    assert order.note == "改为下周交货"
    edit = OrderTransition.objects.filter(order=order).order_by("-id").first()
    assert (edit.from_status, edit.to_status, edit.note) == (
        OrderStatus.DRAFT,
        OrderStatus.DRAFT,
        "",
    )
