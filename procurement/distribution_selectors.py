"""Reads of the distribution enterprises (医药流通企业) and their daily reports (reports.md,
"Inbound", last sentences, and "Province rollups", completeness).

- `distribution_in_transit_by_item(day)`: Σ `purchase_in_transit` reported for exactly `day`,
  per item, over active enterprises (the inbound view adds it to both windows).
- `distribution_completeness(day)`: each active enterprise on time / late / missing against
  the prefectures' cut-off, and the rate on time ÷ active (late ones do not count, as for
  the prefectures' 报送率).
- `distribution_rollup(day)`: per item, Σ of the four figures over the enterprises reporting
  it for `day`, with how many did.
- `enterprise_reports`, `enterprise_corrections`: one enterprise's page.

Scope: the whole province sees every enterprise, a prefecture officer those located in their
prefecture (read-only), a reporter their own (supplycoord.permissions).
"""

import dataclasses
import datetime as dt

from django.db.models import Count, Q, QuerySet, Sum

from supplycoord.lib.dates import cutoff_for
from supplycoord.models import Item, ReportingState
from supplycoord.permissions import can_read_distribution, scope_distribution_enterprises

from .models import DISTRIBUTION_FIGURES, DistributionEnterprise, DistributionReport


def distribution_in_transit_by_item(day: dt.date) -> dict[int, int]:
    """{item_id: Σ purchase_in_transit} of the reports for exactly `day` of active enterprises.

    An item nobody reported for `day` is absent (not 0): a report for an earlier day is not
    carried forward, because purchase in transit "has no date" and is only meaningful the day it
    is reported (reports.md, "Inbound"). Inactive enterprises are left out.
    """
    rows = (
        DistributionReport.objects.filter(date=day, enterprise__active=True)
        .values("item_id")
        .annotate(total=Sum("purchase_in_transit"))
        .order_by("item_id")
    )
    return {row["item_id"]: int(row["total"] or 0) for row in rows}


def reported_item_ids(enterprise_ids) -> dict[int, set[int]]:
    """{enterprise id: the item ids it must report}: its chosen items that are still active,
    or every active key item when it chose none at all. An enterprise whose chosen items were
    all withdrawn from the catalogue has nothing left to report (it is not suddenly asked for
    every key item). Two queries whatever the number of enterprises."""
    enterprise_ids = list(enterprise_ids)
    chosen: dict[int, set[int]] = {pk: set() for pk in enterprise_ids}
    made_a_choice: set[int] = set()
    through = DistributionEnterprise.items.through
    pairs = through.objects.filter(distributionenterprise_id__in=enterprise_ids).values_list(
        "distributionenterprise_id", "item_id", "item__active"
    )
    for enterprise_id, item_id, active in pairs:
        made_a_choice.add(enterprise_id)
        if active:
            chosen[enterprise_id].add(item_id)
    if len(made_a_choice) < len(chosen):
        key = set(Item.objects.filter(is_key=True, active=True).values_list("pk", flat=True))
        for enterprise_id in chosen:
            if enterprise_id not in made_a_choice:
                chosen[enterprise_id] = set(key)
    return chosen


# --- Who sees which enterprises -----------------------------------------------------------------


def enterprises_visible_to(user) -> QuerySet[DistributionEnterprise]:
    """The whole province: every enterprise; an officer: those located in their prefecture
    (read-only); a reporter: their own; anyone else: none."""
    if not can_read_distribution(user):
        return DistributionEnterprise.objects.none()
    return scope_distribution_enterprises(user, DistributionEnterprise.objects.all())


def reports_visible_to(user) -> QuerySet[DistributionReport]:
    return DistributionReport.objects.filter(enterprise__in=enterprises_visible_to(user))


def enterprise_register(user, *, query: str = "", include_inactive: bool = False) -> QuerySet:
    """The register the user sees, by name, each with its prefecture and its reporters'
    count; a page of it goes through `with_item_counts`."""
    enterprises = enterprises_visible_to(user).select_related("prefecture")
    if not include_inactive:
        enterprises = enterprises.filter(active=True)
    if query:
        enterprises = enterprises.filter(
            Q(name__icontains=query) | Q(credit_code__icontains=query.upper())
        )
    return enterprises.annotate(reporter_count=Count("reporters", distinct=True)).order_by(
        "name", "pk"
    )


def with_item_counts(enterprises) -> list[DistributionEnterprise]:
    """`enterprises` (a page of the register) as a list, each with `item_count`: how many items
    it must report (`reported_item_ids`, two queries)."""
    enterprises = list(enterprises)
    expected = reported_item_ids(e.pk for e in enterprises)
    for enterprise in enterprises:
        enterprise.item_count = len(expected[enterprise.pk])
    return enterprises


# --- Completeness (reports.md, "Province rollups": completeness as for prefectures) ---------


# The prefectures' states and words (on time, late, missing), one definition for both.
DistributionReportingState = ReportingState


@dataclasses.dataclass
class EnterpriseReporting:
    enterprise: DistributionEnterprise
    state: str
    items_expected: int
    items_reported: int
    last_submitted_at: dt.datetime | None

    @property
    def state_label(self):
        return DistributionReportingState(self.state).label


@dataclasses.dataclass
class DistributionCompleteness:
    date: dt.date
    cutoff: dt.datetime
    rows: list[EnterpriseReporting]

    def _of(self, state):
        return [r for r in self.rows if r.state == state]

    @property
    def on_time(self):
        return self._of(DistributionReportingState.ON_TIME)

    @property
    def late(self):
        return self._of(DistributionReportingState.LATE)

    @property
    def missing(self):
        return self._of(DistributionReportingState.MISSING)

    @property
    def active(self) -> int:
        return len(self.rows)

    @property
    def rate(self) -> float | None:
        """On time ÷ active enterprises, as the prefectures' 报送率 (a late one is reported,
        but does not count as on time); None when no enterprise is active."""
        if not self.rows:
            return None
        return len(self.on_time) / len(self.rows)

    @property
    def rate_percent(self) -> float | None:
        return None if self.rate is None else self.rate * 100


def distribution_completeness(day: dt.date, *, enterprises=None) -> DistributionCompleteness:
    """Each active enterprise (of `enterprises`, default all) for `day`:

    - on time: every item it must report has a report for `day`, each first submitted at or
      before the cut-off of `day` (SUPPLYCOORD["CUTOFF_TIME"], 16:00 local, the prefectures'
      rule: on time when submitted ≤ cut-off); a later correction keeps the first time;
    - late: every item reported, some first submitted after the cut-off;
    - missing: some item not reported (also an enterprise with no item to report, as a
      prefecture is when there is no key item).

    Reports of items it no longer has to report do not count. Three queries.
    """
    if enterprises is None:
        enterprises = DistributionEnterprise.objects.all()
    enterprises = list(
        enterprises.filter(active=True).select_related("prefecture").order_by("name", "pk")
    )
    cutoff = cutoff_for(day)
    expected = reported_item_ids(e.pk for e in enterprises)
    submitted: dict[int, dict[int, dt.datetime]] = {e.pk: {} for e in enterprises}
    reports = DistributionReport.objects.filter(
        date=day, enterprise_id__in=list(submitted)
    ).values_list("enterprise_id", "item_id", "first_submitted_at")
    for enterprise_id, item_id, first_at in reports:
        if item_id in expected[enterprise_id]:
            submitted[enterprise_id][item_id] = first_at
    rows = []
    for enterprise in enterprises:
        times = submitted[enterprise.pk]
        wanted = expected[enterprise.pk]
        if wanted and len(times) == len(wanted):
            state = (
                DistributionReportingState.ON_TIME
                if all(moment <= cutoff for moment in times.values())
                else DistributionReportingState.LATE
            )
        else:
            state = DistributionReportingState.MISSING
        rows.append(
            EnterpriseReporting(
                enterprise=enterprise,
                state=state,
                items_expected=len(wanted),
                items_reported=len(times),
                last_submitted_at=max(times.values()) if times else None,
            )
        )
    return DistributionCompleteness(date=day, cutoff=cutoff, rows=rows)


# --- Province rollup per item and date ---------------------------------------------------------


@dataclasses.dataclass
class DistributionRollupRow:
    item: Item
    enterprises: int  # how many active enterprises reported the item for the day
    purchased: int
    shipped: int
    purchase_in_transit: int
    stock: int


def distribution_rollup(day: dt.date, *, enterprises=None) -> list[DistributionRollupRow]:
    """Per item, Σ purchased, shipped, purchase_in_transit and stock over the active
    enterprises (of `enterprises`, default all) reporting it for `day`, and how many did.

    Rows: every item some active enterprise must report, and any other item reported that day;
    an item nobody reported shows 0 enterprises and zero sums. Catalogue order. Five queries.
    """
    reports = DistributionReport.objects.filter(date=day, enterprise__active=True)
    scope = DistributionEnterprise.objects.filter(active=True)
    if enterprises is not None:
        reports = reports.filter(enterprise__in=enterprises)
        scope = scope.filter(pk__in=enterprises.values("pk"))
    sums = {
        row["item_id"]: row
        for row in reports.values("item_id").annotate(
            count=Count("enterprise_id", distinct=True),
            **{name: Sum(name) for name in DISTRIBUTION_FIGURES},
        )
    }
    expected = reported_item_ids(scope.values_list("pk", flat=True))
    item_ids = set(sums).union(*expected.values())
    items = Item.objects.filter(pk__in=item_ids).order_by("sort_order", "code")
    rows = []
    for item in items:
        found = sums.get(item.pk, {})
        rows.append(
            DistributionRollupRow(
                item=item,
                enterprises=found.get("count", 0),
                **{name: int(found.get(name) or 0) for name in DISTRIBUTION_FIGURES},
            )
        )
    return rows


# --- One enterprise's page -------------------------------------------------------------------


@dataclasses.dataclass
class ItemHistory:
    item: Item
    days: list  # [(date, DistributionReport or None)], newest first


@dataclasses.dataclass
class ReportVersion:
    """One stored version of a report (django-simple-history): its figures, who wrote them,
    when, and the reason when it is a correction."""

    item: Item
    date: dt.date
    figures: dict
    user: str
    at: dt.datetime
    is_correction: bool
    reason: str


def enterprise_reports(
    enterprise: DistributionEnterprise, *, end: dt.date, days: int
) -> list[ItemHistory]:
    """Per item the enterprise reports (or has reported in the window), its reports over
    `[end - days + 1, end]`, newest first (a day without a report: None). Three queries."""
    start = end - dt.timedelta(days=days - 1)
    reports = list(
        DistributionReport.objects.filter(enterprise=enterprise, date__range=(start, end))
        .select_related("submitted_by")
        .order_by("-date")
    )
    by_key = {(r.item_id, r.date): r for r in reports}
    item_ids = reported_item_ids([enterprise.pk])[enterprise.pk] | {r.item_id for r in reports}
    items = Item.objects.filter(pk__in=item_ids).order_by("sort_order", "code")
    dates = [end - dt.timedelta(days=n) for n in range(days)]
    return [
        ItemHistory(item=item, days=[(d, by_key.get((item.pk, d))) for d in dates])
        for item in items
    ]


def enterprise_corrections(
    enterprise: DistributionEnterprise, *, end: dt.date, days: int
) -> list[list[ReportVersion]]:
    """Every corrected report of the window, as its versions oldest first (the first one is
    the original submission): the figures each time, who, when and why. Two queries."""
    start = end - dt.timedelta(days=days - 1)
    history = DistributionReport.history.model.objects.filter(
        enterprise_id=enterprise.pk, date__range=(start, end)
    )
    corrected = history.filter(history_type="~").values("id")
    versions = (
        history.filter(id__in=corrected)
        .select_related("history_user", "item")
        .order_by("-date", "item__sort_order", "item__code", "history_date", "history_id")
    )
    grouped: dict[int, list[ReportVersion]] = {}
    for version in versions:
        grouped.setdefault(version.id, []).append(
            ReportVersion(
                item=version.item,
                date=version.date,
                figures={name: getattr(version, name) for name in DISTRIBUTION_FIGURES},
                user=(version.history_user.get_full_name() or version.history_user.username)
                if version.history_user
                else "",
                at=version.history_date,
                is_correction=version.history_type == "~",
                reason=version.correction_reason if version.history_type == "~" else "",
            )
        )
    return list(grouped.values())


# --- The entry form ---------------------------------------------------------------------------


@dataclasses.dataclass
class EntryRow:
    item: Item
    existing: DistributionReport | None
    values: dict
    errors: dict = dataclasses.field(default_factory=dict)
    reference: list = dataclasses.field(default_factory=list)


def report_entry_rows(enterprise: DistributionEnterprise, *, date: dt.date) -> list[EntryRow]:
    """One row per item the enterprise reports (an active item), prefilled with that day's
    report. Three queries."""
    item_ids = reported_item_ids([enterprise.pk])[enterprise.pk]
    items = Item.objects.filter(pk__in=item_ids, active=True).order_by("sort_order", "code")
    existing = {
        r.item_id: r for r in DistributionReport.objects.filter(enterprise=enterprise, date=date)
    }
    rows = []
    for item in items:
        report = existing.get(item.pk)
        values = report.figures() if report else dict.fromkeys(DISTRIBUTION_FIGURES)
        rows.append(EntryRow(item=item, existing=report, values=values))
    return rows
