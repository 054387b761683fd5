"""Excel import of daily production reports (生产日报导入): the template and its parser.

Reporters and commissioners live in Excel, like the prefecture officers whose daily figures
import this follows (inventory/imports.py). They download a template of their producers,
fill in the day's figures and upload it. The file is judged as a whole before anything is
saved: the parser finds what only it can see (formulas, the layout, another producer's rows,
duplicate rows), then the rows go through `production_reports_submit`, the one service the
entry form and the API call too, which finds the rest. Every problem comes back at once, at
the sheet, row and column where the reporter fixes it.

The template:

    sheet 1 (the reports)
    row 1   title
    row 2   a one-line hint (the instructions sheet says more)
    row 3   Unified social credit code | Producer | Item code | Item | Unit | Date |
            Output | … the report's figures … | Raw materials on hand | Reason for correction
    row 4…  one row per producer and item it has a production line for; grey cells are
            for reference
    sheet 2 instructions, one line per column

The parser finds the header row by its labels (Chinese or English, any column order) on
every sheet, so a template downloaded in one language is read on a page in the other.
"""

import datetime as dt

from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

# The engine is shared with the daily figures' import: a file is refused for the same
# reasons, and its problems are shown the same way, whichever import it is sent to.
from supplycoord.lib.dates import parse_iso_date
from supplycoord.lib.xlsx_import import (
    BOX,
    GREY,
    XLSX_CONTENT_TYPE,
    ImportInvalid,
    ImportProblem,
    ImportResult,
    ParsedImport,
    XlsxParser,
    code_value,
    date_value,
    import_submit,
    is_empty,
    labels_in_every_language,
    parse_upload,
    template_cell,
    template_header,
    template_sheet,
    whole_number_validation,
    workbook_bytes,
)
from supplycoord.lib.xlsx_import import ImportRefused as ReportImportRefused
from supplycoord.models import Item

from .models import REPORT_FIELDS, Producer, ProductionLine, ProductionReport
from .selectors import producers_visible_to
from .services import (
    ProductionReportsInvalid,
    ProductionReportsOutOfScope,
    production_reports_submit,
)

__all__ = [
    "XLSX_CONTENT_TYPE",
    "ImportProblem",
    "ReportImportInvalid",
    "ReportImportRefused",
    "ReportImportResult",
    "report_import_submit",
    "report_import_template",
    "report_import_template_filename",
]

HEADER_ROW = 3
FIGURE_FIELDS = (*REPORT_FIELDS, "raw_material_days")
INPUT_FIELDS = ("producer", "item", "date", *FIGURE_FIELDS, "reason")
# Columns a sheet must have; the others may be left out (their figures then count as 0).
REQUIRED_COLUMNS = ("producer", "item", "date", "output", "factory_stock")


class ReportImportInvalid(ImportInvalid):
    """The file has problems; nothing was saved. `problems` lists every one, in sheet order."""


ReportImportResult = ImportResult


# --- Columns and labels ---------------------------------------------------------------------


def _field_label(model, field) -> str:
    return capfirst(str(model._meta.get_field(field).verbose_name))


def _columns():
    """(key, header, width, is_input) in the template's order. Reference columns are grey."""
    return [
        ("producer", _field_label(Producer, "credit_code"), 22, False),
        ("producer_name", capfirst(str(Producer._meta.verbose_name)), 24, False),
        ("item", _("Item code"), 11, False),
        ("item_name", _("Item"), 22, False),
        ("unit", _("Unit"), 8, False),
        ("date", _("Date"), 12, True),
        *[(field, _field_label(ProductionReport, field), 14, True) for field in FIGURE_FIELDS],
        ("reason", _field_label(ProductionReport, "correction_reason"), 28, True),
    ]


def _labels() -> dict[str, str]:
    """Normalised header text -> field, in every UI language."""
    return labels_in_every_language(
        lambda: [(key, header) for key, header, _width, _input in _columns() if key in INPUT_FIELDS]
    )


# --- The template ---------------------------------------------------------------------------


def report_import_template_filename(*, date: dt.date) -> str:
    return f"{_('Production reports')}-{date.isoformat()}.xlsx"


def producers_to_report_for(user):
    """The active producers `user` reports for: all for the office, a reporter's own."""
    producers = producers_visible_to(user).filter(active=True)
    if not user.is_office:
        producers = producers.filter(reporters=user)
    return producers


def _template_rows(user, date):
    """(producer, item, report of `date` or None) for every line item, in register order."""
    producers = list(producers_to_report_for(user).order_by("prefecture__code", "name", "pk"))
    items: dict[int, dict[int, Item]] = {}
    lines = ProductionLine.objects.filter(producer__in=producers, item__active=True).select_related(
        "item"
    )
    for line in lines:
        items.setdefault(line.producer_id, {})[line.item_id] = line.item
    reports = {
        (r.producer_id, r.item_id): r
        for r in ProductionReport.objects.filter(producer__in=producers, date=date)
    }
    for producer in producers:
        by_order = sorted(items.get(producer.pk, {}).values(), key=lambda i: (i.sort_order, i.code))
        for item in by_order:
            yield producer, item, reports.get((producer.pk, item.pk))


def _instructions():
    return [
        _("How to fill in the production reports"),
        "",
        _(
            "One row per producer, item and date. Keep the unified social credit code and the "
            "item code as they are: grey cells are for reference only."
        ),
        _(
            "Date: the day the figures are for (YYYY-MM-DD), prefilled with the day of the "
            "download. Change it to report another day; a date cannot be in the future."
        ),
        _(
            "Enter whole numbers of 0 or more, in the item's unit. Output and the stock at the "
            "factory are required; the other figures count as 0 when left empty, and the days "
            "of raw materials on hand may be left empty."
        ),
        _(
            "What is delivered into the province's held reserve is booked into the producer's "
            "held-reserve warehouse; what is held for the province cannot exceed the stock at "
            "the factory."
        ),
        _(
            "Rows whose figures are all empty are skipped. A row for a day already reported "
            "corrects it; correcting a past day needs a reason, in the row's reason column or "
            "on the upload page."
        ),
        _(
            "The whole file is checked before anything is saved: if any row has a problem, "
            "nothing is saved and every problem is listed with its row and column. Formulas "
            "and macros are refused."
        ),
    ]


def report_import_template(*, user, date: dt.date) -> bytes:
    """The .xlsx to fill: one row per (producer, item) line of the producers `user` reports
    for, the date prefilled; figures already reported for that date are filled in."""
    columns = _columns()
    input_columns = {key: i for i, (key, *_rest) in enumerate(columns, start=1)}
    workbook = Workbook(write_only=True)
    sheet = template_sheet(
        workbook, title=_("Production reports"), columns=columns, header_row=HEADER_ROW
    )

    def cell(value, *, border=BOX, **style):
        return template_cell(sheet, value, border=border, **style)

    sheet.append([cell(_("Daily production reports"), font=Font(bold=True, size=14), border=None)])
    sheet.append(
        [
            cell(
                _(
                    "Fill in the white cells with whole numbers of 0 or more; grey cells are for "
                    "reference. See the instructions sheet."
                ),
                font=Font(italic=True, color="5F6B7A"),
                border=None,
            )
        ]
    )
    sheet.append(template_header(sheet, columns))

    last_row = HEADER_ROW
    for producer, item, report in _template_rows(user, date):
        reference = {
            "producer": producer.credit_code,
            "producer_name": producer.name,
            "item": item.code,
            "item_name": item.name,
            "unit": str(item.get_unit_display()),
        }
        figures = report.figures() if report else {}
        row = []
        for key, _label, _width, is_input in columns:
            if not is_input:
                row.append(cell(reference[key], fill=GREY))
            elif key == "date":
                row.append(cell(date, number_format="yyyy-mm-dd"))
            else:
                row.append(cell(figures.get(key)))
        sheet.append(row)
        last_row += 1

    if last_row > HEADER_ROW:
        first = get_column_letter(input_columns[FIGURE_FIELDS[0]])
        last = get_column_letter(input_columns[FIGURE_FIELDS[-1]])
        whole_number_validation(sheet, f"{first}{HEADER_ROW + 1}:{last}{last_row}")

    instructions = workbook.create_sheet(title=_("Instructions")[:31])
    instructions.column_dimensions["A"].width = 110
    for number, text in enumerate(_instructions()):
        written = WriteOnlyCell(instructions, value=text)
        written.data_type = "s"
        written.alignment = Alignment(wrap_text=True, vertical="top")
        if number == 0:
            written.font = Font(bold=True, size=14)
        instructions.append([written])

    return workbook_bytes(workbook)


# --- Reading the upload ---------------------------------------------------------------------


def _code(value) -> str | None:
    code = code_value(value)
    return code.upper() if code else code


class _Parser(XlsxParser):
    def __init__(self, user):
        super().__init__(user, _labels())

    def missing_header_message(self):
        return _(
            "No sheet has the template's header row (credit code, item code, date and "
            "the figures). Download the template and fill it in."
        )

    def is_header(self, found):
        return "producer" in found and "item" in found

    def required_columns(self):
        return [(field, label) for field, label, _w, _i in _columns() if field in REQUIRED_COLUMNS]

    def is_unfilled(self, raw, header, formulas):
        # A line of the template left unfilled: the producer made nothing to report.
        return all(is_empty(raw.get(field)) for field in FIGURE_FIELDS) and not any(
            header[field][0] in formulas for field in FIGURE_FIELDS if field in header
        )

    def finish(self) -> ParsedImport:
        codes = {_code(values.get("producer")) for _origin, values in self.pending}
        codes.discard(None)
        known = set(
            Producer.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True)
        )
        mine = None if self.user.is_office else _codes_reported_by(self.user)
        seen = {}  # (producer, item, date) -> origin of its first row
        rows, origins = [], []
        for origin, values in self.take_pending():
            code = _code(values.get("producer"))
            if code in known and mine is not None and code not in mine:
                # Never sent to the service, which would refuse the whole file unexplained.
                self.problems.append(
                    ImportProblem.at_cell(
                        origin,
                        origin.cells["producer"],
                        _(
                            "You do not report for the producer %(code)s: you may only import "
                            "the reports of your own producers."
                        )
                        % {"code": code},
                        field="producer",
                    )
                )
                continue
            item = _code(values.get("item"))
            date = date_value(values.get("date"))
            day = parse_iso_date(date)
            if (
                code
                and item
                and day
                and self.is_duplicate(
                    seen,
                    (code, item, day),
                    origin,
                    _(
                        "Duplicate row: the same producer, item and date as row %(row)d "
                        "of sheet “%(sheet)s”."
                    ),
                )
            ):
                continue
            reason = values.get("reason")
            row = {
                "producer": code,
                "item": item,
                "date": date,
                **{field: values.get(field) for field in FIGURE_FIELDS},
            }
            if not is_empty(reason):
                row["reason"] = str(reason).strip()
            rows.append(row)
            origins.append(origin)
        return ParsedImport(rows, self.problems, origins, self.skipped, self.sheet_fields)


def _codes_reported_by(user) -> set[str]:
    return set(Producer.objects.filter(reporters=user).values_list("credit_code", flat=True))


# --- Saving ---------------------------------------------------------------------------------


def report_import_submit(file, *, user, reason: str = "") -> ReportImportResult:
    """Import an uploaded workbook: every row saved through `production_reports_submit`, or
    none.

    Raises ReportImportRefused for a file refused as a whole (too large, not an .xlsx,
    macros, unreadable), ReportImportInvalid with every problem of the file (the parser's and
    the service's, at their sheet, row and column).
    """
    return import_submit(
        parse_upload(file, _Parser(user)),
        save=lambda rows: production_reports_submit(user=user, rows=rows, reason=reason),
        nothing_message=_("The file holds no reports: every row's figures are empty."),
        service_invalid=ProductionReportsInvalid,
        key_fields=("producer", "item", "date"),
        # A field without its column ("reason", say) belongs to the row: point at its item.
        row_cell=lambda origin, field: origin.cells["item"],
        service_out_of_scope=ProductionReportsOutOfScope,
        scope_field="producer",
        out_of_scope_message=_("You may not import reports for this producer."),
        invalid=ReportImportInvalid,
    )
