"""Exports of the production app: the producer register (企业名录) and the daily production
ledger (生产日报台账), as .xlsx and as streamed CSV.

Rows are scoped by `producers_visible_to` / `reports_visible_to`: office and leadership get
every producer, an officer their prefecture's, a reporter their own. Headers are in the UI
language (Chinese by default); figures are written as numbers, not text. The CSV starts with
a byte-order mark so Excel reads its Chinese as UTF-8. Both read a constant number of
queries; the ledger is read in chunks, so memory stays flat however many reports there are.
"""

import csv
import dataclasses
import datetime as dt
import tempfile

from django import forms
from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from supplycoord.lib.dates import validate_filter_date
from supplycoord.lib.exports import formula_safe
from supplycoord.models import Item, Unit

from .models import Licence, LineStatus, Problem, ProblemStatus, ProducerStatus, ProductionLine
from .selectors import producers_visible_to, reports_visible_to

# Ledger rows are read from the database in chunks of this many, never all at once.
CHUNK = 2000

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    kind: str = "text"  # text, number, date or datetime


NUMBER_FORMATS = {"number": "#,##0", "date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm"}


def _english() -> bool:
    return (get_language() or settings.LANGUAGE_CODE).lower().startswith("en")


def _bilingual(zh: str, en: str) -> str:
    return en if en and _english() else zh


def _local(moment):
    # Excel has no time zones: write the office's local time, without tzinfo.
    if moment is None:
        return None
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0)


def _person(username, first, last) -> str:
    return f"{first or ''} {last or ''}".strip() or username or ""


# --- The producer register ------------------------------------------------------------------


class ProducerRegister:
    """One row per producer the user sees, with its capacity per item it has lines for."""

    def __init__(self, user, *, today: dt.date):
        self.today = today
        licences = Licence.objects.filter(producer=OuterRef("pk")).order_by()
        open_problems = (
            Problem.objects.filter(producer=OuterRef("pk"))
            .exclude(status=ProblemStatus.RESOLVED)
            .order_by()
        )
        # Subqueries, not joins: two counted relations joined at once would multiply.
        self.producers = producers_visible_to(user).annotate(
            licence_count=Coalesce(
                Subquery(
                    licences.values("producer").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
            next_expiry=Subquery(
                licences.filter(expires__gte=today).order_by("expires").values("expires")[:1]
            ),
            open_problem_count=Coalesce(
                Subquery(
                    open_problems.values("producer").annotate(n=Count("pk")).values("n"),
                    output_field=IntegerField(),
                ),
                Value(0),
            ),
        )
        lines = (
            ProductionLine.objects.filter(producer__in=self.producers.values("pk"))
            .exclude(status=LineStatus.STOPPED)
            .order_by()
            .values("producer_id", "item_id")
            .annotate(
                commissioned=Sum(
                    "daily_capacity", filter=Q(status=LineStatus.COMMISSIONED), default=0
                ),
                when_all_built=Sum("daily_capacity"),
            )
        )
        self.capacity = {(r["producer_id"], r["item_id"]): r for r in lines}
        self.items = list(Item.objects.filter(pk__in={item for _p, item in self.capacity}))

    def columns(self) -> list[Column]:
        columns = [
            Column("name", _("Producer"), 28),
            Column("credit_code", _("Unified social credit code"), 21),
            Column("prefecture", _("Prefecture"), 12),
            Column("county", _("County"), 12),
            Column("status", _("Status"), 14),
            Column("resumption_date", _("Resumption date"), 12, "date"),
            Column(
                "national_whitelist", _("On the national key enterprise list since"), 14, "date"
            ),
            Column(
                "provincial_whitelist", _("On the provincial key enterprise list since"), 14, "date"
            ),
        ]
        units = dict(Unit.choices)
        for item in self.items:
            unit = units.get(item.unit, item.unit)
            columns += [
                Column(
                    f"commissioned_{item.pk}",
                    _("%(item)s: commissioned capacity (%(unit)s/day)")
                    % {"item": item.name, "unit": unit},
                    16,
                    "number",
                ),
                Column(
                    f"when_all_built_{item.pk}",
                    _("%(item)s: capacity when all built (%(unit)s/day)")
                    % {"item": item.name, "unit": unit},
                    16,
                    "number",
                ),
            ]
        columns += [
            Column("licence_count", _("Licences"), 9, "number"),
            Column("next_expiry", _("Next licence expiry"), 12, "date"),
            Column("open_problems", _("Open problems"), 10, "number"),
        ]
        return columns

    def rows(self):
        statuses = dict(ProducerStatus.choices)
        for producer in self.producers.order_by("prefecture__code", "name", "pk"):
            row = {
                "name": producer.name,
                "credit_code": producer.credit_code,
                "prefecture": producer.prefecture.name,
                "county": producer.county.name if producer.county else "",
                "status": str(statuses.get(producer.status, producer.status)),
                "resumption_date": producer.resumption_date,
                "national_whitelist": producer.national_whitelist_since,
                "provincial_whitelist": producer.provincial_whitelist_since,
                "licence_count": producer.licence_count,
                "next_expiry": producer.next_expiry,
                "open_problems": producer.open_problem_count,
            }
            for item in self.items:
                capacity = self.capacity.get((producer.pk, item.pk))
                row[f"commissioned_{item.pk}"] = capacity["commissioned"] if capacity else None
                row[f"when_all_built_{item.pk}"] = capacity["when_all_built"] if capacity else None
            yield row

    def filename(self, fmt: str) -> str:
        return f"{_('Producer register')}-{self.today.isoformat()}.{fmt}"

    @property
    def sheet_title(self) -> str:
        return _("Producer register")


# --- The daily production ledger ---------------------------------------------------------


class LedgerFilterForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, validators=[validate_filter_date]
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, validators=[validate_filter_date]
    )
    item = forms.ModelChoiceField(
        label=gettext_lazy("Item"),
        queryset=Item.objects.all(),
        to_field_name="code",
        required=False,
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(
                _("The start date must not be after the end date."), code="inverted_range"
            )
        return cleaned


LEDGER_FIELDS = (
    "date",
    "producer__name",
    "producer__credit_code",
    "item__code",
    "item__name_zh",
    "item__name_en",
    "item__unit",
    "output",
    "to_reserve",
    "to_prefectures",
    "to_market",
    "factory_stock",
    "held_for_province",
    "raw_material_days",
    "submitted_by__username",
    "submitted_by__first_name",
    "submitted_by__last_name",
    "submitted_at",
    "correction_reason",
)


class ProductionLedger:
    """The reports the user sees, filtered by ?date_from, ?date_to (inclusive) and ?item."""

    def __init__(self, user, params, *, today: dt.date):
        self.today = today
        self.form = LedgerFilterForm(params)
        self.valid = self.form.is_valid()
        self.cleaned = self.form.cleaned_data if self.valid else {}
        reports = reports_visible_to(user)
        if self.cleaned.get("date_from"):
            reports = reports.filter(date__gte=self.cleaned["date_from"])
        if self.cleaned.get("date_to"):
            reports = reports.filter(date__lte=self.cleaned["date_to"])
        if self.cleaned.get("item"):
            reports = reports.filter(item=self.cleaned["item"])
        self.reports = reports if self.valid else reports.none()

    @property
    def errors(self):
        return self.form.errors

    def error_text(self) -> str:
        return "; ".join(
            " ".join(str(e) for e in errors)
            if field == "__all__"
            else f"{field}: {' '.join(errors)}"
            for field, errors in self.form.errors.items()
        )

    def columns(self) -> list[Column]:
        return [
            Column("date", _("Date"), 11, "date"),
            Column("producer", _("Producer"), 28),
            Column("credit_code", _("Unified social credit code"), 21),
            Column("item_code", _("Item code"), 10),
            Column("item", _("Item"), 20),
            Column("unit", _("Unit"), 7),
            Column("output", _("Output"), 12, "number"),
            Column("to_reserve", _("Delivered into the province's held reserve"), 14, "number"),
            Column("to_prefectures", _("Shipped to prefectures"), 12, "number"),
            Column("to_market", _("Sold on the market"), 12, "number"),
            Column("shipped", _("Shipped in total"), 12, "number"),
            Column("factory_stock", _("Stock at the factory"), 12, "number"),
            Column("held_for_province", _("Of which held for the province"), 12, "number"),
            Column("raw_material_days", _("Raw materials on hand (days)"), 10, "number"),
            Column("submitted_by", _("Submitted by"), 12),
            Column("submitted_at", _("Submitted at"), 17, "datetime"),
            Column("correction_reason", _("Reason for correction"), 30),
        ]

    def rows(self):
        units = {value: str(label) for value, label in Unit.choices}
        values = (
            self.reports.order_by(
                "date", "producer__prefecture__code", "producer__name", "item__sort_order", "pk"
            )
            .values(*LEDGER_FIELDS)
            .iterator(chunk_size=CHUNK)
        )
        for r in values:
            yield {
                "date": r["date"],
                "producer": r["producer__name"],
                "credit_code": r["producer__credit_code"],
                "item_code": r["item__code"],
                "item": _bilingual(r["item__name_zh"], r["item__name_en"]),
                "unit": units.get(r["item__unit"], r["item__unit"]),
                "output": r["output"],
                "to_reserve": r["to_reserve"],
                "to_prefectures": r["to_prefectures"],
                "to_market": r["to_market"],
                "shipped": r["to_reserve"] + r["to_prefectures"] + r["to_market"],
                "factory_stock": r["factory_stock"],
                "held_for_province": r["held_for_province"],
                "raw_material_days": r["raw_material_days"],
                "submitted_by": _person(
                    r["submitted_by__username"],
                    r["submitted_by__first_name"],
                    r["submitted_by__last_name"],
                ),
                "submitted_at": _local(r["submitted_at"]),
                "correction_reason": r["correction_reason"],
            }

    def filename(self, fmt: str) -> str:
        parts = [_("Production ledger")]
        start, end = self.cleaned.get("date_from"), self.cleaned.get("date_to")
        if start or end:
            parts += [d.isoformat() for d in (start, end) if d]
        else:
            parts.append(self.today.isoformat())
        if self.cleaned.get("item"):
            parts.append(self.cleaned["item"].code)
        return "-".join(str(p) for p in parts) + f".{fmt}"

    @property
    def sheet_title(self) -> str:
        return _("Production ledger")


# --- Writers --------------------------------------------------------------------------------


class _Echo:
    def write(self, value):
        return value


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_safe(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def csv_lines(export):
    """Yield the CSV of `export` line by line: the header (after a BOM), then each row."""
    columns = export.columns()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([formula_safe(str(c.label)) for c in columns])
    for row in export.rows():
        yield writer.writerow([_csv_value(row[c.key]) for c in columns])


def xlsx_file(export):
    """The workbook of `export` (write-only, so memory stays flat) in a temporary file,
    rewound; closing it (the FileResponse does) deletes it. Frozen, bold header row."""
    columns = export.columns()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(export.sheet_title)[:31])
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = column.width
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE6F0")

    def header(label):
        cell = WriteOnlyCell(sheet, value=formula_safe(str(label)))
        cell.font = bold
        cell.fill = fill
        return cell

    def value(column, raw):
        if raw is None or raw == "":
            return None
        cell = WriteOnlyCell(sheet, value=formula_safe(raw))
        if column.kind in NUMBER_FORMATS:
            cell.number_format = NUMBER_FORMATS[column.kind]
        return cell

    sheet.append([header(c.label) for c in columns])
    for row in export.rows():
        sheet.append([value(c, row[c.key]) for c in columns])
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 (closed by the response)
    workbook.save(handle)
    handle.seek(0)
    return handle
