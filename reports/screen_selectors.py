"""Reads of the big screen (大屏, /screen/) and of the small province maps (issue 16 §1).

Nothing here computes a figure of reports.md again: the map's statuses and days of cover are
the built snapshot's rows (as the overview's heatmap reads them, `overview_heatmap`), the
province figures are its rollups, today's reporting is `reports_in_progress`, batches
dispatched today are `allocation_totals`, emergency requests `visible_requests`, problems
`open_problems`, alerts `alerts_panel`, capacity `capacity_by_item`. What is new is the
geography: which region of a vendored map (static/vendor/maps/README.md) is which prefecture
or county.

Each function runs a fixed number of queries, whatever the number of prefectures or items.
"""

import dataclasses
import datetime as dt
import functools
import json
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.db.models import Count, Q, Sum
from django.templatetags.static import static

from allocation.models import RequestUrgency
from allocation.request_selectors import visible_requests
from allocation.selectors import allocation_totals
from production.models import ProductionReport
from production.selectors import capacity_by_item, open_problems, problems_visible_to
from supplycoord.lib.dates import cutoff_for, local_now
from supplycoord.models import County, Item, Prefecture
from supplycoord.selectors import key_items, prefecture_ids_visible_to

from . import alerts, selectors
from .models import ProvinceRollup, ReportingStatus, SnapshotBuild, SnapshotRow, Status

# Where the map files are, under the static files (static/vendor/maps/README.md).
MAP_DIR = "vendor/maps"
# How many prefectures without a region the list beside the map names before "and n more".
UNMAPPED_SHOWN = 20
# The status letters of overview_heatmap, by status.
STATUS_OF_LETTER = {"r": "red", "a": "amber", "g": "green", "n": "grey", "-": "grey"}


# --- The map files --------------------------------------------------------------------------


def map_file_path(province_code: str, prefecture_code: str | None = None) -> str:
    """The static path of a province's map, or of one prefecture's counties."""
    if prefecture_code is None:
        return f"{MAP_DIR}/{province_code}.json"
    return f"{MAP_DIR}/{province_code}/{prefecture_code}.json"


@functools.lru_cache(maxsize=256)
def _features_of(path: str) -> tuple[tuple[str, str], ...] | None:
    """((id, name), ...) of a map file's features, or None when there is no such file. Read
    once per process: the files are part of the release."""
    found = finders.find(path)
    if not found:
        return None
    data = json.loads(Path(found).read_text(encoding="utf-8"))
    return tuple(
        (str(feature.get("id") or ""), str((feature.get("properties") or {}).get("name") or ""))
        for feature in data.get("features", [])
    )


def map_features(province_code: str, prefecture_code: str | None = None):
    return _features_of(map_file_path(province_code, prefecture_code))


def map_file_url(province_code: str, prefecture_code: str | None = None) -> str | None:
    """The URL of the map file (through the static storage: hashed names in production), or
    None when the release has no map for that province or prefecture."""
    path = map_file_path(province_code, prefecture_code)
    return static(path) if _features_of(path) is not None else None


def _stem(name: str) -> str:
    """A name without its last character, the kind of division (兰州市 → 兰州, 华亭县 → 华亭);
    two characters at least."""
    return name[:-1] if len(name) > 2 else name


def match_regions(divisions, features) -> dict[str, str]:
    """{division code: the map feature's name} for each of `divisions` ((code, name_zh), ...)
    that has a region among `features` ((id, name), ...): on the GB/T 2260 code first, then on
    the Chinese name, then on the name without its last character (华亭市, a county-level city
    since 2018, is 华亭县 in the maps). A feature is taken once; a division without one (兰州新区
    LZXQ) is left out. ECharts names a map's regions by feature name, so that is the key the
    map's data uses."""
    features = list(features or ())
    by_id = {fid: name for fid, name in features if fid}
    by_name = {name: name for _fid, name in features}
    by_stem = {}
    for _fid, name in features:
        by_stem.setdefault(_stem(name), name)
    matched: dict[str, str] = {}
    taken: set[str] = set()
    divisions = list(divisions)
    for lookup, key in (
        (by_id, lambda code, name: code),
        (by_name, lambda code, name: name),
        (by_stem, lambda code, name: _stem(name)),
    ):
        for code, name in divisions:
            if code in matched:
                continue
            feature = lookup.get(key(code, name))
            if feature is not None and feature not in taken:
                matched[code] = feature
                taken.add(feature)
    return matched


def map_province_code(user) -> str | None:
    """The province whose map the user's pages draw: that of most active prefectures the user
    sees (the one province of a deployment; by code among equals). One query."""
    rows = Prefecture.objects.filter(active=True)
    visible = prefecture_ids_visible_to(user)
    if visible is not None:
        rows = rows.filter(pk__in=visible)
    found = (
        rows.values("province__code")
        .annotate(n=Count("pk"))
        .order_by("-n", "province__code")
        .values_list("province__code", flat=True)
        .first()
    )
    return found


# --- The screen: what one build shows (the map and the per-item figures) ---------------------


@dataclasses.dataclass
class ItemFigures:
    """One key item's figures beside the map: the province rollup and the map's counts."""

    item: Item
    rollup: ProvinceRollup | None
    counts: dict  # {"red": n, "amber": n, "green": n, "grey": n} over the map's prefectures
    capacity: int | None  # commissioned daily capacity (production register), None: no line
    output: int | None  # Σ producers' output on the figures' date, None: nobody reported

    @property
    def consumption(self):
        return self.rollup.consumption if self.rollup else None

    @property
    def bars(self) -> list[tuple[str, int | None, int]]:
        """(name, value, width in % of the largest) for capacity, output and consumption, so
        the three read as lengths side by side; a missing value is a bar of 0."""
        values = [
            ("capacity", self.capacity),
            ("output", self.output),
            ("consumption", self.consumption),
        ]
        largest = max((v for _n, v in values if v), default=0)
        return [
            (name, value, round(100 * value / largest) if value and largest else 0)
            for name, value in values
        ]


@dataclasses.dataclass
class ScreenBuild:
    date: dt.date | None
    build: SnapshotBuild | None
    items: list[ItemFigures]
    blob: dict  # the map's data, for json_script (screen.js)
    unmapped: list[dict]  # prefectures without a region: {"code", "name", "index"}
    unmapped_more: int


def output_by_item(date: dt.date) -> dict[int, int]:
    """{item id: Σ producers' output on `date`} over the production reports. One query."""
    return dict(
        ProductionReport.objects.filter(date=date)
        .order_by()
        .values("item_id")
        .annotate(total=Sum("output"))
        .values_list("item_id", "total")
    )


def screen_build(user, *, date: dt.date | None, province_code: str | None) -> ScreenBuild:
    """The map's data and each key item's figures of `date`'s build. Eight queries: the build,
    the prefectures, the key items, the snapshot rows (as values), the rollups, capacity,
    output, and none for the map file (read once per process)."""
    build = selectors.snapshot_build_for(date) if date else None
    prefectures = selectors.overview_prefectures(user)
    items = list(key_items())
    rows = SnapshotRow.objects.filter(date=date, prefecture_id__in=[p.pk for p in prefectures])
    if date is None:
        rows = rows.none()
    heat = selectors.overview_heatmap(prefectures, items, rows)
    features = map_features(province_code) if province_code else None
    regions = match_regions(((p.code, p.name_zh) for p in prefectures), features)
    rollups = {r.item_id: r for r in selectors.rollups_visible_to(user, date=date)} if date else {}
    capacity = {item.pk: item.commissioned for item in capacity_by_item()}
    output = output_by_item(date) if date else {}

    figures = []
    for column, item in enumerate(items):
        counts = Counter(STATUS_OF_LETTER[s[column].lower()] for s in heat["status"])
        figures.append(
            ItemFigures(
                item=item,
                rollup=rollups.get(item.pk),
                counts={k: counts.get(k, 0) for k in ("red", "amber", "green", "grey")},
                capacity=capacity.get(item.pk),
                output=output.get(item.pk),
            )
        )
    unmapped = [
        {"code": p.code, "name": p.name, "index": n}
        for n, p in enumerate(prefectures)
        if p.code not in regions
    ]
    blob = {
        **{k: heat[k] for k in ("items", "status", "days", "stock")},
        "prefectures": [
            {"code": p.code, "name": p.name, "region": regions.get(p.code)} for p in prefectures
        ],
        "units": [item.get_unit_display() for item in items],
        "date": date.isoformat() if date else None,
    }
    return ScreenBuild(
        date=date,
        build=build,
        items=figures,
        blob=blob,
        unmapped=unmapped[:UNMAPPED_SHOWN],
        unmapped_more=max(0, len(unmapped) - UNMAPPED_SHOWN),
    )


# --- The screen: what is live (counted now, not from the build) ------------------------------


@dataclasses.dataclass
class ScreenLive:
    today: dt.date
    reported: int | None  # prefectures that reported every key item today
    active: int | None  # active prefectures (None: no key items or no prefectures)
    cutoff: dt.datetime
    before_cutoff: bool
    emergency_open: int
    batches_today: int
    quantity_today: int
    problems_open: int

    @property
    def reporting_pct(self) -> int | None:
        if not self.active:
            return None
        return round(100 * self.reported / self.active)


def screen_live(user, *, today: dt.date, now: dt.datetime | None = None) -> ScreenLive:
    """Today's reporting, the open emergency requests, the batches dispatched today and the
    open production problems, as of now. Nine queries (one more when every prefecture has
    reported): reports_in_progress 1, allocation_totals 5, requests 1, problems 1."""
    now = now or local_now()
    progress = selectors.reports_in_progress(today=today, now=now)
    if progress is not None:
        reported, active = progress.reported, progress.active
    else:
        # Complete, or nothing to report: which one is told by the counts.
        active = Prefecture.objects.filter(active=True).count() if key_items().exists() else 0
        reported = active
    totals = allocation_totals(today, today)
    emergency = visible_requests(user, state="open", urgency=RequestUrgency.EMERGENCY)
    return ScreenLive(
        today=today,
        reported=reported if active else None,
        active=active or None,
        cutoff=cutoff_for(today),
        before_cutoff=now < cutoff_for(today),
        emergency_open=emergency.count(),
        batches_today=totals["batches"],
        quantity_today=totals["total"],
        problems_open=open_problems(problems_visible_to(user)).count(),
    )


def screen_alerts(user, *, today: dt.date) -> dict:
    """The newest open alerts, worded for the reader, with the open counts by kind."""
    return alerts.alerts_panel(user, as_of=today)


# --- The drill-down: one prefecture, its counties and its own figures ------------------------


@dataclasses.dataclass
class PrefecturePanel:
    prefecture: Prefecture
    date: dt.date | None
    rows: list[SnapshotRow]
    reporting: ReportingStatus | None
    alerts_open: int
    county_map: dict  # for json_script: {"url", "counties": [{"code", "name", "region"}]}


def prefecture_panel(user, *, prefecture: Prefecture, date: dt.date | None) -> PrefecturePanel:
    """A prefecture's key items on `date`, its reporting that day, its open alerts and its
    counties on its county map. Five queries (the caller has read the prefecture with its
    province)."""
    rows = selectors.prefecture_item_rows(user, prefecture=prefecture, date=date) if date else []
    # Shortest cover first (unknown last): what a panel of a dozen lines must not leave out.
    rows.sort(key=lambda r: (r.days_of_cover is None, r.days_of_cover or 0))
    history = (
        selectors.reporting_history(user, prefecture=prefecture, end=date, days=1) if date else []
    )
    alerts_open = alerts.alerts_visible_to(user).filter(prefecture=prefecture).count()
    counties = list(County.objects.filter(prefecture=prefecture, active=True).order_by("code"))
    province = prefecture.province.code
    features = map_features(province, prefecture.code)
    regions = match_regions(((c.code, c.name_zh) for c in counties), features)
    return PrefecturePanel(
        prefecture=prefecture,
        date=date,
        rows=rows,
        reporting=history[0] if history else None,
        alerts_open=alerts_open,
        county_map={
            "code": prefecture.code,
            "name": prefecture.name,
            "url": map_file_url(province, prefecture.code),
            "counties": [
                {"code": c.code, "name": c.name, "region": regions.get(c.code)} for c in counties
            ],
        },
    )


# --- The small map on the overview and an item's page ---------------------------------------


def mini_map(user, *, item: Item, date: dt.date | None) -> dict:
    """The province map of one item's status on `date`, for json_script (minimap.js):
    {"url", "item", "date", "prefectures": [{"code", "name", "region", "status", "days",
    "stale"}]}. Only the prefectures the user sees; the map's other regions are drawn without
    figures. Three queries."""
    province = map_province_code(user)
    rows = (
        selectors.snapshot_rows_visible_to(user, date=date, item=item).filter(
            prefecture__active=True
        )
        if date
        else SnapshotRow.objects.none()
    )
    rows = list(rows)
    features = map_features(province) if province else None
    regions = match_regions(((r.prefecture.code, r.prefecture.name_zh) for r in rows), features)
    return {
        "url": map_file_url(province) if province else None,
        "item": {"code": item.code, "name": item.name},
        "date": date.isoformat() if date else None,
        "prefectures": [
            {
                "code": r.prefecture.code,
                "name": r.prefecture.name,
                "region": regions.get(r.prefecture.code),
                "status": r.status,
                "days": None if r.days_of_cover is None else float(r.days_of_cover),
                "stale": r.stock_is_stale,
            }
            for r in rows
        ],
    }


def screen_poll_seconds(raw: str | None) -> int:
    """How often the screen's parts are fetched again: SUPPLYCOORD["SCREEN_POLL_SECONDS"]
    (default 60), or ?poll= between 2 and 600 (a browser test shortens it)."""
    default = int(settings.SUPPLYCOORD.get("SCREEN_POLL_SECONDS", 60))
    try:
        asked = int(raw or "")
    except ValueError:
        return default
    return asked if 2 <= asked <= 600 else default


def screen_rotate_seconds(raw: str | None) -> int:
    """How long each key item stays on the map: SUPPLYCOORD["SCREEN_ROTATE_SECONDS"] (default
    20), or ?rotate= between 2 and 600."""
    default = int(settings.SUPPLYCOORD.get("SCREEN_ROTATE_SECONDS", 20))
    try:
        asked = int(raw or "")
    except ValueError:
        return default
    return asked if 2 <= asked <= 600 else default


def prefectures_by_worst_status(user, *, date) -> dict:
    """{"red": prefectures with a key item red on `date`, "amber": those whose worst key item
    is amber, "total": active prefectures the user sees with a snapshot row that day}, read
    from the built rows' statuses (one grouped query)."""
    if date is None:
        return {"red": 0, "amber": 0, "total": 0}
    rows = SnapshotRow.objects.filter(
        date=date, prefecture__active=True, item__is_key=True, item__active=True
    )
    visible = prefecture_ids_visible_to(user)
    if visible is not None:
        rows = rows.filter(prefecture_id__in=visible)
    per_prefecture = (
        rows.order_by()
        .values("prefecture_id")
        .annotate(
            red=Count("pk", filter=Q(status=Status.RED)),
            amber=Count("pk", filter=Q(status=Status.AMBER)),
        )
        .values_list("red", "amber")
    )
    red = amber = total = 0
    for reds, ambers in per_prefecture:
        total += 1
        red += reds > 0
        amber += reds == 0 and ambers > 0
    return {"red": red, "amber": amber, "total": total}
