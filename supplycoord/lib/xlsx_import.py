"""The engine of the Excel imports: an uploaded .xlsx read into rows for a service, every
problem at its sheet, Excel row and column letter.

The daily figures (inventory/imports.py) and the production reports (production/imports.py)
are imported the same way, and a file is refused for the same reasons whichever import it is
sent to. What is theirs stays with them: their columns and labels, how a row becomes a
service row, how the service's errors map back to cells, and their templates. Here:

- the checks of the package (size, type, macros, zip bombs, damaged files),
- `ImportProblem` and the exceptions,
- `XlsxParser`: the header row found by its labels (in every UI language), rows read with a
  limit, formulas refused, each row's cells remembered for its errors,
- `import_submit`: the rows sent to the service in one transaction, or checked and rolled back,
- the pieces of a template (styles, header cells, the whole-number validation).
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
from openpyxl import load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What [Content_Types].xml declares for the workbook of a plain .xlsx. A macro-enabled one
# declares "...ms-excel.sheet.macroEnabled.main+xml", a template "...template.main+xml".
WORKBOOK_PART_TYPE = XLSX_CONTENT_TYPE + ".main+xml"
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
# An .xlsx is zipped XML that packs about 10-20x; far beyond that is a zip bomb, not a report.
MAX_UNPACKED_RATIO = 100
# The header row is looked for in the first rows only; the templates put it in row 3 or 4.
HEADER_SEARCH_ROWS = 20

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

    @classmethod
    def at(cls, sheet, sheet_index, row, column, header, message, field=""):
        """A problem at a cell given by its column number (None: the whole row or sheet)."""
        return cls(
            sheet=sheet,
            row=row,
            column=get_column_letter(column) if column else "",
            header=header,
            message=str(message),
            field=field,
            sheet_index=sheet_index,
            column_index=column or 0,
        )

    @classmethod
    def at_cell(cls, origin, cell, message, field=""):
        return cls.at(
            origin.sheet, origin.sheet_index, cell.row, cell.column, cell.header, message, field
        )


class ImportRefused(Exception):
    """The file as a whole is refused (size, type, macros, unreadable): nothing was read."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ImportInvalid(Exception):
    """The file has problems; nothing was saved. `problems` lists every one, in sheet order."""

    def __init__(self, problems: list[ImportProblem]):
        super().__init__(f"{len(problems)} problem(s) in the file")
        self.problems = problems


@dataclasses.dataclass
class Cell:
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
    cells: dict  # field -> Cell; a field may have none (no such column, no labelled cell)
    suppressed: set  # fields whose cell already has a problem of the parser's own (a formula)


@dataclasses.dataclass
class ParsedImport:
    rows: list[dict]  # for the service
    errors: list[ImportProblem]
    origins: list[RowOrigin] = dataclasses.field(default_factory=list)  # origins[i] ~ rows[i]
    skipped: int = 0  # rows that name an item but hold no figure at all
    # (sheet index, field) the parser reported for a sheet as a whole (a missing column):
    # the service's findings on that field, row after row, would only repeat it.
    sheet_fields: set = dataclasses.field(default_factory=set)


@dataclasses.dataclass
class ImportResult:
    submitted: object  # what the service returned
    rows: int
    skipped: int


# --- Reading the upload ---------------------------------------------------------------------


def read_upload(file) -> bytes:
    limit = settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    too_large = _("The file is larger than %(limit)s; split it into smaller files.") % {
        "limit": filesizeformat(limit)
    }
    size = getattr(file, "size", None)
    if size is not None and size > limit:
        raise ImportRefused(too_large)
    suffix = PurePath(getattr(file, "name", "") or "").suffix.lower()
    if suffix in MACRO_SUFFIXES:
        raise ImportRefused(_macro_message())
    if suffix != ".xlsx":
        raise ImportRefused(_not_xlsx_message())
    data = file.read(limit + 1)
    if len(data) > limit:
        raise ImportRefused(too_large)
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


def _unreadable_message():
    return _("The file could not be read as an Excel workbook.")


def open_workbook(data: bytes):
    """Check the package before openpyxl reads it: a zip, an .xlsx, no macros, no bomb."""
    limit = settings.SUPPLYCOORD["IMPORT_MAX_BYTES"]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if any(PurePath(name).name.lower() == "vbaproject.bin" for name in archive.namelist()):
                raise ImportRefused(_macro_message())
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_RATIO * limit:
                raise ImportRefused(_("The file is too large once unpacked."))
            content_types = archive.read("[Content_Types].xml")
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError) as exc:
        # Not a zip (a renamed .csv or .xls), or a zip without an Office package inside.
        raise ImportRefused(_not_xlsx_message()) from exc
    if b"macroEnabled" in content_types:
        raise ImportRefused(_macro_message())
    if WORKBOOK_PART_TYPE.encode() not in content_types:
        raise ImportRefused(_not_xlsx_message())
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:
        # A damaged package fails anywhere in openpyxl's zip and XML layers, each with its
        # own exception class; to the officer they all mean the same thing.
        raise ImportRefused(_unreadable_message()) from exc


# --- Cell values ----------------------------------------------------------------------------


def is_formula(cell) -> bool:
    value = cell.value
    return cell.data_type == "f" or (isinstance(value, str) and value.startswith("="))


def is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def normalise(value) -> str:
    return "".join(str(value).split()).casefold().strip("*:：")


def code_value(value) -> str | None:
    """A code as text: Excel turns a typed 620100 into the number 620100.0."""
    if is_empty(value):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def date_value(value):
    """What the service gets for a date cell: a date, or the raw text for it to judge."""
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if isinstance(value, str):
        return value.strip()
    return value


def labels_in_every_language(fields_and_headers) -> dict[str, str]:
    """Normalised header text -> field, in every UI language.

    A file downloaded in English is uploaded by someone whose page is in Chinese: the
    headers of either language are accepted whatever the page's language.
    `fields_and_headers()` gives (field, header) in the active language.
    """
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            pairs = list(fields_and_headers())
        for field, header in pairs:
            labels[normalise(header)] = field
    return labels


# --- The parser -----------------------------------------------------------------------------


@dataclasses.dataclass
class SheetState:
    title: str
    index: int
    header: dict | None = None  # field -> (column, header text)
    header_row: int | None = None
    # What a parser keeps from the rows above the header ("Date | 2020-02-10").
    above: dict = dataclasses.field(default_factory=dict)


class XlsxParser:
    """Reads every sheet of a workbook into `pending` rows: (RowOrigin, field -> raw value).

    A subclass says which headers it knows (`labels`), which make a header row
    (`is_header`), which columns a sheet must have (`required_columns`), which rows hold
    nothing to report (`is_unfilled`), and turns the pending rows into service rows
    (`finish`).
    """

    def __init__(self, user, labels: dict[str, str]):
        self.user = user
        self.labels = labels
        self.problems: list[ImportProblem] = []
        self.pending = []  # (origin, values: field -> raw value)
        self.skipped = 0
        self.found_header = False
        self.sheet_fields = set()  # (sheet index, field) reported for the whole sheet
        self.rows_left = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] + HEADER_SEARCH_ROWS

    # Hooks of the subclass.

    def missing_header_message(self) -> str:
        raise NotImplementedError

    def is_header(self, found: dict) -> bool:
        raise NotImplementedError

    def required_columns(self):
        """(field, header) of the columns a sheet must have, in the order they are reported."""
        raise NotImplementedError

    def is_unfilled(self, raw: dict, header: dict, formulas: set) -> bool:
        raise NotImplementedError

    def above_header(self, state: SheetState, values, formulas, row_number):
        """A row above the header; a parser may take labelled cells from it."""

    def complete_row(self, state: SheetState, cells, suppressed, row_values):
        """Fill in the fields a row takes from elsewhere than its own cells."""

    def finish(self) -> ParsedImport:
        raise NotImplementedError

    # The reading.

    def problem(self, sheet, sheet_index, row, column, header, message, field=""):
        self.problems.append(
            ImportProblem.at(sheet, sheet_index, row, column, header, message, field)
        )

    def sheet_problem(self, origin, field, message):
        """A problem of a field for the whole sheet, said once at its header row."""
        if (origin.sheet_index, field) in self.sheet_fields:
            return
        self.sheet_fields.add((origin.sheet_index, field))
        self.problem(
            origin.sheet, origin.sheet_index, origin.header_row, None, "", message, field=field
        )

    def parse(self, workbook) -> ParsedImport:
        """Read every sheet. Read-only openpyxl parses a sheet's XML only now, so a damaged
        sheet fails here, in any of its zip and XML layers' exceptions."""
        try:
            for sheet_index, sheet in enumerate(workbook.worksheets):
                self.parse_sheet(sheet, sheet_index)
        except ImportRefused:
            raise
        except Exception as exc:
            raise ImportRefused(_unreadable_message()) from exc
        if not self.found_header:
            self.problem("", -1, None, None, "", self.missing_header_message())
        return self.finish()

    def parse_sheet(self, sheet, sheet_index):
        # Trust the cells, not the size the file declares (which may claim a million rows).
        sheet.reset_dimensions()
        state = SheetState(sheet.title, sheet_index)
        for row_number, cells in enumerate(sheet.iter_rows(), start=1):
            self.rows_left -= 1
            if self.rows_left < 0:
                raise ImportRefused(
                    _("The file has more than %(limit)d rows; split it into smaller files.")
                    % {"limit": settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"]}
                )
            formulas = set()
            for column, each in enumerate(cells, start=1):
                if is_formula(each):
                    formulas.add(column)
                    self.problem(
                        state.title,
                        sheet_index,
                        row_number,
                        column,
                        "",
                        _("This cell holds a formula. Enter the figure itself, not a formula."),
                    )
            values = [each.value for each in cells]
            if state.header is None:
                if row_number > HEADER_SEARCH_ROWS:
                    continue  # still read to the end: a formula anywhere is refused
                state.header = self.header_of(values, state, row_number)
                if state.header is not None:
                    state.header_row = row_number
                    self.found_header = True
                else:
                    self.above_header(state, values, formulas, row_number)
                continue
            self.data_row(state, row_number, values, formulas)

    def header_of(self, values, state: SheetState, row_number):
        found = {}
        for column, value in enumerate(values, start=1):
            if is_empty(value):
                continue
            field = self.labels.get(normalise(value))
            if field is None:
                continue
            if field in found:
                self.problem(
                    state.title,
                    state.index,
                    row_number,
                    column,
                    str(value),
                    _("This column appears twice; only the first one is read."),
                )
                continue
            found[field] = (column, str(value).strip())
        if not self.is_header(found):
            return None
        for field, label in self.required_columns():
            if field not in found:
                self.sheet_fields.add((state.index, field))
                self.problem(
                    state.title,
                    state.index,
                    row_number,
                    None,
                    "",
                    _("The column “%(column)s” is missing.") % {"column": label},
                    field=field,
                )
        return found

    def data_row(self, state: SheetState, row_number, values, formulas):
        def value_at(column):
            return values[column - 1] if column <= len(values) else None

        raw = {field: value_at(column) for field, (column, _label) in state.header.items()}
        if all(is_empty(value) for value in raw.values()):
            return  # a blank line
        if self.is_unfilled(raw, state.header, formulas):
            self.skipped += 1
            return
        cells, suppressed, row_values = {}, set(), {}
        for field, (column, label) in state.header.items():
            cells[field] = Cell(row_number, column, label, is_empty(raw[field]))
            row_values[field] = None if column in formulas else raw[field]
            if column in formulas:
                suppressed.add(field)
        self.complete_row(state, cells, suppressed, row_values)
        origin = RowOrigin(
            state.title, state.index, row_number, state.header_row, cells, suppressed
        )
        self.pending.append((origin, row_values))

    def is_duplicate(self, seen: dict, key, origin: RowOrigin, message: str) -> bool:
        """Whether a row repeats an earlier one (`key`); then it is reported at its item.
        `message` is translated, with %(row)d and %(sheet)s of the first row to fill in."""
        first = seen.setdefault(key, origin)
        if first is origin:
            return False
        self.problems.append(
            ImportProblem.at_cell(
                origin,
                origin.cells["item"],
                message % {"row": first.row, "sheet": first.sheet},
                field="item",
            )
        )
        return True


def parse_upload(file, parser: XlsxParser) -> ParsedImport:
    """Raises ImportRefused when the file as a whole is not acceptable (too large, not an
    .xlsx, macros, unreadable)."""
    workbook = open_workbook(read_upload(file))
    try:
        return parser.parse(workbook)
    finally:
        workbook.close()


# --- Saving ---------------------------------------------------------------------------------


class _DryRun(Exception):
    """Rolls back a service call made only to collect its findings."""


def import_submit(
    parsed: ParsedImport,
    *,
    save,
    nothing_message: str,
    service_invalid,
    key_fields,
    row_cell,
    service_out_of_scope,
    scope_field: str,
    out_of_scope_message: str,
    invalid=ImportInvalid,
) -> ImportResult:
    """Save `parsed.rows` through `save(rows)`, the service, or nothing.

    Raises `invalid` with every problem of the file: the parser's, and the service's mapped
    back to cells: `service_invalid` (with `.errors`) as `service_problems` says with
    `key_fields` and `row_cell`, `service_out_of_scope` (with `.rows`) at the rows'
    `scope_field` with `out_of_scope_message`.
    """
    problems = list(parsed.errors)
    if not parsed.rows and not problems:
        problems.append(ImportProblem("", None, "", "", nothing_message))
    submitted = None
    if parsed.rows:
        try:
            with transaction.atomic():
                submitted = save(parsed.rows)
                if problems:
                    # Everything should be fixed in one go, so the service also checks the
                    # rows when the parser found problems; then nothing may stay.
                    raise _DryRun
        except _DryRun:
            pass
        except service_invalid as exc:
            problems.extend(
                service_problems(parsed, exc.errors, key_fields=key_fields, row_cell=row_cell)
            )
            if not problems:
                # Each service error maps to a cell, a row or a problem the parser reported;
                # should that ever fail, the file must still not pass as valid.
                problems = [ImportProblem("", None, "", "", str(e.message)) for e in exc.errors]
        except service_out_of_scope as exc:
            # The parser leaves such rows out; this only guards a change of the rules.
            problems.extend(
                out_of_scope_problems(
                    parsed, exc.rows, field=scope_field, message=out_of_scope_message
                )
            )
    if problems:
        raise invalid(sorted_unique(problems))
    return ImportResult(submitted, rows=len(parsed.rows), skipped=parsed.skipped)


def service_problems(parsed: ParsedImport, errors, *, key_fields, row_cell):
    """The service's errors at the cells they are about.

    `key_fields` are those a row cannot do without: an empty cell of theirs is said to be
    required. `row_cell(origin, field)` is the cell for an error on a field the row has no
    cell of, None for the row as a whole.
    """
    for error in errors:
        if error.row is None:
            yield ImportProblem("", None, "", "", str(error.message), field=error.field)
            continue
        origin = parsed.origins[error.row]
        if error.field in origin.suppressed:
            continue  # the parser already said what is wrong with this cell
        cell = origin.cells.get(error.field)
        if cell is None:
            if (origin.sheet_index, error.field) in parsed.sheet_fields:
                continue  # said once for the sheet
            cell = row_cell(origin, error.field)
        if cell is None:
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
        message = error.message
        if cell.empty and error.field in key_fields:
            message = _("This field is required.")
        yield ImportProblem.at_cell(origin, cell, message, field=error.field)


def out_of_scope_problems(parsed: ParsedImport, indexes, *, field, message):
    """Rows the service refused as not the user's, at their `field` (else the item) cell."""
    for index in indexes:
        origin = parsed.origins[index]
        cell = origin.cells.get(field) or origin.cells["item"]
        yield ImportProblem.at_cell(origin, cell, message, field=field)


def sorted_unique(problems):
    """In sheet order; a labelled date cell wrong for 40 rows is one problem, not 40."""
    unique = {}
    for problem in problems:
        unique.setdefault((problem.sheet, problem.row, problem.column, problem.message), problem)
    return sorted(unique.values(), key=ImportProblem.sort_key)


# --- Templates ------------------------------------------------------------------------------


def template_sheet(workbook, *, title: str, columns, header_row: int):
    """The sheet to fill, its columns as wide as `columns` (key, header, width, is_input)
    say, frozen below the header."""
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = f"A{header_row + 1}"
    for index, (_key, _header, width, _input) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    return sheet


def template_cell(sheet, value, *, font=None, fill=None, border=None, number_format=None):
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


def template_header(sheet, columns):
    """The header row's cells, one per column (key, header, width, is_input)."""
    header_cells = []
    for _key, label, _width, _input in columns:
        written = template_cell(
            sheet, str(label), font=Font(bold=True), fill=HEADER_FILL, border=BOX
        )
        written.alignment = Alignment(wrap_text=True, vertical="center")
        header_cells.append(written)
    return header_cells


def whole_number_validation(sheet, cells: str):
    """Excel itself refuses anything but a whole number of 0 or more in `cells` ("G5:K40")."""
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
    validation.add(cells)
    sheet.data_validations.append(validation)


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
