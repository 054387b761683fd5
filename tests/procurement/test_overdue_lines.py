"""An order line past its expected arrival with goods outstanding is overdue: the selector
lists them for a given date (the inbound view and the alerts will read it), and the order
list and page show them."""

import datetime as dt

from django.urls import reverse

from procurement.selectors import days_overdue, overdue_order_lines
from procurement.services import order_arrival_record, order_cancel

D = dt.date(2020, 2, 25)  # the date asked about


def test_it_selects_the_lines_overdue_on_a_given_date(
    frozen_time, office, sz01, n95, masks, make_order
):
    # A: N95 expected 2020-02-21, 100 ordered, 40 arrived → overdue on the 25th by 4 days.
    a = make_order([(n95, 100, "1.00", dt.date(2020, 2, 21))])
    order_arrival_record(
        user=office, order=a, warehouse=sz01, lines=[{"line": a.lines.get(), "quantity": 40}]
    )
    # B: masks expected 2020-02-24, nothing arrived → overdue by 1 day.
    b = make_order([(masks, 50, "1.00", dt.date(2020, 2, 24))])
    # C: expected on the 25th itself → not yet overdue on the 25th.
    make_order([(n95, 10, "1.00", D)])
    # D: expected the 21st but arrived in full → not overdue.
    d = make_order([(n95, 10, "1.00", dt.date(2020, 2, 21))])
    order_arrival_record(
        user=office, order=d, warehouse=sz01, lines=[{"line": d.lines.get(), "quantity": 10}]
    )
    # E: a draft and F: a cancelled order, both expected the 21st → not in transit.
    make_order([(masks, 10, "1.00", dt.date(2020, 2, 21))], place=False)
    f = make_order([(masks, 10, "1.00", dt.date(2020, 2, 21))])
    order_cancel(user=office, order=f, expected_version=f.version, note="取消")

    lines = list(overdue_order_lines(date=D))

    assert [(line.order.number, line.item.code) for line in lines] == [
        (a.number, "FH001"),
        (b.number, "FH002"),
    ]
    assert [days_overdue(line, date=D, status=line.order.status) for line in lines] == [4, 1]
    assert [line.outstanding for line in lines] == [60, 50]  # 100 − 40; 50 − 0
    assert list(overdue_order_lines(date=D, item=masks)) == [lines[1]]
    # On the 22nd only A (expected the 21st) is overdue.
    assert [line.order.number for line in overdue_order_lines(date=dt.date(2020, 2, 22))] == [
        a.number
    ]


def test_the_list_and_the_page_show_overdue_lines(frozen_time, client, office, n95, make_order):
    # Today is 2020-02-20 (frozen): expected the 17th → 3 days overdue.
    late = make_order([(n95, 100, "1.00", dt.date(2020, 2, 17))], ordered_on=dt.date(2020, 2, 10))
    on_time = make_order([(n95, 100, "1.00", dt.date(2020, 2, 27))])
    client.force_login(office)

    overdue_only = client.get(reverse("procurement:order_list") + "?overdue=on").content.decode()
    assert f'data-order="{late.number}"' in overdue_only
    assert f'data-order="{on_time.number}"' not in overdue_only
    assert 'data-overdue-lines="1"' in overdue_only

    page = client.get(reverse("procurement:order_detail", args=[late.number])).content.decode()
    assert 'data-days-overdue="3"' in page
