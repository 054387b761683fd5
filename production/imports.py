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

import dataclasses
import datetime as dt
import io

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

# The checks of the package itself (size, type, macros, zip bombs) are the daily figures'
# import's: a file is refused for the same reasons whichever import it is sent to.
from inventory.imports import (
    BOX,
    GREY,
    HEADER_FILL,
    XLSX_CONTENT_TYPE,
    ImportProblem,
    _date_value,
    _is_empty,
    _is_formula,
    _normalise,
    _open_workbook,
    _read_upload,
)
from inventory.imports import DailyImportRefused as ReportImportRefused
from inventory.imports import _code as _cell_code
from inventory.services import SubmitResult
from supplycoord.lib.dates import parse_iso_date
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

HEADER_SEARCH_ROWS = 20
HEADER_ROW = 3
FIGURE_FIELDS = (*REPORT_FIELDS, "raw_material_days")
INPUT_FIELDS = ("producer", "item", "date", *FIGURE_FIELDS, "reason")
# Columns a sheet must have; the others may be left out (their figures then count as 0).
REQUIRED_COLUMNS = ("producer", "item", "date", "output", "factory_stock")


class ReportImportInvalid(Exception):
    """The file has problems; nothing was saved. `problems` lists every one, in sheet order."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__(f"{len(problems)} problem(s) in the file")
        self.problems = problems


@dataclasses.dataclass
class ReportImportResult:
    submitted: SubmitResult
    rows: int
    skipped: int


@dataclasses.dataclass
class _Cell:
    row: int
    column: int  # from 1
    header: str
    empty: bool


@dataclasses.dataclass
class _RowOrigin:
    """Where a row sent to the service came from, to put its errors back on the sheet."""

    sheet: str
    sheet_index: int
    row: int
    cells: dict  # field -> _Cell, for the columns the sheet has
    suppressed: set  # fields whose cell already has a problem of the parser's own (a formula)


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
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for key, header, _width, _input in _columns():
                if key in INPUT_FIELDS:
                    labels[_normalise(header)] = key
    return labels


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
    sheet = workbook.create_sheet(title=_("Production reports")[:31])
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    for index, (_key, _header, width, _input) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    def cell(value, *, font=None, fill=None, number_format=None, border=BOX):
        written = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # Codes and names stay text: a leading "=" is never a formula, "0123" keeps its 0.
            written.data_type = "s"
        if font:
            written.font = font
        if fill:
            written.fill = fill
        if border:
            written.border = border
        if number_format:
            written.number_format = number_format
        return written

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
    header_cells = []
    for _key, label, _width, _input in columns:
        written = cell(str(label), font=Font(bold=True), fill=HEADER_FILL)
        written.alignment = Alignment(wrap_text=True, vertical="center")
        header_cells.append(written)
    sheet.append(header_cells)

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
        validation = DataValidation(
            type="whole",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=True,
            errorStyle="stop",
            errorTitle=_("Whole number required"),
            error=_("Enter a whole number of 0 or more, in the item's unit."),
        )
        first = get_column_letter(input_columns[FIGURE_FIELDS[0]])
        last = get_column_letter(input_columns[FIGURE_FIELDS[-1]])
        validation.add(f"{first}{HEADER_ROW + 1}:{last}{last_row}")
        sheet.data_validations.append(validation)

    instructions = workbook.create_sheet(title=_("Instructions")[:31])
    instructions.column_dimensions["A"].width = 110
    for number, text in enumerate(_instructions()):
        written = WriteOnlyCell(instructions, value=text)
        written.data_type = "s"
        written.alignment = Alignment(wrap_text=True, vertical="top")
        if number == 0:
            written.font = Font(bold=True, size=14)
        instructions.append([written])

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Reading the upload ---------------------------------------------------------------------


def _code(value) -> str | None:
    code = _cell_code(value)
    return code.upper() if code else code


class _Parser:
    def __init__(self, user):
        self.user = user
        self.labels = _labels()
        self.problems: list[ImportProblem] = []
        self.pending = []  # (origin, values: field -> raw value)
        self.skipped = 0
        self.found_header = False
        self.missing_columns = set()  # (sheet index, field) reported for the whole sheet
        self.rows_left = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] + HEADER_SEARCH_ROWS

    def problem(self, sheet, sheet_index, row, column, header, message, field=""):
        self.problems.append(
            ImportProblem(
                sheet=sheet,
                row=row,
                column=get_column_letter(column) if column else "",
                header=header,
                message=str(message),
                field=field,
                sheet_index=sheet_index,
                column_index=column or 0,
            )
        )

    def read(self, workbook):
        """Read every sheet. Read-only openpyxl parses a sheet's XML only now, so a damaged
        sheet fails here, in any of its zip and XML layers' exceptions."""
        try:
            for sheet_index, sheet in enumerate(workbook.worksheets):
                self.parse_sheet(sheet, sheet_index)
        except ReportImportRefused:
            raise
        except Exception as exc:
            raise ReportImportRefused(
                _("The file could not be read as an Excel workbook.")
            ) from exc
        if not self.found_header:
            self.problem(
                "",
                -1,
                None,
                None,
                "",
                _(
                    "No sheet has the template's header row (credit code, item code, date and "
                    "the figures). Download the template and fill it in."
                ),
            )

    def parse_sheet(self, sheet, sheet_index):
        # Trust the cells, not the size the file declares (which may claim a million rows).
        sheet.reset_dimensions()
        title = sheet.title
        header = None  # field -> (column, header text)
        for row_number, cells in enumerate(sheet.iter_rows(), start=1):
            self.rows_left -= 1
            if self.rows_left < 0:
                raise ReportImportRefused(
                    _("The file has more than %(limit)d rows; split it into smaller files.")
                    % {"limit": settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]}
                )
            formulas = set()
            for column, each in enumerate(cells, start=1):
                if _is_formula(each):
                    formulas.add(column)
                    self.problem(
                        title,
                        sheet_index,
                        row_number,
                        column,
                        "",
                        _("This cell holds a formula. Enter the figure itself, not a formula."),
                    )
            values = [each.value for each in cells]
            if header is None:
                if row_number <= HEADER_SEARCH_ROWS:
                    header = self.header_of(values, title, sheet_index, row_number)
                # Otherwise still read to the end: a formula anywhere is refused.
                continue
            self.data_row(title, sheet_index, row_number, header, values, formulas)

    def header_of(self, values, title, sheet_index, row_number):
        found = {}
        for column, value in enumerate(values, start=1):
            if _is_empty(value):
                continue
            field = self.labels.get(_normalise(value))
            if field is None:
                continue
            if field in found:
                self.problem(
                    title,
                    sheet_index,
                    row_number,
                    column,
                    str(value),
                    _("This column appears twice; only the first one is read."),
                )
                continue
            found[field] = (column, str(value).strip())
        if "producer" not in found or "item" not in found:
            return None
        self.found_header = True
        for field, label, _width, _input in _columns():
            if field in REQUIRED_COLUMNS and field not in found:
                self.missing_columns.add((sheet_index, field))
                self.problem(
                    title,
                    sheet_index,
                    row_number,
                    None,
                    "",
                    _("The column “%(column)s” is missing.") % {"column": label},
                    field=field,
                )
        return found

    def data_row(self, title, sheet_index, row_number, header, values, formulas):
        def value_at(column):
            return values[column - 1] if column <= len(values) else None

        raw = {field: value_at(column) for field, (column, _label) in header.items()}
        if all(_is_empty(value) for value in raw.values()):
            return  # a blank line
        if all(_is_empty(raw.get(field)) for field in FIGURE_FIELDS) and not any(
            header[field][0] in formulas for field in FIGURE_FIELDS if field in header
        ):
            # A line of the template left unfilled: the producer made nothing to report.
            self.skipped += 1
            return
        cells, suppressed, row_values = {}, set(), {}
        for field, (column, label) in header.items():
            cells[field] = _Cell(row_number, column, label, _is_empty(raw[field]))
            row_values[field] = None if column in formulas else raw[field]
            if column in formulas:
                suppressed.add(field)
        origin = _RowOrigin(title, sheet_index, row_number, cells, suppressed)
        self.pending.append((origin, row_values))

    def finish(self):
        codes = {_code(values.get("producer")) for _origin, values in self.pending}
        codes.discard(None)
        known = set(
            Producer.objects.filter(credit_code__in=codes).values_list("credit_code", flat=True)
        )
        mine = None if self.user.is_office else _codes_reported_by(self.user)
        seen = {}  # (producer, item, date) -> origin of its first row
        rows, origins = [], []
        for origin, values in self.pending:
            code = _code(values.get("producer"))
            if code in known and mine is not None and code not in mine:
                # Never sent to the service, which would refuse the whole file unexplained.
                cell = origin.cells["producer"]
                self.problem(
                    origin.sheet,
                    origin.sheet_index,
                    cell.row,
                    cell.column,
                    cell.header,
                    _(
                        "You do not report for the producer %(code)s: you may only import the "
                        "reports of your own producers."
                    )
                    % {"code": code},
                    field="producer",
                )
                continue
            item = _code(values.get("item"))
            date = _date_value(values.get("date"))
            day = parse_iso_date(date)
            if code and item and day:
                first = seen.setdefault((code, item, day), origin)
                if first is not origin:
                    cell = origin.cells["item"]
                    self.problem(
                        origin.sheet,
                        origin.sheet_index,
                        cell.row,
                        cell.column,
                        cell.header,
                        _(
                            "Duplicate row: the same producer, item and date as row %(row)d "
                            "of sheet “%(sheet)s”."
                        )
                        % {"row": first.row, "sheet": first.sheet},
                        field="item",
                    )
                    continue
            reason = values.get("reason")
            row = {
                "producer": code,
                "item": item,
                "date": date,
                **{field: values.get(field) for field in FIGURE_FIELDS},
            }
            if not _is_empty(reason):
                row["reason"] = str(reason).strip()
            rows.append(row)
            origins.append(origin)
        return rows, origins


def _codes_reported_by(user) -> set[str]:
    return set(Producer.objects.filter(reporters=user).values_list("credit_code", flat=True))


# --- Saving ---------------------------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a service call made only to collect its findings."""


def report_import_submit(file, *, user, reason: str = "") -> ReportImportResult:
    """Import an uploaded workbook: every row saved through `production_reports_submit`, or
    none.

    Raises ReportImportRefused for a file refused as a whole (too large, not an .xlsx,
    macros, unreadable), ReportImportInvalid with every problem of the file (the parser's and
    the service's, at their sheet, row and column).
    """
    workbook = _open_workbook(_read_upload(file))
    parser = _Parser(user)
    try:
        parser.read(workbook)
    finally:
        workbook.close()
    rows, origins = parser.finish()
    problems = list(parser.problems)
    if not rows and not problems:
        problems.append(
            ImportProblem(
                "", None, "", "", _("The file holds no reports: every row's figures are empty.")
            )
        )
    submitted = None
    if rows:
        try:
            with transaction.atomic():
                submitted = production_reports_submit(user=user, rows=rows, reason=reason)
                if problems:
                    # Everything should be fixed in one go, so the service also checks the
                    # rows when the parser found problems; then nothing may stay.
                    raise _DryRun
        except _DryRun:
            pass
        except ProductionReportsInvalid as exc:
            problems.extend(_service_problems(origins, exc.errors, parser.missing_columns))
            if not problems:
                # Each service error maps to a cell or to a column reported missing; should
                # that ever fail, the file must still not pass as valid.
                problems = [ImportProblem("", None, "", "", str(e.message)) for e in exc.errors]
        except ProductionReportsOutOfScope as exc:
            # The parser leaves such rows out; this only guards a change of the rules.
            problems.extend(_out_of_scope_problems(origins, exc.rows))
    if problems:
        raise ReportImportInvalid(_sorted_unique(problems))
    return ReportImportResult(submitted, rows=len(rows), skipped=parser.skipped)


def _service_problems(origins, errors, missing_columns):
    for error in errors:
        if error.row is None:
            yield ImportProblem("", None, "", "", str(error.message), field=error.field)
            continue
        origin = origins[error.row]
        if error.field in origin.suppressed:
            continue  # the parser already said what is wrong with this cell
        if (origin.sheet_index, error.field) in missing_columns:
            continue  # said once for the sheet
        # A field without its column ("reason", say) belongs to the row: point at its item.
        cell = origin.cells.get(error.field) or origin.cells["item"]
        message = str(error.message)
        if cell.empty and error.field in ("producer", "item", "date"):
            message = _("This field is required.")
        yield ImportProblem(
            origin.sheet,
            cell.row,
            get_column_letter(cell.column),
            cell.header,
            message,
            field=error.field,
            sheet_index=origin.sheet_index,
            column_index=cell.column,
        )


def _out_of_scope_problems(origins, indexes):
    for index in indexes:
        origin = origins[index]
        cell = origin.cells["producer"]
        yield ImportProblem(
            origin.sheet,
            cell.row,
            get_column_letter(cell.column),
            cell.header,
            _("You may not import reports for this producer."),
            field="producer",
            sheet_index=origin.sheet_index,
            column_index=cell.column,
        )


def _sorted_unique(problems):
    unique = {}
    for problem in problems:
        unique.setdefault((problem.sheet, problem.row, problem.column, problem.message), problem)
    return sorted(unique.values(), key=ImportProblem.sort_key)
