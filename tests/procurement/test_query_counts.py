"""The lists cost the same number of queries with 2 orders or 12, 2 suppliers or 12."""

import datetime as dt

from django.urls import reverse

from procurement.models import FundingSource, SupplierOrigin
from procurement.services import (
    order_arrival_record,
    order_payment_record,
    supplier_capability_set,
    supplier_create,
)
from tests.procurement.conftest import TODAY, credit_code

LATER = TODAY + dt.timedelta(days=5)


def _make(office, unit, cb01, n95, masks, make_order, count, start):
    for i in range(count):
        order = make_order(
            [(n95, 100, "1.00", LATER), (masks, 10, "2.00", LATER)],
            buyer_unit=unit,
            funding=FundingSource.WORKING_CAPITAL,
        )
        order_arrival_record(
            user=office,
            order=order,
            warehouse=cb01,
            lines=[{"line": order.lines.order_by("id").first(), "quantity": 10}],
        )
        order_payment_record(user=office, order=order, amount="10.00")
        supplier = supplier_create(
            user=office,
            name=f"供应商{start + i}",
            credit_code=credit_code(100 + start + i),
            origin=SupplierOrigin.OTHER_PROVINCE,
        )
        supplier_capability_set(
            user=office, supplier=supplier, item=n95, daily_capacity=10, lead_time_days=i % 4
        )


def _counts(client, urls):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        counts.append(len(ctx.captured_queries))
    return counts


def test_the_lists_stay_flat(
    frozen_time,
    client,
    client_for,
    office,
    unit,
    cb01,
    n95,
    masks,
    make_order,
    django_assert_max_num_queries,
):
    _make(office, unit, cb01, n95, masks, make_order, 2, 0)
    client.force_login(office)
    urls = [
        reverse("procurement:order_list"),
        reverse("procurement:order_list") + "?overdue=on&item=FH001",
        reverse("procurement:supplier_list"),
        reverse("procurement:supplier_list") + "?item=FH001&within_days=3",
        reverse("procurement:unit_list"),
        reverse("procurement:unit_detail", args=[unit.pk]),
    ]
    few = _counts(client, urls)
    api = client_for(office)
    api_urls = ["/api/v1/purchase-orders/", "/api/v1/suppliers/"]
    api_few = _counts(api, api_urls)

    _make(office, unit, cb01, n95, masks, make_order, 10, 2)

    assert _counts(client, urls) == few
    assert _counts(api, api_urls) == api_few
    for url, limit in zip(urls, few, strict=True):
        with django_assert_max_num_queries(limit):
            client.get(url)
    # A page of the order list: session, user, the orders with their sums, the count, the
    # overdue count, the capital lines, the item choices and a few more; never per order.
    assert max(few) <= 20
