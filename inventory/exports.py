"""The stock card export (货位卡): one item in one warehouse, every line with its running balance.

The same card the page shows (`selectors.stock_card`: same filters, same balances), as .xlsx
(openpyxl write-only, so memory stays flat on a long card) or as streamed CSV. Headers are in
the UI language, Chinese by default. The first row after the header is the opening balance,
the last the closing balance; quantities are in the item's unit, named in its own column.
"""

import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from supplycoord.lib.exports import formula_safe

from .models import StockEventKind

# Lines are read from the database in chunks of this many, never all at once.
CHUNK = 2000


def _columns():
    return [
        ("occurred_at", _("Date"), 17),
        ("document_number", _("Document number"), 18),
        ("kind", _("Kind"), 10),
        ("detail", _("Source / reason"), 14),
        ("counterparty", _("From / to"), 20),
        ("source_document", _("Source document"), 20),
        ("unit", _("Unit"), 7),
        ("quantity_in", _("In"), 11),
        ("quantity_out", _("Out"), 11),
        ("counted", _("Counted"), 11),
        ("balance", _("Balance"), 12),
        ("recorded_by", _("Recorded by"), 12),
        ("reversal", _("Reversal"), 20),
    ]


def _detail(event):
    if event.receipt_source:
        return str(event.get_receipt_source_display())
    if event.issue_kind:
        return str(event.get_issue_kind_display())
    if event.adjustment_reason:
        return str(event.get_adjustment_reason_display())
    return ""


def _reversal(event):
    if event.reverses_id:
        return _("reverses %(number)s") % {"number": event.reverses.document_number}
    reversal = getattr(event, "reversed_by", None)
    if reversal is not None:
        return _("reversed by %(number)s") % {"number": reversal.document_number}
    return ""


def _local(moment):
    # Excel has no time zones: write the office's local time, without tzinfo.
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def _line_values(line, unit):
    event = line.event
    user = event.recorded_by
    values = {
        "occurred_at": _local(line.occurred_at),
        "document_number": event.document_number,
        "kind": str(StockEventKind(event.kind).label),
        "detail": _detail(event),
        "counterparty": event.counterparty,
        "source_document": event.source_document,
        "unit": unit,
        "quantity_in": line.quantity if line.quantity > 0 else None,
        "quantity_out": -line.quantity if line.quantity < 0 else None,
        "counted": line.counted,
        "balance": line.balance_after,
        "recorded_by": user.get_full_name() or user.username,
        "reversal": _reversal(event),
    }
    # Both writers read these values: people's text is made formula-safe once, here.
    return {key: formula_safe(value) for key, value in values.items()}


def export_lines(card):
    """The card's lines with what the export shows: the reversal links joined, in chunks."""
    return card.lines.select_related("event__reverses", "event__reversed_by").iterator(
        chunk_size=CHUNK
    )


def _rows(card):
    """Yield ("opening"|"line"|"closing", values) for the whole card."""
    unit = str(card.item.get_unit_display())
    yield "opening", {"unit": unit, "balance": card.opening}
    for line in export_lines(card):
        yield "line", _line_values(line, unit)
    yield "closing", {"unit": unit, "balance": card.closing}


def _carry_label(kind):
    if kind == "opening":
        return _("Opening balance")
    return _("Closing balance")


def stock_card_filename(card, fmt):
    parts = [_("Stock card"), card.warehouse.code, card.item.code]
    if card.date_from:
        parts.append(card.date_from.isoformat())
    if card.date_to:
        parts.append(card.date_to.isoformat())
    return "-".join(str(p) for p in parts) + f".{fmt}"


def stock_card_xlsx(card) -> bytes:
    """One sheet: frozen header, opening balance, every line, closing balance."""
    columns = _columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Stock card")[:31])
    sheet.freeze_panes = "A2"
    for index, (_key, _label, width) in enumerate(columns):
        sheet.column_dimensions[chr(ord("A") + index)].width = width

    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDE6F0")

    def styled(value, *, fill=False, number_format=None):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        if fill:
            cell.fill = header_fill
        if number_format:
            cell.number_format = number_format
        return cell

    def plain(key, value):
        if value is None:
            return None
        cell = WriteOnlyCell(sheet, value=value)
        if key == "occurred_at":
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif key in ("quantity_in", "quantity_out", "counted", "balance"):
            cell.number_format = "#,##0"
        return cell

    sheet.append([styled(str(label), fill=True) for _key, label, _width in columns])
    for kind, values in _rows(card):
        if kind == "line":
            sheet.append([plain(key, values[key]) for key, _label, _width in columns])
        else:
            sheet.append(
                [
                    styled(str(_carry_label(kind)))
                    if key == "occurred_at"
                    else styled(values[key], number_format="#,##0")
                    if key == "balance"
                    else (values[key] if key == "unit" else None)
                    for key, _label, _width in columns
                ]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class _Echo:
    def write(self, value):
        return value


def stock_card_csv_lines(card):
    """Yield CSV lines (UTF-8 with BOM so Excel opens Chinese text correctly)."""
    columns = _columns()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _key, label, _width in columns])
    for kind, values in _rows(card):
        if kind == "line":
            row = []
            for key, _label, _width in columns:
                value = values[key]
                if key == "occurred_at":
                    value = value.strftime("%Y-%m-%d %H:%M")
                row.append("" if value is None else value)
            yield writer.writerow(row)
        else:
            yield writer.writerow(
                [
                    _carry_label(kind) if key == "occurred_at" else values.get(key, "")
                    for key, _label, _width in columns
                ]
            )
