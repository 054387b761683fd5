"""The daily report export (日报汇总), declared on the one exporter base (supplycoord/exports.py):
the day's snapshot as .xlsx and .csv.

Rows are scoped to the caller through `snapshot_rows_visible_to`, so an officer's export holds
their prefecture only. The totals are per unit of measure, one row each: pieces and sets are
never added together.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import DATE, DECIMAL, INT, Column, Exporter, Strong
from supplycoord.models import Item, Prefecture

from .models import Status
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
        if self.prefecture is None:
            # The province figures, each with its coverage (roles that see the whole
            # province only; none for an officer).
            for rollup in rollups_visible_to(self.user, date=self.date):
                item_code, item, unit = items[rollup.item_id]
                yield Strong(
                    date=rollup.date,
                    prefecture=str(_("Province")),
                    item_code=item_code,
                    item=item,
                    unit=unit,
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
