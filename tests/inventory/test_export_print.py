"""The stock card on the one exporter base: print-ready xlsx with its opening and closing
balances in bold, the same table in CSV and xlsx, and its name and unit in the title."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from inventory import selectors, services
from inventory.exports import StockCardExport
from inventory.models import IssueKind, ReceiptSource
from supplycoord.exports import HEADER_ROW
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_rows,
    csv_text,
    xlsx_of,
)
from tests.factories import ProvinceFactory, WarehouseFactory

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2020, 2, 10, 18, 0, tzinfo=TZ), tick=False):
        yield


@pytest.fixture
def card_params(office, n95):
    """SZ01 receives 1,200 N95, then issues 150 and 50: 1,000 left."""
    ProvinceFactory()
    reserve = WarehouseFactory(code="SZ01")
    services.stock_receive(
        user=office, warehouse=reserve, lines=[(n95, 1200)], source=ReceiptSource.PURCHASE
    )
    for quantity in (150, 50):
        services.stock_issue(
            user=office, warehouse=reserve, lines=[(n95, quantity)], issue_kind=IssueKind.DISPATCH
        )
    return {"warehouse_code": "SZ01", "item_code": n95.code}


def test_the_stock_card_prints_as_a_ledger(office, card_params):
    export = StockCardExport(office, card_params)

    sheet = xlsx_of(export).active

    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    assert sheet.title == "库存卡片"
    assert "SZ01" in sheet.cell(row=2, column=1).value
    assert sheet.cell(row=3, column=1).value == "计量单位：只"
    rows = list(sheet.iter_rows(min_row=HEADER_ROW + 1))
    opening, *lines, closing = rows
    balance = 10
    assert (opening[0].value, opening[balance].value, opening[0].font.b) == ("期初结存", 0, True)
    assert [line[balance].value for line in lines] == [1200, 1050, 1000]
    assert (closing[0].value, closing[balance].value, closing[0].font.b) == ("期末结存", 1000, True)
    assert assert_number_and_date_cells(sheet, export)["date"] == 3


def test_the_stock_card_csv_is_its_xlsx(office, card_params):
    export = StockCardExport(office, card_params)

    rows = assert_same_table(csv_text(export), xlsx_of(export).active, export)

    assert len(rows) == 1 + 1 + 3 + 1


def test_the_page_and_a_background_job_build_the_same_card(office, card_params, n95):
    from inventory.models import Warehouse

    card = selectors.stock_card(office, warehouse=Warehouse.objects.get(code="SZ01"), item=n95)
    from_page = StockCardExport(office, card_params, card=card)
    from_job = StockCardExport(office, card_params)

    assert csv_text(from_page) == csv_text(from_job)


def test_the_file_name_follows_the_ui_language(office, card_params, n95):
    params = {**card_params, "from": "2020-02-01"}
    assert (
        StockCardExport(office, params).filename("csv")
        == f"库存卡片-SZ01-{n95.code}-2020-02-01.csv"
    )
    with translation.override("en"):
        export = StockCardExport(office, params)
        assert export.filename("xlsx") == f"stock-card-SZ01-{n95.code}-2020-02-01.xlsx"
        assert csv_rows(csv_text(export))[0][0] == "Date"
