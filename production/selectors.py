"""Reads of the production app: who sees which producer, capacity, licences to renew."""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum

from supplycoord.models import Item
from supplycoord.permissions import scope_producers

from .models import (
    Licence,
    LineStatus,
    Problem,
    ProblemStatus,
    Producer,
    ProductionLine,
    ProductionReport,
)


def producers_visible_to(user) -> QuerySet[Producer]:
    """Producers `user` may see. Officers see their prefecture's producers, read-only."""
    return scope_producers(user, Producer.objects.select_related("prefecture", "county"))


def capacity_by_item(*, producer: Producer | None = None) -> QuerySet[Item]:
    """Items with their daily capacity: `commissioned` over commissioned lines and
    `when_all_built` over every line not stopped, in one grouped query.

    Items without a line that is not stopped are left out. Province-wide (no `producer`),
    only the lines of active producers count.
    """
    lines = Q(production_lines__status__in=[s for s in LineStatus if s != LineStatus.STOPPED])
    if producer is not None:
        lines &= Q(production_lines__producer=producer)
    else:
        # The province's capacity: producers taken off the register no longer count.
        lines &= Q(production_lines__producer__active=True)
    commissioned = lines & Q(production_lines__status=LineStatus.COMMISSIONED)
    return (
        Item.objects.annotate(
            commissioned=Sum("production_lines__daily_capacity", filter=commissioned, default=0),
            when_all_built=Sum("production_lines__daily_capacity", filter=lines, default=0),
            # Filtering on the relation again would join it twice and multiply the sums.
            line_count=Count("production_lines", filter=lines),
        )
        .filter(line_count__gt=0)
        .order_by("sort_order", "code")
    )


def licences_flagged(*, today: dt.date, within_days: int | None = None) -> QuerySet[Licence]:
    """Licences expired or expiring within `within_days` (setting LICENCE_WARNING_DAYS) of today.

    A licence expiring exactly `within_days` from today is flagged; one a day later is not.
    Producers taken off the register (inactive) have nothing left to renew.
    """
    if within_days is None:
        within_days = settings.SUPPLYCOORD["LICENCE_WARNING_DAYS"]
    return (
        Licence.objects.filter(
            expires__lte=today + dt.timedelta(days=within_days), producer__active=True
        )
        .select_related("producer")
        .order_by("expires", "pk")
    )


def reports_visible_to(user) -> QuerySet[ProductionReport]:
    """Production reports of the producers `user` sees."""
    return ProductionReport.objects.filter(producer__in=producers_visible_to(user)).select_related(
        "producer", "item"
    )


def problems_visible_to(user) -> QuerySet[Problem]:
    """Problems of the producers `user` sees, with who reported, owns and resolved them."""
    return Problem.objects.filter(producer__in=producers_visible_to(user)).select_related(
        "producer", "reported_by", "owner", "resolved_by"
    )


def open_problems(problems: QuerySet[Problem]) -> QuerySet[Problem]:
    """Not yet resolved, the oldest first (the longest waiting is the most urgent)."""
    return problems.exclude(status=ProblemStatus.RESOLVED).order_by("reported_at", "pk")


def commissioned_capacity_on(lines, day: dt.date) -> int:
    """Daily capacity of `lines` commissioned on `day`.

    A line counts when its status is commissioned and its actual commissioning date (if
    recorded) is on or before `day`. Lines stopped since are not counted on any day: the
    register keeps a line's current status, not its past ones.
    """
    return sum(
        line.daily_capacity
        for line in lines
        if line.status == LineStatus.COMMISSIONED
        and (line.actual_commissioning is None or line.actual_commissioning <= day)
    )


@dataclasses.dataclass
class Utilisation:
    producer: Producer
    item: Item
    date: dt.date
    output: int
    capacity: int  # commissioned daily capacity of the producer's lines of the item that day

    @property
    def ratio(self) -> float | None:
        """output ÷ commissioned capacity; None without commissioned capacity."""
        return self.output / self.capacity if self.capacity else None


def utilisation(
    *, producers: QuerySet[Producer], date_from: dt.date, date_to: dt.date
) -> list[Utilisation]:
    """Utilisation of each reported (producer, item, day) in the range, in four queries.

    Output is reported per producer and item, not per line: a line's utilisation is its
    producer's for that item. The reports and lines are read as plain values and each
    producer and item once (issue 13: at national scale the dashboard built 30,000 report,
    producer and item instances for three days of reports).
    """
    lines_by_key: dict[tuple[int, int], list[ProductionLine]] = {}
    lines = ProductionLine.objects.filter(producer__in=producers).only(
        "producer_id", "item_id", "daily_capacity", "status", "actual_commissioning"
    )
    for line in lines:
        lines_by_key.setdefault((line.producer_id, line.item_id), []).append(line)
    reports = list(
        ProductionReport.objects.filter(
            producer__in=producers, date__gte=date_from, date__lte=date_to
        )
        .order_by("producer_id", "item_id", "date")
        .values_list("producer_id", "item_id", "date", "output")
    )
    producer_of = Producer.objects.in_bulk({r[0] for r in reports})
    item_of = Item.objects.in_bulk({r[1] for r in reports})
    return [
        Utilisation(
            producer=producer_of[producer_id],
            item=item_of[item_id],
            date=date,
            output=output,
            capacity=commissioned_capacity_on(lines_by_key.get((producer_id, item_id), []), date),
        )
        for producer_id, item_id, date, output in reports
    ]


@dataclasses.dataclass
class UtilisationFlag:
    producer: Producer
    item: Item
    days: list[Utilisation]  # the run of low days, oldest first, ending on the flag's date

    @property
    def latest(self) -> Utilisation:
        return self.days[-1]


def utilisation_flags(*, producers: QuerySet[Producer], today: dt.date) -> list[UtilisationFlag]:
    """(producer, item) pairs whose utilisation was under UTILISATION_FLAG_BELOW (0.6) on each
    of the UTILISATION_FLAG_DAYS (3) days ending `today`.

    A day without a report, or without commissioned capacity, breaks the run: missing reports
    are chased as missing, not flagged as low.
    """
    threshold = settings.SUPPLYCOORD["UTILISATION_FLAG_BELOW"]
    run = settings.SUPPLYCOORD["UTILISATION_FLAG_DAYS"]
    start = today - dt.timedelta(days=run - 1)
    by_key: dict[tuple[int, int], dict[dt.date, Utilisation]] = {}
    for row in utilisation(producers=producers, date_from=start, date_to=today):
        by_key.setdefault((row.producer.pk, row.item.pk), {})[row.date] = row
    flags = []
    for days in by_key.values():
        wanted = [days.get(start + dt.timedelta(days=n)) for n in range(run)]
        if all(d is not None and d.ratio is not None and d.ratio < threshold for d in wanted):
            flags.append(
                UtilisationFlag(producer=wanted[0].producer, item=wanted[0].item, days=wanted)
            )
    flags.sort(key=lambda f: (f.latest.ratio, f.producer.name))
    return flags


@dataclasses.dataclass
class CommissionerDesk:
    producers: list[Producer]
    # (producer, item, report or None) for each line item of each producer, missing first.
    today_reports: list[tuple[Producer, Item, ProductionReport | None]]
    open_problems: list[Problem]

    @property
    def missing_count(self) -> int:
        return sum(1 for _, _, report in self.today_reports if report is None)


def commissioner_desk(user, *, today: dt.date) -> CommissionerDesk:
    """What a commissioner sees first: their producers, today's reports (missing ones first)
    and the open problems. Four queries whatever the number of producers."""
    producers = list(producers_visible_to(user).filter(active=True).prefetch_related("lines__item"))
    reports = {
        (r.producer_id, r.item_id): r
        for r in ProductionReport.objects.filter(producer__in=producers, date=today)
    }
    rows = []
    for producer in producers:
        items = {line.item.pk: line.item for line in producer.lines.all() if line.item.active}
        for item in sorted(items.values(), key=lambda i: (i.sort_order, i.code)):
            rows.append((producer, item, reports.get((producer.pk, item.pk))))
    rows.sort(key=lambda r: r[2] is not None)  # stable: missing first, register order kept
    problems = list(open_problems(problems_visible_to(user).filter(producer__in=producers)))
    return CommissionerDesk(producers=producers, today_reports=rows, open_problems=problems)


def latest_report_date(*, on_or_before: dt.date) -> dt.date | None:
    """The last day anyone reported production, up to `on_or_before`."""
    return (
        ProductionReport.objects.filter(date__lte=on_or_before)
        .order_by("-date")
        .values_list("date", flat=True)
        .first()
    )
