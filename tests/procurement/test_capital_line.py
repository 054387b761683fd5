"""The working-capital line (周转金) of a reserve-task unit, computed from its orders."""

import datetime as dt
from decimal import Decimal

from procurement.models import FundingSource
from procurement.selectors import capital_line, capital_lines, units_over_capital_line
from procurement.services import order_cancel, order_payment_record
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=7)


def test_it_computes_granted_committed_paid_and_remaining(
    frozen_time, office, unit, n95, masks, make_order
):
    wc = FundingSource.WORKING_CAPITAL
    # Order A: 1,000,000 N95 × 3.50 = 3,500,000.00 yuan; placed.
    a = make_order([(n95, 1_000_000, "3.50", LATER)], buyer_unit=unit, funding=wc)
    # Order B: 2,000,000 N95 × 2.00 = 4,000,000.00 + 500,000 masks × 0.80 = 400,000.00
    #          = 4,400,000.00 yuan; placed.
    make_order(
        [(n95, 2_000_000, "2.00", LATER), (masks, 500_000, "0.80", LATER)],
        buyer_unit=unit,
        funding=wc,
    )
    # A draft commits nothing (not sent): 9,999,999.99 stays out of the line.
    make_order([(masks, 1, "9999999.99", LATER)], buyer_unit=unit, funding=wc, place=False)
    # Fiscal funds of the same unit are not on its working-capital line.
    make_order([(n95, 10, "1000.00", LATER)], buyer_unit=unit, funding=FundingSource.FISCAL)
    # Order A is paid in full.
    order_payment_record(user=office, order=a, amount="3500000.00")

    line = capital_line(unit)

    assert line.granted == Decimal("20000000.00")
    # committed = A unpaid 0 + B 4,400,000.00
    assert line.committed == Decimal("4400000.00")
    assert line.paid == Decimal("3500000.00")
    # remaining = 20,000,000 − 4,400,000 − 3,500,000 = 12,100,000.00
    assert line.remaining == Decimal("12100000.00")
    assert not line.over


def test_it_frees_what_a_cancelled_order_held(frozen_time, office, unit, n95, make_order):
    wc = FundingSource.WORKING_CAPITAL
    order = make_order([(n95, 1_000_000, "5.00", LATER)], buyer_unit=unit, funding=wc)
    assert capital_line(unit).committed == Decimal("5000000.00")

    order_cancel(user=office, order=order, expected_version=order.version, note="供应商无货")

    line = capital_line(unit)
    assert line.committed == Decimal("0.00")
    assert line.remaining == Decimal("20000000.00")


def test_it_raises_the_alert_when_commitments_exceed_the_line(
    frozen_time, office, unit, n95, masks, make_order
):
    wc = FundingSource.WORKING_CAPITAL
    # 12,000,000.00 + 9,000,000.50 = 21,000,000.50 > 20,000,000.00: over by 1,000,000.50.
    make_order([(n95, 3_000_000, "4.00", LATER)], buyer_unit=unit, funding=wc)
    make_order([(masks, 18_000_001, "0.50", LATER)], buyer_unit=unit, funding=wc)

    (line,) = capital_lines()

    assert line.committed == Decimal("21000000.50")
    assert line.remaining == Decimal("-1000000.50")
    assert line.over
    assert line.overdrawn_by == Decimal("1000000.50")
    assert [over.unit for over in units_over_capital_line()] == [unit]


def test_it_counts_only_what_was_paid_of_a_closed_order(
    frozen_time, office, unit, cb01, n95, make_order
):
    from procurement.services import order_arrival_record, order_close

    wc = FundingSource.WORKING_CAPITAL
    order = make_order([(n95, 1000, "10.00", LATER)], buyer_unit=unit, funding=wc)
    # 600 of 1,000 arrive; 6,000.00 of 10,000.00 yuan are paid; the order is closed short.
    order_arrival_record(
        user=office,
        order=order,
        warehouse=cb01,
        lines=[{"line": order.lines.get(), "quantity": 600}],
    )
    order_payment_record(user=office, order=order, amount=Decimal("6000.00"))
    order.refresh_from_db()
    order_close(user=office, order=order, expected_version=order.version, note="余货不再供应")

    line = capital_line(unit)

    # The unpaid 4,000.00 no longer holds the line: committed 0, paid 6,000.00.
    assert line.committed == Decimal("0.00")
    assert line.paid == Decimal("6000.00")
    assert line.remaining == Decimal("19994000.00")


def test_the_unit_list_and_page_warn_when_the_line_is_overdrawn(
    frozen_time, client, leader, unit, n95, make_order
):
    from django.urls import reverse

    wc = FundingSource.WORKING_CAPITAL
    client.force_login(leader)
    # 19,999,999.00: within the 20,000,000.00 line, no warning.
    make_order([(n95, 19_999_999, "1.00", LATER)], buyer_unit=unit, funding=wc)
    for url in (
        reverse("procurement:unit_list"),
        reverse("procurement:unit_detail", args=[unit.pk]),
    ):
        assert 'id="capital-alert"' not in client.get(url).content.decode()

    # + 1.01 = 20,000,000.01: over by 0.01.
    make_order([(n95, 1, "1.01", LATER)], buyer_unit=unit, funding=wc)
    for url in (
        reverse("procurement:unit_list"),
        reverse("procurement:unit_detail", args=[unit.pk]),
        reverse("procurement:order_list"),
    ):
        html = client.get(url).content.decode()
        assert 'id="capital-alert"' in html, url
        assert "0.01" in html


def test_a_payment_above_what_is_left_to_pay_is_refused(frozen_time, office, unit, n95, make_order):
    import pytest

    from procurement.services import ProcurementInvalid

    order = make_order([(n95, 100, "2.50", LATER)], buyer_unit=unit)  # 250.00 yuan
    order_payment_record(user=office, order=order, amount="200.00")

    with pytest.raises(ProcurementInvalid) as refused:
        order_payment_record(user=office, order=order, amount="50.01")  # 200 + 50.01 > 250

    assert refused.value.errors[0].field == "amount"
    assert order.payments.count() == 1


def test_a_payment_sent_twice_is_recorded_once(frozen_time, client, office, n95, make_order):
    # The payment form carries its own UUID: the same POST twice (a double click) pays 100.00
    # once; a new form (a new UUID) pays again.
    import uuid

    from django.urls import reverse

    from procurement.models import OrderPayment

    order = make_order([(n95, 100, "3.00", LATER)])
    client.force_login(office)
    url = reverse("procurement:order_payment", args=[order.number])
    body = {"amount": "100.00", "paid_on": "", "note": "", "client_uuid": str(uuid.uuid4())}

    assert client.post(url, body).status_code == 302
    assert client.post(url, body).status_code == 302
    assert list(OrderPayment.objects.values_list("amount", flat=True)) == [Decimal("100.00")]

    assert client.post(url, {**body, "client_uuid": str(uuid.uuid4())}).status_code == 302
    assert OrderPayment.objects.count() == 2
