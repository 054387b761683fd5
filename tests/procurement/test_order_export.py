"""The order register export (采购订单台账): one row per order line, with what has arrived, what
is still in transit and how many days a line is overdue, filtered as the order list is."""

import csv
import datetime as dt
import io

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from procurement.models import SupplierOrigin
from procurement.services import order_arrival_record, supplier_create
from tests.procurement.conftest import TODAY, credit_code


def _csv_rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def two_orders(frozen_time, office, n95, masks, make_order, cb01):
    # CG-2020-001: 10,000 N95 at 3.50 due 3 days ago, 6,000 arrived → 4,000 in transit,
    # overdue 3 days; 2,000 masks at 0.80 due in 5 days.
    first = make_order(
        [
            (n95, 10_000, "3.50", TODAY - dt.timedelta(days=3)),
            (masks, 2_000, "0.80", TODAY + dt.timedelta(days=5)),
        ],
        ordered_on=TODAY - dt.timedelta(days=10),
    )
    n95_line = first.lines.get(item=n95)
    order_arrival_record(
        user=office,
        order=first,
        warehouse=cb01,
        lines=[{"line": n95_line.pk, "quantity": 6000}],
        arrived_at=timezone.now(),
    )
    # CG-2020-002: a draft of 500 N95 from a supplier whose name begins with "=".
    trap = supplier_create(
        user=office,
        name='=HYPERLINK("http://x")公司',
        credit_code=credit_code(9),
        origin=SupplierOrigin.IN_PROVINCE,
    )
    second = make_order(
        [(n95, 500, "4.00", TODAY + dt.timedelta(days=2))], place=False, supplier=trap
    )
    return first, second


def test_it_writes_one_row_per_line_with_arrived_in_transit_and_days_overdue(
    client, office, two_orders
):
    client.force_login(office)
    response = client.get("/procurement/orders/export.csv")
    assert response.status_code == 200
    rows = _csv_rows(response)
    header = rows[0]
    body = [dict(zip(header, row, strict=True)) for row in rows[1:] if row and row[0]]
    # Newest order first, its lines in order: CG-2020-002's one line, then CG-2020-001's two.
    assert [(r["订单编号"], r["物资编码"]) for r in body] == [
        ("CG-2020-002", "FH001"),
        ("CG-2020-001", "FH001"),
        ("CG-2020-001", "FH002"),
    ]
    n95 = body[1]
    # 10,000 × 3.50 = 35,000.00 yuan; 6,000 arrived; 10,000 − 6,000 = 4,000 in transit;
    # expected 2020-02-17, today 2020-02-20: 3 days overdue.
    assert (n95["订购数量"], n95["金额（元）"], n95["已到货"], n95["在途"], n95["逾期天数"]) == (
        "10000",
        "35000.00",
        "6000",
        "4000",
        "3",
    )
    masks = body[2]
    assert (masks["在途"], masks["逾期天数"]) == ("2000", "0")
    # A supplier name typed as a formula stays text: the cell starts with a quote.
    assert body[0]["供应商"].startswith("'=")


def test_the_list_filters_carry_over_to_the_file(client, office, two_orders, masks):
    client.force_login(office)
    rows = _csv_rows(client.get("/procurement/orders/export.csv?status=partly_arrived&item=FH002"))
    body = [row for row in rows[1:] if row and row[0]]
    # Only CG-2020-001 has a masks line and is partly arrived; both its lines are listed.
    assert [row[0] for row in body] == ["CG-2020-001", "CG-2020-001"]
    overdue = _csv_rows(client.get("/procurement/orders/export.csv?overdue=on"))
    assert {row[0] for row in overdue[1:] if row and row[0]} == {"CG-2020-001"}


def test_the_xlsx_is_print_ready_with_the_title_block(client, office, two_orders):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/procurement/orders/export.xlsx")
    assert response.status_code == 200
    assert "purchase-orders-2020-02-20.xlsx" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Purchase orders"
    header = values[4]
    assert header[0] == "Order number" and "In transit" in header


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("status=lost", "status"),
        ("supplier=99999", "supplier"),
        ("supplier=1%00", "supplier"),
        ("item=NOPE", "item"),
        ("item=FH%00001", "item"),
        ("overdue=maybe", "true or false"),
    ],
)
def test_a_filter_naming_nothing_is_a_400_not_an_unfiltered_file(
    client, office, two_orders, query, word
):
    client.force_login(office)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/procurement/orders/export.csv?{query}")
    assert response.status_code == 400
    assert word in response.content.decode().lower()


def test_an_officer_and_a_reporter_may_not_export_orders(
    client, officer, reporter_of_a_producer, two_orders
):
    for user in (officer, reporter_of_a_producer):
        client.force_login(user)
        assert client.get("/procurement/orders/export.csv").status_code == 403


def test_leadership_reads_the_export(client, leader, two_orders):
    client.force_login(leader)
    assert client.get("/procurement/orders/export.csv").status_code == 200


def test_the_query_count_does_not_grow_with_the_orders(client, office, two_orders, make_order, n95):
    client.force_login(office)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/procurement/orders/export.csv")
            b"".join(response.streaming_content)
        return len(ctx.captured_queries)

    few = count()
    for _ in range(5):
        make_order([(n95, 100, "3.00", TODAY + dt.timedelta(days=1))])
    assert count() == few


def test_the_order_list_counts_lines_arrived_never_sums_units(client, office, two_orders, cb01):
    """An order's lines are in different units (N95 in pieces, masks in pieces, goggles in
    pairs): the list shows how many lines are all in, not a sum of their quantities."""
    first, _second = two_orders
    masks_line = first.lines.get(item__code="FH002")
    order_arrival_record(
        user=office,
        order=first,
        warehouse=cb01,
        lines=[{"line": masks_line.pk, "quantity": 2000}],
    )
    client.force_login(office)
    page = client.get("/procurement/orders/").content.decode()
    # CG-2020-001: masks 2,000 of 2,000 in, N95 6,000 of 10,000: 1 of 2 lines arrived.
    assert 'data-lines-arrived="1">1 / 2<' in page
    # 10,000 N95 + 2,000 masks ordered, 6,000 + 2,000 arrived: never summed.
    assert "12,000" not in page and "8,000" not in page
