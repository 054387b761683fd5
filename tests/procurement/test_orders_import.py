"""The Excel import of orders: the template read back, rows of one reference make one draft
order, and a wrong cell is named by sheet, row and column with nothing saved."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from procurement.imports import COLUMNS
from procurement.models import OrderStatus, PurchaseOrder, PurchaseOrderLine


def _upload(rows, headers=None):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers or [str(h) for _f, h, _w in COLUMNS])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(
        "orders.xlsx",
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def test_the_template_has_the_headers_the_import_reads(frozen_time, client, office):
    client.force_login(office)

    response = client.get(reverse("procurement:orders_import_template"))

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == [str(h) for _f, h, _w in COLUMNS]


def test_it_imports_rows_as_draft_orders(frozen_time, client, office, supplier, unit, n95, masks):
    client.force_login(office)
    rows = [
        # ref, supplier, buyer, funding, ordered on, item, quantity, price, expected arrival
        [
            "HT-01",
            supplier.credit_code,
            unit.name,
            "周转金",
            "2020-02-20",
            "FH001",
            1000,
            3.5,
            "2020-02-25",
        ],
        [
            "HT-01",
            supplier.credit_code,
            unit.name,
            "周转金",
            "2020-02-20",
            "FH002",
            200,
            "0.80",
            "2020-02-26",
        ],
        ["HT-02", supplier.name, None, "fiscal", None, "FH001", 10.0, 2, "2020-02-28"],
    ]

    response = client.post(reverse("procurement:orders_import"), {"file": _upload(rows)})

    assert response.status_code == 302, response.content.decode()[-3000:]
    first, second = PurchaseOrder.objects.order_by("number")
    assert first.status == second.status == OrderStatus.DRAFT
    assert (first.buyer_unit, first.funding_source) == (unit, "working_capital")
    # 1,000 × 3.50 + 200 × 0.80 = 3,500.00 + 160.00 = 3,660.00
    assert sum(line.amount for line in first.lines.all()) == 3660
    assert second.buyer_unit is None and second.lines.get().quantity == 10


def test_it_names_each_wrong_cell_and_saves_nothing(frozen_time, client, office, supplier, n95):
    client.force_login(office)
    rows = [
        ["HT-01", supplier.credit_code, None, "fiscal", None, "FH001", -5, "1.00", "2020-02-25"],
        ["HT-01", supplier.credit_code, None, "donated", None, "FH002", 5, "1.00", "2020-02-25"],
        ["HT-02", "无此企业", None, "fiscal", None, "FH001", 5, "1.00", "2020-02-25"],
        ["HT-03", supplier.credit_code, None, "fiscal", None, "FH001", 5, "1.00", "1999-12-31"],
    ]

    response = client.post(reverse("procurement:orders_import"), {"file": _upload(rows)})

    assert response.status_code == 400
    html = response.content.decode()
    # Row 2 column G (quantity −5); row 3 column D (a funding source unlike its order's);
    # row 4 column B (unknown supplier); row 5 column I (a date before 2000-01-01).
    for row, column in [(2, "G"), (3, "D"), (4, "B"), (5, "I")]:
        assert f'data-row="{row}" data-column="{column}"' in html, (row, column)
    assert PurchaseOrder.objects.count() == 0
    assert PurchaseOrderLine.objects.count() == 0


def test_only_the_office_imports(frozen_time, client, leader, outsider):
    for user in (leader, outsider):
        client.force_login(user)
        assert client.get(reverse("procurement:orders_import")).status_code == 403
        assert client.get(reverse("procurement:orders_import_template")).status_code == 403
