"""The Excel import of purchase orders (采购订单导入), on the project's one Excel engine
(supplycoord.lib.xlsx_import: its limits, its parser, its mapping of errors to cells).

One row per order line. Rows with the same order reference (订单序号, any text the office
uses, e.g. a contract number) make one order; its supplier, buyer, funding source and order
date are read from its first row, and a later row that says otherwise is refused at that cell.
Every order of the file is saved as a draft through procurement.services.order_create, or
none: every problem is listed at its sheet, row and column.
"""

from decimal import Decimal

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from supplycoord.lib.xlsx_import import (
    ParsedImport,
    XlsxParser,
    code_value,
    date_value,
    import_submit,
    labels_in_every_language,
    normalise,
    parse_upload,
    template_header,
    template_sheet,
    workbook_bytes,
)

from .models import FundingSource
from .services import OrdersImportInvalid, orders_import

COLUMNS = (
    # (field, header, width)
    ("order_ref", gettext_lazy("Order reference"), 14),
    ("supplier", gettext_lazy("Supplier (credit code or name)"), 30),
    ("buyer_unit", gettext_lazy("Buyer (reserve-task unit; blank: the office)"), 26),
    ("funding_source", gettext_lazy("Funding source"), 14),
    ("ordered_on", gettext_lazy("Ordered on"), 12),
    ("item", gettext_lazy("Item code"), 10),
    ("quantity", gettext_lazy("Quantity"), 12),
    ("unit_price", gettext_lazy("Unit price (yuan)"), 14),
    ("expected_arrival", gettext_lazy("Expected arrival"), 14),
)
OPTIONAL = {"buyer_unit", "ordered_on"}
KEY_FIELDS = ("order_ref", "supplier", "funding_source", "item", "quantity", "unit_price")
TITLE = gettext_lazy("Purchase orders")


class _NeverRaised(Exception):
    """The import has no out-of-scope rows: the office imports for the whole province."""


# The funding sources as the seeds and the office's contracts name them, read whatever the
# state of the translation catalogue.
FUNDING_ALIASES = {
    "财政资金": FundingSource.FISCAL,
    "周转金": FundingSource.WORKING_CAPITAL,
    "捐赠资金": FundingSource.DONATED,
    "企业垫资": FundingSource.ENTERPRISE_ADVANCE,
}


def _funding_sources() -> dict:
    """A funding source's value or its label, in every UI language, → the value."""
    from django.conf import settings

    found = {normalise(value): value for value in FundingSource.values}
    found.update({normalise(name): value for name, value in FUNDING_ALIASES.items()})
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            found.update({normalise(str(label)): value for value, label in FundingSource.choices})
    return found


def _cell_value(field, value):
    """A cell as the service reads it: dates as dates, whole numbers as int, prices exact."""
    if value is None:
        return None
    if field in ("ordered_on", "expected_arrival"):
        return date_value(value)
    if field == "quantity" and isinstance(value, float) and value.is_integer():
        return int(value)
    if field == "unit_price" and isinstance(value, float):
        return Decimal(str(value))
    if field in ("order_ref", "item", "supplier"):
        return code_value(value) if field != "supplier" else str(value).strip()
    return value.strip() if isinstance(value, str) else value


class OrderRowsParser(XlsxParser):
    def __init__(self, user):
        super().__init__(
            user, labels_in_every_language(lambda: [(f, str(h)) for f, h, _w in COLUMNS])
        )
        self.funding = _funding_sources()

    def missing_header_message(self) -> str:
        return _(
            "No sheet has the header row of the purchase-order template (order reference, "
            "supplier, item code…). Download the template and fill it in."
        )

    def is_header(self, found: dict) -> bool:
        return "order_ref" in found and "item" in found

    def required_columns(self):
        return [(f, str(h)) for f, h, _w in COLUMNS if f not in OPTIONAL]

    def is_unfilled(self, raw: dict, header: dict, formulas: set) -> bool:
        return False

    def finish(self) -> ParsedImport:
        rows, origins = [], []
        for origin, values in self.take_pending():
            row = {field: _cell_value(field, value) for field, value in values.items()}
            funding = row.get("funding_source")
            if isinstance(funding, str):
                row["funding_source"] = self.funding.get(normalise(funding), funding)
            rows.append(row)
            origins.append(origin)
        return ParsedImport(
            rows=rows, errors=self.problems, origins=origins, sheet_fields=self.sheet_fields
        )


def orders_template() -> bytes:
    """The .xlsx to fill: the header row in the UI language (either language is read back)."""
    workbook = Workbook(write_only=True)
    columns = [(f, h, w, True) for f, h, w in COLUMNS]
    sheet = template_sheet(workbook, title=str(TITLE), columns=columns, header_row=1)
    sheet.append(template_header(sheet, columns))
    return workbook_bytes(workbook)


def orders_import_file(file, *, user):
    """Parse and save an uploaded file. Returns the ImportResult (`.submitted`: the orders);
    raises ImportRefused (the file as a whole) or ImportInvalid (every problem, by cell)."""
    parsed = parse_upload(file, OrderRowsParser(user))
    return import_submit(
        parsed,
        save=lambda rows: orders_import(user=user, rows=rows),
        nothing_message=_("The file holds no order lines."),
        service_invalid=OrdersImportInvalid,
        key_fields=KEY_FIELDS,
        row_cell=lambda origin, field: None,
        service_out_of_scope=_NeverRaised,
        scope_field="item",
        out_of_scope_message="",
    )
