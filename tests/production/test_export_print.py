"""The producer register and the production ledger on the one exporter base: print-ready xlsx
and the same table in CSV and xlsx."""

import pytest

from production.exports import ProducerRegister, ProductionLedger
from supplycoord.exports import HEADER_ROW
from tests.export_checks import (
    assert_number_and_date_cells,
    assert_print_ready,
    assert_same_table,
    csv_text,
    xlsx_of,
)
from tests.factories import ProvinceFactory
from tests.production.test_exports import DAY, _frozen, ledger  # noqa: F401 (fixtures)

pytestmark = pytest.mark.usefixtures("_frozen")


def test_the_production_ledger_prints_as_a_ledger(office, ledger):  # noqa: F811
    ProvinceFactory()
    export = ProductionLedger(office, {"date_from": "2020-02-09", "date_to": DAY.isoformat()})

    sheet = xlsx_of(export).active

    assert sheet.title == "生产台账"
    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    assert "2020-02-09 至 2020-02-10" in sheet.cell(row=2, column=1).value
    seen = assert_number_and_date_cells(sheet, export)
    assert seen["date"] == 4 * 2  # the date and the submission time of four reports
    date = sheet.cell(row=HEADER_ROW + 1, column=1)
    assert date.is_date and date.number_format == "yyyy-mm-dd"


def test_the_production_ledger_csv_is_its_xlsx(office, ledger):  # noqa: F811
    export = ProductionLedger(office, {})

    rows = assert_same_table(csv_text(export), xlsx_of(export).active, export)

    assert len(rows) == 1 + 4


def test_the_producer_register_prints_and_its_csv_is_its_xlsx(office, ledger):  # noqa: F811
    ProvinceFactory()
    export = ProducerRegister(office)

    sheet = xlsx_of(export).active

    assert sheet.title == "生产企业名录"
    assert_print_ready(sheet, export, issued_by="甘肃省医疗物资保障组")
    assert len(assert_same_table(csv_text(export), sheet, export)) >= 1 + 2
