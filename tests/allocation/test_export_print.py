"""The allocation exports on the one exporter base: the 调拨台账 (and its 汇总) and the donation
ledger print as a clerk prints them, their CSV and xlsx carry the same rows, totals are per
unit of measure, and the ledger's COPY path writes exactly what the generic writer writes."""

import datetime as dt

import pytest
from django.utils import translation

from allocation.exports import (
    AllocationLedgerExport,
    AllocationSummaryExport,
    DonationLedgerExport,
    ledger_csv_lines,
)
from allocation.models import Channel, Destination, DispatchBatch
from allocation.services import batch_receive, donation_receive
from inventory.models import ReceiptSource
from inventory.services import stock_receive
from supplycoord.exports import HEADER_ROW, csv_lines
from supplycoord.models import Item, Unit
from tests.allocation.conftest import NOW, dispatched_batch
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_rows,
    csv_text,
    xlsx_of,
)
from tests.factories import ItemFactory, ProvinceFactory

pytestmark = pytest.mark.usefixtures("frozen_time")


@pytest.fixture
def gloves(db):
    return ItemFactory(code="FH009", name_zh="医用手套", name_en="Gloves", unit=Unit.BOX)


@pytest.fixture
def two_units(office, leader, officer, stocked, gloves, to_lanzhou, to_hospital, n95, masks):
    """Lanzhou gets 1,000 N95 and 200 masks (pieces) and 30 boxes of gloves, of which it
    receives 900 N95; the hospital gets 300 N95 and 5 boxes of gloves."""
    ProvinceFactory()
    stock_receive(
        user=office,
        warehouse=stocked,
        lines=[(gloves, 100)],
        source=ReceiptSource.PURCHASE,
        occurred_at=NOW - dt.timedelta(days=5),
    )
    first = dispatched_batch(
        office,
        leader,
        stocked,
        to_lanzhou,
        [(n95, 1000), {"item": masks, "quantity": 200, "channel": Channel.PURCHASE}, (gloves, 30)],
    )
    batch_receive(
        user=officer,
        batch=first,
        expected_version=first.version,
        received={first.lines.get(item=n95).pk: 900},
    )
    dispatched_batch(office, leader, stocked, to_hospital, [(n95, 300), (gloves, 5)])
    return first


def test_the_ledger_totals_each_unit_on_its_own(office, two_units):
    export = AllocationLedgerExport(office, {})

    *_lines, boxes, pieces = csv_rows(csv_text(export))

    header = csv_rows(csv_text(export))[0]
    unit, quantity, received = (header.index(h) for h in ("单位", "数量", "已签收数量"))
    # Pieces: 1,000 + 200 + 300 N95 and masks = 1,500; received 900 of them.
    # Boxes: 30 + 5 gloves = 35, none received. Never 1,535 of anything.
    assert (pieces[unit], pieces[quantity], pieces[received]) == ("只", "1500", "900")
    assert (boxes[unit], boxes[quantity], boxes[received]) == ("盒", "35", "0")


def test_the_summary_has_one_block_per_unit(office, two_units):
    export = AllocationSummaryExport(AllocationLedgerExport(office, {}))

    rows = [(r["section"], r.get("name"), r["quantity"], r.get("unit")) for r in export.rows()]

    assert rows[0] == ("批次数", None, 2, None)
    assert ("合计", None, 35, "盒") in rows
    assert ("合计", None, 1500, "只") in rows
    assert ("按调拨去向", "兰州市", 30, "盒") in rows
    assert ("按调拨去向", "兰州市", 1200, "只") in rows
    assert ("按调拨去向", "甘肃省人民医院", 300, "只") in rows
    assert ("按物资", "FH009", 35, "盒") in rows


def test_the_ledger_and_its_summary_print_as_a_ledger(office, two_units):
    export = AllocationLedgerExport(office, {"from": "2020-02-01", "to": "2020-02-20"})

    book = xlsx_of(export)

    assert book.sheetnames == ["调拨台账", "汇总"]
    ledger, summary = book.worksheets
    assert_print_ready(ledger, export, issued_by="甘肃省医疗物资保障组")
    assert_print_ready(summary, export.extra_sheets()[0], issued_by="甘肃省医疗物资保障组")
    assert "2020-02-01 至 2020-02-20" in ledger.cell(row=2, column=1).value
    seen = assert_number_and_date_cells(ledger, export)
    assert seen["date"] >= 5 and seen["number"] >= 5 * 3
    dispatched = ledger.cell(row=HEADER_ROW + 1, column=2)
    assert dispatched.is_date and dispatched.value == dt.datetime(2020, 2, 20, 10, 0)


def test_the_ledger_csv_and_xlsx_carry_the_same_table(office, two_units):
    export = AllocationLedgerExport(office, {})

    rows = assert_same_table("".join(csv_lines(export)), xlsx_of(export).worksheets[0], export)

    assert len(rows) == 1 + 5 + 2  # header, five lines, a total per unit


def test_the_copy_path_writes_byte_for_byte_what_the_generic_writer_writes(
    office, two_units, n95, to_hospital
):
    # The hard cases: people's text that is a formula, a line break and a quote inside a
    # field, an empty specification, no English name, a dispatcher without a name.
    Item.objects.filter(pk=n95.pk).update(specification='=1+1\n"KN95"', name_en="")
    Destination.objects.filter(pk=to_hospital.pk).update(name_zh="@医院, 一部")
    DispatchBatch.objects.filter(pk=two_units.pk).update(number="-2020-001")
    type(office).objects.filter(pk=office.pk).update(first_name="", last_name="")

    for language in ("zh-hans", "en"):
        with translation.override(language):
            export = AllocationLedgerExport(office, {})
            generic = "".join(csv_lines(export))
            copied = "".join(ledger_csv_lines(export))
            assert copied == generic
    assert "'-2020-001" in copied and "'@医院, 一部" in copied and "\r\n" in copied


def test_the_file_and_sheet_names_follow_the_ui_language(office, two_units):
    export = AllocationLedgerExport(office, {"from": "2020-02-01"})
    assert export.filename("xlsx") == "调拨台账-2020-02-01.xlsx"
    assert xlsx_of(export).sheetnames == ["调拨台账", "汇总"]

    with translation.override("en"):
        export = AllocationLedgerExport(office, {"from": "2020-02-01"})
        assert export.filename("csv") == "allocation-ledger-2020-02-01.csv"
        assert xlsx_of(export).sheetnames == ["Allocation ledger", "Summary"]


# --- The donation ledger ---------------------------------------------------------------------


@pytest.fixture
def donations(office, sz01, n95, gloves):
    ProvinceFactory()
    one_unit = donation_receive(
        user=office,
        warehouse=sz01,
        donor_name="某慈善基金会",
        donor_kind="organisation",
        lines=[(n95, 1500)],
        declared_value=12345.5,
    )
    mixed = donation_receive(
        user=office,
        warehouse=sz01,
        donor_name="爱心企业",
        donor_kind="organisation",
        lines=[(n95, 100), (gloves, 20)],
    )
    return one_unit, mixed


def test_the_donation_ledger_prints_as_a_ledger(office, donations):
    export = DonationLedgerExport(office, {})

    sheet = xlsx_of(export).active

    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    assert sheet.title == "捐赠物资台账"
    seen = assert_number_and_date_cells(sheet, export)
    assert seen == {"number": 1 + 3, "date": 2}  # a declared value, one donation's sums
    value = next(
        row[6] for row in sheet.iter_rows(min_row=HEADER_ROW + 1) if row[1].value == "某慈善基金会"
    )
    assert (value.value, value.number_format) == (12345.5, "#,##0.00")


def test_the_donation_ledger_sums_a_donation_only_in_one_unit(office, donations):
    export = DonationLedgerExport(office, {})

    rows = {row["donor"]: row for row in export.rows()}

    assert (rows["某慈善基金会"]["unit"], rows["某慈善基金会"]["received"]) == ("只", 1500)
    # 100 pieces of N95 and 20 boxes of gloves: no sum; the items column says each.
    assert rows["爱心企业"]["received"] is None and rows["爱心企业"]["unit"] == ""
    assert "20盒" in rows["爱心企业"]["items"]


def test_the_donation_ledger_csv_and_xlsx_carry_the_same_table(office, donations):
    export = DonationLedgerExport(office, {})

    rows = assert_same_table(csv_text(export), xlsx_of(export).active, export)

    assert len(rows) == 1 + 2
