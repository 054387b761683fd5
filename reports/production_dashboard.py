"""Reads of the production dashboard (生产调度看板), province-wide.

It lives in reports, the app that reads every other: its series set production's output and
capacity beside the province's consumption, which only the built snapshots hold.

Every panel is one grouped query (or two), whatever the number of producers, lines, reports
or days: day-by-day series are computed in memory from grouped rows, never by a query per
day. `production_dashboard` gathers them all; the page only lays them out.
"""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from production.models import (
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProducerStatus,
    ProductionLine,
    ProductionReport,
)
from production.selectors import (
    capacity_by_item,
    commissioned_capacity_on,
    licences_flagged,
    utilisation_flags,
)
from supplycoord.lib.dates import date_range, local_date
from supplycoord.models import Item, Unit

from .selectors import province_consumption_by_day

# The days the series panels cover, ending on the dashboard's date.
SERIES_DAYS = 30
# Open problems by age in whole days: (label key, lowest age, highest age or None).
AGE_BUCKETS = (("0-2", 0, 2), ("3-6", 3, 6), ("7+", 7, None))
# How many of the oldest open problems are listed under the grid.
OLDEST_OPEN_SHOWN = 10


def province_consumption(*, item: Item, date_from: dt.date, date_to: dt.date) -> dict:
    """{date: province consumption} from the built snapshots' rollups (reports.md)."""
    return province_consumption_by_day(item=item, date_from=date_from, date_to=date_to)


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the office's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def series_dates(end: dt.date, days: int = SERIES_DAYS) -> list[dt.date]:
    return list(date_range(end - dt.timedelta(days=days - 1), end))


# --- (a) capacity, output and consumption of one item ------------------------------------


@dataclasses.dataclass
class ItemSeries:
    item: Item
    dates: list[dt.date]
    capacity: list[int]  # commissioned capacity on each day
    output: list[int | None]  # Σ reported output; None on a day nobody reported
    consumption: list[int | None]  # province consumption of the snapshot; None when not built

    def rows(self):
        return list(zip(self.dates, self.capacity, self.output, self.consumption, strict=True))

    def as_chart(self) -> dict:
        return {
            "dates": [d.isoformat() for d in self.dates],
            "capacity": self.capacity,
            "output": self.output,
            "consumption": self.consumption,
        }


def item_series(*, item: Item, end: dt.date, days: int = SERIES_DAYS) -> ItemSeries:
    """Three queries: the item's lines, output summed per day, the province rollups."""
    dates = series_dates(end, days)
    start = dates[0]
    lines = list(
        ProductionLine.objects.filter(item=item, producer__active=True)
        .exclude(status=LineStatus.STOPPED)
        .only("daily_capacity", "status", "actual_commissioning")
    )
    output = dict(
        ProductionReport.objects.filter(item=item, date__gte=start, date__lte=end)
        .order_by()
        .values("date")
        .annotate(total=Sum("output"))
        .values_list("date", "total")
    )
    consumption = province_consumption(item=item, date_from=start, date_to=end)
    return ItemSeries(
        item=item,
        dates=dates,
        capacity=[commissioned_capacity_on(lines, day) for day in dates],
        output=[output.get(day) for day in dates],
        consumption=[consumption.get(day) for day in dates],
    )


# --- (b) capacity by item now ---------------------------------------------------------------


@dataclasses.dataclass
class UnitTotal:
    unit: str
    label: str
    commissioned: int
    when_all_built: int


def capacity_totals_by_unit(items: list[Item]) -> list[UnitTotal]:
    """Province totals of `capacity_by_item()` rows, one per unit: masks (pieces) and suits
    (sets) are not added together."""
    totals: dict[str, UnitTotal] = {}
    labels = dict(Unit.choices)
    for item in items:
        total = totals.setdefault(
            item.unit, UnitTotal(item.unit, str(labels.get(item.unit, item.unit)), 0, 0)
        )
        total.commissioned += item.commissioned
        total.when_all_built += item.when_all_built
    return list(totals.values())


# --- (c) lines and (d) producers by status -------------------------------------------------


@dataclasses.dataclass
class StatusCount:
    status: str
    label: str
    count: int
    capacity: int | None = None


def lines_by_status() -> list[StatusCount]:
    """Every status in its order, with the number of lines and their daily capacity."""
    grouped = {
        r["status"]: r
        for r in ProductionLine.objects.filter(producer__active=True)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), capacity=Sum("daily_capacity"))
    }
    return [
        StatusCount(
            status,
            str(label),
            grouped.get(status, {}).get("count", 0),
            grouped.get(status, {}).get("capacity") or 0,
        )
        for status, label in LineStatus.choices
    ]


def producers_by_status() -> list[StatusCount]:
    """Active (monitored) producers by status, every status in its order."""
    grouped = dict(
        Producer.objects.filter(active=True)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"))
        .values_list("status", "count")
    )
    return [
        StatusCount(status, str(label), grouped.get(status, 0))
        for status, label in ProducerStatus.choices
    ]


# --- (e) resumption ------------------------------------------------------------------------


@dataclasses.dataclass
class ResumptionSeries:
    dates: list[dt.date]
    monitored: int
    back: list[int]

    @property
    def shares(self) -> list[float | None]:
        """Share back in production each day (0…1); None with nobody monitored."""
        if not self.monitored:
            return [None for _ in self.back]
        return [n / self.monitored for n in self.back]

    def rows(self):
        return list(zip(self.dates, self.back, self.shares, strict=True))

    def as_chart(self) -> dict:
        return {
            "dates": [d.isoformat() for d in self.dates],
            "share": [None if s is None else round(100 * s, 1) for s in self.shares],
            "back": self.back,
        }


def resumption_series(*, end: dt.date, days: int = SERIES_DAYS) -> ResumptionSeries:
    """复工率: of the monitored (active) producers, the share back in production each day.

    A producer is back on a day when its resumption date is on or before that day and it is
    not stopped now (the register keeps the current status, not its history). One query:
    producers counted per resumption date, then summed cumulatively.
    """
    dates = series_dates(end, days)
    grouped = (
        Producer.objects.filter(active=True)
        .order_by()
        .values("resumption_date")
        .annotate(
            total=Count("pk"),
            back=Count("pk", filter=~Q(status=ProducerStatus.STOPPED)),
        )
    )
    monitored = 0
    resumed_on: list[tuple[dt.date, int]] = []
    for row in grouped:
        monitored += row["total"]
        if row["resumption_date"] is not None and row["back"]:
            resumed_on.append((row["resumption_date"], row["back"]))
    back = [sum(n for day, n in resumed_on if day <= d) for d in dates]
    return ResumptionSeries(dates=dates, monitored=monitored, back=back)


# --- (f) licences --------------------------------------------------------------------------


@dataclasses.dataclass
class LicenceFlags:
    expired: list
    expiring: list
    within_days: int


def licence_flags(*, today: dt.date) -> LicenceFlags:
    """Licences expired or expiring within LICENCE_WARNING_DAYS of `today` (the dashboard's
    date), each with `days_left` (expires − today: 0 on its last valid day) or `days_expired`
    (today − expires), counted as of that date, not the day the page is read."""
    within = settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"]
    flagged = list(licences_flagged(today=today, within_days=within))
    for licence in flagged:
        licence.days_left = (licence.expires - today).days
        licence.days_expired = -licence.days_left
    return LicenceFlags(
        expired=[lic for lic in flagged if lic.expires < today],
        expiring=[lic for lic in flagged if lic.expires >= today],
        within_days=within,
    )


# --- (g) open problems by category and age ---------------------------------------------


@dataclasses.dataclass
class ProblemRow:
    category: str
    label: str
    buckets: list[int]  # counts per AGE_BUCKETS

    @property
    def total(self) -> int:
        return sum(self.buckets)


@dataclasses.dataclass
class ProblemGrid:
    rows: list[ProblemRow]
    totals: list[int]
    oldest: list[Problem]
    bucket_labels: list[str]

    @property
    def total(self) -> int:
        return sum(self.totals)


def _open_on(day: dt.date) -> Q:
    """Problems reported by the end of `day` and not resolved by then."""
    end = _day_start(day + dt.timedelta(days=1))
    return Q(reported_at__lt=end) & (~Q(status=ProblemStatus.RESOLVED) | Q(resolved_at__gte=end))


def problems_by_category_and_age(*, today: dt.date) -> ProblemGrid:
    """Problems open at the end of `today`, counted per category and age bucket in one
    grouped query (age = whole local days since reported, as `Problem.age_days`), and the
    oldest of them listed."""
    open_then = Problem.objects.filter(_open_on(today))
    annotations = {}
    for key, lowest, highest in AGE_BUCKETS:
        # age ≥ lowest ⇔ reported before the start of (today − lowest + 1).
        condition = Q(reported_at__lt=_day_start(today - dt.timedelta(days=lowest - 1)))
        if highest is not None:
            condition &= Q(reported_at__gte=_day_start(today - dt.timedelta(days=highest)))
        annotations[f"b_{key}"] = Count("pk", filter=condition)
    grouped = {
        r["category"]: r for r in open_then.order_by().values("category").annotate(**annotations)
    }
    rows = []
    for category, label in ProblemCategory.choices:
        counts = grouped.get(category, {})
        rows.append(
            ProblemRow(category, str(label), [counts.get(f"b_{k}", 0) for k, *_ in AGE_BUCKETS])
        )
    totals = [sum(row.buckets[i] for row in rows) for i in range(len(AGE_BUCKETS))]
    oldest = list(
        open_then.select_related("producer").order_by("reported_at", "pk")[:OLDEST_OPEN_SHOWN]
    )
    for problem in oldest:
        problem.age = max(0, (today - local_date(problem.reported_at)).days)
    return ProblemGrid(
        rows=rows,
        totals=totals,
        oldest=oldest,
        bucket_labels=[key for key, *_ in AGE_BUCKETS],
    )


# --- Everything at once ----------------------------------------------------------------------


@dataclasses.dataclass
class ProductionDashboard:
    date: dt.date
    items: list[Item]  # items with a line not stopped, with capacity annotations
    item: Item | None
    series: ItemSeries | None
    unit_totals: list[UnitTotal]
    lines: list[StatusCount]
    producers: list[StatusCount]
    resumption: ResumptionSeries
    licences: LicenceFlags
    problems: ProblemGrid
    utilisation_flags: list


def production_dashboard(*, date: dt.date, item_code: str | None = None) -> ProductionDashboard:
    """The whole dashboard as of `date`, for `item_code` (default: the first item with lines).

    About fifteen queries, however many producers, lines, reports and days there are.
    """
    items = list(capacity_by_item())
    item = next((i for i in items if i.code == item_code), items[0] if items else None)
    return ProductionDashboard(
        date=date,
        items=items,
        item=item,
        series=item_series(item=item, end=date) if item else None,
        unit_totals=capacity_totals_by_unit(items),
        lines=lines_by_status(),
        producers=producers_by_status(),
        resumption=resumption_series(end=date),
        licences=licence_flags(today=date),
        problems=problems_by_category_and_age(today=date),
        utilisation_flags=utilisation_flags(
            producers=Producer.objects.filter(active=True), today=date
        ),
    )
