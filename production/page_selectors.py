"""Reads behind the production pages: the register, a producer's page, the entry form's rows and
the problem summary. Each runs a fixed number of queries whatever the number of rows."""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from inventory.models import StockBalance
from supplycoord.models import Item
from supplycoord.permissions import can_report_for_producer, can_view_warehouse

from .models import (
    REPORT_FIELDS,
    Licence,
    LineStatus,
    Problem,
    ProblemCategory,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
)
from .selectors import (
    capacity_by_item,
    open_problems,
    producers_visible_to,
    utilisation,
    utilisation_flags,
)

# How many days of reports a producer's page shows, and how many resolved problems.
RECENT_REPORT_DAYS = 14
RECENT_RESOLVED_PROBLEMS = 10
# Age buckets of open problems, in whole days: (first day, last day or None for "and more").
AGE_BUCKETS = ((0, 2), (3, 6), (7, None))
# The figures of the entry form, in the order of its columns.
ENTRY_FIELDS = (*REPORT_FIELDS, "raw_material_days")


def _capacity_sum(statuses) -> Coalesce:
    # A subquery per figure: joining lines, licences and problems at once would multiply sums.
    lines = (
        ProductionLine.objects.filter(producer=OuterRef("pk"), status__in=statuses)
        .order_by()
        .values("producer")
        .annotate(total=Sum("daily_capacity"))
        .values("total")
    )
    return Coalesce(Subquery(lines, output_field=IntegerField()), 0)


def _count_of(queryset) -> Coalesce:
    counted = (
        queryset.filter(producer=OuterRef("pk"))
        .order_by()
        .values("producer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def producer_register(
    user, *, today: dt.date, status: str | None = None, prefecture=None
) -> QuerySet[Producer]:
    """The producers `user` sees with their capacity, flagged licences and open problems."""
    warn_until = today + dt.timedelta(days=settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"])
    producers = producers_visible_to(user)
    if status:
        producers = producers.filter(status=status)
    if prefecture is not None:
        producers = producers.filter(prefecture=prefecture)
    return producers.annotate(
        commissioned_capacity=_capacity_sum([LineStatus.COMMISSIONED]),
        when_all_built_capacity=_capacity_sum([s for s in LineStatus if s != LineStatus.STOPPED]),
        licences_flagged=_count_of(Licence.objects.filter(expires__lte=warn_until)),
        problems_open=_count_of(Problem.objects.exclude(status=ProblemStatus.RESOLVED)),
    ).order_by("prefecture__code", "name")


# --- A producer's page --------------------------------------------------------------------


@dataclasses.dataclass
class LicenceRow:
    licence: Licence
    expired: bool
    expiring: bool  # within LICENCE_WARNING_DAYS, not yet expired


@dataclasses.dataclass
class ReportRow:
    report: ProductionReport
    ratio: float | None  # output ÷ commissioned capacity that day
    low: bool  # part of a run flagged by utilisation_flags

    @property
    def percent(self) -> float | None:
        return None if self.ratio is None else self.ratio * 100


@dataclasses.dataclass
class LineRow:
    line: ProductionLine
    ratio: float | None  # the producer's latest utilisation of the line's item
    ratio_date: dt.date | None

    @property
    def percent(self) -> float | None:
        return None if self.ratio is None else self.ratio * 100


@dataclasses.dataclass
class ProducerPage:
    producer: Producer
    commissioners: list
    lines: list[LineRow]
    capacity: list[Item]
    licences: list[LicenceRow]
    raw_materials: list
    reports: list[ReportRow]
    held_balances: list[StockBalance]
    warehouse_link: bool
    can_change: bool
    open_problems: list[Problem]
    resolved_problems: list[Problem]
    today: dt.date
    report_days: int = RECENT_REPORT_DAYS

    @property
    def licences_flagged(self) -> int:
        return sum(1 for row in self.licences if row.expired or row.expiring)

    @property
    def low_flags(self) -> int:
        return len({row.report.item_id for row in self.reports if row.low})


def producer_page(user, producer: Producer, *, today: dt.date) -> ProducerPage:
    """Everything a producer's page shows, in a fixed number of queries."""
    warn_until = today + dt.timedelta(days=settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"])
    just_this = Producer.objects.filter(pk=producer.pk)
    start = today - dt.timedelta(days=RECENT_REPORT_DAYS - 1)

    days = utilisation(producers=just_this, date_from=start, date_to=today)
    ratio_of = {(u.item.pk, u.date): u.ratio for u in days}
    latest: dict[int, tuple[dt.date, float | None]] = {}
    for u in days:  # ordered by item, then date: the last one seen is the latest
        latest[u.item.pk] = (u.date, u.ratio)
    low = {
        (flag.item.pk, day.date)
        for flag in utilisation_flags(producers=just_this, today=today)
        for day in flag.days
    }
    reports = (
        ProductionReport.objects.filter(producer=producer, date__gte=start, date__lte=today)
        .select_related("item")
        .order_by("-date", "item__sort_order", "item__code")
    )
    lines = []
    for line in producer.lines.select_related("item").order_by("item__sort_order", "pk"):
        ratio_date, ratio = latest.get(line.item_id, (None, None))
        lines.append(LineRow(line=line, ratio=ratio, ratio_date=ratio_date))

    licences = [
        LicenceRow(
            licence=licence,
            expired=licence.expires is not None and licence.expires < today,
            expiring=licence.expires is not None and today <= licence.expires <= warn_until,
        )
        for licence in producer.licences.order_by("expires", "pk")
    ]
    warehouse = producer.held_reserve_warehouse
    held_balances = []
    if warehouse is not None:
        held_balances = list(
            StockBalance.objects.filter(warehouse=warehouse)
            .select_related("item")
            .order_by("item__sort_order", "item__code")
        )
    problems = Problem.objects.filter(producer=producer).select_related(
        "reported_by", "owner", "resolved_by"
    )
    return ProducerPage(
        producer=producer,
        commissioners=list(producer.reporters.order_by("username")),
        lines=lines,
        capacity=list(capacity_by_item(producer=producer)),
        licences=licences,
        raw_materials=list(producer.raw_materials.all()),
        reports=[
            ReportRow(
                report=report,
                ratio=ratio_of.get((report.item_id, report.date)),
                low=(report.item_id, report.date) in low,
            )
            for report in reports
        ],
        held_balances=held_balances,
        warehouse_link=warehouse is not None and can_view_warehouse(user, warehouse),
        can_change=can_report_for_producer(user, producer),
        open_problems=with_ages(open_problems(problems), today=today),
        resolved_problems=with_ages(
            problems.filter(status=ProblemStatus.RESOLVED).order_by("-resolved_at", "-pk")[
                :RECENT_RESOLVED_PROBLEMS
            ],
            today=today,
        ),
        today=today,
    )


# --- The entry form -----------------------------------------------------------------------


@dataclasses.dataclass
class EntryRow:
    item: Item
    existing: ProductionReport | None
    values: dict
    errors: dict = dataclasses.field(default_factory=dict)


def report_entry_rows(producer: Producer, *, date: dt.date) -> list[EntryRow]:
    """One row per item in the catalogue the producer has a line for, prefilled with that
    day's report (an item withdrawn from the catalogue is no longer reported)."""
    items = (
        Item.objects.filter(production_lines__producer=producer, active=True)
        .distinct()
        .order_by("sort_order", "code")
    )
    existing = {r.item_id: r for r in ProductionReport.objects.filter(producer=producer, date=date)}
    rows = []
    for item in items:
        report = existing.get(item.pk)
        values = report.figures() if report else dict.fromkeys(ENTRY_FIELDS)
        rows.append(EntryRow(item=item, existing=report, values=values))
    return rows


# --- Problems -----------------------------------------------------------------------------


def age_bucket(age: int) -> int:
    """The index in AGE_BUCKETS of an age in days."""
    for index, (_first, last) in enumerate(AGE_BUCKETS):
        if last is None or age <= last:
            return index
    return len(AGE_BUCKETS) - 1


@dataclasses.dataclass
class AgeSummaryRow:
    category: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def problem_age_summary(problems, *, today: dt.date) -> list[AgeSummaryRow]:
    """Open problems counted by category × age bucket (0–2, 3–6, 7+ days), every category."""
    counts = {value: [0] * len(AGE_BUCKETS) for value in ProblemCategory.values}
    for problem in problems:
        if problem.status != ProblemStatus.RESOLVED:
            counts[problem.category][age_bucket(problem.age_days(today))] += 1
    return [
        AgeSummaryRow(category=value, label=label, counts=counts[value])
        for value, label in ProblemCategory.choices
    ]


def with_ages(problems, *, today: dt.date) -> list[Problem]:
    """The problems as a list, each with `age` in whole days (to resolution, or to today)."""
    problems = list(problems)
    for problem in problems:
        problem.age = problem.age_days(today)
    return problems


def problem_history(problem: Problem) -> list:
    """The problem's history, newest first, with who made each change."""
    return list(
        problem.history.select_related("history_user", "owner").order_by("-history_date", "-pk")
    )
