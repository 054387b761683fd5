"""The order list filters by status, supplier, item and overdue; a filter never narrows an
order's totals to the lines it matched."""

import datetime as dt

from django.urls import reverse

from procurement.selectors import filter_orders, orders_visible_to, orders_with_totals
from tests.procurement.conftest import TODAY

LATER = TODAY + dt.timedelta(days=5)


def test_it_filters_and_keeps_whole_order_totals(
    frozen_time, client, office, supplier, supplier_b, n95, masks, make_order
):
    # A: N95 100 × 3.00 + masks 50 × 1.00 = 350.00 yuan, placed, from the first supplier.
    a = make_order([(n95, 100, "3.00", LATER), (masks, 50, "1.00", LATER)])
    # B: masks 10 × 2.00 = 20.00 yuan, a draft, from the second supplier.
    b = make_order([(masks, 10, "2.00", LATER)], place=False, supplier=supplier_b)
    # C: N95 expected the 18th (2 days ago): overdue.
    c = make_order([(n95, 1, "1.00", dt.date(2020, 2, 18))], ordered_on=dt.date(2020, 2, 17))
    orders = orders_visible_to(office)

    def numbers(**filters):
        return [o.number for o in filter_orders(orders, **filters).order_by("number")]

    assert numbers(status="draft") == [b.number]
    assert numbers(supplier=supplier_b) == [b.number]
    assert numbers(item=n95) == [a.number, c.number]
    assert numbers(overdue_on=TODAY) == [c.number]

    by_item = orders_with_totals(filter_orders(orders, item=n95), date=TODAY).get(pk=a.pk)
    assert by_item.total_amount == 350  # both lines, not only the N95 line (300.00)
    assert by_item.line_count == 2

    client.force_login(office)
    html = client.get(reverse("procurement:order_list") + "?item=FH001").content.decode()
    assert "350.00" in html
    assert f'data-order="{b.number}"' not in html
