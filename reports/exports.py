"""The daily report export (日报汇总), declared on the one exporter base (supplycoord/exports.py):
the day's snapshot as .xlsx and .csv.

Rows are scoped to the caller through `snapshot_rows_visible_to`, so an officer's export holds
their prefecture only. The totals are per unit of measure, one row each: pieces and sets are
never added together.

The CSV a download streams is written by PostgreSQL (`daily_report_csv_lines`: COPY … TO
STDOUT WITH CSV through supplycoord.exports.copy_csv_lines, as the allocation ledger's),
byte for byte what the generic writer writes from `rows()` (a test holds them equal);
`rows()` stays the one declaration of the rows, for the xlsx and the background job.
bench/daily_export.py measures both.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import (
    DATE,
    DECIMAL,
    INT,
    TEXT,
    Column,
    Exporter,
    Strong,
    copy_columns,
    copy_csv_lines,
    csv_float_sql,
    csv_label,
    csv_text_sql,
    english,
    mogrify,
    queryset_sql,
    sql_case,
)
from supplycoord.models import Item, Prefecture, Unit

from .models import SnapshotRow, Status
from .selectors import rollups_visible_to, snapshot_rows_visible_to
from .spotchecks import spot_check_notice_rows

SUMMED = ("stock", "consumption", "demand", "in_transit", "arriving_3d", "shortfall_3d")
# A snapshot row's figures in the order the export reads them (values_list).
FIGURES = (
    "stock",
    "consumption",
    "avg_consumption_7d",
    "demand",
    "in_transit",
    "arriving_3d",
    "days_of_cover",
    "projected_days_of_cover",
    "shortfall_3d",
    "reconciliation_gap",
)
# The figures written as floats (Python's repr: 12.5, 10.0), as `_float` makes them.
FLOATS = ("avg_consumption_7d", "days_of_cover", "projected_days_of_cover")


def _float(value):
    return float(value) if value is not None else None


class DailyReportExport(Exporter):
    """`params`: ?date (ISO) and ?prefecture (a code, optional; its visibility is the view's
    to check, and the rows are scoped to the user whatever it says)."""

    read_rule = staticmethod(permissions.can_read_prefecture_data)
    # Its own threshold, far below the other exports': see the setting.
    background_setting = "DAILY_REPORT_EXPORT_ASYNC_ROWS"

    title = gettext_lazy("Daily report")

    def __init__(self, user, params=None):
        super().__init__(user, params)
        self.date = dt.date.fromisoformat(self.params["date"])
        code = self.params.get("prefecture")
        self.prefecture = Prefecture.objects.get(code=code) if code else None

    def columns(self):
        return [
            Column("date", _("Date"), DATE, 11),
            Column("prefecture_code", _("Prefecture code"), width=10),
            Column("prefecture", _("Prefecture"), width=16),
            Column("item_code", _("Item code"), width=10),
            Column("item", _("Item"), width=22),
            Column("unit", _("Unit"), width=8),
            Column("stock", _("Stock"), INT, 13),
            Column("stock_is_stale", _("Stock is stale"), width=13),
            Column("consumption", _("Consumption"), INT, 13),
            Column("avg_consumption_7d", _("Average consumption, 7 days"), DECIMAL, 13),
            Column("demand", _("Demand"), INT, 13),
            Column("in_transit", _("In transit"), INT, 13),
            Column("arriving_3d", _("Arriving within 3 days"), INT, 13),
            Column("days_of_cover", _("Days of cover"), DECIMAL, 13),
            Column("projected_days_of_cover", _("Projected days of cover"), DECIMAL, 13),
            Column("shortfall_3d", _("Shortfall within 3 days"), INT, 13),
            Column("reconciliation_gap", _("Reconciliation gap"), INT, 13),
            Column("status", _("Status"), width=13),
            # Filled on the province rows only: what each province figure rests on
            # (reports.md "Coverage").
            Column("prefectures_reported", _("Prefectures reported"), INT, 11),
            Column("prefectures_stale", _("Prefectures stale"), INT, 11),
            Column("prefectures_missing", _("Prefectures missing"), INT, 11),
            Column("coverage_share", _("Coverage share"), DECIMAL, 11, number_format="0.0%"),
            Column("partial", _("Partial"), width=9),
        ]

    def date_range(self):
        return (self.date, self.date)

    def filters_text(self):
        if self.prefecture is None:
            return ""
        return f"{_('Prefecture')}: {self.prefecture.name}"

    def filename_parts(self):
        scope = [self.prefecture.name] if self.prefecture else []
        return [*scope, self.date.isoformat()]

    def _snapshot_rows(self):
        return snapshot_rows_visible_to(self.user, date=self.date, prefecture=self.prefecture)

    def count(self) -> int:
        return self._snapshot_rows().count()

    def rows(self):
        # Names, codes and units are resolved once per item and prefecture (two small
        # queries), not per row: at 340 prefectures × 60 items the per-row model objects and
        # get_unit_display() calls were most of the export's time.
        items = {
            item.pk: (item.code, item.name, str(item.get_unit_display()))
            for item in Item.objects.only("code", "name_zh", "name_en", "unit")
        }
        prefectures = {
            prefecture.pk: (prefecture.code, prefecture.name)
            for prefecture in Prefecture.objects.only("code", "name_zh", "name_en")
        }
        statuses = {value: str(label) for value, label in Status.choices}
        yes = _("yes")
        totals = {}
        fields = ("date", "prefecture_id", "item_id", "stock_is_stale", "status", *FIGURES)
        for (
            date,
            prefecture_id,
            item_id,
            stale,
            status,
            stock,
            consumption,
            avg_consumption_7d,
            demand,
            in_transit,
            arriving_3d,
            days_of_cover,
            projected_days_of_cover,
            shortfall_3d,
            reconciliation_gap,
        ) in self._snapshot_rows().values_list(*fields).iterator(chunk_size=2000):
            prefecture_code, prefecture = prefectures[prefecture_id]
            item_code, item, unit = items[item_id]
            sums = totals.get(unit)
            if sums is None:
                sums = totals[unit] = dict.fromkeys(SUMMED, 0)
            sums["stock"] += stock or 0
            sums["consumption"] += consumption or 0
            sums["demand"] += demand or 0
            sums["in_transit"] += in_transit or 0
            sums["arriving_3d"] += arriving_3d or 0
            sums["shortfall_3d"] += shortfall_3d or 0
            yield {
                "date": date,
                "prefecture_code": prefecture_code,
                "prefecture": prefecture,
                "item_code": item_code,
                "item": item,
                "unit": unit,
                "stock": stock,
                "stock_is_stale": yes if stale else "",
                "consumption": consumption,
                "avg_consumption_7d": _float(avg_consumption_7d),
                "demand": demand,
                "in_transit": in_transit,
                "arriving_3d": arriving_3d,
                "days_of_cover": _float(days_of_cover),
                "projected_days_of_cover": _float(projected_days_of_cover),
                "shortfall_3d": shortfall_3d,
                "reconciliation_gap": reconciliation_gap,
                "status": statuses[status],
            }
        for unit, sums in (totals or {"": dict.fromkeys(SUMMED, 0)}).items():
            yield Strong(date=str(_("Total")), unit=unit, **sums)
        yield from self.province_rows()

    def province_rows(self):
        """The province figures, each with its coverage: roles that see the whole province
        only (none for an officer), and none when one prefecture is asked for. One query."""
        if self.prefecture is not None:
            return
        statuses = {value: str(label) for value, label in Status.choices}
        yes = _("yes")
        for rollup in rollups_visible_to(self.user, date=self.date):
            item = rollup.item
            yield Strong(
                date=rollup.date,
                prefecture=str(_("Province")),
                item_code=item.code,
                item=item.name,
                unit=str(item.get_unit_display()),
                **{key: getattr(rollup, key) for key in SUMMED},
                avg_consumption_7d=_float(rollup.avg_consumption_7d),
                days_of_cover=_float(rollup.days_of_cover),
                status=statuses[rollup.status],
                prefectures_reported=rollup.prefectures_reported,
                prefectures_stale=rollup.prefectures_stale,
                prefectures_missing=rollup.prefectures_missing,
                coverage_share=_float(rollup.coverage_share),
                partial=yes if rollup.partial else "",
            )


# --- The daily report's CSV through COPY --------------------------------------------------------
# What `rows()` yields, written by PostgreSQL (supplycoord.exports.copy_csv_lines): the
# prefecture rows, then the totals per unit, each a COPY into one file; the province rows (one
# per item) after them by the generic writer. Names, codes and units are made CSV text once per prefecture and
# item (`_names`), not once per row, and the rows are sorted by their prefecture's and item's
# rank (integers). A test holds it byte for byte equal to `csv_lines`.

_SNAPSHOT_FIELDS = ("date", "prefecture_id", "item_id", "stock_is_stale", "status", *FIGURES)


def _names(params: dict, *, english: bool) -> str:
    """The WITH of the prefectures (p) and items (i): each one's rank in the export's order
    (prefecture code; item sort order, code) and its code, name and unit as CSV text."""
    name = "COALESCE(NULLIF(name_en, ''), name_zh)" if english else "name_zh"
    unit = sql_case("unit", Unit.choices, params, "u", formatted=True)
    return (
        "p AS (SELECT id, row_number() OVER (ORDER BY code) AS rank, "
        f"{csv_text_sql('code')} AS code, {csv_text_sql(name)} AS name "
        f"FROM {Prefecture._meta.db_table}), "
        "i AS (SELECT id, row_number() OVER (ORDER BY sort_order, code) AS rank, "
        f"{csv_text_sql('code')} AS code, {csv_text_sql(name)} AS name, {unit} AS unit "
        f"FROM {Item._meta.db_table})"
    )


def _row_expressions(params: dict) -> dict:
    """Each column's SQL for a prefecture row (r, its p and i) as CSV text, by key; the
    province columns empty."""
    floats = {
        name: csv_float_sql(
            f"r.{name}", decimal_places=SnapshotRow._meta.get_field(name).decimal_places
        )
        for name in FLOATS
    }
    return {
        "date": "to_char(r.date, 'YYYY-MM-DD')",
        "prefecture_code": "p.code",
        "prefecture": "p.name",
        "item_code": "i.code",
        "item": "i.name",
        "unit": "i.unit",
        "stock_is_stale": "CASE WHEN r.stock_is_stale THEN %(yes)s END",
        "status": sql_case("r.status", Status.choices, params, "s", formatted=True),
        **{name: f"r.{name}" for name in FIGURES},
        **floats,
        "prefectures_reported": "NULL",
        "prefectures_stale": "NULL",
        "prefectures_missing": "NULL",
        "coverage_share": "NULL",
        "partial": "NULL",
    }


def _total_expressions(columns, *, rows: bool) -> list[str]:
    """A total row's SELECT list: "Total", the unit, the sums; one per unit over the rows,
    or (`rows` False) the one zero total of an export without rows."""
    selected = []
    for column in columns:
        if column.key == "date":
            selected.append("%(total)s")
        elif column.key == "unit":
            selected.append("i.unit" if rows else "NULL")
        elif column.key in SUMMED:
            selected.append(f"sum(COALESCE(r.{column.key}, 0))" if rows else "0")
        else:
            selected.append("NULL")
    return selected


def _daily_copy_sqls(export: DailyReportExport) -> list[str]:
    """Two COPYs into one file: the prefecture rows, then the totals per unit. (One query
    for both, a UNION sorted at the end, took twice as long: the sort of every formatted
    row.)"""
    columns = export.columns()
    # The caller's rows of the date (`_snapshot_rows`: scoped as rows() is), narrow.
    snapshot = queryset_sql(export._snapshot_rows().order_by().values(*_SNAPSHOT_FIELDS))
    params = {"yes": csv_label(_("yes")), "total": csv_label(_("Total"))}
    with_ = f"WITH {_names(params, english=english())}, r AS NOT MATERIALIZED ({snapshot}) "
    lines = "FROM r JOIN p ON p.id = r.prefecture_id JOIN i ON i.id = r.item_id"
    text = {c.key for c in columns if c.kind == TEXT}
    row = copy_columns(columns, _row_expressions(params), formatted=text)
    # One date: the rows in order of their prefecture's and item's rank, as rows() has them.
    rows_sql = f"{with_}SELECT {', '.join(row)} {lines} ORDER BY p.rank, i.rank"
    # A total per unit in the order its unit first appears, as rows() sums them; one zero
    # total when there is no row.
    out = ", ".join(f"c{index}" for index in range(len(columns)))

    def named(selected):
        return ", ".join(f"{sql} AS c{index}" for index, sql in enumerate(selected))

    totals_sql = (
        f"{with_}SELECT {out} FROM ("
        f"SELECT min(ARRAY[p.rank, i.rank]) AS first, "
        f"{named(_total_expressions(columns, rows=True))} {lines} GROUP BY i.unit "
        "UNION ALL "
        f"SELECT NULL, {named(_total_expressions(columns, rows=False))} "
        "WHERE NOT EXISTS (SELECT FROM r)"
        ") AS totals ORDER BY first"
    )
    return [mogrify(rows_sql, params), mogrify(totals_sql, params)]


def daily_report_csv_lines(export: DailyReportExport):
    """The daily report's CSV, as `csv_lines(export)` writes it, formatted by PostgreSQL: the
    prefecture rows and the totals per unit by two COPYs, then the province rows (the
    generic writer's `csv_row`, from `province_rows()` as `rows()` yields them)."""
    copy_sqls = _daily_copy_sqls(export)
    province = list(export.province_rows())
    yield from copy_csv_lines(export, copy_sqls, province)


class SpotCheckNoticeExport(Exporter):
    """The spot-check notice list (通报) of ?date: the flags that still hold, each with its
    follow-up status and latest note (`spotchecks.spot_check_notice_rows`)."""

    read_rule = staticmethod(permissions.can_read_spot_checks)

    title = gettext_lazy("Spot-check notice list")

    def __init__(self, user, params=None):
        super().__init__(user, params)
        self.date = dt.date.fromisoformat(self.params["date"])

    def sheet_name(self):
        return str(_("Notice list"))

    def columns(self):
        return [
            Column("prefecture", _("Prefecture"), width=14),
            Column("item", _("Item"), width=22),
            Column("figure", _("Consumption per protected person, 7 days"), DECIMAL, 16),
            Column("median", _("Median of prefectures"), DECIMAL, 16),
            Column("score", _("Robust z-score"), DECIMAL, 12),
            Column("status", _("Follow-up"), width=14),
            Column("latest_note", _("Latest note"), width=40),
        ]

    def date_range(self):
        return (self.date, self.date)

    def unit_text(self):
        return str(_("the item's unit per protected person"))

    def filename_parts(self):
        return [self.date.isoformat()]

    def rows(self):
        return spot_check_notice_rows(self.user, date=self.date)
