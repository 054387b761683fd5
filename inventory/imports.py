"""Excel import of daily figures (日报导入): the template officers fill in, and its parser.

Officers live in Excel. They download a template for their prefecture and a date, fill it
in and upload it. The file is judged as a whole before anything is saved: the parser finds
what only it can see (formulas, the layout, another prefecture's rows, duplicate rows), then
the rows go through `daily_figures_submit`, the one service the entry form and the API call
too, which finds the rest (numbers, unknown items, dates). Every problem comes back at once,
at the sheet, row and column where the officer fixes it.

The template (one sheet; office staff may ask for every prefecture in one sheet):

    row 1   title
    row 2   Date | 2020-02-10     <- the date of every row (unless a Date column is added)
    row 3   a one-line hint
    row 4   Prefecture code | Prefecture | Item code | Item | Unit | Last stock |
            Stock | Received | Consumption | Demand | Expected arrivals within 3 days
    row 5…  one row per prefecture and key item; grey cells are for reference

The parser is more forgiving than the template: it finds the header row by its labels
(Chinese or English, any column order), takes the date and the prefecture code from a
labelled cell above the header or from a column, and reads every sheet that has a header.
"""

import dataclasses
import datetime as dt
import io
import zipfile
from pathlib import PurePath

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from supplycoord.lib.dates import parse_iso_date
from supplycoord.models import Prefecture
from supplycoord.selectors import active_prefectures, user_can_report_for_prefecture

from .models import FIGURE_FIELDS
from .selectors import daily_entry_rows
from .services import (
    DailyFiguresInvalid,
    DailyFiguresOutOfScope,
    SubmitResult,
    daily_figures_submit,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What [Content_Types].xml declares for the workbook of a plain .xlsx. A macro-enabled one
# declares "...ms-excel.sheet.macroEnabled.main+xml", a template "...template.main+xml".
WORKBOOK_PART_TYPE = XLSX_CONTENT_TYPE + ".main+xml"
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
# An .xlsx is zipped XML that packs about 10-20x; far beyond that is a zip bomb, not a report.
MAX_UNPACKED_RATIO = 100
# The header row is looked for in the first rows only; the template puts it in row 4.
HEADER_SEARCH_ROWS = 20
HEADER_ROW = 4
INPUT_FIELDS = ("prefecture", "item", "date", *FIGURE_FIELDS)

GREY = PatternFill("solid", fgColor="E7E9EC")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
THIN = Side(style="thin", color="B8C2CC")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


# --- Errors and results ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ImportProblem:
    """One problem of an uploaded file, where the officer finds it."""

    sheet: str  # "" for the file as a whole
    row: int | None  # the sheet's row number, from 1
    column: str  # the column letter, "" for a whole row or sheet
    header: str  # the column's header as written in the file
    message: str
    field: str = ""  # the service's field name, when the problem is one field's
    sheet_index: int = 0
    column_index: int = 0

    def sort_key(self):
        return (self.sheet_index, self.row or 0, self.column_index)


class DailyImportRefused(Exception):
    """The file as a whole is refused (size, type, macros, unreadable): nothing was read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DailyImportInvalid(Exception):
    """The file has problems; nothing was saved. `problems` lists every one, in sheet order."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__(f"{len(problems)} problem(s) in the file")
        self.problems = problems


@dataclasses.dataclass
class _Cell:
    row: int
    column: int  # from 1
    header: str
    empty: bool


@dataclasses.dataclass
class RowOrigin:
    """Where a row sent to the service came from, to put its errors back on the sheet."""

    sheet: str
    sheet_index: int
    row: int
    header_row: int
    cells: dict  # field -> _Cell; a field may have none (no such column, no labelled cell)
    suppressed: set  # fields whose cell already has a problem of the parser's own (a formula)


@dataclasses.dataclass
class ParsedImport:
    rows: list[dict]  # for daily_figures_submit
    errors: list[ImportProblem]
    origins: list[RowOrigin] = dataclasses.field(default_factory=list)  # origins[i] ~ rows[i]
    skipped: int = 0  # rows that name an item but hold no figure at all
    # (sheet index, field) the parser reported for a sheet as a whole (a missing column):
    # the service's findings on that field, row after row, would only repeat it.
    sheet_fields: set = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class DailyImportResult:
    submitted: SubmitResult
    rows: int
    skipped: int


# --- Columns and labels ---------------------------------------------------------------------


def _figure_headers():
    return [
        ("stock", _("Stock")),
        ("received", _("Received")),
        ("consumption", _("Consumption")),
        ("demand", _("Demand")),
        ("expected_arrivals_3d", _("Expected arrivals within 3 days")),
    ]


def _template_columns():
    """(key, header, width, is_input). Reference columns are grey and never read back."""
    return [
        ("prefecture", _("Prefecture code"), 12, False),
        ("prefecture_name", _("Prefecture"), 14, False),
        ("item", _("Item code"), 12, False),
        ("item_name", _("Item"), 28, False),
        ("unit", _("Unit"), 8, False),
        ("last_stock", _("Last stock"), 12, False),
        *[(key, header, 14, True) for key, header in _figure_headers()],
    ]


def _normalise(value) -> str:
    return "".join(str(value).split()).casefold().strip("*:：")


def _labels() -> dict[str, str]:
    """Normalised header text -> field, in every UI language.

    A file downloaded in English is uploaded by someone whose page is in Chinese: the
    headers of either language are accepted whatever the page's language.
    """
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            pairs = [
                ("prefecture", _("Prefecture code")),
                ("item", _("Item code")),
                ("date", _("Date")),
                *_figure_headers(),
            ]
        for field, header in pairs:
            labels[_normalise(header)] = field
    return labels


# --- The template ---------------------------------------------------------------------------


def daily_import_template_filename(*, prefecture: Prefecture | None, date: dt.date) -> str:
    scope = prefecture.name if prefecture else _("All prefectures")
    return f"{_('Daily figures')}-{scope}-{date.isoformat()}.xlsx"


def daily_import_template(*, prefecture: Prefecture | None, date: dt.date) -> bytes:
    """The .xlsx to fill: one row per key item of `prefecture` (None: every active one).

    A prefecture's own template prefills stock with the last reported stock, like the entry
    form. The all-prefectures sheet shows it in "Last stock" only and leaves the figures blank
    (unless already reported): the office fills in the prefectures it has paper reports for,
    and rows left blank are skipped rather than reported as missing figures.
    """
    prefectures = [prefecture] if prefecture else list(active_prefectures())
    columns = _template_columns()
    figure_columns = [i for i, column in enumerate(columns, start=1) if column[3]]

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Daily figures")[:31])
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    for index, (_key, _header, width, _input) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width

    def cell(value, *, font=None, fill=None, border=None, number_format=None):
        written = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # Names come from reference data: text that starts with "=" stays text.
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

    title = (
        _("Daily figures of %(prefecture)s") % {"prefecture": prefecture.name}
        if prefecture
        else _("Daily figures of all prefectures")
    )
    sheet.append([cell(title, font=Font(bold=True, size=14))])
    sheet.append(
        [
            cell(_("Date"), font=Font(bold=True)),
            cell(date, font=Font(bold=True), border=BOX, number_format="yyyy-mm-dd"),
        ]
    )
    sheet.append(
        [
            cell(
                _(
                    "Enter whole numbers of 0 or more, in each item's unit. Grey cells are for "
                    "reference: keep the codes as they are. Formulas and macros are refused. "
                    "Rows whose five figures are all empty are skipped."
                ),
                font=Font(italic=True, color="5F6B7A"),
            )
        ]
    )
    header = Alignment(wrap_text=True, vertical="center")
    header_cells = []
    for _key, label, _width, _input in columns:
        written = cell(str(label), font=Font(bold=True), fill=HEADER_FILL, border=BOX)
        written.alignment = header
        header_cells.append(written)
    sheet.append(header_cells)

    last_row = HEADER_ROW
    single = prefecture is not None
    for each in prefectures:
        # One prefecture at a time: the all-prefectures sheet costs a few queries per
        # prefecture (15 in Gansu), which a download a day can afford.
        for entry in daily_entry_rows(prefecture=each, date=date):
            values = entry.values if (single or entry.existing) else {}
            reference = {
                "prefecture": each.code,
                "prefecture_name": each.name,
                "item": entry.item.code,
                "item_name": entry.item.name,
                "unit": str(entry.item.get_unit_display()),
                "last_stock": entry.last_stock,
            }
            row = []
            for key, _label, _width, is_input in columns:
                if is_input:
                    value = values.get(key)
                    row.append(cell(None if value == "" else value, border=BOX))
                else:
                    row.append(cell(reference[key], fill=GREY, border=BOX))
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
        first, last = get_column_letter(figure_columns[0]), get_column_letter(figure_columns[-1])
        validation.add(f"{first}{HEADER_ROW + 1}:{last}{last_row}")
        sheet.data_validations.append(validation)

    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Reading the upload ---------------------------------------------------------------------


def _read_upload(file) -> bytes:
    limit = settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    too_large = _("The file is larger than %(limit)s; split it into smaller files.") % {
        "limit": filesizeformat(limit)
    }
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise DailyImportRefused(too_large)
    suffix = PurePath(getattr(file, "name", "") or "").suffix.lower()
    if suffix in MACRO_SUFFIXES:
        raise DailyImportRefused(_macro_message())
    if suffix != ".xlsx":
        raise DailyImportRefused(_not_xlsx_message())
    data = file.read(limit + 1)
    if len(data) > limit:
        raise DailyImportRefused(too_large)
    return data


def _macro_message():
    return _(
        "Files with macros are refused. Save the workbook as an Excel Workbook (.xlsx) and "
        "upload it again."
    )


def _not_xlsx_message():
    return _(
        "Only Excel workbooks (.xlsx) can be imported. Save the file as an Excel Workbook "
        "(.xlsx), or download the template and fill it in."
    )


def _open_workbook(data: bytes):
    """Check the package before openpyxl reads it: a zip, an .xlsx, no macros, no bomb."""
    limit = settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if any(PurePath(name).name.lower() == "vbaproject.bin" for name in archive.namelist()):
                raise DailyImportRefused(_macro_message())
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_RATIO * limit:
                raise DailyImportRefused(_("The file is too large once unpacked."))
            content_types = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError) as exc:
        # Not a zip (a renamed .csv or .xls), or a zip without an Office package inside.
        raise DailyImportRefused(_not_xlsx_message()) from exc
    if b"macroEnabled" in content_types:
        raise DailyImportRefused(_macro_message())
    if WORKBOOK_PART_TYPE.encode() not in content_types:
        raise DailyImportRefused(_not_xlsx_message())
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:
        # A damaged package fails anywhere in openpyxl's zip and XML layers, each with its
        # own exception class; to the officer they all mean the same thing.
        raise DailyImportRefused(_("The file could not be read as an Excel workbook.")) from exc


def _is_formula(cell) -> bool:
    value = cell.value
    return cell.data_type == "f" or (isinstance(value, str) and value.startswith("="))


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _code(value) -> str | None:
    """A code as text: Excel turns a typed 620100 into the number 620100.0."""
    if _is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _date_value(value):
    """What the service gets for a date cell: a date, or the raw text for it to judge."""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, str):
        return value.strip()
    return value


class _Parser:
    def __init__(self, user):
        self.user = user
        self.labels = _labels()
        self.problems: list[ImportProblem] = []
        self.pending = []  # (origin, values: field -> raw value)
        self.skipped = 0
        self.found_header = False
        self.sheet_fields = set()  # (sheet index, field) reported for the whole sheet
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

    def parse(self, workbook) -> ParsedImport:
        for sheet_index, sheet in enumerate(workbook.worksheets):
            self.parse_sheet(sheet, sheet_index)
        if not self.found_header:
            self.problem(
                "",
                -1,
                None,
                None,
                "",
                _(
                    "No sheet has the template's header row (item code and the five figures). "
                    "Download the template and fill it in."
                ),
            )
        return self.finish()

    def parse_sheet(self, sheet, sheet_index):
        # Trust the cells, not the size the file declares (which may claim a million rows).
        sheet.reset_dimensions()
        title = sheet.title
        header = None  # field -> (column, header text)
        header_row = None
        above = {}  # "date"/"prefecture" -> (row, column, label, value, is formula)
        for row_number, cells in enumerate(sheet.iter_rows(), start=1):
            self.rows_left -= 1
            if self.rows_left < 0:
                raise DailyImportRefused(
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
                if row_number > HEADER_SEARCH_ROWS:
                    continue  # still read to the end: a formula anywhere is refused
                header = self.header_of(values, title, sheet_index, row_number)
                if header is not None:
                    header_row = row_number
                    self.found_header = True
                else:
                    self.labelled_cells(values, formulas, row_number, above)
                continue
            self.data_row(
                title, sheet_index, row_number, header, header_row, values, formulas, above
            )

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
        if "item" not in found or not any(field in found for field in FIGURE_FIELDS):
            return None
        for field, label in _figure_headers():
            if field not in found:
                self.sheet_fields.add((sheet_index, field))
                self.problem(
                    title,
                    sheet_index,
                    row_number,
                    None,
                    "",
                    _("The column “%(column)s” is missing.") % {"column": label},
                )
        return found

    def labelled_cells(self, values, formulas, row_number, above):
        """Above the header: "Date | 2020-02-10", "Prefecture code | 620100"."""
        for column, value in enumerate(values, start=1):
            if _is_empty(value) or column in formulas:
                continue
            field = self.labels.get(_normalise(value))
            if field not in ("date", "prefecture"):
                continue
            for next_column in range(column + 1, len(values) + 1):
                next_value = values[next_column - 1]
                if not _is_empty(next_value) or next_column in formulas:
                    above[field] = (
                        row_number,
                        next_column,
                        str(value).strip(),
                        next_value,
                        next_column in formulas,
                    )
                    break

    def data_row(self, title, sheet_index, row_number, header, header_row, values, formulas, above):
        def value_at(column):
            return values[column - 1] if column <= len(values) else None

        raw = {field: value_at(column) for field, (column, _label) in header.items()}
        read = {field: raw.get(field) for field in INPUT_FIELDS}
        if all(_is_empty(value) for value in read.values()):
            return  # a blank line
        if all(_is_empty(raw.get(field)) for field in FIGURE_FIELDS):
            self.skipped += 1
            return

        cells, suppressed, row_values = {}, set(), {}
        for field, (column, label) in header.items():
            if field not in INPUT_FIELDS:
                continue
            cells[field] = _Cell(row_number, column, label, _is_empty(raw[field]))
            row_values[field] = None if column in formulas else raw[field]
            if column in formulas:
                suppressed.add(field)
        # The date and the prefecture: the row's own cell, else the labelled cell above.
        for field in ("date", "prefecture"):
            if field in cells and not cells[field].empty:
                continue
            if field in above:
                at_row, at_column, label, value, is_formula = above[field]
                cells[field] = _Cell(at_row, at_column, label, _is_empty(value))
                row_values[field] = None if is_formula else value
                if is_formula:
                    suppressed.add(field)
        origin = RowOrigin(title, sheet_index, row_number, header_row, cells, suppressed)
        self.pending.append((origin, row_values))

    def finish(self) -> ParsedImport:
        codes = {_code(values.get("prefecture")) for _origin, values in self.pending}
        codes.discard(None)
        prefectures = {p.code: p for p in Prefecture.objects.filter(code__in=codes)}
        own = self.user.prefecture if self.user.is_prefecture_officer else None
        seen = {}  # (prefecture, item, date) -> origin of its first row
        rows, origins = [], []
        for origin, values in self.pending:
            cell = origin.cells.get("prefecture")
            code = _code(values.get("prefecture"))
            prefecture = prefectures.get(code) if code else None
            if code is None and "prefecture" not in origin.suppressed:
                if own is not None:
                    # An officer's file may leave the prefecture out: it can only be theirs.
                    prefecture, code = own, own.code
                elif cell is None:
                    self.sheet_problem(
                        origin,
                        "prefecture",
                        _("Name the prefecture of the rows: add a “%(column)s” column.")
                        % {"column": _("Prefecture code")},
                    )
            if prefecture is not None and not user_can_report_for_prefecture(self.user, prefecture):
                # Never sent to the service, which would refuse the whole file unexplained.
                message = _(
                    "Prefecture %(code)s is not yours: you may only import the figures of your "
                    "own prefecture."
                ) % {"code": prefecture.code}
                if cell is None:
                    self.sheet_problem(origin, "prefecture", message)
                else:
                    self.problem(
                        origin.sheet,
                        origin.sheet_index,
                        cell.row,
                        cell.column,
                        cell.header,
                        message,
                        field="prefecture",
                    )
                continue
            if "date" not in origin.cells:
                self.sheet_problem(
                    origin,
                    "date",
                    _(
                        "The date is missing: fill it in beside “%(label)s” above the header, "
                        "or add a “%(label)s” column."
                    )
                    % {"label": _("Date")},
                )
            date = _date_value(values.get("date"))
            item = _code(values.get("item"))
            day = parse_iso_date(date)
            if day and item and code:
                key = (prefecture.pk if prefecture else code, item, day)
                first = seen.setdefault(key, origin)
                if first is not origin:
                    item_cell = origin.cells["item"]
                    self.problem(
                        origin.sheet,
                        origin.sheet_index,
                        origin.row,
                        item_cell.column,
                        item_cell.header,
                        _(
                            "Duplicate row: the same prefecture, item and date as row %(row)d "
                            "of sheet “%(sheet)s”."
                        )
                        % {"row": first.row, "sheet": first.sheet},
                        field="item",
                    )
                    continue
            rows.append(
                {
                    "prefecture": prefecture or code,
                    "item": item,
                    "date": date,
                    **{field: values.get(field) for field in FIGURE_FIELDS},
                }
            )
            origins.append(origin)
        return ParsedImport(rows, self.problems, origins, self.skipped, self.sheet_fields)

    def sheet_problem(self, origin, field, message):
        if (origin.sheet_index, field) in self.sheet_fields:
            return
        self.sheet_fields.add((origin.sheet_index, field))
        self.problem(
            origin.sheet, origin.sheet_index, origin.header_row, None, "", message, field=field
        )


def daily_import_parse(file, *, user) -> ParsedImport:
    """Read an uploaded workbook into rows for `daily_figures_submit`, and the problems found.

    Raises DailyImportRefused when the file as a whole is not acceptable (too large, not an
    .xlsx, macros, unreadable). The rows are not checked against the catalogue or the dates
    here: the service does that, and `daily_import_submit` maps its errors back to cells.
    """
    workbook = _open_workbook(_read_upload(file))
    try:
        return _Parser(user).parse(workbook)
    finally:
        workbook.close()


# --- Saving ---------------------------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a service call made only to collect its findings."""


def daily_import_submit(file, *, user, reason: str = "") -> DailyImportResult:
    """Import an uploaded workbook: every row saved through `daily_figures_submit`, or none.

    Raises DailyImportRefused for a file refused as a whole, DailyImportInvalid with every
    problem of the file (the parser's and the service's, at their sheet, row and column).
    """
    parsed = daily_import_parse(file, user=user)
    problems = list(parsed.errors)
    if not parsed.rows and not problems:
        problems.append(
            ImportProblem(
                "", None, "", "", _("The file holds no figures: every row's figures are empty.")
            )
        )
    submitted = None
    if parsed.rows:
        try:
            with transaction.atomic():
                submitted = daily_figures_submit(user=user, rows=parsed.rows, reason=reason)
                if problems:
                    # The officer should fix everything in one go, so the service also checks
                    # the rows when the parser found problems; then nothing may stay.
                    raise _DryRun
        except _DryRun:
            pass
        except DailyFiguresInvalid as exc:
            problems.extend(_service_problems(parsed, exc.errors))
            if not problems:
                # Each service error maps to a cell, a row or a problem the parser reported;
                # should that ever fail, the file must still not pass as valid.
                problems = [ImportProblem("", None, "", "", str(e.message)) for e in exc.errors]
        except DailyFiguresOutOfScope as exc:
            # The parser leaves such rows out; this only guards a change of the rules.
            problems.extend(_out_of_scope_problems(parsed, exc.rows))
    if problems:
        raise DailyImportInvalid(_sorted_unique(problems))
    return DailyImportResult(submitted, rows=len(parsed.rows), skipped=parsed.skipped)


def _service_problems(parsed: ParsedImport, errors):
    for error in errors:
        if error.row is None:
            yield ImportProblem("", None, "", "", str(error.message), field=error.field)
            continue
        origin = parsed.origins[error.row]
        if error.field in origin.suppressed:
            continue  # the parser already said what is wrong with this cell
        if error.field in INPUT_FIELDS:
            cell = origin.cells.get(error.field)
            if cell is None:
                if (origin.sheet_index, error.field) in parsed.sheet_fields:
                    continue
                # Not in the file at all (an officer's own prefecture, now inactive): the row.
                yield ImportProblem(
                    origin.sheet,
                    origin.row,
                    "",
                    "",
                    str(error.message),
                    field=error.field,
                    sheet_index=origin.sheet_index,
                )
                continue
        else:
            # "reason" and the like belong to the whole row: point at its item code.
            cell = origin.cells["item"]
        message = str(error.message)
        if cell.empty and error.field in ("prefecture", "item", "date"):
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


def _out_of_scope_problems(parsed: ParsedImport, indexes):
    for index in indexes:
        origin = parsed.origins[index]
        cell = origin.cells.get("prefecture") or origin.cells["item"]
        yield ImportProblem(
            origin.sheet,
            cell.row,
            get_column_letter(cell.column),
            cell.header,
            _("You may not import figures for this prefecture."),
            field="prefecture",
            sheet_index=origin.sheet_index,
            column_index=cell.column,
        )


def _sorted_unique(problems):
    """In sheet order; a labelled date cell wrong for 40 rows is one problem, not 40."""
    unique = {}
    for problem in problems:
        unique.setdefault((problem.sheet, problem.row, problem.column, problem.message), problem)
    return sorted(unique.values(), key=ImportProblem.sort_key)
