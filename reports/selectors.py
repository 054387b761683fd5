"""Reads behind the dashboards, the exports and the snapshot API.

Each function takes the acting user and scopes rows to the prefectures that user may see;
each runs a fixed number of queries whatever the number of prefectures or items.
"""

import dataclasses
import datetime as dt
import json

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Exists, OuterRef, Prefetch, Q, QuerySet, Value, When

from inventory.models import DailyFigure
from supplycoord.lib.dates import cutoff_for, local_now, local_today
from supplycoord.models import BilingualNameMixin, Item, Prefecture
from supplycoord.permissions import can_view_prefecture, sees_whole_province
from supplycoord.selectors import (
    key_items,
    prefecture_ids_visible_to,
    prefectures_visible_to,
)

from .models import (
    ProvinceRollup,
    ReconciliationCase,
    ReconciliationNote,
    ReconciliationPending,
    ReconciliationStatus,
    ReportingState,
    ReportingStatus,
    SnapshotBuild,
    SnapshotRebuild,
    SnapshotRow,
    Status,
)

# A keyword argument the caller did not pass (None is a value: "no build", "no progress").
_UNREAD = object()


def latest_built_date(on_or_before: dt.date | None = None) -> dt.date | None:
    builds = SnapshotBuild.objects.all()
    if on_or_before:
        builds = builds.filter(date__lte=on_or_before)
    return builds.order_by("-date").values_list("date", flat=True).first()


def _partial_dates():
    return ProvinceRollup.objects.filter(partial=True).values("date")


def latest_covered_date(
    on_or_before: dt.date | None = None, *, avoid: dt.date | None = None
) -> dt.date | None:
    """The latest built date whose province figures all meet the coverage threshold (none of
    its rollups partial, reports.md "Coverage"), else the latest built date: where dashboards
    open by default. `avoid`: a date taken only when no other is built. One query."""
    builds = SnapshotBuild.objects.all()
    if on_or_before:
        builds = builds.filter(date__lte=on_or_before)
    dates = builds.annotate(
        covered=~Exists(_partial_dates().filter(date=OuterRef("date"))),
        avoided=Case(When(date=avoid, then=Value(1)), default=Value(0)),
    ).order_by("avoided", "-covered", "-date")
    return dates.values_list("date", flat=True).first()


@dataclasses.dataclass
class ReportsInProgress:
    """Today's reports are still coming in: not every active prefecture has reported every
    key item yet."""

    date: dt.date
    reported: int
    active: int
    built: bool
    before_cutoff: bool


def reports_in_progress(
    *, today: dt.date, now: dt.datetime | None = None
) -> ReportsInProgress | None:
    """Today's reporting while it is incomplete, counted from the daily figures themselves
    (today need not be built yet): prefectures that reported every key item for today, of the
    active prefectures, as the snapshot build counts them. None once every active prefecture
    has reported every key item, or when there are no active prefectures or key items.
    One query, whatever the data."""
    item, prefecture = Item._meta.db_table, Prefecture._meta.db_table
    figure, build = DailyFigure._meta.db_table, SnapshotBuild._meta.db_table
    keys = f"SELECT count(*) FROM {item} WHERE is_key AND active"
    sql = f"""
        SELECT ({keys}),
               (SELECT count(*) FROM {prefecture} WHERE active),
               (SELECT count(*) FROM (
                    SELECT f.prefecture_id FROM {figure} f
                    JOIN {prefecture} p ON p.id = f.prefecture_id AND p.active
                    JOIN {item} i ON i.id = f.item_id AND i.is_key AND i.active
                    WHERE f.date = %s
                    GROUP BY f.prefecture_id
                    HAVING count(DISTINCT f.item_id) = ({keys})) AS complete),
               EXISTS (SELECT 1 FROM {build} WHERE date = %s)
    """  # noqa: S608 (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [today, today])
        keys_n, active, reported, built = cursor.fetchone()
    if not keys_n or not active or reported >= active:
        return None
    now = now or local_now()
    return ReportsInProgress(
        date=today,
        reported=reported,
        active=active,
        built=built,
        before_cutoff=now < cutoff_for(today),
    )


def dashboard_default_date(*, today: dt.date | None = None, progress=_UNREAD) -> dt.date | None:
    """Where pages of province figures open without a ?date=: the latest built date whose
    figures all meet the coverage threshold (latest_covered_date), up to today; but while
    today's reports are still coming in (incomplete, before the cut-off) not today, even where
    stale stock lifts its coverage over the threshold: the page opens on the day before and
    the overview's banner links to today (issue 12 §3). Two queries; one when the caller has
    read today's `progress` (reports_in_progress) already."""
    today = today or local_today()
    if progress is _UNREAD:
        progress = reports_in_progress(today=today)
    coming_in = progress is not None and progress.before_cutoff
    return latest_covered_date(on_or_before=today, avoid=today if coming_in else None)


def snapshot_build_for(date: dt.date) -> SnapshotBuild | None:
    return SnapshotBuild.objects.filter(date=date).first()


def snapshot_rebuild_for(date: dt.date) -> SnapshotRebuild | None:
    """The date's rebuild if one is pending or has failed: its snapshot may be out of date."""
    return SnapshotRebuild.objects.filter(date=date).first()


def snapshot_rows_visible_to(
    user, *, date=None, prefecture=None, item=None
) -> QuerySet[SnapshotRow]:
    rows = SnapshotRow.objects.select_related("prefecture", "item")
    visible = prefecture_ids_visible_to(user)
    if visible is not None:
        rows = rows.filter(prefecture_id__in=visible)
    if date is not None:
        rows = rows.filter(date=date)
    if prefecture is not None:
        rows = rows.filter(prefecture=prefecture)
    if item is not None:
        rows = rows.filter(item=item)
    return rows.order_by("date", "prefecture__code", "item__sort_order", "item__code")


@dataclasses.dataclass
class Overview:
    date: dt.date | None
    build: SnapshotBuild | None
    prefectures: list[Prefecture]
    items: list[Item]
    grid: dict  # (prefecture_id, item_id) -> SnapshotRow
    rollups: list[ProvinceRollup]
    reporting: list[ReportingStatus]
    items_red: int
    cells_red: int
    # Above SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"] cells the grid is this compact blob (see
    # overview_heatmap) and `grid` stays empty: no model instance per cell.
    heatmap: "Heatmap | None" = None

    @property
    def reported_count(self):
        return sum(1 for r in self.reporting if r.state != ReportingState.MISSING)

    @property
    def late(self):
        return [r for r in self.reporting if r.state == ReportingState.LATE]

    @property
    def missing(self):
        return [r for r in self.reporting if r.state == ReportingState.MISSING]

    @property
    def on_time(self):
        return [r for r in self.reporting if r.state == ReportingState.ON_TIME]

    @property
    def items_partial(self):
        """Province figures below the coverage threshold: grey, so not in `items_red`; the
        headline card says how many it leaves out (issue 12 §3, "big numbers")."""
        return sum(1 for r in self.rollups if r.partial)

    def grid_rows(self):
        """[(prefecture, [row or None per item])] in display order, for the template."""
        return [(p, [self.grid.get((p.pk, i.pk)) for i in self.items]) for p in self.prefectures]


def overview_prefectures(user) -> list[Prefecture]:
    """The active prefectures `user` sees, by code: the overview's rows."""
    return list(prefectures_visible_to(user).filter(active=True).order_by("code"))


def overview_as_heatmap(prefectures: list, items: list) -> bool:
    """Whether the overview draws its prefecture × item grid as a heatmap (issue 13)."""
    return len(prefectures) * len(items) > settings.SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"]


@dataclasses.dataclass(frozen=True)
class OverviewRegister:
    """What the overview's cached figures are drawn over, as a cache key can name it without
    reading a model instance: the active prefectures `user` sees, the active key items, and
    a digest that changes with any of those prefectures or any item."""

    prefectures: int
    items: int
    digest: str

    @property
    def as_heatmap(self) -> bool:
        return self.prefectures * self.items > settings.SUPPLYCOORD["OVERVIEW_TABLE_MAX_CELLS"]


def overview_register(user) -> OverviewRegister:
    """The overview's register in one query, counted and hashed by PostgreSQL (issue 13: the
    340 prefectures and 60 items read as model instances on every request only to make the
    cache key cost more than the key saved).

    The digest is a SHA-256 over every active prefecture the user sees (by code) and every
    item, key or not (rollups name their item), each row with the fields the figures show and
    its `xmin`, the transaction that wrote that version of the row: any UPDATE is a new
    digest, also one that only touches a field not listed here, and also a change made and
    undone (renamed and renamed back), so a rendering made while the register changed is never
    served for a register read after the change. An added, removed, activated or deactivated
    row changes the set hashed."""
    visible = prefecture_ids_visible_to(user)
    prefecture, item = Prefecture._meta.db_table, Item._meta.db_table
    scope, params = ("", []) if visible is None else ("AND id = ANY(%s)", [sorted(visible)])
    prefectures = f"FROM {prefecture} WHERE active {scope}"
    sql = f"""
        SELECT (SELECT count(*) {prefectures}),
               (SELECT count(*) FROM {item} WHERE is_key AND active),
               encode(sha256(convert_to(json_build_array(
                   (SELECT json_agg(json_build_array(id, xmin::text, code, name_zh, name_en)
                                    ORDER BY code, id) {prefectures}),
                   (SELECT json_agg(json_build_array(id, xmin::text, code, name_zh, name_en,
                                                     short_name_zh, short_name_en, unit, is_key,
                                                     active, sort_order) ORDER BY id)
                    FROM {item})
               )::text, 'UTF8')), 'hex')
    """  # noqa: S608 (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, params * 2)
        prefectures_n, items_n, digest = cursor.fetchone()
    return OverviewRegister(prefectures=prefectures_n, items=items_n, digest=digest)


def key_item_or_first(code: str | None) -> Item | None:
    """The active key item `code`, else the first key item (the trend's item): one query."""
    asked = Case(When(code=code or "", then=Value(0)), default=Value(1))
    return key_items().annotate(asked=asked).order_by("asked", "sort_order", "code").first()


def province_overview(
    user, *, date: dt.date | None, build=_UNREAD, prefectures=None, items=None
) -> Overview:
    """Everything the province overview shows for one date, in five queries (fewer when the
    caller has read the build, the prefectures or the items already)."""
    if build is _UNREAD:
        build = snapshot_build_for(date) if date else None
    if prefectures is None:
        prefectures = overview_prefectures(user)
    if items is None:
        items = list(key_items())
    grid, rollups, reporting, heatmap = {}, [], [], None
    as_heatmap = overview_as_heatmap(prefectures, items)
    if date is not None:
        ids = [p.pk for p in prefectures]
        rows = SnapshotRow.objects.filter(date=date, prefecture_id__in=ids)
        if as_heatmap:
            heatmap = overview_heatmap_json(prefectures, items, rows)
        else:
            for row in rows:
                grid[(row.prefecture_id, row.item_id)] = row
        rollups = list(
            ProvinceRollup.objects.filter(date=date)
            .select_related("item")
            .order_by("item__sort_order", "item__code")
        )
        by_pref = {p.pk: p for p in prefectures}
        reporting = list(
            ReportingStatus.objects.filter(date=date, prefecture_id__in=ids).order_by(
                "prefecture__code"
            )
        )
        for status in reporting:
            status.prefecture = by_pref[status.prefecture_id]
    if prefecture_ids_visible_to(user) is not None:
        # Province totals are built from every prefecture's figures: only roles that see the
        # whole province may see them.
        rollups = []
    return Overview(
        date=date,
        build=build,
        prefectures=prefectures,
        items=items,
        grid=grid,
        rollups=rollups,
        reporting=reporting,
        items_red=sum(1 for r in rollups if r.status == Status.RED),
        cells_red=(
            heatmap.cells_red
            if heatmap
            else sum(1 for r in grid.values() if r.status == Status.RED)
        ),
        heatmap=heatmap,
    )


# The heatmap's status letters: lower case, upper case when the stock is stale; "-" no row.
HEATMAP_STATUS = {Status.RED: "r", Status.AMBER: "a", Status.GREEN: "g", Status.GREY: "n"}


@dataclasses.dataclass(frozen=True)
class Heatmap:
    """The heatmap's blob as compact JSON (no spaces, names in UTF-8) and its red cells."""

    json: str
    cells_red: int


def overview_heatmap_json(prefectures: list[Prefecture], items: list[Item], rows) -> Heatmap:
    """`overview_heatmap` as compact JSON: no space after "," and ":", names in UTF-8 rather
    than \\u escapes (60 kB less at 340 × 60)."""
    blob = overview_heatmap(prefectures, items, rows)
    text = json.dumps(blob, separators=(",", ":"), ensure_ascii=False)
    return Heatmap(json=text, cells_red=blob["cells_red"])


def overview_heatmap(prefectures: list[Prefecture], items: list[Item], rows) -> dict:
    """The overview's grid at national scale as one compact blob for json_script, read with
    values_list (no model instance per cell; 340 × 60 cells are about 200 kB).

    {"prefectures": [[code, name]], "items": [[code, short name, name]],
     "status": one string per prefecture, a letter per item (HEATMAP_STATUS),
     "days": per prefecture, days of cover per item in hundredths (957 is 9.57) or null,
     "stock": per prefecture, stock per item or null, "cells_red": n}
    Rows and columns are in the table's order; a cell without a snapshot row is "-" and null,
    as the table's "—".
    """
    col = {item.pk: n for n, item in enumerate(items)}
    row_of = {p.pk: n for n, p in enumerate(prefectures)}
    width = len(items)
    status = [["-"] * width for _p in prefectures]
    days = [[None] * width for _p in prefectures]
    stock = [[None] * width for _p in prefectures]
    cells_red = 0
    for prefecture_id, item_id, state, cover, on_hand, stale in rows.values_list(
        "prefecture_id", "item_id", "status", "days_of_cover", "stock", "stock_is_stale"
    ):
        if item_id not in col:
            continue
        r, c = row_of[prefecture_id], col[item_id]
        letter = HEATMAP_STATUS.get(state, "n")
        status[r][c] = letter.upper() if stale else letter
        days[r][c] = None if cover is None else int(cover * 100)
        stock[r][c] = on_hand
        cells_red += state == Status.RED
    return {
        "prefectures": [[p.code, p.name] for p in prefectures],
        "items": [[i.code, i.short_name, i.name] for i in items],
        "status": ["".join(letters) for letters in status],
        "days": days,
        "stock": stock,
        "cells_red": cells_red,
    }


def trend_series(
    user, *, item: Item, end: dt.date, prefecture: Prefecture | None = None, days=None
) -> dict:
    """Daily stock, consumption and demand for `days` days up to `end`, for a chart.

    For the whole province: the rollups (prefecture sums), only for roles that see the whole
    province. For a prefecture: its own rows, only if the user may see it. Otherwise None.
    """
    if prefecture is None and not sees_whole_province(user):
        return None
    if prefecture is not None and not can_view_prefecture(user, prefecture):
        return None
    days = days or settings.SUPPLYCOORD["TREND_DAYS"]
    start = end - dt.timedelta(days=days - 1)
    dates = [start + dt.timedelta(days=n) for n in range(days)]
    if prefecture is None:
        values = ProvinceRollup.objects.filter(item=item, date__range=(start, end)).values_list(
            "date", "stock", "consumption", "demand", "partial"
        )
        by_date = {d: (s, c, dm, p) for d, s, c, dm, p in values}
    else:
        values = SnapshotRow.objects.filter(
            item=item, prefecture=prefecture, date__range=(start, end)
        ).values_list("date", "stock", "consumption", "demand", "in_transit")
        by_date = {d: (s, c, dm, t) for d, s, c, dm, t in values}
    series = {
        "dates": [d.isoformat() for d in dates],
        "stock": [by_date.get(d, (None,) * 4)[0] for d in dates],
        "consumption": [by_date.get(d, (None,) * 4)[1] for d in dates],
        "demand": [by_date.get(d, (None,) * 4)[2] for d in dates],
    }
    if prefecture is None:
        # Days whose province figure is partial (reports.md "Coverage"): the chart greys them,
        # so a sum over the few prefectures that reported does not read as a fall.
        series["partial"] = [bool(by_date.get(d, (None,) * 4)[3]) for d in dates]
    return series


def prefecture_item_rows(user, *, prefecture: Prefecture, date: dt.date) -> list[SnapshotRow]:
    if not can_view_prefecture(user, prefecture):
        return []
    return list(
        SnapshotRow.objects.filter(prefecture=prefecture, date=date)
        .select_related("item")
        .order_by("item__sort_order", "item__code")
    )


def reporting_history(
    user, *, prefecture: Prefecture, end: dt.date, days: int = 30
) -> list[ReportingStatus]:
    if not can_view_prefecture(user, prefecture):
        return []
    start = end - dt.timedelta(days=days - 1)
    return list(
        ReportingStatus.objects.filter(prefecture=prefecture, date__range=(start, end)).order_by(
            "-date"
        )
    )


def item_rows_by_cover(user, *, item: Item, date: dt.date) -> list[SnapshotRow]:
    """All visible prefectures for one item, shortest days of cover first, unknown last."""
    rows = list(snapshot_rows_visible_to(user, date=date, item=item))
    rows.sort(
        key=lambda r: (
            r.days_of_cover is None,
            r.days_of_cover if r.days_of_cover is not None else 0,
            r.prefecture.code,
        )
    )
    return rows


def rollups_visible_to(user, *, date: dt.date) -> list[ProvinceRollup]:
    """The province figures of `date` with their coverage, in item order: only for roles
    that see the whole province (an empty list otherwise). One query."""
    if not sees_whole_province(user):
        return []
    return list(
        ProvinceRollup.objects.filter(date=date)
        .select_related("item")
        .order_by("item__sort_order", "item__code")
    )


def rollup_for(user, *, item: Item, date: dt.date) -> ProvinceRollup | None:
    """Province totals of one item: only for roles that see the whole province."""
    if not sees_whole_province(user):
        return None
    return ProvinceRollup.objects.filter(item=item, date=date).first()


# --- The reconciliation queue ---------------------------------------------------------------

# ?status= of the queue page: "pending" (the default) is what waits for someone, the
# prefecture (open) or the office (explained).
RECONCILIATION_STATUS_FILTERS = {
    "pending": (ReconciliationStatus.OPEN, ReconciliationStatus.EXPLAINED),
    **{status: (status,) for status in ReconciliationStatus.values},
    "all": None,
}
RECONCILIATION_PAGE_SIZE = 50


def reconciliation_cases_visible_to(
    user, *, statuses=None, prefecture: Prefecture | None = None
) -> QuerySet[ReconciliationCase]:
    """The cases of the prefectures `user` may see, oldest date first."""
    cases = ReconciliationCase.objects.select_related("prefecture", "item")
    visible = prefecture_ids_visible_to(user)
    if visible is not None:
        cases = cases.filter(prefecture_id__in=visible)
    if statuses is not None:
        cases = cases.filter(status__in=statuses)
    if prefecture is not None:
        cases = cases.filter(prefecture=prefecture)
    return cases.order_by("date", "prefecture__code", "item__sort_order", "item__code", "pk")


def _with_notes(cases: QuerySet[ReconciliationCase]) -> QuerySet[ReconciliationCase]:
    """Each case's whole note log in one more query, oldest first, as `case.log`."""
    notes = ReconciliationNote.objects.select_related("author").order_by("created_at", "pk")
    return cases.prefetch_related(Prefetch("notes", queryset=notes, to_attr="log"))


def reconciliation_queue(
    user, *, statuses=None, prefecture: Prefecture | None = None, page_number=None
) -> Page:
    """One page of the queue with every case's notes: a count, the page and the notes."""
    cases = _with_notes(
        reconciliation_cases_visible_to(user, statuses=statuses, prefecture=prefecture)
    )
    return Paginator(cases, RECONCILIATION_PAGE_SIZE).get_page(page_number)


def reconciliation_case_visible_to(user, pk) -> ReconciliationCase | None:
    """One case with its notes, if `user` may see its prefecture."""
    return _with_notes(reconciliation_cases_visible_to(user)).filter(pk=pk).first()


@dataclasses.dataclass(frozen=True)
class PrefectureName(BilingualNameMixin):
    """A prefecture's code and names, read as values: what a list row links and shows."""

    code: str
    name_zh: str
    name_en: str


def reconciliation_waiting_by_prefecture(user, *, limit: int) -> tuple[list[dict], int]:
    """Open and explained (waiting for the office) cases of the active prefectures `user` sees,
    over every date: the `limit` prefectures with the most waiting (open + explained; by code
    among equals) as [{"prefecture", "open", "explained"}], and how many prefectures have any.

    One query, over the counts PostgreSQL keeps per prefecture (`ReconciliationPending`), not
    by counting the cases on every request; the names come with the counts (PrefectureName),
    no model instance.
    """
    visible = prefecture_ids_visible_to(user)
    pending, prefecture = ReconciliationPending._meta.db_table, Prefecture._meta.db_table
    scope, params = ("", []) if visible is None else ("AND p.id = ANY(%s)", [sorted(visible)])
    sql = f"""
        SELECT p.code, p.name_zh, p.name_en, c.open, c.explained, count(*) OVER ()
        FROM {pending} c JOIN {prefecture} p ON p.id = c.prefecture_id
        WHERE p.active AND (c.open > 0 OR c.explained > 0) {scope}
        ORDER BY c.open + c.explained DESC, p.code
        LIMIT %s
    """  # noqa: S608 (table names from the models, values as parameters)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, limit])
        found = cursor.fetchall()
    rows = [
        {"prefecture": PrefectureName(code, zh, en), "open": open_, "explained": explained}
        for code, zh, en, open_, explained, _total in found
    ]
    return rows, (found[0][5] if found else 0)


def reconciliation_counts_by_prefecture(user, *, prefectures: list[Prefecture]) -> list[dict]:
    """Open and explained (waiting for the office) cases of each visible prefecture that has
    any, over every date: [{"prefecture", "open", "explained"}] in the given order.

    Read from the counts PostgreSQL keeps per prefecture (`ReconciliationPending`), one row
    each, not by counting the cases on every request. The overview reads the bounded list of
    reconciliation_waiting_by_prefecture instead, without the prefectures as model instances.
    """
    visible = prefecture_ids_visible_to(user)
    ids = [p.pk for p in prefectures if visible is None or p.pk in visible]
    counts = {
        prefecture_id: (open_, explained)
        for prefecture_id, open_, explained in ReconciliationPending.objects.filter(
            prefecture_id__in=ids
        )
        .filter(Q(open__gt=0) | Q(explained__gt=0))
        .values_list("prefecture_id", "open", "explained")
    }
    return [
        {"prefecture": p, "open": counts[p.pk][0], "explained": counts[p.pk][1]}
        for p in prefectures
        if p.pk in counts
    ]


def province_consumption_by_day(*, item, date_from: dt.date, date_to: dt.date) -> dict:
    """{date: Σ reported consumption over prefectures} of the built snapshots in the range."""
    return dict(
        ProvinceRollup.objects.filter(
            item=item, date__gte=date_from, date__lte=date_to
        ).values_list("date", "consumption")
    )
