"""The allocation ledger export (调拨台账): one row per line of a dispatch batch.

Rows come from one `.values()` query read in chunks (`iterator(chunk_size=CHUNK)`): no
per-row queries and no model instances, so memory stays flat however long the ledger.
`.csv` is streamed (UTF-8 with BOM so Excel opens Chinese text); `.xlsx` is written by
openpyxl in write-only mode into a temporary file, then streamed from it. Headers are in the
UI language, Chinese by default. The xlsx has a frozen header, a totals row, and a second
sheet 汇总 with the allocation totals of reports.md (`allocation_totals`) over the same
batches and lines.

Unless a status filter says otherwise, only batches that left the warehouse (dispatched,
partly received, received, closed) are listed: drafts and cancelled batches moved nothing.
"""

import csv
import tempfile
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone, translation
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill

from supplycoord.lib.dates import LATEST_FILTER_DATE, earliest_date
from supplycoord.lib.exports import formula_safe, formula_safe_sql
from supplycoord.models import Unit

from .filters import BatchFilter, filter_lines
from .models import (
    SHIPPED_STATUSES,
    BatchStatus,
    Channel,
    DestinationKind,
    DispatchBatchLine,
)
from .selectors import allocation_totals, batches_visible_to

# Lines are read from the database in chunks of this many, never all at once.
CHUNK = 2000

FIELDS = (
    "id",
    "batch__number",
    "batch__dispatched_at",
    "batch__expected_arrival",
    "batch__received_at",
    "batch__source_warehouse__code",
    "batch__destination__kind",
    "batch__destination__name_zh",
    "batch__destination__name_en",
    "item__code",
    "item__name_zh",
    "item__name_en",
    "item__specification",
    "item__unit",
    "quantity",
    "channel",
    "donation_id",
    "donation__donor_name",
    "batch__status",
    "received_quantity",
    "batch__dispatched_by__username",
    "batch__dispatched_by__first_name",
    "batch__dispatched_by__last_name",
)
SUMMED = ("quantity", "received_quantity", "discrepancy")


def _columns():
    return [
        ("number", _("Batch number"), 11),
        ("dispatched_at", _("Dispatched at"), 17),
        ("expected_arrival", _("Expected arrival"), 12),
        ("received_at", _("Receipt completed at"), 17),
        ("source_warehouse", _("Source warehouse"), 10),
        ("destination_kind", _("Destination kind"), 14),
        ("destination", _("Destination"), 22),
        ("item_code", _("Item code"), 10),
        ("item", _("Item"), 20),
        ("specification", _("Specification"), 16),
        ("unit", _("Unit"), 7),
        ("quantity", _("Quantity"), 12),
        ("channel", _("Channel"), 12),
        ("donation", _("Donation"), 20),
        ("status", _("Status"), 10),
        ("received_quantity", _("Received quantity"), 12),
        ("discrepancy", _("Discrepancy"), 11),
        ("handled_by", _("Handled by"), 12),
    ]


def _english() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).lower().startswith("en")


def _local(moment):
    # Excel has no time zones: write the office's local time, without tzinfo.
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


# --- Which lines ---------------------------------------------------------------------------


class LedgerQuery:
    """The caller's ledger lines for the list's filters (`params`: a QueryDict or dict)."""

    def __init__(self, user, params):
        params = params.copy()
        # The list page names the destination kind `kind`; the API `destination_kind`.
        if params.get("kind") and not params.get("destination_kind"):
            params["destination_kind"] = params["kind"]
        self.filterset = BatchFilter(params, queryset=batches_visible_to(user))
        self.valid = self.filterset.is_valid()
        self.cleaned = self.filterset.form.cleaned_data if self.valid else {}
        batches = self.filterset.qs
        if not self.cleaned.get("status"):
            batches = batches.filter(status__in=SHIPPED_STATUSES)
        lines = DispatchBatchLine.objects.filter(batch__in=batches.order_by().values("pk"))
        self.lines = filter_lines(lines, self.cleaned)

    @property
    def errors(self):
        return self.filterset.errors

    def rows(self):
        """The ledger's rows as dicts of display values, in chunks; one query in all."""
        english = _english()
        units = dict(Unit.choices)
        kinds = dict(DestinationKind.choices)
        channels = dict(Channel.choices)
        statuses = dict(BatchStatus.choices)
        labels = {}

        def label(table, value):
            key = (id(table), value)
            if key not in labels:
                labels[key] = str(table.get(value, value))
            return labels[key]

        values = (
            self.lines.order_by("batch__dispatched_at", "batch__number", "id")
            .values(*FIELDS)
            .iterator(chunk_size=CHUNK)
        )
        for r in values:
            first = r["batch__dispatched_by__first_name"] or ""
            last = r["batch__dispatched_by__last_name"] or ""
            handled_by = f"{first} {last}".strip() or r["batch__dispatched_by__username"] or ""
            destination = r["batch__destination__name_zh"]
            if english and r["batch__destination__name_en"]:
                destination = r["batch__destination__name_en"]
            item = r["item__name_zh"]
            if english and r["item__name_en"]:
                item = r["item__name_en"]
            donation = ""
            if r["donation_id"]:
                donation = f"#{r['donation_id']} {r['donation__donor_name']}"
            yield {
                "number": r["batch__number"],
                "dispatched_at": _local(r["batch__dispatched_at"]),
                "expected_arrival": r["batch__expected_arrival"],
                "received_at": _local(r["batch__received_at"]),
                "source_warehouse": r["batch__source_warehouse__code"],
                "destination_kind": label(kinds, r["batch__destination__kind"]),
                "destination": destination,
                "item_code": r["item__code"],
                "item": item,
                "specification": r["item__specification"],
                "unit": label(units, r["item__unit"]),
                "quantity": r["quantity"],
                "channel": label(channels, r["channel"]),
                "donation": donation,
                "status": label(statuses, r["batch__status"]),
                "received_quantity": r["received_quantity"],
                "discrepancy": r["received_quantity"] - r["quantity"],
                "handled_by": handled_by,
            }

    def totals(self) -> dict:
        """reports.md "Allocation totals" over the same lines (the xlsx's second sheet)."""
        return allocation_totals(
            self.cleaned.get("from") or earliest_date(),
            self.cleaned.get("to") or LATEST_FILTER_DATE,
            lines=self.lines,
        )


def ledger_filename(query: LedgerQuery, fmt: str) -> str:
    parts = [_("Allocation ledger")]
    if query.cleaned.get("from"):
        parts.append(query.cleaned["from"].isoformat())
    if query.cleaned.get("to"):
        parts.append(query.cleaned["to"].isoformat())
    return "-".join(str(p) for p in parts) + f".{fmt}"


# --- CSV -----------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def ledger_csv_lines(query: LedgerQuery):
    """Yield CSV lines: the header (with BOM), one line per batch line, then the totals.

    The rows are formatted and written by PostgreSQL itself (`COPY … TO STDOUT WITH CSV`,
    into a spooled temporary file streamed out in blocks): a million lines in seconds, in
    constant memory (bench/ledger_export.py measures it).
    """
    yield from _ledger_csv_copy(query)


# The ledger's SELECT, with every display value computed by PostgreSQL. %(…)s parameters are
# labels in the UI language and the office's time zone; the FROM is the scoped, filtered lines.
# Text people typed (numbers, codes, names) goes through `formula_safe_sql` ({safe[…]}); the
# donation starts with "#" and the labels are our own, so they need not.
_COPY_SELECT = """
SELECT {safe[number]},
       to_char(b_dispatched_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI'),
       to_char(b_expected_arrival, 'YYYY-MM-DD'),
       to_char(b_received_at AT TIME ZONE %(tz)s, 'YYYY-MM-DD HH24:MI'),
       {safe[source]},
       {kind},
       {safe[destination]},
       {safe[item_code]},
       {safe[item]},
       {safe[specification]},
       {unit},
       l_quantity,
       {channel},
       CASE WHEN l_donation IS NOT NULL THEN '#' || l_donation || ' ' || d_donor END,
       {status},
       l_received,
       l_received - l_quantity,
       {safe[handled_by]}
FROM ({lines}) AS ledger
ORDER BY b_dispatched_at, b_number, l_id
"""


def _sql_case(column, choices, params, prefix):
    """CASE column WHEN 'value' THEN %(label)s …: the labels travel as parameters."""
    parts = []
    for index, (value, label) in enumerate(choices):
        params[f"{prefix}_v{index}"] = value
        params[f"{prefix}_l{index}"] = str(label)
        parts.append(f"WHEN %({prefix}_v{index})s THEN %({prefix}_l{index})s")
    return f"CASE {column} {' '.join(parts)} ELSE {column} END"


def _ledger_copy_sql(query: LedgerQuery) -> str:
    lines = (
        query.lines.order_by()
        .annotate(
            b_number=F("batch__number"),
            b_dispatched_at=F("batch__dispatched_at"),
            b_expected_arrival=F("batch__expected_arrival"),
            b_received_at=F("batch__received_at"),
            b_source=F("batch__source_warehouse__code"),
            b_kind=F("batch__destination__kind"),
            b_dest_zh=F("batch__destination__name_zh"),
            b_dest_en=F("batch__destination__name_en"),
            i_code=F("item__code"),
            i_zh=F("item__name_zh"),
            i_en=F("item__name_en"),
            i_spec=F("item__specification"),
            i_unit=F("item__unit"),
            l_quantity=F("quantity"),
            l_channel=F("channel"),
            l_donation=F("donation_id"),
            d_donor=F("donation__donor_name"),
            b_status=F("batch__status"),
            l_received=F("received_quantity"),
            u_name=F("batch__dispatched_by__username"),
            u_first=F("batch__dispatched_by__first_name"),
            u_last=F("batch__dispatched_by__last_name"),
            l_id=F("id"),
        )
        .values(
            "b_number",
            "b_dispatched_at",
            "b_expected_arrival",
            "b_received_at",
            "b_source",
            "b_kind",
            "b_dest_zh",
            "b_dest_en",
            "i_code",
            "i_zh",
            "i_en",
            "i_spec",
            "i_unit",
            "l_quantity",
            "l_channel",
            "l_donation",
            "d_donor",
            "b_status",
            "l_received",
            "u_name",
            "u_first",
            "u_last",
            "l_id",
        )
    )
    inner_sql, inner_params = lines.query.sql_with_params()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(inner_sql, inner_params).decode()
    params = {"tz": settings.TIME_ZONE}
    english = _english()
    text = {
        "number": "b_number",
        "source": "b_source",
        "destination": "COALESCE(NULLIF(b_dest_en, ''), b_dest_zh)" if english else "b_dest_zh",
        "item_code": "i_code",
        "item": "COALESCE(NULLIF(i_en, ''), i_zh)" if english else "i_zh",
        "specification": "NULLIF(i_spec, '')",
        "handled_by": "COALESCE(NULLIF(trim(coalesce(u_first, '') || ' ' || "
        "coalesce(u_last, '')), ''), u_name)",
    }
    sql = _COPY_SELECT.format(
        safe={key: formula_safe_sql(expression) for key, expression in text.items()},
        kind=_sql_case("b_kind", DestinationKind.choices, params, "k"),
        unit=_sql_case("i_unit", Unit.choices, params, "u"),
        channel=_sql_case("l_channel", Channel.choices, params, "c"),
        status=_sql_case("b_status", BatchStatus.choices, params, "s"),
        lines=inner.replace("%", "%%"),
    )
    with connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def _ledger_csv_copy(query: LedgerQuery):
    columns = _columns()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([str(label) for _key, label, _width in columns])
    copy_sql = _ledger_copy_sql(query)
    sums = query.lines.aggregate(quantity=Sum("quantity"), received=Sum("received_quantity"))
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as spool:
        with connection.cursor() as cursor:
            cursor.copy_expert(f"COPY ({copy_sql}) TO STDOUT WITH CSV", spool)
        spool.seek(0)
        while block := spool.read(256 * 1024):
            yield block
    quantity, received = sums["quantity"] or 0, sums["received"] or 0
    totals = {
        "quantity": quantity,
        "received_quantity": received,
        "discrepancy": received - quantity,
    }
    yield writer.writerow(_totals_row(columns, totals))


def _totals_row(columns, sums):
    return [
        str(_("Total")) if index == 0 else sums.get(key, "")
        for index, (key, _label, _width) in enumerate(columns)
    ]


# --- xlsx ----------------------------------------------------------------------------------


def ledger_xlsx(query: LedgerQuery, *, handle=None, progress=None):
    """The workbook written to `handle` (default a temporary file, which closing deletes),
    rewound. `progress(rows_written)` is called every CHUNK rows (the background job's bar)."""
    columns = _columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Allocation ledger")[:31])
    sheet.freeze_panes = "A2"
    for index, (_key, _label, width) in enumerate(columns):
        sheet.column_dimensions[_letter(index)].width = width
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
        if value is None or value == "":
            return None
        cell = WriteOnlyCell(sheet, value=formula_safe(value))
        if key in ("dispatched_at", "received_at"):
            cell.number_format = "yyyy-mm-dd hh:mm"
        elif key == "expected_arrival":
            cell.number_format = "yyyy-mm-dd"
        elif key in SUMMED:
            cell.number_format = "#,##0"
        return cell

    sheet.append([styled(str(label), fill=True) for _key, label, _width in columns])
    sums = dict.fromkeys(SUMMED, 0)
    for count, values in enumerate(query.rows(), start=1):
        for key in SUMMED:
            sums[key] += values[key]
        sheet.append([plain(key, values[key]) for key, _label, _width in columns])
        if progress is not None and count % CHUNK == 0:
            progress(count)
    sheet.append(
        [
            styled(value, number_format="#,##0" if key in SUMMED else None) if value != "" else None
            for (key, _label, _width), value in zip(
                columns, _totals_row(columns, sums), strict=True
            )
        ]
    )
    _summary_sheet(workbook, query.totals(), styled_font=bold, fill=header_fill)
    if handle is None:
        # Closed (and so deleted) by the FileResponse that streams it.
        handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115
    workbook.save(handle)
    handle.seek(0)
    return handle


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _summary_sheet(workbook, totals: dict, *, styled_font, fill):
    """汇总: the allocation totals by destination kind, destination, item and channel."""
    sheet = workbook.create_sheet(title=pgettext("ledger sheet", "Summary")[:31])
    for letter, width in (("A", 18), ("B", 28), ("C", 14)):
        sheet.column_dimensions[letter].width = width
    english = _english()
    kinds = dict(DestinationKind.choices)
    channels = dict(Channel.choices)

    def bold(value, *, header=False, number=False):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = styled_font
        if header:
            cell.fill = fill
        if number:
            cell.number_format = "#,##0"
        return cell

    def number(value):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "#,##0"
        return cell

    sheet.append([bold(str(_("Allocation totals")), header=True)])
    sheet.append([str(_("Number of batches")), None, number(totals["batches"])])
    sheet.append([bold(str(_("Total"))), None, bold(totals["total"], number=True)])

    def section(title, head, rows):
        sheet.append([])
        sheet.append(
            [
                bold(str(title), header=True),
                bold(str(head), header=True),
                bold(str(_("Quantity")), header=True),
            ]
        )
        for first, second, quantity in rows:
            sheet.append([formula_safe(first), formula_safe(second), number(quantity)])

    section(
        _("By destination kind"),
        _("Destination kind"),
        [
            (str(kinds.get(r["destination_kind"], r["destination_kind"])), None, r["quantity"])
            for r in totals["by_destination_kind"]
        ],
    )
    section(
        _("By destination"),
        _("Destination"),
        [
            (
                str(kinds.get(r["destination_kind"], r["destination_kind"])),
                (r["name_en"] if english and r["name_en"] else r["name_zh"]),
                r["quantity"],
            )
            for r in totals["by_destination"]
        ],
    )
    section(
        _("By item"),
        _("Item code"),
        [(None, r["item_code"], r["quantity"]) for r in totals["by_item"]],
    )
    section(
        _("By channel"),
        _("Channel"),
        [
            (str(channels.get(r["channel"], r["channel"])), None, r["quantity"])
            for r in totals["by_channel"]
        ],
    )


# --- Large exports: a background job ------------------------------------------------------
# Over SUPPLYCOORD["LEDGER_EXPORT_ASYNC_ROWS"] lines (default 50,000) the xlsx is written by a
# Celery job (allocation.tasks.ledger_export_xlsx) into MEDIA_ROOT/exports/ledger/ (shared by
# the web and worker containers, never served directly); the job's state lives in the cache,
# the page polls it and offers the download to the user who asked. Files and states are kept
# SUPPLYCOORD["EXPORT_KEEP_HOURS"] hours (default 24); a periodic job removes older files.

JOB_KEY = "allocation:ledger-export:%s"


def export_dir():
    return Path(settings.MEDIA_ROOT) / "exports" / "ledger"


def job_path(job_id: str) -> Path:
    return export_dir() / f"{job_id}.xlsx"


def _keep_seconds() -> int:
    return int(settings.SUPPLYCOORD.get("EXPORT_KEEP_HOURS", 24)) * 3600


def async_threshold() -> int:
    return int(settings.SUPPLYCOORD.get("LEDGER_EXPORT_ASYNC_ROWS", 50_000))


def job_get(job_id: str) -> dict | None:
    return cache.get(JOB_KEY % job_id)


def job_save(job_id: str, job: dict) -> None:
    cache.set(JOB_KEY % job_id, job, timeout=_keep_seconds())


def job_start(user, params, total: int, filename: str) -> str:
    """Record a new job (state `pending`) and hand it to the worker; its id."""
    from .tasks import ledger_export_xlsx as task

    job_id = uuid.uuid4().hex
    job_save(
        job_id,
        {
            "user_id": user.pk,
            "params": {key: params.getlist(key) for key in params}
            if hasattr(params, "getlist")
            else {key: [value] for key, value in params.items()},
            "language": get_language() or settings.LANGUAGE_CODE,
            "status": "pending",
            "done": 0,
            "total": total,
            "filename": filename,
            "error": "",
        },
    )
    transaction.on_commit(lambda: task.delay(job_id))
    return job_id


def job_run(job_id: str) -> None:
    """The worker's part: write the workbook, reporting progress into the job's state."""
    from django.contrib.auth import get_user_model
    from django.http import QueryDict

    job = job_get(job_id)
    if job is None:
        return
    params = QueryDict(mutable=True)
    for key, values in job["params"].items():
        params.setlist(key, values)
    user = get_user_model().objects.get(pk=job["user_id"])
    job.update(status="running")
    job_save(job_id, job)

    def progress(done):
        job["done"] = done
        job_save(job_id, job)

    export_dir().mkdir(parents=True, exist_ok=True)
    partial = job_path(job_id).with_suffix(".part")
    try:
        with translation.override(job["language"]), partial.open("wb") as handle:
            ledger_xlsx(LedgerQuery(user, params), handle=handle, progress=progress)
        partial.replace(job_path(job_id))
    except Exception as exc:
        partial.unlink(missing_ok=True)
        job.update(status="failed", error=str(exc)[:500])
        job_save(job_id, job)
        raise
    job.update(status="done", done=job["total"])
    job_save(job_id, job)


def exports_cleanup(now=None) -> int:
    """Remove export files older than the keep time; how many were removed."""
    limit = (now or time.time()) - _keep_seconds()
    removed = 0
    folder = export_dir()
    if not folder.is_dir():
        return 0
    for path in folder.iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
