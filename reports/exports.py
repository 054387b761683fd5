"""The daily report export (日报汇总): the day's snapshot as .xlsx and .csv.

Headers are in the UI language (Chinese by default). Rows are scoped to the caller through
`snapshot_rows_visible_to`, so an officer's export holds their prefecture only.
"""

import csv
import io

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from supplycoord.lib.exports import formula_safe

from .models import Status
from .selectors import snapshot_rows_visible_to

SUMMED = ("stock", "consumption", "demand", "in_transit", "arriving_3d", "shortfall_3d")


def _columns():
    return [
        ("date", _("Date")),
        ("prefecture_code", _("Prefecture code")),
        ("prefecture", _("Prefecture")),
        ("item_code", _("Item code")),
        ("item", _("Item")),
        ("unit", _("Unit")),
        ("stock", _("Stock")),
        ("stock_is_stale", _("Stock is stale")),
        ("consumption", _("Consumption")),
        ("avg_consumption_7d", _("Average consumption, 7 days")),
        ("demand", _("Demand")),
        ("in_transit", _("In transit")),
        ("arriving_3d", _("Arriving within 3 days")),
        ("days_of_cover", _("Days of cover")),
        ("projected_days_of_cover", _("Projected days of cover")),
        ("shortfall_3d", _("Shortfall within 3 days")),
        ("reconciliation_gap", _("Reconciliation gap")),
        ("status", _("Status")),
    ]


def _values(row):
    values = {
        "date": row.date,
        "prefecture_code": row.prefecture.code,
        "prefecture": row.prefecture.name,
        "item_code": row.item.code,
        "item": row.item.name,
        "unit": str(row.item.get_unit_display()),
        "stock": row.stock,
        "stock_is_stale": _("yes") if row.stock_is_stale else "",
        "consumption": row.consumption,
        "avg_consumption_7d": float(row.avg_consumption_7d)
        if row.avg_consumption_7d is not None
        else None,
        "demand": row.demand,
        "in_transit": row.in_transit,
        "arriving_3d": row.arriving_3d,
        "days_of_cover": float(row.days_of_cover) if row.days_of_cover is not None else None,
        "projected_days_of_cover": (
            float(row.projected_days_of_cover) if row.projected_days_of_cover is not None else None
        ),
        "shortfall_3d": row.shortfall_3d,
        "reconciliation_gap": row.reconciliation_gap,
        "status": str(Status(row.status).label),
    }
    # Both writers read these values: names are made formula-safe once, here.
    return {key: formula_safe(value) for key, value in values.items()}


def daily_report_filename(date, fmt, *, prefecture=None):
    scope = f"-{prefecture.name}" if prefecture else ""
    return f"{_('Daily report')}{scope}-{date.isoformat()}.{fmt}"


def _rows_with_totals(user, *, date, prefecture):
    """Yield the value dicts of the scoped snapshot rows, then the totals dict (key None)."""
    totals = dict.fromkeys(SUMMED, 0)
    rows = snapshot_rows_visible_to(user, date=date, prefecture=prefecture)
    for row in rows.iterator(chunk_size=2000):
        values = _values(row)
        for key in SUMMED:
            if values[key] is not None:
                totals[key] += values[key]
        yield values
    yield {None: True, **totals}


def daily_report_xlsx(user, *, date, prefecture=None) -> bytes:
    """One sheet: frozen header row, one row per prefecture and key item, a totals row."""
    columns = _columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Daily report")[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate([11, 10, 16, 10, 22, 8] + [13] * (len(columns) - 6)):
        sheet.column_dimensions[chr(ord("A") + index)].width = width

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")

    def styled(value, fill=True):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        if fill:
            cell.fill = header_fill
        return cell

    sheet.append([styled(str(label)) for _key, label in columns])
    for values in _rows_with_totals(user, date=date, prefecture=prefecture):
        if None in values:
            sheet.append(
                [
                    styled(str(_("Total")))
                    if key == "date"
                    else (styled(values[key], fill=False) if key in SUMMED else None)
                    for key, _label in columns
                ]
            )
        else:
            sheet.append([values[key] for key, _label in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class _Echo:
    def write(self, value):
        return value


def daily_report_csv_lines(user, *, date, prefecture=None):
    """Yield CSV lines (UTF-8 with BOM so Excel opens Chinese text correctly)."""
    columns = _columns()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _key, label in columns])
    for values in _rows_with_totals(user, date=date, prefecture=prefecture):
        if None in values:
            yield writer.writerow(
                [
                    _("Total") if key == "date" else (values[key] if key in SUMMED else "")
                    for key, _label in columns
                ]
            )
        else:
            yield writer.writerow(
                ["" if values[key] is None else values[key] for key, _label in columns]
            )
