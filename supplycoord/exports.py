"""One exporter for every export of the product (the pretix pattern).

An exporter declares its columns (header in the UI language, type, unit, width, number
format), what it is (title), the date range and filters it was made with, its file and sheet
names, and yields rows as dicts keyed by column. From that one declaration the base writes

- CSV: UTF-8 with a byte-order mark (so Excel reads Chinese as UTF-8), CRLF line ends, written
  line by line and streamed in pieces of about 64 kB (`csv_lines`, `csv_chunks`); or, for
  the exports of many rows, formatted by PostgreSQL in a COPY (`copy_csv_lines`, below),
  byte for byte the same;
- xlsx: openpyxl write-only (constant memory), print-ready as a clerk prints a 台账: a title
  block (what, date range, filters, unit of issue, 制表单位 / 制表时间), the header row repeated
  on every printed page, landscape A4 fitted to the page width, panes frozen below the
  header, thousands separators on numbers, dates as real dates.

Every text cell goes through `formula_safe` in both formats: text people typed stays text in
a spreadsheet, never a formula. Totals are the exporter's own rows (`Strong`), one per unit
of measure: a sum over different units means nothing, so no exporter writes one.

Large exports run in the background (`ExportJob`, below): a row in the database, rendered by
a Celery task into a file under MEDIA_ROOT, swept when a worker died and expired by a beat job.
"""

import codecs
import contextlib
import csv
import datetime as dt
import logging
import tempfile
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.forms import ModelChoiceField
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.choices import flatten_choices
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from supplycoord import permissions
from supplycoord.lib.exports import ascii_name, download_name, formula_safe, formula_safe_sql
from supplycoord.lib.xlsx_import import XLSX_CONTENT_TYPE  # noqa: F401 (one name, re-exported)
from supplycoord.models import ExportJob, ExportStatus, Province, User

logger = logging.getLogger(__name__)

TEXT, INT, DECIMAL, DATE, DATETIME = "text", "int", "decimal", "date", "datetime"
NUMBER_FORMATS = {
    INT: "#,##0",
    DECIMAL: "#,##0.00",
    DATE: "yyyy-mm-dd",
    DATETIME: "yyyy-mm-dd hh:mm",
}
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
FORMATS = ("xlsx", "csv")
BOM = "\ufeff"
# The xlsx title block: what, date range and filters, unit of issue, 制表单位 / 制表时间.
TITLE_ROWS = 4
HEADER_ROW = TITLE_ROWS + 1
# Rows are read and the background job's progress is saved in chunks of this many.
CHUNK = 2000

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")


@dataclass(frozen=True)
class Column:
    """One column: `label` in the UI language (gettext_lazy), `kind` one of TEXT, INT,
    DECIMAL, DATE, DATETIME; `unit` a fixed unit shown in the header (元, 天);
    `number_format` overrides the kind's."""

    key: str
    label: object
    kind: str = TEXT
    width: int = 12
    unit: object = ""
    number_format: str | None = None

    @property
    def header(self) -> str:
        if self.unit:
            return _("%(label)s (%(unit)s)") % {"label": self.label, "unit": self.unit}
        return str(self.label)

    @property
    def cell_format(self) -> str | None:
        return self.number_format or NUMBER_FORMATS.get(self.kind)


class Strong(dict):
    """A row written in bold: an opening or closing balance, a total per unit."""


def english() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).lower().startswith("en")


def bilingual(zh: str, en: str) -> str:
    """The name in the UI language: English when it is English and there is one."""
    return en if en and english() else zh


def local_naive(moment):
    """An aware datetime as the office's local time without tzinfo: Excel has no time zones."""
    if moment is None:
        return None
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return moment.replace(tzinfo=None, microsecond=0)


def person_name(username, first, last) -> str:
    """A user as the ledgers name them: "first last", else the username. Spaces only are
    trimmed, as PostgreSQL's trim() does in the ledger's COPY."""
    return f"{first or ''} {last or ''}".strip(" ") or username or ""


def person(user) -> str:
    if user is None:
        return ""
    return person_name(user.username, user.first_name, user.last_name)


def params_to_json(params) -> dict:
    """Filters (a QueryDict or a dict) as JSON: {key: [values]}."""
    if hasattr(params, "getlist"):
        return {key: params.getlist(key) for key in params}
    return {
        key: [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        for key, value in (params or {}).items()
        if value not in (None, "")
    }


def params_from_json(data: dict) -> QueryDict:
    params = QueryDict(mutable=True)
    for key, values in (data or {}).items():
        params.setlist(key, list(values))
    return params


class Exporter:
    """The declaration every export fills in. `params` are the filters (a QueryDict), kept
    as JSON by a background job and given back to the exporter when it runs."""

    title = ""  # what this is, gettext_lazy: 调拨台账
    # The number of rows above which the xlsx is written in the background: this setting of
    # SUPPLYCOORD, or EXPORT_ASYNC_ROWS.
    background_setting = "EXPORT_ASYNC_ROWS"
    # Who may read this export: the rule of supplycoord/permissions.py its view is gated with.
    # A background job's file is served only while its asker still passes it (and still has
    # the scope the job was made with); an exporter names its own rule.
    read_rule = staticmethod(permissions.is_signed_in)

    def __init__(self, user, params=None):
        self.user = user
        if not hasattr(params, "getlist"):
            params = params_from_json(params_to_json(params))
        self.params = params

    # --- What a subclass declares ---------------------------------------------------------

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def rows(self):
        """Yield one dict per row (a `Strong` for totals and balances)."""
        raise NotImplementedError

    @property
    def valid(self) -> bool:
        return True

    def error_text(self) -> str:
        return ""

    def date_range(self) -> tuple[dt.date | None, dt.date | None] | None:
        """The period the rows cover, or None when the export has no period."""
        return None

    def filters_text(self) -> str:
        """The filters in words, for the title block."""
        return ""

    def unit_text(self) -> str:
        """The unit of issue, for the title block."""
        if any(column.key == "unit" for column in self.columns()):
            return _("as in the Unit column")
        return "—"

    def filename_parts(self) -> list[str]:
        """What follows the title in the file name (dates, codes, a name in the UI language)."""
        return []

    def sheet_name(self) -> str:
        return str(self.title)

    def count(self) -> int | None:
        """How many rows the export will have, when known cheaply (the background threshold)."""
        return None

    def extra_sheets(self) -> list["Exporter"]:
        """Further sheets of the xlsx (the ledger's 汇总); CSV holds the first sheet only."""
        return []

    # --- Derived ---------------------------------------------------------------------------

    def filename(self, fmt: str) -> str:
        """The download's name in the active (UI) language: the title as a file name, then
        `filename_parts`: 调拨台账-2026-12-03.xlsx, allocation-ledger-2026-12-03.xlsx."""
        return download_name(self.title, self.filename_parts(), fmt)

    def ascii_filename(self, fmt: str) -> str:
        """The English name made ASCII: the `filename=` fallback of Content-Disposition, for
        clients that cannot read the UTF-8 `filename*`."""
        with translation.override("en"):
            return ascii_name(self.filename(fmt))

    def background_threshold(self) -> int:
        return int(settings.SUPPLYCOORD.get(self.background_setting, 50_000))

    def counted(self) -> int | None:
        """`count()`, asked once: the background decision and the job's total share it."""
        if "_counted" not in self.__dict__:
            self.__dict__["_counted"] = self.count()
        return self.__dict__["_counted"]

    def runs_in_background(self, fmt: str) -> bool:
        if fmt != "xlsx":
            return False  # a CSV streams in constant memory however long
        count = self.counted()
        return count is not None and count > self.background_threshold()

    @classmethod
    def dotted_path(cls) -> str:
        return f"{cls.__module__}.{cls.__qualname__}"


# --- CSV -----------------------------------------------------------------------------------


class Echo:
    """The file-like object csv.writer writes to: each row comes back as a string to yield."""

    def write(self, value):
        return value


def csv_writer():
    return csv.writer(Echo(), lineterminator="\r\n")


def csv_value(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_safe(value)
    if isinstance(value, dt.datetime):
        return local_naive(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_header(exporter, writer=None) -> str:
    writer = writer or csv_writer()
    return BOM + writer.writerow([formula_safe(c.header) for c in exporter.columns()])


# Values csv.writer writes as `csv_value` would have them (None as ""): passed as they are.
_CSV_AS_IS = frozenset({int, float, Decimal, bool, type(None)})
# Values whose `csv_value` is remembered per export (hashable, and equal only to their own).
_CSV_ONCE = frozenset({str, dt.date})


class _CsvValues(dict):
    """`csv_value` of each text or date, computed once and remembered (up to a bound: a
    column of free text should not grow it without end)."""

    LIMIT = 10_000

    def __missing__(self, value):
        made = csv_value(value)
        if len(self) < self.LIMIT:
            self[value] = made
        return made


def csv_row(columns, row, writer) -> str:
    return writer.writerow([csv_value(row.get(c.key)) for c in columns])


def csv_lines(exporter):
    """Yield the CSV of `exporter` line by line: the header (after a BOM), then each row."""
    writer = csv_writer()
    keys = [c.key for c in exporter.columns()]
    yield csv_header(exporter, writer)
    # csv_row without a call per number, and each text or date made safe once, not once a
    # row (names, codes, units and statuses repeat): at 100,000 rows a second every cell
    # counts.
    as_is, once, made = _CSV_AS_IS, _CSV_ONCE, _CsvValues()
    for row in exporter.rows():
        yield writer.writerow(
            [
                v if (t := type(v)) in as_is else made[v] if t in once else csv_value(v)
                for v in map(row.get, keys)
            ]
        )


def csv_chunks(lines, size: int = 64 * 1024):
    """`lines` joined into pieces of about `size` characters: a streamed response writes
    each piece it is given to the socket, so 20,000 one-line pieces were 20,000 writes."""
    pending, length = [], 0
    for line in lines:
        pending.append(line)
        length += len(line)
        if length >= size:
            yield "".join(pending)
            pending, length = [], 0
    if pending:
        yield "".join(pending)


# --- CSV through COPY ----------------------------------------------------------------------
# An export of many rows may have PostgreSQL write its CSV (`COPY (…) TO STDOUT WITH CSV`):
# far faster than csv.writer, in constant memory. Its SELECT is built from the exporter's
# declaration, each column's SQL writing what `csv_value` writes: text through
# `csv_text_sql` (NULL for "" and formula-safe), a float as Python writes it (`csv_float_sql`),
# a choice's label as a parameter in the UI language (`sql_case`). The header comes from the
# declaration (`csv_header`), rows after the COPY from `csv_row`, and COPY's line ends are made
# CRLF (`crlf`). Each such export has a test holding it byte for byte equal to `csv_lines`.


def csv_label(label):
    """A label (a choice's, "yes") as `csv_value` writes it, for a parameter of a COPY:
    formula-safe, None (NULL) for ""."""
    return formula_safe(str(label)) or None


def sql_case(column, choices, params, prefix, *, formatted=False):
    """CASE column WHEN 'value' THEN %(label)s …: the labels travel as parameters (as
    `csv_label` writes them when `formatted`)."""
    parts = []
    for index, (value, label) in enumerate(choices):
        params[f"{prefix}_v{index}"] = value
        params[f"{prefix}_l{index}"] = csv_label(label) if formatted else str(label)
        parts.append(f"WHEN %({prefix}_v{index})s THEN %({prefix}_l{index})s")
    otherwise = csv_text_sql(column) if formatted else column
    return f"CASE {column} {' '.join(parts)} ELSE {otherwise} END"


def csv_text_sql(expression: str) -> str:
    """A text column as `csv_value` writes it: formula-safe, and NULL for "" (COPY quotes an
    empty string, the csv module writes it bare)."""
    return formula_safe_sql(f"NULLIF({expression}, '')")


def csv_float_sql(expression: str, *, decimal_places: int) -> str:
    """`float(value)` of a numeric `expression` of at most `decimal_places` decimals as the
    csv module writes it (repr: 12.5, 10.0, 1234567890123456.8, 1e+16); NULL stays NULL.

    Below 10^(15 - decimal_places) the value has at most 15 significant digits, so its float
    is written with exactly its digits: the numeric's text without trailing zeros, with ".0"
    when whole (cheap). Above, through float8: PostgreSQL writes a float8 with the same
    shortest digits as Python, but a whole number without ".0", and in exponent form from
    1e15 on where Python waits until 1e16."""
    trimmed = f"trim_scale({expression})"
    value = f"(({expression})::float8)"
    text = f"({value}::text)"
    digits = f"replace(split_part(ltrim({text}, '-'), 'e', 1), '.', '')"
    fixed = (
        f"CASE WHEN {value} < 0 THEN '-' ELSE '' END || rpad(left({digits}, 16), 16, '0') "
        f"|| '.' || COALESCE(NULLIF(substr({digits}, 17), ''), '0')"
    )
    return (
        f"CASE WHEN abs({expression}) < 1e{15 - decimal_places} THEN {trimmed}::text "
        f"|| CASE WHEN scale({trimmed}) = 0 THEN '.0' ELSE '' END "
        f"WHEN abs({value}) >= 1e15 AND abs({value}) < 1e16 THEN {fixed} "
        f"WHEN strpos({text}, '.') > 0 OR strpos({text}, 'e') > 0 THEN {text} "
        f"ELSE {text} || '.0' END"
    )


def copy_columns(columns, expressions: dict, *, formatted=()) -> list[str]:
    """The SELECT list of `columns`, each key's SQL from `expressions` (a column declared
    without its SQL fails loudly, KeyError, never silently), text through `csv_text_sql`
    unless its key is among `formatted` (its SQL writes what `csv_value` writes already)."""
    return [
        csv_text_sql(expressions[c.key])
        if c.kind == TEXT and c.key not in formatted
        else expressions[c.key]
        for c in columns
    ]


def queryset_sql(queryset) -> str:
    """The SQL of `queryset` with its parameters in it, every % doubled: a subquery of SQL
    that is given parameters of its own (`cursor.mogrify(sql, params)`)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode().replace("%", "%%")


def mogrify(sql: str, params: dict) -> str:
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def crlf(blocks):
    """COPY ends records with LF: make them CRLF, leaving line feeds inside quoted fields
    alone (inside one exactly when an odd number of quotes came before)."""
    inside = False
    for block in blocks:
        parts = block.split('"')
        for index in range(len(parts)):
            if not inside:
                parts[index] = parts[index].replace("\n", "\r\n")
            if index < len(parts) - 1:
                inside = not inside
        yield '"'.join(parts)


def copy_csv_blocks(copy_sqls, *, block_size: int = 256 * 1024):
    """The CSV PostgreSQL writes of the queries `copy_sqls` (parameters in them), one after
    the other, with CRLF line ends, in blocks of text: each COPY is written to one temporary
    file (a real one: its writes, one a row, stay in C), then the file is streamed out."""

    def blocks(spool):
        decoder = codecs.getincrementaldecoder("utf-8")()
        while block := spool.read(block_size):
            yield decoder.decode(block)
        yield decoder.decode(b"", final=True)

    copy_sqls = list(copy_sqls)
    with tempfile.TemporaryFile() as spool:
        # Several COPYs (rows, then their totals) read one snapshot of the database: a rebuild
        # committing between them would make a total disagree with the rows above it.
        outside = not connection.in_atomic_block
        with transaction.atomic(), connection.cursor() as cursor:
            if outside and len(copy_sqls) > 1:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            for copy_sql in copy_sqls:
                cursor.copy_expert(f"COPY ({copy_sql}) TO STDOUT WITH CSV", spool)
        spool.seek(0)
        yield from crlf(blocks(spool))


def copy_csv_lines(exporter, copy_sqls, after=()):
    """The CSV of `exporter` as `csv_lines` writes it: the declaration's header (after a
    BOM), the rows PostgreSQL formats by the queries `copy_sqls` (`copy_csv_blocks`), then
    the rows `after` (totals, a few) by `csv_row`."""
    writer = csv_writer()
    columns = exporter.columns()
    yield csv_header(exporter, writer)
    yield from copy_csv_blocks(copy_sqls)
    for row in after:
        yield csv_row(columns, row, writer)


# --- xlsx ----------------------------------------------------------------------------------


def issuing_unit() -> str:
    """制表单位: the provincial office, named by the province in the reference data."""
    province = Province.objects.order_by("code").first()
    if province is None:
        return ""
    return _("%(province)s medical supply coordination office") % {"province": province.name}


def _date_range_text(exporter) -> str:
    period = exporter.date_range()
    if period is None:
        return ""
    start, end = period
    if start and end and start == end:
        return start.isoformat()
    return _("%(start)s to %(end)s") % {
        "start": start.isoformat() if start else _("the beginning"),
        "end": end.isoformat() if end else _("today"),
    }


def title_lines(exporter, *, made_at) -> list[str]:
    """The TITLE_ROWS lines above the header of every sheet."""
    period = _date_range_text(exporter)
    filters = exporter.filters_text() or _("none")
    second = _("Filters: %(filters)s") % {"filters": filters}
    if period:
        second = _("Date range: %(period)s") % {"period": period} + "    " + second
    return [
        str(exporter.title),
        second,
        _("Unit of issue: %(unit)s") % {"unit": exporter.unit_text()},
        _("Issued by: %(unit)s    Made at: %(time)s")
        % {"unit": issuing_unit(), "time": made_at.strftime("%Y-%m-%d %H:%M")},
    ]


def sheet_title(name: str) -> str:
    # Excel: at most 31 characters, none of []:*?/\ .
    for char in "[]:*?/\\":
        name = name.replace(char, " ")
    return name[:31]


def _cell(sheet, column, value, *, strong=False):
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = formula_safe(value)
        number_format = None
    elif isinstance(value, dt.datetime):
        value = local_naive(value)
        number_format = column.number_format or NUMBER_FORMATS[DATETIME]
    elif isinstance(value, dt.date):
        number_format = column.number_format or NUMBER_FORMATS[DATE]
    elif isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number_format = column.cell_format or NUMBER_FORMATS[INT]
    else:
        value, number_format = formula_safe(str(value)), None
    cell = WriteOnlyCell(sheet, value=value)
    if number_format:
        cell.number_format = number_format
    if strong:
        cell.font = _BOLD
    return cell


def write_sheet(workbook, exporter, *, made_at, progress=None) -> int:
    """Append `exporter` as one print-ready sheet of `workbook`; the number of rows."""
    columns = exporter.columns()
    sheet = workbook.create_sheet(title=sheet_title(exporter.sheet_name()))
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width

    for index, line in enumerate(title_lines(exporter, made_at=made_at)):
        cell = WriteOnlyCell(sheet, value=formula_safe(line))
        cell.font = _TITLE if index == 0 else _BOLD
        sheet.append([cell])
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=formula_safe(column.header))
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in exporter.rows():
        strong = isinstance(row, Strong)
        sheet.append([_cell(sheet, c, row.get(c.key), strong=strong) for c in columns])
        count += 1
        if progress is not None and count % CHUNK == 0:
            progress(count)
    return count


def write_xlsx(exporter, handle, *, progress=None) -> int:
    """Write the workbook of `exporter` (its sheet, then its extra sheets) to `handle`;
    the number of rows of the first sheet."""
    workbook = Workbook(write_only=True)
    made_at = local_naive(timezone.now())
    try:
        count = write_sheet(workbook, exporter, made_at=made_at, progress=progress)
        for extra in exporter.extra_sheets():
            write_sheet(workbook, extra, made_at=made_at)
    except Exception:
        # Close the sheets' temporary files now, not when the garbage collector finds them.
        for sheet in workbook.worksheets:
            with contextlib.suppress(Exception):
                sheet.close()
        raise
    workbook.save(handle)
    return count


def xlsx_file(exporter):
    """The workbook in a temporary file, rewound; closing it (the FileResponse does)
    deletes it."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (closed by the response)
    write_xlsx(exporter, handle)
    handle.seek(0)
    return handle


# --- Background exports ------------------------------------------------------------------
# Over the exporter's row threshold the xlsx is written by a Celery task
# (supplycoord.tasks.export_job_run) into MEDIA_ROOT/exports/ (shared by the web and worker
# containers, never served directly: the download view checks who asks). The job is a row:
# the page polls it, the office lists them all. Files are kept SUPPLYCOORD["EXPORT_KEEP_HOURS"]
# hours; an hourly beat job deletes the files of expired rows. A job a dead worker left
# queued or running is queued again by a sweep (at most MAX_ATTEMPTS runs).

MAX_ATTEMPTS = 3
# A queued job no worker took after this long lost its message (a Redis restart): queue again.
QUEUED_STALE = dt.timedelta(minutes=10)


def _keep() -> dt.timedelta:
    return dt.timedelta(hours=int(settings.SUPPLYCOORD.get("EXPORT_KEEP_HOURS", 24)))


def _running_stale() -> dt.timedelta:
    # A running task is killed at CELERY_TASK_TIME_LIMIT: a job running longer is dead.
    return dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)


def _enqueue(job_id: int) -> None:
    from supplycoord.tasks import export_job_run

    transaction.on_commit(lambda: export_job_run.delay(job_id))


def export_job_start(*, user, exporter, fmt: str = "xlsx") -> ExportJob:
    """Record a background export for `user` and queue it after commit. While the same
    export (same user, exporter, filters, language, format and scope) is still queued or
    running, that job is returned instead: asking again waits for the file on its way."""
    path = exporter.dotted_path()
    params = params_to_json(exporter.params)
    language = get_language() or settings.LANGUAGE_CODE
    scope = permissions.access_scope(user)
    with transaction.atomic():
        # One start at a time per user, so two quick clicks never queue the export twice.
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        now = timezone.now()
        pending = (
            ExportJob.objects.filter(
                requested_by=user,
                exporter=path,
                params=params,
                language=language,
                file_format=fmt,
                scope=scope,
                status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING],
                expires_at__gt=now,
            )
            .order_by("-pk")
            .first()
        )
        if pending is not None:
            return pending
        job = ExportJob.objects.create(
            requested_by=user,
            exporter=path,
            title=str(exporter.title)[:200],
            params=params,
            language=language,
            file_format=fmt,
            filename=exporter.filename(fmt)[:255],
            scope=scope,
            total=exporter.counted() or 0,
            expires_at=now + _keep(),
        )
        _enqueue(job.pk)
    return job


def exporter_class(path: str) -> type[Exporter]:
    cls = import_string(path)
    if not (isinstance(cls, type) and issubclass(cls, Exporter)):
        raise TypeError(f"{path} is not an exporter")
    return cls


def exporter_for_job(job: ExportJob) -> Exporter:
    return exporter_class(job.exporter)(job.requested_by, params_from_json(job.params))


def export_job_title(job: ExportJob) -> str:
    """What the job exported, in the reader's language (its exporter's title), whoever asked
    and in whichever language; the title stored with it when the exporter is gone."""
    try:
        return str(exporter_class(job.exporter).title)
    except (ImportError, TypeError):
        return job.title


def _title_stem(title) -> str:
    """`title` as the start of a download's name in the active language (allocation-ledger)."""
    return download_name(title, [], "x").removesuffix(".x")


def export_job_ascii_filename(job: ExportJob) -> str:
    """The ASCII `filename=` of a job's download, the fallback for clients that cannot read
    the UTF-8 `filename*`, as an export downloaded at once has (Exporter.ascii_filename): the
    exporter's English title, then the dates and codes that follow the title in
    `job.filename`, as they were when the job was asked for (its "today" is not today's),
    made ASCII: 日报汇总-2026-12-03.xlsx → daily-report-2026-12-03.xlsx. The name itself made
    ASCII when its exporter is gone or the name does not start with its title."""
    stem, dot, ext = job.filename.rpartition(".")
    try:
        title = exporter_class(job.exporter).title
    except (ImportError, TypeError):
        return ascii_name(job.filename)
    with translation.override(job.language):
        asked = _title_stem(title)
    with translation.override("en"):
        english = _title_stem(title)
    if dot and (stem == asked or stem.startswith(f"{asked}-")):
        return ascii_name(f"{english}{stem[len(asked) :]}.{ext}")
    return ascii_name(job.filename)


# Why a job's file is not given to a user (export_job_unavailable).
ACCESS_CHANGED = "access_changed"
EXPIRED = "expired"


def _access_changed(user, job: ExportJob) -> bool:
    """Is `user` no longer who asked for `job`: not the asker, inactive, no longer passing the
    exporter's read rule, or with another scope than the job was made with?"""
    if user is None or not user.is_active or job.requested_by_id != user.pk:
        return True
    try:
        cls = exporter_class(job.exporter)
    except (ImportError, TypeError):
        return True
    return not cls.read_rule(user) or job.scope != permissions.access_scope(user)


def export_job_unavailable(user, job: ExportJob, *, now=None) -> str | None:
    """Why the file of `job` may not be given to `user` now, or None.

    ACCESS_CHANGED: the file holds the rows `user` saw when they asked, so it is theirs only
    while they are active, pass the exporter's read rule and have the same scope (an officer
    moved to another prefecture, or made a reporter, gets nothing of the old one). EXPIRED:
    past `expires_at` (the project's clock, timezone.now()), whether or not the hourly job
    that deletes the files has run yet (it never runs in eager mode, without Redis)."""
    if _access_changed(user, job):
        return ACCESS_CHANGED
    if job.status == ExportStatus.EXPIRED or job.expires_at <= (now or timezone.now()):
        return EXPIRED
    return None


def _claim(job_id: int) -> ExportJob | None:
    """Take a queued job for this worker, or None (done, expired, or another worker's)."""
    with transaction.atomic():
        job = (
            ExportJob.objects.select_for_update(skip_locked=True)
            .filter(pk=job_id, status=ExportStatus.QUEUED)
            .first()
        )
        if job is None:
            return None
        job.status = ExportStatus.RUNNING
        job.started_at = timezone.now()
        job.attempts += 1
        job.done = 0
        job.save(update_fields=["status", "started_at", "attempts", "done"])
    return job


def _delete_earlier_file(job: ExportJob) -> None:
    """A job run again: delete the file an earlier run saved, recorded on the row or not (a
    worker may die between saving the file and marking the job done), so none is left
    behind and the new file takes the same name."""
    storage = job.file.storage
    names = {job.file.field.generate_filename(job, job.filename)}
    if job.file:
        names.add(job.file.name)
        ExportJob.objects.filter(pk=job.pk).update(file="")
        job.file = ""
    for name in names:
        if storage.exists(name):
            storage.delete(name)


def export_job_run(job_id: int) -> None:
    """The worker's part: render the exporter into the job's file, saving progress."""
    job = _claim(job_id)
    if job is None:
        return
    if _access_changed(job.requested_by, job):
        # Its file could never be served (export_job_unavailable): write none.
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED,
            error="the access of who asked changed before the export was written",
            finished_at=timezone.now(),
        )
        return

    def progress(done):
        ExportJob.objects.filter(pk=job.pk).update(done=done)

    try:
        _delete_earlier_file(job)
        with translation.override(job.language), tempfile.TemporaryFile() as handle:
            exporter = exporter_for_job(job)
            if job.file_format == "csv":
                lines = csv_lines(exporter)
                handle.write(next(lines).encode("utf-8"))
                count = 0
                for count, line in enumerate(lines, start=1):  # noqa: B007
                    handle.write(line.encode("utf-8"))
                    if count % CHUNK == 0:
                        progress(count)
            else:
                count = write_xlsx(exporter, handle, progress=progress)
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
    except Exception as exc:
        logger.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE,
        file=job.file.name,
        row_count=count,
        done=max(count, job.total),
        finished_at=timezone.now(),
    )


def export_jobs_requeue_stale(*, now=None) -> int:
    """Queue again the jobs a dead worker (or a lost message) left behind; how many. A job
    that already ran MAX_ATTEMPTS times is marked failed instead."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            ExportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=[ExportStatus.QUEUED, ExportStatus.RUNNING])
            .filter(
                Q(status=ExportStatus.QUEUED, created_at__lt=now - QUEUED_STALE)
                | Q(status=ExportStatus.RUNNING, started_at__lt=now - _running_stale())
            )
            .order_by("pk")
        )
        requeued = 0
        for job in stale:
            if job.attempts >= MAX_ATTEMPTS:
                job.status = ExportStatus.FAILED
                job.error = f"gave up after {job.attempts} attempts"
                job.finished_at = now
                job.save(update_fields=["status", "error", "finished_at"])
                continue
            job.status = ExportStatus.QUEUED
            job.save(update_fields=["status"])
            _enqueue(job.pk)
            requeued += 1
    return requeued


def export_jobs_expire(*, now=None) -> int:
    """Delete the files of jobs past their expiry and mark the rows expired; how many."""
    now = now or timezone.now()
    expired = 0
    jobs = ExportJob.objects.filter(expires_at__lte=now).exclude(status=ExportStatus.EXPIRED)
    for job in jobs.only("pk", "file").order_by("pk").iterator():
        if job.file:
            job.file.storage.delete(job.file.name)
        expired += ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.EXPIRED, file="")
    return expired


def export_jobs_visible_to(user):
    """The export list: the office sees everyone's, every other user their own."""
    jobs = ExportJob.objects.select_related("requested_by").order_by("-created_at", "-pk")
    if user.is_office:
        return jobs
    return jobs.filter(requested_by=user)


def export_job_of(user, job_id) -> ExportJob | None:
    """The user's own job (the file holds data scoped to who asked), or None."""
    try:
        job_id = int(job_id)
    except (TypeError, ValueError):
        return None
    return ExportJob.objects.filter(pk=job_id, requested_by=user).first()


def describe_filters(form, *, skip=()) -> str:
    """A filter form's non-empty choices in words (“Item: FH001; Channel: 采购”), for the
    title block; `skip` the fields the date range already says."""
    cleaned = getattr(form, "cleaned_data", None) or {}
    parts = []
    for name, field in form.fields.items():
        value = cleaned.get(name)
        if name in skip or value is None or value in ("", [], ()):
            continue
        values = list(value) if isinstance(value, list | tuple | QuerySet) else [value]
        if not values:
            continue
        shown = ", ".join(_choice_labels(field, values))
        parts.append(f"{field.label or name}: {shown}")
    return "; ".join(parts)


def _choice_labels(field, values) -> list[str]:
    """The labels of the chosen `values` of `field`: a model choice's rows are in
    cleaned_data already, so they are labelled as the form labels them and the whole list
    of choices is never loaded; a fixed choice's label comes from its (flattened) choices."""
    if isinstance(field, ModelChoiceField):
        return [
            str(field.label_from_instance(v)) if isinstance(v, Model) else str(v) for v in values
        ]
    choices = getattr(field, "choices", None)
    labels = {str(k): label for k, label in flatten_choices(choices)} if choices else {}
    return [str(labels.get(str(v), v)) for v in values]
