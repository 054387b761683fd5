"""The engine of the Excel imports: an uploaded .xlsx read into rows for a service, every
problem at its sheet, Excel row and column letter.

Every entry kind's import (the daily figures', inventory/imports.py; the production
reports', production/imports.py; every later one) is an `EntryImport` declaration: its
template and its reading are made here from the kind's declaration (supplycoord.bulk.
EntryKind) and a few layout choices, and a file is refused for the same reasons whichever
import it is sent to. Here:

- the checks of the package before openpyxl reads it (size, type, macros, encryption, zip
  and XML bombs, damaged files): see `open_workbook`,
- `ImportProblem` and the exceptions,
- `XlsxParser`: the header row found by its labels (in every UI language), rows read with a
  limit, formulas refused, each row's cells remembered for its errors,
- `import_submit`: the rows sent to the service in one transaction, or checked and rolled back,
- the pieces of a template (styles, header cells, the whole-number validation),
- `EntryImport` and its parser: an entry kind's template and reading, the rows sent through
  the kind's pipeline (`rows_import_submit`)."""

import collections.abc
import dataclasses
import datetime as dt
import io
import itertools
import zipfile
import zlib
from pathlib import PurePath
from xml.parsers import expat

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.packaging.manifest import Manifest
from openpyxl.packaging.relationship import get_dependents, get_rels_path
from openpyxl.reader.excel import _find_workbook_part
from openpyxl.reader.workbook import WorkbookParser
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.xml.constants import (
    ARC_CONTENT_TYPES,
    ARC_CORE,
    ARC_CUSTOM,
    ARC_STYLE,
    ARC_THEME,
    SHARED_STRINGS,
    SHEET_MAIN_NS,
)
from openpyxl.xml.functions import fromstring

from supplycoord.lib.dates import parse_iso_date
from supplycoord.lib.exports import download_name
from supplycoord.lib.numbers import grouped

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What [Content_Types].xml declares for the workbook of a plain .xlsx. A macro-enabled one
# declares "...ms-excel.sheet.macroEnabled.main+xml", a template "...template.main+xml".
WORKBOOK_PART_TYPE = XLSX_CONTENT_TYPE + ".main+xml"
MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
# What an .xlsx file is made of is checked before openpyxl reads it (`open_workbook`). The sizes
# that are policy are settings (IMPORT_MAX_PART_BYTES, IMPORT_MAX_UNPACKED_BYTES,
# IMPORT_MAX_SHARED_STRINGS); these bound what openpyxl would build from any XML it is given.
#
# An .xlsx is zipped XML that packs about 10-16x (16x for 50,000 identical rows); far beyond
# that is a zip bomb, not a report. Parts under a megabyte are too small to matter.
MAX_UNPACKED_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024
# A workbook of a few sheets has 10-40 parts.
MAX_PARTS = 1000
# Parts openpyxl reads in one piece (styles, the workbook, properties, relationships) and the
# shared strings, which it keeps in memory: a megabyte or two in real workbooks.
WHOLE_PART_MAX_BYTES = 16 * 1024 * 1024
# XML elements (and attributes) openpyxl holds at once: everything of the parts it reads in
# one piece, and what a sheet has outside its rows (column widths, merged cells, validation).
# A real workbook has a few thousand; each costs openpyxl some hundreds of bytes.
MAX_HELD_ELEMENTS = 20_000
# Bytes of a sheet outside its rows, all held until the sheet is read.
MAX_HELD_BYTES = 8 * 1024 * 1024
# One row (or one shared string) is built whole before it is handed out: a template row is
# ~40 elements and a kilobyte.
MAX_ROW_ELEMENTS = 20_000
MAX_ROW_BYTES = 1024 * 1024
# openpyxl fills each row up to its last cell: cells a file may make the parser walk through,
# per row on average (the widest template has 14 columns).
MAX_COLUMNS = 64
# XML elements of the sheets per row on average, which bounds the time openpyxl takes to
# parse them: a template row is at most 43 (14 cells of inline text: c, is, t).
MAX_ELEMENTS_PER_ROW = 64
MAX_DEPTH = 100
CHUNK_BYTES = 64 * 1024
ROW_TAG = f"{SHEET_MAIN_NS} row"
STRING_TAG = f"{SHEET_MAIN_NS} si"
STRINGS_ROOT_TAG = f"{SHEET_MAIN_NS} sst"
# An encrypted .xlsx (a password to open it) and an old .xls are OLE2 compound files.
OLE2_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The header row is looked for in the first rows only; the templates put it in row 3 or 4.
HEADER_SEARCH_ROWS = 20


def max_problems() -> int:
    """The most problems listed for one file, in sheet order: enough to correct a file in a
    few rounds. Hundreds of thousands (50,000 rows all wrong) would bury the first ones, and
    cost the worker more memory than the rows themselves. The services stop at the same
    number (SUPPLYCOORD["MAX_ERRORS_REPORTED"])."""
    return settings.SUPPLYCOORD["MAX_ERRORS_REPORTED"]


GREY = PatternFill("solid", fgColor="E7E9EC")
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
THIN = Side(style="thin", color="B8C2CC")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


# --- Errors and results ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
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


@dataclasses.dataclass(slots=True)
class Cell:
    row: int
    column: int  # from 1
    header: str
    empty: bool


class RowCells(collections.abc.Mapping):
    """A data row's cells by field, each made when asked for (to say where a problem is).

    The sheet's header says where each field's cell stands, the row only which are empty: a
    Cell object per field and row was most of the memory a large import took. `complete_row`
    may place cells that stand elsewhere (the labelled date above the header).
    """

    __slots__ = ("row", "header", "empty", "placed")

    def __init__(self, row: int, header: dict, empty: int = 0):
        self.row = row
        self.header = header  # field -> (column, header text), the sheet's own, shared
        self.empty = empty  # bit i set: the cell of the header's i-th field is empty
        self.placed = None  # field -> Cell

    def __getitem__(self, field):
        if self.placed and field in self.placed:
            return self.placed[field]
        column, label = self.header[field]
        bit = 1 << list(self.header).index(field)
        return Cell(self.row, column, label, bool(self.empty & bit))

    def __setitem__(self, field, cell: Cell):
        if self.placed is None:
            self.placed = {}
        self.placed[field] = cell

    def __iter__(self):
        yield from self.header
        if self.placed:
            yield from (field for field in self.placed if field not in self.header)

    def __len__(self):
        return sum(1 for _field in self)


# Most rows have nothing suppressed: they share this one.
NOTHING_SUPPRESSED = frozenset()


@dataclasses.dataclass(slots=True)
class RowOrigin:
    """Where a row sent to the service came from, to put its errors back on the sheet."""

    sheet: str
    sheet_index: int
    row: int
    header_row: int
    cells: RowCells  # field -> Cell; a field may have none (no column, no labelled cell)
    suppressed: frozenset  # fields whose cell already has a problem of the parser's (a formula)


@dataclasses.dataclass
class ParsedImport:
    rows: list[dict]  # for the service
    errors: list[ImportProblem]
    origins: list[RowOrigin] = dataclasses.field(default_factory=list)  # origins[i] ~ rows[i]
    skipped: int = 0  # rows that name an item but hold no figure at all
    # (sheet index, field) the parser reported for a sheet as a whole (a missing column):
    # the service's findings on that field, row after row, would only repeat it.
    sheet_fields: set = dataclasses.field(default_factory=set)
    more_problems: bool = False  # the parser found more than max_problems()


@dataclasses.dataclass
class ImportResult:
    submitted: object  # what the service returned
    rows: int
    skipped: int


# --- Reading the upload ---------------------------------------------------------------------


def read_upload(file) -> bytes:
    """The upload's bytes, refused above IMPORT_MAX_BYTES by the size Django reports before
    any is read (an upload over FILE_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, waits in a temporary
    file, not in memory), and never read past the limit."""
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


def _encrypted_message():
    return _(
        "The file is protected by a password, or is an old Excel 97-2003 (.xls) workbook. "
        "Remove the password, save it as an Excel Workbook (.xlsx) and upload it again."
    )


def _unpacked_size_message(limit):
    return _("The file unpacks to more than %(limit)s; split it into smaller files.") % {
        "limit": filesizeformat(limit)
    }


def _complex_message():
    return _(
        "The workbook holds more than its cells: too much formatting or other content to be "
        "read. Copy the rows into the template, save it and upload that file."
    )


def _rows_message():
    return _("The file has more than %(limit)s rows; split it into smaller files.") % {
        "limit": grouped(settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"])
    }


def open_workbook(data: bytes):
    """Check the package, then open it with openpyxl in read-only mode (sheets are parsed only
    as they are read, row by row).

    Nothing is unpacked before the zip's directory is checked: the number of parts, each
    part's unpacked size and the total, the packing ratio, no encryption. Then every part is
    read once, in chunks, as the XML openpyxl will parse, and refused as soon as openpyxl
    would build too much from it (`_scan_part`): no DTD (XML entity bombs), a bounded count
    of shared strings and of rows and cells, no huge row, nothing big held outside the rows.
    A 0.5 MB file that unpacks to 200 MB is refused from the directory alone, in milliseconds.
    """
    if data[: len(OLE2_SIGNATURE)] == OLE2_SIGNATURE:
        raise ImportRefused(_encrypted_message())
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        # Not a zip (a renamed .csv), or a damaged one.
        raise ImportRefused(_not_xlsx_message()) from exc
    with archive:
        _check_directory(archive)
        _check_parts(archive)
    try:
        return load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    except Exception as exc:
        # A damaged package fails anywhere in openpyxl's zip and XML layers, each with its
        # own exception class; to the officer they all mean the same thing.
        raise ImportRefused(_unreadable_message()) from exc


def _check_directory(archive):
    """The zip's directory: what each part declares (zipfile enforces the declared sizes
    while unpacking, so they bound what openpyxl can ever unpack)."""
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise ImportRefused(
            _(
                "The file holds more than %(limit)s parts, far more than an Excel workbook to "
                "import. Save it as an Excel Workbook (.xlsx) and upload it again."
            )
            % {"limit": grouped(MAX_PARTS)}
        )
    names = [info.filename for info in infos]
    if any(PurePath(name).name.lower() == "vbaproject.bin" for name in names):
        raise ImportRefused(_macro_message())
    if len(set(names)) != len(names):
        raise ImportRefused(_unreadable_message())  # which of two same-named parts is read?
    part_limit = settings.SUPPLYCOORD["IMPORT_MAX_PART_BYTES"]
    total_limit = settings.SUPPLYCOORD["IMPORT_MAX_UNPACKED_BYTES"]
    for info in infos:
        if info.flag_bits & 0x1:
            raise ImportRefused(_encrypted_message())
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ImportRefused(_unreadable_message())  # Excel only stores and deflates
        if info.file_size > part_limit:
            raise ImportRefused(_unpacked_size_message(part_limit))
        if info.file_size > RATIO_CHECKED_FROM and info.file_size > MAX_UNPACKED_RATIO * max(
            info.compress_size, 1
        ):
            raise ImportRefused(
                _(
                    "The file is packed far tighter than an Excel workbook can be (more than "
                    "%(ratio)d to 1): it is refused as a possible zip bomb."
                )
                % {"ratio": MAX_UNPACKED_RATIO}
            )
    if sum(info.file_size for info in infos) > total_limit:
        raise ImportRefused(_unpacked_size_message(total_limit))


@dataclasses.dataclass
class _Budget:
    """What the checks of one package have counted so far, across its parts."""

    held: int = 0  # elements openpyxl holds at once (see MAX_HELD_ELEMENTS)
    sheet_elements: int = 0
    rows: int = 0
    cells: int = 0  # cells openpyxl hands out: each row up to its last cell
    strings: int = 0


def _check_parts(archive):
    """Every part openpyxl will read, checked as it will read it: the sheets and the shared
    strings piece by piece, the others in one piece. What it never reads in read-only mode
    (the calculation chain, pivot caches, comments, a worksheet's drawings, media) is left
    alone: the directory's limits bound it."""
    names = set(archive.namelist())
    if ARC_CONTENT_TYPES not in names:
        raise ImportRefused(_not_xlsx_message())  # a zip, not an Office file
    budget = _Budget()
    try:
        # [Content_Types].xml, the workbook and the relationships say what the other parts
        # are; they are read in one piece, so they are checked as such before being parsed.
        _scan_part(archive, ARC_CONTENT_TYPES, "whole", budget)
        content_types = archive.read(ARC_CONTENT_TYPES)
        if b"macroEnabled" in content_types:
            raise ImportRefused(_macro_message())
        if WORKBOOK_PART_TYPE.encode() not in content_types:
            raise ImportRefused(_not_xlsx_message())
        manifest = Manifest.from_tree(fromstring(content_types))
        workbook_part = _find_workbook_part(manifest).PartName[1:]
        rels_parts = sorted(name for name in names if name.endswith(".rels"))
        for name in [workbook_part, *rels_parts]:
            _scan_part(archive, name, "whole", budget)
        sheets, strings, read_whole = _roles(archive, names, manifest, workbook_part)
    except ImportRefused:
        raise
    except Exception as exc:
        # The XML of [Content_Types].xml, the workbook or its relationships is damaged, or a
        # part they name is missing: openpyxl's packaging layer raises KeyError, IOError...
        raise ImportRefused(_unreadable_message()) from exc
    for name in sorted(read_whole - {ARC_CONTENT_TYPES, workbook_part, *rels_parts}):
        _scan_part(archive, name, "whole", budget)
    if strings:
        _scan_part(archive, strings, "strings", budget)
    for name in sheets:  # in the workbook's order, as the parser reads them
        _scan_part(archive, name, "sheet", budget)


def _roles(archive, names, manifest, workbook_part):
    """The parts openpyxl reads in read-only mode, found as it finds them (openpyxl 3.1's
    reader): the worksheets and the shared strings, read piece by piece (only they may be
    large), and the parts it reads in one piece. A part may not be both: a sheet read in one
    piece would be a bomb that passed as a sheet."""
    parser = WorkbookParser(archive, workbook_part, keep_links=False)
    parser.parse()
    found = [(rel.target, rel.Type) for _sheet, rel in parser.find_sheets()]
    found = [(target, kind) for target, kind in found if target in names]
    sheets = [target for target, kind in found if "chartsheet" not in kind]
    strings_part = manifest.find(SHARED_STRINGS)
    strings = strings_part.PartName[1:] if strings_part is not None else None
    strings = strings if strings in names else None
    read_whole = {ARC_CONTENT_TYPES, ARC_CORE, ARC_CUSTOM, ARC_STYLE, ARC_THEME, workbook_part}
    read_whole |= {get_rels_path(part) for part in [workbook_part, *sheets]}
    # A chart sheet is read with its drawings, their charts and images: all that its
    # relationships lead to.
    todo = [target for target, kind in found if "chartsheet" in kind]
    reached = set()
    while todo:
        part = todo.pop()
        if part in reached or part not in names:
            continue
        reached.add(part)
        rels_part = get_rels_path(part)
        if rels_part in names:
            reached.add(rels_part)
            todo.extend(
                rel.target
                for rel in get_dependents(archive, rels_part)
                if rel.TargetMode != "External"
            )
    read_whole = (read_whole | reached) & names
    streamed = [*sheets, strings] if strings else sheets
    if len(set(streamed)) != len(streamed) or read_whole & set(streamed):
        raise ImportRefused(_unreadable_message())
    return sheets, strings, read_whole


def _column_of(reference):
    """The column of a cell reference ("AB12" -> 28) as openpyxl reads it; 0 if it cannot
    (openpyxl then refuses the sheet itself)."""
    letters = reference.rstrip("0123456789")
    try:
        return column_index_from_string(letters) if letters else 0
    except ValueError:
        return 0


def _scan_part(archive, name, kind, budget: _Budget):
    """Read one part in chunks as the XML openpyxl will parse, and refuse the file as soon as
    openpyxl would build too much from it. `kind`: "sheet" (read row by row: each row is
    built, handed out and cleared), "strings" (the shared strings: each kept), "whole" (read
    in one piece, or not at all).

    A part that is not well-formed XML ends its check where the XML breaks: openpyxl stops
    at the same place if it ever reads it (then the file is refused as unreadable), and media
    and printer settings are never parsed as XML.
    """
    info = archive.getinfo(name)
    if kind != "sheet" and info.file_size > WHOLE_PART_MAX_BYTES:
        raise ImportRefused(_unpacked_size_message(WHOLE_PART_MAX_BYTES))
    unit_tag = {"sheet": ROW_TAG, "strings": STRING_TAG}.get(kind)
    max_rows = settings.SUPPLYCOORD["MAX_ROWS_PER_SUBMISSION"] + HEADER_SEARCH_ROWS
    max_cells = max_rows * MAX_COLUMNS
    max_sheet_elements = max_rows * MAX_ELEMENTS_PER_ROW
    sheet = kind == "sheet"
    max_strings = settings.SUPPLYCOORD["IMPORT_MAX_SHARED_STRINGS"]
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = unit_depth = unit_elements = unit_start = unit_bytes = 0
    kept_bytes = 0  # row attributes openpyxl keeps (a height, a style) until the sheet is read
    last_reference, after_reference = None, 0

    def strings_refused():
        return ImportRefused(
            _(
                "The file holds more than %(limit)s different texts, far more than an import "
                "needs. Copy the rows into the template, save it and upload that file."
            )
            % {"limit": f"{max_strings:,}"}
        )

    def start(tag, attrs):
        nonlocal depth, unit_depth, unit_elements, unit_start, kept_bytes
        nonlocal last_reference, after_reference
        depth += 1
        if depth > MAX_DEPTH:
            raise ImportRefused(_complex_message())
        if sheet:
            budget.sheet_elements += 1
            if budget.sheet_elements > max_sheet_elements:
                raise ImportRefused(_complex_message())
        if unit_depth:
            if tag == unit_tag:
                if sheet:  # openpyxl would hand out the inner row and the outer
                    raise ImportRefused(_unreadable_message())
                budget.strings += 1
                if budget.strings > max_strings:
                    raise strings_refused()
            unit_elements += 1 + len(attrs)
            if unit_elements > MAX_ROW_ELEMENTS:
                raise ImportRefused(_complex_message())
            if sheet and depth == unit_depth + 1:
                # Every child of a row is a cell to openpyxl, at its reference or after the
                # cell before it.
                reference = attrs.get("r")
                if reference:
                    last_reference, after_reference = reference, 0
                else:
                    after_reference += 1
            return
        if tag == unit_tag:
            unit_depth, unit_elements = depth, 0
            unit_start = parser.CurrentByteIndex
            last_reference, after_reference = None, 0
            if sheet:
                budget.rows += 1
                if budget.rows > max_rows:
                    raise ImportRefused(_rows_message())
                # openpyxl keeps the attributes of a row that has more than these (a height,
                # a style): Excel writes a handful; more count as held elements.
                if any(key not in ("r", "spans") and " " not in key for key in attrs):
                    budget.held += max(0, len(attrs) - 16)
                    kept_bytes += sum(len(key) + len(value) for key, value in attrs.items())
            else:
                budget.strings += 1
                if budget.strings > max_strings:
                    raise strings_refused()
        else:
            budget.held += 1 + len(attrs)
            if tag == STRINGS_ROOT_TAG and kind == "strings":
                # Excel writes how many different texts follow; they are counted anyway.
                declared = attrs.get("uniqueCount", "")
                if declared.isdigit() and int(declared) > max_strings:
                    raise strings_refused()
        if budget.held > MAX_HELD_ELEMENTS:
            raise ImportRefused(_complex_message())

    def end(tag):
        nonlocal depth, unit_depth, unit_bytes
        if depth == unit_depth:
            unit_depth = 0
            size = parser.CurrentByteIndex - unit_start
            if size > MAX_ROW_BYTES:
                raise ImportRefused(_complex_message())
            unit_bytes += size
            if sheet:
                width = after_reference
                if last_reference:
                    width += _column_of(last_reference)
                budget.cells += width
                if budget.cells > max_cells:
                    raise ImportRefused(
                        _(
                            "The sheets hold more than %(limit)s cells, the gaps before each "
                            "row's last cell included. Delete the unused columns, or split "
                            "the file."
                        )
                        % {"limit": f"{max_cells:,}"}
                    )
        depth -= 1

    def refuse_dtd(*args):
        # Office files never declare a DTD: one is how entity bombs (billion laughs) start.
        raise ImportRefused(_unreadable_message())

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    fed = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(CHUNK_BYTES):
                parser.Parse(chunk, False)
                fed += len(chunk)
                # Checked as the bytes come, not only at a row's end: one start tag of a
                # huge attribute would be buffered whole (by expat, then by openpyxl).
                if unit_depth and fed - unit_start > MAX_ROW_BYTES:
                    raise ImportRefused(_complex_message())
                # What a sheet has outside its rows is held until it is read to the end.
                outside = (unit_start if unit_depth else fed) - unit_bytes
                if sheet and outside + kept_bytes > MAX_HELD_BYTES:
                    raise ImportRefused(_complex_message())
            parser.Parse(b"", True)
    except expat.ExpatError:
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
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
        self.more_problems = False
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
        if len(self.problems) >= max_problems():
            self.more_problems = True  # a formula in every cell of 50,000 rows
            return
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
        parsed = self.finish()
        parsed.more_problems = self.more_problems
        return parsed

    def parse_sheet(self, sheet, sheet_index):
        # Trust the cells, not the size the file declares (which may claim a million rows).
        sheet.reset_dimensions()
        state = SheetState(sheet.title, sheet_index)
        for row_number, cells in enumerate(sheet.iter_rows(), start=1):
            self.rows_left -= 1
            if self.rows_left < 0:
                raise ImportRefused(_rows_message())
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
        empty, suppressed, row_values = 0, set(), {}
        for index, (field, (column, _label)) in enumerate(state.header.items()):
            if is_empty(raw[field]):
                empty |= 1 << index
            row_values[field] = None if column in formulas else raw[field]
            if column in formulas:
                suppressed.add(field)
        cells = RowCells(row_number, state.header, empty)
        self.complete_row(state, cells, suppressed, row_values)
        origin = RowOrigin(
            state.title,
            state.index,
            row_number,
            state.header_row,
            cells,
            frozenset(suppressed) if suppressed else NOTHING_SUPPRESSED,
        )
        self.pending.append((origin, row_values))

    def take_pending(self):
        """The pending rows in order, each let go of once taken: `finish` builds the service's
        rows while the parser's copies are freed (a large file would hold both at once)."""
        pending, self.pending = self.pending, []
        pending.reverse()
        while pending:
            yield pending.pop()

    def is_duplicate(self, seen: dict, key, origin: RowOrigin, message: str) -> bool:
        """Whether a row repeats an earlier one (`key`); then it is reported at its item.
        `message` is translated, with %(row)s (grouped) and %(sheet)s of the first row to
        fill in."""
        first = seen.setdefault(key, origin)
        if first is origin:
            return False
        cell = origin.cells["item"]
        self.problem(
            origin.sheet,
            origin.sheet_index,
            cell.row,
            cell.column,
            cell.header,
            message % {"row": grouped(first.row), "sheet": first.sheet},
            field="item",
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
    limit = max_problems()
    problems = list(parsed.errors)
    more = parsed.more_problems
    if not parsed.rows and not problems:
        problems.append(ImportProblem("", None, "", "", nothing_message))
    submitted = None
    # With a full list of the parser's problems, the service's findings wait for the next try.
    if parsed.rows and len(problems) < limit:
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
            errors = exc.errors
            if getattr(exc, "more_not_listed", False):
                # The service stopped at the same limit; its last entry only says so, as the
                # note below does.
                errors, more = errors[:-1], True
            # In row order: the first `limit` are the first in the sheets.
            found = service_problems(parsed, errors, key_fields=key_fields, row_cell=row_cell)
            problems.extend(itertools.islice(found, limit))
            more = more or next(found, None) is not None
            if not problems:
                # Each service error maps to a cell, a row or a problem the parser reported;
                # should that ever fail, the file must still not pass as valid.
                problems = [
                    ImportProblem("", None, "", "", str(e.message)) for e in exc.errors[:limit]
                ]
        except service_out_of_scope as exc:
            # The parser leaves such rows out; this only guards a change of the rules.
            found = out_of_scope_problems(
                parsed, exc.rows, field=scope_field, message=out_of_scope_message
            )
            problems.extend(itertools.islice(found, limit))
    if problems:
        problems = sorted_unique(problems)
        if more or len(problems) > limit:
            note = _(
                "The file has more than %(limit)s problems; the first %(limit)s are listed. "
                "Correct them and upload the file again."
            ) % {"limit": grouped(limit)}
            problems = [ImportProblem("", None, "", "", note), *problems[:limit]]
        raise invalid(problems)
    return ImportResult(submitted, rows=len(parsed.rows), skipped=parsed.skipped)


def rows_import_submit(
    kind,
    parsed: ParsedImport,
    *,
    user,
    reason: str = "",
    nothing_message: str,
    out_of_scope_message: str,
    invalid=ImportInvalid,
) -> ImportResult:
    """Save an import's rows through the bulk-rows pipeline (supplycoord.bulk.rows_submit)
    as `kind`, every row or none; its errors at their cells.

    A key field or a figure the file has no cell for (an officer's own prefecture, now
    inactive) is the row's; anything else without a cell ("reason") points at the row's item.
    """
    from supplycoord.bulk import reason_error, rows_submit  # the pipeline builds on this engine

    # The upload form's reason is the file's, not a row's: refused once, for the file.
    message = reason_error(reason)
    if message:
        raise invalid([ImportProblem("", None, "", "", message, field="reason")])
    own_fields = {*kind.key, *kind.field_names}
    return import_submit(
        parsed,
        save=lambda rows: rows_submit(kind, user=user, rows=rows, reason=reason),
        nothing_message=nothing_message,
        service_invalid=kind.invalid,
        key_fields=kind.key,
        row_cell=lambda origin, field: None if field in own_fields else origin.cells["item"],
        service_out_of_scope=kind.out_of_scope,
        scope_field=kind.owner,
        out_of_scope_message=out_of_scope_message,
        invalid=invalid,
    )


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


# --- The Excel import of an entry kind ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReferenceColumn:
    """A grey column of a template, to read while filling it in; never read back."""

    key: str
    label: object
    width: int = 12


@dataclasses.dataclass
class TemplateRow:
    """One line of a template: an owner's item, its figures (the stored ones of the day, or
    prefilled; "" or None leaves the cell empty) and the values of the reference columns."""

    owner: object
    item: object
    values: dict
    reference: dict = dataclasses.field(default_factory=dict)


class EntryImport:
    """The Excel import of an entry kind (supplycoord.bulk.EntryKind): the template to
    download and the reading of the filled file, both made from the kind's declaration (its
    owner and the owner's code, its fields and their labels, its scope rule, its natural key)
    and the few layout choices below. The rows then go through the kind's pipeline
    (`rows_import_submit`), whose errors come back at their cells.

    The template, one sheet (and an instructions sheet when `instructions` gives lines):

        row 1   the heading
        row 2   Date | 2020-02-10        only when the date is `labelled_above`
        next    a one-line hint
        next    Owner code | Owner | Item code | Item | Unit | reference columns… |
                Date (unless labelled above) | the kind's fields… | Reason (`reason_column`)
        then    one row per `template_rows`; grey cells are for reference

    The reading is more forgiving than the template: the header row is found by its labels
    (in every UI language, any column order) on every sheet; a field `labelled_above` is
    taken from its row's column, else from the labelled cell above the header.

    Declared by a kind's import (class attributes):
      kind               the EntryKind
      title              the sheet's title and the file name's first part (lazily translated)
      labelled_above     fields ("date", the owner's) that may stand in a labelled cell above
                         the header instead of a column; the others are columns every sheet
                         must have (with the item code and the required fields)
      reason_column      the template has each row's reason for a correction, and it is read
      reference_columns  ReferenceColumn after the unit ("Last stock")
      owner_label, owner_name_label, owner_width, owner_name_width
                         the owner's code and name columns (default: the model's verbose names)
    Hooks: `template_rows` (default: every key item of each owner the user may write for,
    with the day's stored figures), `implied_owner` (whose rows a file without an owner
    holds), `heading`, `scope_name` (of the file name), `hint`, `instructions`, `messages`.
    """

    kind = None
    title = ""
    labelled_above: tuple[str, ...] = ()
    reason_column = True
    reference_columns: tuple[ReferenceColumn, ...] = ()
    owner_label = None
    owner_name_label = None
    owner_width = 14
    owner_name_width = 20
    invalid = ImportInvalid

    # Texts.

    def messages(self) -> dict:
        """The import's texts, translated; a kind's import may give its own."""
        return {
            "missing_header": _(
                "No sheet has the template's header row. Download the template and fill it in."
            ),
            "owner_missing": _("Name the owner of each row: add a “%(column)s” column."),
            "not_yours": _("You may not import rows for %(code)s."),
            "duplicate": _(
                "Duplicate row: the same owner, item and date as row %(row)s of sheet “%(sheet)s”."
            ),
            "date_missing": _(
                "The date is missing: fill it in beside “%(label)s” above the header, or add a "
                "“%(label)s” column."
            ),
            "nothing": _("The file holds no figures: every row's figures are empty."),
            "out_of_scope": self.kind.messages()["api_out_of_scope"],
            # The success message, with the counts of supplycoord.bulk.import_counts.
            "imported": _(
                "Imported %(rows)s rows: %(created)s new, %(updated)s corrected, %(unchanged)s "
                "unchanged; %(skipped)s rows without figures skipped."
            ),
        }

    def heading(self, owner) -> str:
        return str(self.title)

    def scope_name(self, owner) -> str | None:
        """The file name's middle part (whose rows), or None."""
        return owner.name if owner is not None else None

    def hint(self) -> str:
        return _(
            "Enter whole numbers of 0 or more, in each item's unit, in the white cells; grey "
            "cells are for reference. Formulas and macros are refused. Rows whose figures are "
            "all empty are skipped."
        )

    def instructions(self) -> list[str]:
        """The lines of an instructions sheet; none by default."""
        return []

    # Rows.

    def template_owners(self, *, user, owner):
        if owner is not None:
            return [owner]
        owners = self.kind.owner_model.objects.filter(active=True).order_by(
            self.kind.owner_code_field
        )
        return [each for each in owners if self.kind.may_write(user, each)]

    def template_rows(self, *, user, date, owner):
        """The template's lines: `owner`'s (None: every owner `user` may write for)."""
        from supplycoord.selectors import key_items  # models, only once apps are loaded

        items = list(key_items())
        for each in self.template_owners(user=user, owner=owner):
            stored = {
                row.item_id: row
                for row in self.kind.model.objects.filter(
                    **{self.kind.owner: each}, date=date, item__in=items
                )
            }
            for item in items:
                row = stored.get(item.pk)
                values = {name: getattr(row, name) for name in self.kind.field_names} if row else {}
                yield TemplateRow(each, item, values)

    def implied_owner(self, user):
        """The owner of the rows of a file that names none (an officer's own), or None."""
        return None

    # Columns and labels.

    def _owner_labels(self):
        model = self.kind.owner_model
        code = self.owner_label or model._meta.get_field(self.kind.owner_code_field).verbose_name
        name = self.owner_name_label or model._meta.verbose_name
        return capfirst(str(code)), capfirst(str(name))

    def reason_label(self) -> str:
        return capfirst(str(self.kind.model._meta.get_field("correction_reason").verbose_name))

    def field_labels(self):
        """(field, header) of every column read back, in the active language."""
        owner_code, _name = self._owner_labels()
        yield self.kind.owner, owner_code
        yield "item", _("Item code")
        yield "date", _("Date")
        for field in self.kind.fields:
            yield field.name, capfirst(str(field.label))
        if self.reason_column:
            yield "reason", self.reason_label()

    def columns(self):
        """(key, header, width, is_input) in the template's order. Reference columns are grey
        and never read back."""
        owner_code, owner_name = self._owner_labels()
        columns = [
            (self.kind.owner, owner_code, self.owner_width, False),
            ("_owner_name", owner_name, self.owner_name_width, False),
            ("item", _("Item code"), 12, False),
            ("_item_name", _("Item"), 24, False),
            ("_unit", _("Unit"), 8, False),
            *[(c.key, str(c.label), c.width, False) for c in self.reference_columns],
        ]
        if "date" not in self.labelled_above:
            columns.append(("date", _("Date"), 12, True))
        columns.extend((f.name, capfirst(str(f.label)), 14, True) for f in self.kind.fields)
        if self.reason_column:
            columns.append(("reason", self.reason_label(), 28, True))
        return columns

    @property
    def header_row(self) -> int:
        return 4 if "date" in self.labelled_above else 3

    # The template.

    def template_filename(self, *, date: dt.date, owner=None, language=None) -> str:
        """The template's download name in the UI language (or `language`), as every
        download is named: 日报填报-兰州市-2026-12-03.xlsx, daily-figures-Lanzhou-2026-12-03.xlsx."""
        if language is not None:
            with translation.override(language):
                return self.template_filename(date=date, owner=owner)
        return download_name(self.title, [self.scope_name(owner), date.isoformat()], "xlsx")

    def template(self, *, user, date: dt.date, owner=None) -> bytes:
        """The .xlsx to fill for `date`: `template_rows`, each figure already reported (or
        prefilled) in its cell."""
        kind, columns, header_row = self.kind, self.columns(), self.header_row
        workbook = Workbook(write_only=True)
        sheet = template_sheet(
            workbook, title=str(self.title), columns=columns, header_row=header_row
        )

        def cell(value, **style):
            return template_cell(sheet, value, **style)

        sheet.append([cell(self.heading(owner), font=Font(bold=True, size=14))])
        if "date" in self.labelled_above:
            sheet.append(
                [
                    cell(_("Date"), font=Font(bold=True)),
                    cell(date, font=Font(bold=True), border=BOX, number_format="yyyy-mm-dd"),
                ]
            )
        sheet.append([cell(self.hint(), font=Font(italic=True, color="5F6B7A"))])
        sheet.append(template_header(sheet, columns))

        last_row = header_row
        for line in self.template_rows(user=user, date=date, owner=owner):
            reference = {
                kind.owner: kind.owner_code_of(line.owner),
                "_owner_name": line.owner.name,
                "item": line.item.code,
                "_item_name": line.item.name,
                "_unit": str(line.item.get_unit_display()),
                **line.reference,
            }
            row = []
            for key, _label, _width, is_input in columns:
                if not is_input:
                    row.append(cell(reference.get(key), fill=GREY, border=BOX))
                elif key == "date":
                    row.append(cell(date, border=BOX, number_format="yyyy-mm-dd"))
                else:
                    value = line.values.get(key)
                    row.append(cell(None if value == "" else value, border=BOX))
            sheet.append(row)
            last_row += 1

        if last_row > header_row:
            at = {key: index for index, (key, *_rest) in enumerate(columns, start=1)}
            first = get_column_letter(at[kind.fields[0].name])
            last = get_column_letter(at[kind.fields[-1].name])
            whole_number_validation(sheet, f"{first}{header_row + 1}:{last}{last_row}")

        lines = self.instructions()
        if lines:
            instructions = workbook.create_sheet(title=_("Instructions")[:31])
            instructions.column_dimensions["A"].width = 110
            for number, text in enumerate(lines):
                written = template_cell(
                    instructions, text, font=Font(bold=True, size=14) if number == 0 else None
                )
                written.alignment = Alignment(wrap_text=True, vertical="top")
                instructions.append([written])
        return workbook_bytes(workbook)

    # The upload.

    def parse(self, file, *, user) -> ParsedImport:
        """Read an uploaded workbook into rows for the kind's pipeline, and the problems only
        the file shows (formulas, the layout, rows of another owner, duplicate rows).

        Raises ImportRefused when the file as a whole is not acceptable (too large, not an
        .xlsx, macros, unreadable). The rows are not checked against the catalogue or the
        dates here: the pipeline does that, and `submit` maps its errors back to cells.
        """
        return parse_upload(file, EntryImportParser(self, user))

    def submit(self, file, *, user, reason: str = "") -> ImportResult:
        """Import an uploaded workbook: every row saved through the kind's pipeline, or none.

        Raises ImportRefused for a file refused as a whole, `invalid` with every problem of
        the file (the parser's and the pipeline's, at their sheet, row and column).
        """
        texts = self.messages()
        return rows_import_submit(
            self.kind,
            self.parse(file, user=user),
            user=user,
            reason=reason,
            nothing_message=texts["nothing"],
            out_of_scope_message=texts["out_of_scope"],
            invalid=self.invalid,
        )


class EntryImportParser(XlsxParser):
    """The sheets of an EntryImport's template, however rearranged."""

    def __init__(self, entry_import: EntryImport, user):
        self.entry = entry_import
        self.kind = entry_import.kind
        self.texts = entry_import.messages()
        # The headers in the active language, for the problems; any language is read.
        self.labels_now = dict(entry_import.field_labels())
        super().__init__(user, labels_in_every_language(entry_import.field_labels))

    def missing_header_message(self):
        return self.texts["missing_header"]

    def is_header(self, found):
        return "item" in found and any(
            f in found for f in (self.kind.owner, *self.kind.field_names)
        )

    def required_columns(self):
        keys = [f for f in self.kind.key if f not in self.entry.labelled_above]
        required = [f.name for f in self.kind.fields if f.required]
        return [(field, self.labels_now[field]) for field in (*keys, *required)]

    def is_unfilled(self, raw, header, formulas):
        # A line of the template left unfilled: nothing to report for that item.
        fields = self.kind.field_names
        return all(is_empty(raw.get(field)) for field in fields) and not any(
            header[field][0] in formulas for field in fields if field in header
        )

    def above_header(self, state, values, formulas, row_number):
        """Above the header: "Date | 2020-02-10", "Prefecture code | 620100"."""
        for column, value in enumerate(values, start=1):
            if is_empty(value) or column in formulas:
                continue
            field = self.labels.get(normalise(value))
            if field not in self.entry.labelled_above:
                continue
            for next_column in range(column + 1, len(values) + 1):
                next_value = values[next_column - 1]
                if not is_empty(next_value) or next_column in formulas:
                    state.above[field] = (
                        row_number,
                        next_column,
                        str(value).strip(),
                        next_value,
                        next_column in formulas,
                    )
                    break

    def complete_row(self, state, cells, suppressed, row_values):
        # A field labelled above: the row's own cell, else the labelled cell above.
        for field in self.entry.labelled_above:
            if field in cells and not cells[field].empty:
                continue
            if field in state.above:
                at_row, at_column, label, value, is_formula = state.above[field]
                cells[field] = Cell(at_row, at_column, label, is_empty(value))
                row_values[field] = None if is_formula else value
                if is_formula:
                    suppressed.add(field)

    def owner_code(self, value):
        return self.kind.owner_code(code_value(value))

    def finish(self) -> ParsedImport:
        kind, owner_field = self.kind, self.kind.owner
        codes = {self.owner_code(values.get(owner_field)) for _origin, values in self.pending}
        codes.discard(None)
        owners = {kind.owner_code_of(o): o for o in kind.owners(codes)} if codes else {}
        implied = self.entry.implied_owner(self.user)
        owner_missing = self.texts["owner_missing"] % {"column": self.labels_now[owner_field]}
        may_write = {}  # owner pk -> the kind's rule, asked once
        seen = {}  # (owner, item, date) -> origin of its first row
        rows, origins = [], []
        for origin, values in self.take_pending():
            cell = origin.cells.get(owner_field)
            code = self.owner_code(values.get(owner_field))
            owner = owners.get(code) if code else None
            if code is None and owner_field not in origin.suppressed:
                if implied is not None:
                    owner, code = implied, kind.owner_code_of(implied)
                elif cell is None:
                    self.sheet_problem(origin, owner_field, owner_missing)
            if owner is not None:
                if owner.pk not in may_write:
                    may_write[owner.pk] = kind.may_write(self.user, owner)
                if not may_write[owner.pk]:
                    # Never sent to the pipeline, which would refuse the whole file unexplained.
                    message = self.texts["not_yours"] % {"code": code}
                    if cell is None:
                        self.sheet_problem(origin, owner_field, message)
                    else:
                        self.problems.append(
                            ImportProblem.at_cell(origin, cell, message, field=owner_field)
                        )
                    continue
            if "date" not in origin.cells:
                self.sheet_problem(
                    origin, "date", self.texts["date_missing"] % {"label": _("Date")}
                )
            date = date_value(values.get("date"))
            item = code_value(values.get("item"))
            day = parse_iso_date(date)
            if (
                day
                and item
                and code
                and self.is_duplicate(
                    seen, (owner.pk if owner else code, item, day), origin, self.texts["duplicate"]
                )
            ):
                continue
            row = {
                owner_field: owner or code,
                "item": item,
                "date": date,
                **{field: values.get(field) for field in kind.field_names},
            }
            reason = values.get("reason")
            if self.entry.reason_column and not is_empty(reason):
                row["reason"] = str(reason).strip()
            rows.append(row)
            origins.append(origin)
        return ParsedImport(rows, self.problems, origins, self.skipped, self.sheet_fields)
