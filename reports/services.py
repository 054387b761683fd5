"""Building the daily snapshot of reports.md.

`snapshot_build_for_date` is set-based: one grouped query over the daily figures of the 7-day
window computes every row in PostgreSQL (_BUILD_ROWS_SQL) into a temporary table, one
`INSERT ... SELECT ... ON CONFLICT` writes the snapshot rows from it, and grouped reads of it
give the province rollups, the reporting status and the reconciliation gaps. It is
idempotent (an upsert on the natural key) and safe to run twice at once (a per-date
advisory lock).

`compute_snapshot_row` states the formulas of one row in Python (exact fractions); the SQL
computes the same figures (tests/reports/test_snapshot_set_based.py compares them column by
column, and bench/snapshot.py against its one-statement floor). At national scale (20,000
rows) computing them in Python and sending them back cost three times the floor.
"""

import datetime as dt
import functools
import time
import uuid
import zlib
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from allocation.selectors import in_transit_by_key as allocation_in_transit_by_key
from inventory.models import DailyFigure
from inventory.selectors import reserve_stock_at
from procurement.inbound import inbound_by_item
from supplycoord.lib.dates import earliest_date, local_today
from supplycoord.lib.locks import advisory_xact_lock
from supplycoord.lib.numbers import grouped
from supplycoord.lib.pg import array_literal, execute_prepared
from supplycoord.models import Item
from supplycoord.permissions import (
    can_build_snapshots,
    can_report_for_prefecture,
    can_settle_reconciliation,
)
from supplycoord.selectors import active_prefectures, key_items

from .models import (
    ProvinceRollup,
    ReconciliationAction,
    ReconciliationCase,
    ReconciliationNote,
    ReconciliationPending,
    ReconciliationStatus,
    ReportingState,
    ReportingStatus,
    SnapshotBuild,
    SnapshotRebuild,
    SnapshotRebuildStatus,
    SnapshotRow,
    Status,
)

SNAPSHOT_VALUE_FIELDS = [
    "stock",
    "stock_is_stale",
    "stock_date",
    "consumption",
    "avg_consumption_7d",
    "demand",
    "in_transit",
    "arriving_3d",
    "days_of_cover",
    "projected_days_of_cover",
    "shortfall_3d",
    "reconciliation_gap",
    "status",
    "built_at",
]
ROLLUP_VALUE_FIELDS = [
    "stock",
    "consumption",
    "demand",
    "in_transit",
    "arriving_3d",
    "shortfall_3d",
    "avg_consumption_7d",
    "reserve_stock",
    "inbound_3d",
    "inbound_14d",
    "days_of_cover",
    "projected_province_days_of_cover",
    "status",
    "prefectures_red",
    "prefectures_reported",
    "prefectures_stale",
    "prefectures_missing",
    "coverage_share",
    "partial",
    "built_at",
]
REPORTING_VALUE_FIELDS = [
    "state",
    "items_reported",
    "items_expected",
    "last_submitted_at",
    "built_at",
]

TWO_PLACES = Decimal("0.01")
FOUR_PLACES = Decimal("0.0001")


class Reported(NamedTuple):
    """One stored daily figure, as the snapshot reads it (a row of the window query)."""

    prefecture_id: int
    item_id: int
    date: dt.date
    stock: int
    received: int
    consumption: int
    demand: int
    expected_arrivals_3d: int
    on_time: bool
    submitted_at: dt.datetime


def status_for(days_of_cover: Decimal | None, item: Item) -> str:
    """red below the item's red threshold, amber below amber, green otherwise, grey if unknown."""
    if days_of_cover is None:
        return Status.GREY
    if days_of_cover < item.red_threshold:
        return Status.RED
    if days_of_cover < item.amber_threshold:
        return Status.AMBER
    return Status.GREEN


def _decimal(value: Fraction | None, places: Decimal) -> Decimal | None:
    if value is None:
        return None
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        places, rounding=ROUND_HALF_UP
    )


def in_transit_by_key(date: dt.date) -> dict:
    """{(prefecture_id, item_id): (in_transit, in_transit_arriving_by_d+3)} as of the end of `date`.

    From the dispatch batches (allocation.selectors.in_transit_by_key): shipped − received of
    batches to the prefecture and its counties; `arriving_3d` adds the second figure to the
    reported `expected_arrivals_3d`.
    """
    return allocation_in_transit_by_key(date)


def reserve_stock_by_item(date: dt.date) -> dict:
    """{item_id: provincial reserve stock} at the end of `date`.

    The reserve ledger's figure (inventory.selectors.reserve_stock_at): Σ of the stock event
    lines of active provincial reserve and producer-held warehouses that happened by the end
    of that local day. Items with no reserve are absent (the rollup reads 0).
    """
    return reserve_stock_at(date)


def compute_snapshot_row(*, date: dt.date, item: Item, reports: dict, transit=(0, 0)) -> dict:
    """Every snapshot column of reports.md for one prefecture and item.

    `reports` maps dates in [date-6, date] to that prefecture's Reported figures.
    """
    stale_days = settings.SUPPLYCOORD["STALE_DAYS"]
    window = settings.SUPPLYCOORD["AVG_WINDOW_DAYS"]
    today_report = reports.get(date)

    stock = None
    stock_date = None
    if today_report is not None:
        stock, stock_date = today_report.stock, date
    else:
        for back in range(1, stale_days + 1):
            earlier = reports.get(date - dt.timedelta(days=back))
            if earlier is not None:
                stock, stock_date = earlier.stock, date - dt.timedelta(days=back)
                break

    window_start = date - dt.timedelta(days=window - 1)
    consumptions = [r.consumption for day, r in reports.items() if window_start <= day <= date]
    avg = Fraction(sum(consumptions), len(consumptions)) if consumptions else None

    in_transit, transit_arriving = transit
    expected = today_report.expected_arrivals_3d if today_report is not None else 0
    arriving_3d = expected + transit_arriving

    rate_known = avg is not None and avg > 0
    days_of_cover = Fraction(stock) / avg if rate_known and stock is not None else None
    projected = Fraction(stock + arriving_3d) / avg if rate_known and stock is not None else None

    demand = today_report.demand if today_report is not None else None
    shortfall = None
    if demand is not None and stock is not None:
        shortfall = max(0, 3 * demand - stock - arriving_3d)

    gap = None
    previous = reports.get(date - dt.timedelta(days=1))
    if today_report is not None and previous is not None:
        gap = today_report.stock - (
            previous.stock + today_report.received - today_report.consumption
        )

    days_of_cover_shown = _decimal(days_of_cover, TWO_PLACES)
    return {
        "stock": stock,
        "stock_is_stale": stock is not None and stock_date != date,
        "stock_date": stock_date,
        "consumption": today_report.consumption if today_report is not None else None,
        "avg_consumption_7d": _decimal(avg, FOUR_PLACES),
        "demand": demand,
        "in_transit": in_transit,
        "arriving_3d": arriving_3d,
        "days_of_cover": days_of_cover_shown,
        "projected_days_of_cover": _decimal(projected, TWO_PLACES),
        "shortfall_3d": shortfall,
        "reconciliation_gap": gap,
        # The colour follows the figure people read: 2.996 shows as 3.00 and is amber.
        "status": status_for(days_of_cover_shown, item),
        "_avg_exact": avg,
    }


def _lock_date(date: dt.date):
    # Two builds of one date at once would interleave upserts: serialise them.
    advisory_xact_lock(f"snapshot:{date.isoformat()}")


# The per-row formulas of reports.md (compute_snapshot_row) in SQL, for every active
# prefecture x key item of one date: one grouped read of the window's daily figures, joined
# to the in-transit figures, into a temporary table that the snapshot upsert, the rollups,
# the reporting status and the reconciliation gaps then read. Quotients are taken at 24
# decimal places before rounding half up (PostgreSQL's round of numeric), so they round as
# the exact fractions do: a quotient whose denominator is a sum of consumptions is never
# within 1e-24 of a rounding tie without being one.
_BUILD_ROWS_SQL = """
DROP TABLE IF EXISTS pg_temp.snapshot_build_rows;
CREATE TEMPORARY TABLE snapshot_build_rows ON COMMIT DROP AS
WITH pre AS (
    SELECT * FROM unnest(%(prefectures)s::bigint[]) WITH ORDINALITY AS p(id, ord)
), itm AS (
    SELECT * FROM unnest(%(items)s::bigint[], %(red)s::numeric[], %(amber)s::numeric[])
        WITH ORDINALITY AS i(id, red, amber, ord)
), transit AS (
    SELECT * FROM unnest(%(t_prefectures)s::bigint[], %(t_items)s::bigint[],
        %(t_in_transit)s::bigint[], %(t_arriving)s::bigint[])
        AS t(prefecture_id, item_id, in_transit, arriving)
), fig AS (
    SELECT f.prefecture_id, f.item_id,
           bool_or(f.date = %(d)s) AS reported,
           bool_or(f.on_time) FILTER (WHERE f.date = %(d)s) AS on_time,
           max(f.submitted_at) FILTER (WHERE f.date = %(d)s) AS submitted_at,
           max(f.stock) FILTER (WHERE f.date = %(d)s) AS stock_d,
           max(f.received) FILTER (WHERE f.date = %(d)s) AS received_d,
           max(f.consumption) FILTER (WHERE f.date = %(d)s) AS consumption_d,
           max(f.demand) FILTER (WHERE f.date = %(d)s) AS demand_d,
           max(f.expected_arrivals_3d) FILTER (WHERE f.date = %(d)s) AS expected_d,
           max(f.stock) FILTER (WHERE f.date = %(previous)s) AS stock_prev,
           max(f.date) FILTER (WHERE f.date >= %(stale_from)s) AS stock_date,
           (array_agg(f.stock ORDER BY f.date DESC) FILTER (WHERE f.date >= %(stale_from)s))[1]
               AS stock,
           sum(f.consumption) FILTER (WHERE f.date >= %(avg_from)s) AS c_sum,
           count(*) FILTER (WHERE f.date >= %(avg_from)s) AS c_n
    FROM {figures} f
    WHERE f.date BETWEEN %(from)s AND %(d)s
      AND f.prefecture_id = ANY(%(prefectures)s::bigint[])
      AND f.item_id = ANY(%(items)s::bigint[])
    GROUP BY f.prefecture_id, f.item_id
), r AS (
    SELECT pre.id AS prefecture_id, itm.id AS item_id, pre.ord AS p_ord, itm.ord AS i_ord,
           itm.red, itm.amber, fig.reported IS TRUE AS reported, fig.on_time IS TRUE AS on_time,
           fig.submitted_at, fig.stock, fig.stock_date, fig.stock_d, fig.stock_prev,
           fig.received_d, fig.consumption_d, fig.demand_d,
           COALESCE(transit.in_transit, 0) AS in_transit,
           COALESCE(fig.expected_d, 0) + COALESCE(transit.arriving, 0) AS arriving_3d,
           fig.c_sum, NULLIF(fig.c_n, 0) AS c_n
    FROM pre CROSS JOIN itm
    LEFT JOIN fig ON fig.prefecture_id = pre.id AND fig.item_id = itm.id
    LEFT JOIN transit ON transit.prefecture_id = pre.id AND transit.item_id = itm.id
), cover AS (
    SELECT r.*,
           CASE WHEN c_sum > 0 AND stock IS NOT NULL
                THEN round((stock * c_n)::numeric(60, 24) / c_sum, 2) END AS days_of_cover,
           CASE WHEN c_sum > 0 AND stock IS NOT NULL
                THEN round(((stock + arriving_3d) * c_n)::numeric(60, 24) / c_sum, 2)
           END AS projected_days_of_cover
    FROM r
)
SELECT prefecture_id, item_id, p_ord, i_ord, reported, on_time, submitted_at,
       stock, stock IS NOT NULL AND stock_date <> %(d)s AS stock_is_stale, stock_date,
       consumption_d AS consumption,
       round(c_sum::numeric(60, 24) / c_n, 4) AS avg_consumption_7d,
       demand_d AS demand, in_transit, arriving_3d, days_of_cover, projected_days_of_cover,
       CASE WHEN demand_d IS NOT NULL AND stock IS NOT NULL
            THEN greatest(0, 3 * demand_d - stock - arriving_3d) END AS shortfall_3d,
       stock_d - (stock_prev + received_d - consumption_d) AS reconciliation_gap,
       CASE WHEN days_of_cover IS NULL THEN %(grey)s
            WHEN days_of_cover < red THEN %(red_status)s
            WHEN days_of_cover < amber THEN %(amber_status)s
            ELSE %(green)s END::varchar AS status,
       stock_prev, received_d, c_sum, c_n
FROM cover
"""

# Province rollup sums per item, grouped by the number of days the average was taken over:
# Σ of the exact averages is then Σ over at most AVG_WINDOW_DAYS groups of (Σ c_sum) / c_n.
_ROLLUP_SQL = """
SELECT item_id, c_n,
       COALESCE(sum(stock), 0), COALESCE(sum(consumption), 0), COALESCE(sum(demand), 0),
       COALESCE(sum(in_transit), 0), COALESCE(sum(arriving_3d), 0),
       COALESCE(sum(shortfall_3d), 0), COALESCE(sum(c_sum), 0),
       count(*) FILTER (WHERE status = %(red_status)s),
       count(*) FILTER (WHERE stock IS NOT NULL AND NOT stock_is_stale),
       count(*) FILTER (WHERE stock_is_stale),
       count(*) FILTER (WHERE stock IS NULL),
       COALESCE(sum(c_sum) FILTER (WHERE stock IS NOT NULL), 0),
       COALESCE(sum(stock) FILTER (WHERE stock IS NOT NULL), 0),
       COALESCE(sum(arriving_3d) FILTER (WHERE stock IS NOT NULL), 0)
FROM snapshot_build_rows GROUP BY item_id, c_n
"""

_REPORTING_SQL = """
SELECT prefecture_id, count(*) FILTER (WHERE reported),
       count(*) FILTER (WHERE reported AND on_time), max(submitted_at)
FROM snapshot_build_rows GROUP BY prefecture_id
"""


@transaction.atomic
def snapshot_build_for_date(*, date: dt.date, now: dt.datetime | None = None) -> SnapshotBuild:
    """Compute and store the snapshot rows, province rollups and reporting status of `date`.

    Set-based: the rows are computed in PostgreSQL (_BUILD_ROWS_SQL, the formulas of
    `compute_snapshot_row`) into a temporary table, then upserted with one INSERT ... SELECT;
    the rollups and the reporting status are grouped reads of that table.
    """
    started = time.monotonic()
    now = now or timezone.now()
    _lock_date(date)

    prefectures = list(active_prefectures().values_list("id", flat=True))
    items = list(key_items())
    items_by_id = {item.pk: item for item in items}
    cfg = settings.SUPPLYCOORD
    window_start = date - dt.timedelta(days=max(cfg["AVG_WINDOW_DAYS"] - 1, cfg["STALE_DAYS"], 1))

    transit = in_transit_by_key(date)
    reserve = reserve_stock_by_item(date)
    # reports.md "Inbound", as of the end of `date`: one call for every item (three queries).
    inbound = inbound_by_item(date, items=items)
    params = {
        "d": date,
        "previous": date - dt.timedelta(days=1),
        "from": window_start,
        "stale_from": date - dt.timedelta(days=cfg["STALE_DAYS"]),
        "avg_from": date - dt.timedelta(days=cfg["AVG_WINDOW_DAYS"] - 1),
        # Array literals ('{1,2}'), one constant each: a list would be one per element.
        "prefectures": array_literal(prefectures),
        "items": array_literal(items_by_id),
        "red": array_literal(item.red_threshold for item in items),
        "amber": array_literal(item.amber_threshold for item in items),
        "t_prefectures": array_literal(key[0] for key in transit),
        "t_items": array_literal(key[1] for key in transit),
        "t_in_transit": array_literal(value[0] for value in transit.values()),
        "t_arriving": array_literal(value[1] for value in transit.values()),
        "grey": Status.GREY,
        "red_status": Status.RED,
        "amber_status": Status.AMBER,
        "green": Status.GREEN,
    }
    with connection.cursor() as cursor:
        # One round trip: the rows, their upsert, and the rollup sums (the last result).
        cursor.execute(
            ";\n".join(
                [
                    _BUILD_ROWS_SQL.format(figures=DailyFigure._meta.db_table),
                    _upsert_snapshot_rows(),
                    _ROLLUP_SQL,
                ]
            ),
            {**params, "now": now},
        )
        rollups = {item.pk: _empty_rollup() for item in items}
        for row in cursor.fetchall():
            _add_to_rollup(rollups[row[0]], row[1:])
        cursor.execute(_REPORTING_SQL)
        reported_by = {row[0]: row[1:] for row in cursor.fetchall()}

    reporting = []
    for prefecture_id in prefectures:
        # A prefecture has no rows (and reports nothing) only when there is no key item.
        reported, on_time, last_at = reported_by.get(prefecture_id, (0, 0, None))
        if items and reported == len(items):
            state = ReportingState.ON_TIME if on_time == len(items) else ReportingState.LATE
        else:
            state = ReportingState.MISSING
        reporting.append(
            ReportingStatus(
                date=date,
                prefecture_id=prefecture_id,
                state=state,
                items_reported=reported,
                items_expected=len(items),
                last_submitted_at=last_at,
                built_at=now,
            )
        )

    rollup_rows = [
        _finish_rollup(
            rollups[item.pk],
            item=item,
            date=date,
            reserve=reserve.get(item.pk, 0),
            inbound=inbound.get(item.pk),
            now=now,
        )
        for item in items
    ]

    ProvinceRollup.objects.bulk_create(
        rollup_rows,
        update_conflicts=True,
        unique_fields=["date", "item"],
        update_fields=ROLLUP_VALUE_FIELDS,
    )
    ReportingStatus.objects.bulk_create(
        reporting,
        update_conflicts=True,
        unique_fields=["date", "prefecture"],
        update_fields=REPORTING_VALUE_FIELDS,
    )
    # Rows of prefectures or items no longer in scope (deactivated, no longer key) go.
    active_ids = prefectures
    SnapshotRow.objects.filter(date=date).filter(
        ~Q(prefecture_id__in=active_ids) | ~Q(item_id__in=list(items_by_id))
    ).delete()
    ProvinceRollup.objects.filter(date=date).exclude(item_id__in=list(items_by_id)).delete()
    ReportingStatus.objects.filter(date=date).exclude(prefecture_id__in=active_ids).delete()

    counts = dict.fromkeys(ReportingState.values, 0)
    for row in reporting:
        counts[row.state] += 1
    build_values = {
        "built_at": now,
        "version": uuid.uuid4(),
        "duration_ms": int((time.monotonic() - started) * 1000),
        "rows": len(prefectures) * len(items),
        "prefectures_active": len(prefectures),
        "prefectures_on_time": counts[ReportingState.ON_TIME],
        "prefectures_late": counts[ReportingState.LATE],
        "prefectures_missing": counts[ReportingState.MISSING],
    }
    SnapshotBuild.objects.bulk_create(
        [SnapshotBuild(date=date, **build_values)],
        update_conflicts=True,
        unique_fields=["date"],
        update_fields=list(build_values),
    )
    reconciliation_cases_sync_for_date(date=date, gaps=_gaps_of_build(), now=now)
    _queue_decisions_refresh(date)
    return SnapshotBuild.objects.get(date=date)


def _queue_decisions_refresh(date: dt.date) -> None:
    """Spot checks and shortage alerts of `date` (reports/spotchecks.py, reports/alerts.py),
    as their own job once the build commits: they read what the build wrote, the build's
    transaction stays short, and a failure there never costs a snapshot. Both are idempotent."""
    from .tasks import decisions_refresh_for_date  # tasks imports this module

    day = date.isoformat()
    transaction.on_commit(lambda: decisions_refresh_for_date.delay(day))


def _upsert_snapshot_rows() -> str:
    """The statement that inserts or updates the snapshot rows of %(d)s (built at %(now)s)
    from the build's temporary table (_BUILD_ROWS_SQL): one INSERT ... SELECT ... ON CONFLICT
    DO UPDATE, in prefecture and item order."""
    meta = SnapshotRow._meta
    per_row = ["prefecture", "item", *(f for f in SNAPSHOT_VALUE_FIELDS if f != "built_at")]
    columns = ["date", "built_at", *(meta.get_field(name).column for name in per_row)]
    keys = ", ".join(meta.get_field(f).column for f in ("date", "prefecture", "item"))
    updates = ", ".join(
        f"{meta.get_field(f).column} = EXCLUDED.{meta.get_field(f).column}"
        for f in SNAPSHOT_VALUE_FIELDS
    )
    selected = ", ".join(meta.get_field(name).column for name in per_row)
    return (
        f"INSERT INTO {meta.db_table} ({', '.join(columns)}) "
        f"SELECT %(d)s::date, %(now)s::timestamptz, {selected} FROM snapshot_build_rows "
        f"ORDER BY p_ord, i_ord "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    )


def _empty_rollup():
    return {
        "stock": 0,
        "consumption": 0,
        "demand": 0,
        "in_transit": 0,
        "arriving_3d": 0,
        "shortfall_3d": 0,
        "avg": Fraction(0),
        "red": 0,
        # Coverage (reports.md): counts, the rate of every prefecture that has one, the rate
        # of those with a stock, and stock and rate of those with both (days of cover).
        "reported": 0,
        "stale": 0,
        "missing": 0,
        "rate_with_stock": Fraction(0),
        "cover_stock": 0,
        "cover_rate": Fraction(0),
        "cover_arriving": 0,
    }


def _add_to_rollup(acc, grouped_row):
    """Add one row of _ROLLUP_SQL (the item's prefectures whose average was taken over the
    same number of days, c_n, or that have no average: c_n None) to the item's accumulator.

    The sums of exact averages stay exact: Σ c_sum / c_n over the group is (Σ c_sum) / c_n.
    """
    (c_n, stock, consumption, demand, in_transit, arriving, shortfall, c_sum) = grouped_row[:8]
    (red, reported, stale, missing, c_sum_with_stock, stock_with_rate) = grouped_row[8:14]
    arriving_with_stock = grouped_row[14]
    for field, value in (
        ("stock", stock),
        ("consumption", consumption),
        ("demand", demand),
        ("in_transit", in_transit),
        ("arriving_3d", arriving),
        ("shortfall_3d", shortfall),
        ("red", red),
        ("reported", reported),
        ("stale", stale),
        ("missing", missing),
    ):
        acc[field] += int(value)
    if c_n is not None:
        acc["avg"] += Fraction(int(c_sum), c_n)
        rate_with_stock = Fraction(int(c_sum_with_stock), c_n)
        acc["rate_with_stock"] += rate_with_stock
        acc["cover_stock"] += int(stock_with_rate)
        acc["cover_rate"] += rate_with_stock
        # Σ arriving_3d over the same prefectures (projected_province_days_of_cover).
        acc["cover_arriving"] += int(arriving_with_stock)


def coverage_threshold() -> Fraction:
    return Fraction(Decimal(str(settings.SUPPLYCOORD["COVERAGE_THRESHOLD"])))


def coverage_share_of(acc) -> Fraction | None:
    """Σ rate of prefectures with a stock ÷ Σ rate of all that have one; by count of
    prefectures when none has a (non-zero) rate; None when there is no active prefecture."""
    if acc["avg"] > 0:
        return acc["rate_with_stock"] / acc["avg"]
    active = acc["reported"] + acc["stale"] + acc["missing"]
    if active == 0:
        return None
    return Fraction(acc["reported"] + acc["stale"], active)


def _finish_rollup(acc, *, item, date, reserve, inbound=None, now) -> ProvinceRollup:
    avg = acc["avg"]
    # Over the prefectures with both a stock and a rate only: the reserve divided by the rate
    # of a single reporting prefecture is not the province's cover (issue 12).
    rate = acc["cover_rate"]
    days = Fraction(acc["cover_stock"] + reserve) / rate if rate > 0 else None
    inbound_3d = inbound.inbound_3d if inbound is not None else 0
    inbound_14d = inbound.inbound_14d if inbound is not None else 0
    # reports.md "Inbound": (Σ stock + reserve + inbound_3d + Σ arriving_3d) / Σ rate over the
    # very prefectures of days_of_cover above.
    projected = (
        Fraction(acc["cover_stock"] + reserve + inbound_3d + acc["cover_arriving"]) / rate
        if rate > 0
        else None
    )
    share = coverage_share_of(acc)
    partial = share is None or share < coverage_threshold()
    days_shown = _decimal(days, TWO_PLACES)
    return ProvinceRollup(
        date=date,
        item=item,
        stock=acc["stock"],
        consumption=acc["consumption"],
        demand=acc["demand"],
        in_transit=acc["in_transit"],
        arriving_3d=acc["arriving_3d"],
        shortfall_3d=acc["shortfall_3d"],
        avg_consumption_7d=_decimal(avg, FOUR_PLACES),
        reserve_stock=reserve,
        inbound_3d=inbound_3d,
        inbound_14d=inbound_14d,
        days_of_cover=days_shown,
        projected_province_days_of_cover=_decimal(projected, TWO_PLACES),
        # A partial figure is never coloured: grey, so it counts in no "items in red".
        status=Status.GREY if partial else status_for(days_shown, item),
        prefectures_red=acc["red"],
        prefectures_reported=acc["reported"],
        prefectures_stale=acc["stale"],
        prefectures_missing=acc["missing"],
        coverage_share=_decimal(share, FOUR_PLACES),
        partial=partial,
        built_at=now,
    )


class SnapshotDateOutOfRange(ValueError):
    """A future date has no figures yet; a date before the earliest date has none at all."""


def snapshot_build_request(*, user, date: dt.date) -> None:
    """Queue a (re)build of `date`'s snapshot once the caller's transaction commits, through
    the outbox (`snapshot_rebuilds_request`), so the request outlives a lost job.

    Office staff and admins only. The page and the API both come here.
    """
    if not can_build_snapshots(user):
        raise PermissionDenied
    if date > local_today():
        raise SnapshotDateOutOfRange(_("A snapshot cannot be built for a future date."))
    if date < earliest_date():
        raise SnapshotDateOutOfRange(
            _("Dates before %(date)s are not accepted.") % {"date": earliest_date().isoformat()}
        )
    snapshot_rebuilds_request(dates=[date])


# --- The rebuilds' outbox -------------------------------------------------------------------
#
# A change that makes snapshots stale (daily figures, a ledger event, a batch on the move, a
# person's "Rebuild") writes one SnapshotRebuild row per stale date in its own transaction, and
# queues the builds for when it commits. A build deletes the row when it is done. A job that is
# lost (its worker killed mid-build, the broker down at commit, the process gone between the
# commit and the queueing) leaves the row behind, and the sweep queues the date again
# (`snapshot_rebuilds_claim`, run by beat every few minutes). Builds are idempotent, so a date
# built twice costs time, never correctness.


REBUILD_ERROR_MAX_CHARS = 1000


class RebuildSeen(NamedTuple):
    """The request of a date a build saw as it began: the row's id and its requested_at."""

    pk: int
    requested_at: dt.datetime


def _rebuilds_upsert_sql(source_sql: str) -> str:
    table = connection.ops.quote_name(SnapshotRebuild._meta.db_table)
    return (
        f"INSERT INTO {table} (date, requested_at, status, attempts, last_error) "
        f"{source_sql} "
        f"ON CONFLICT (date) DO UPDATE SET "
        f"requested_at = GREATEST(EXCLUDED.requested_at, "
        f"{table}.requested_at + interval '1 microsecond'), "
        f"status = EXCLUDED.status, attempts = 0 "
        f"RETURNING date"
    )


def _rebuilds_upsert(source_sql: str, params: list, *, queue: bool) -> list[dt.date]:
    """Insert or refresh the outbox rows of the dates `source_sql` selects; one statement.

    A refreshed row becomes pending again with no failed attempts, and its requested_at moves
    forward at least 1 µs even if the clock did not: a build that saw the previous request
    must not clear this one. Rows are written in date order, the one lock order of the table.
    """
    with connection.cursor() as cursor:
        cursor.execute(_rebuilds_upsert_sql(source_sql), params)
        dates = sorted(day for (day,) in cursor.fetchall())
    if queue:
        _queue_rebuilds(dates)
    return dates


def _queue_rebuilds(dates) -> None:
    from .tasks import snapshot_build_for_date as build_task  # tasks imports this module

    for day in dates:
        # Robust: with the broker down the change still commits and the user gets an answer;
        # the outbox row is there for the sweep. `if_requested`: a job that finds the row gone
        # (an earlier build saw this change) has nothing to do.
        transaction.on_commit(
            functools.partial(build_task.delay, day.isoformat(), if_requested=True), robust=True
        )


def snapshot_rebuilds_request(
    *,
    dates,
    built_only_from: dt.date | None = None,
    now: dt.datetime | None = None,
    queue: bool = True,
) -> list[dt.date]:
    """Record, in the caller's transaction, that the snapshots of `dates` must be built again,
    and (unless `queue` is false) queue their builds for when it commits. Returns the dates.

    Dates from `built_only_from` on count only if their snapshot has been built (today's,
    after a submission: the scheduled build after the cut-off makes it). One statement.
    """
    if not dates:
        return []
    source = "SELECT day, %s, %s, 0, '' FROM unnest(%s::date[]) AS day"
    params = [now or timezone.now(), SnapshotRebuildStatus.PENDING, sorted(set(dates))]
    if built_only_from is not None:
        built = connection.ops.quote_name(SnapshotBuild._meta.db_table)
        source += f" WHERE day < %s OR EXISTS (SELECT 1 FROM {built} WHERE {built}.date = day)"
        params.append(built_only_from)
    return _rebuilds_upsert(f"{source} ORDER BY day", params, queue=queue)


def snapshot_rebuilds_request_built(
    *, since: dt.date, now: dt.datetime | None = None
) -> list[dt.date]:
    """The same for every date from `since` to today whose snapshot has been built: a ledger
    event or a batch of day t changes every later reserve and in-transit figure.

    One statement, the read of the built dates folded into the upsert: ledger posting runs it
    for every event (bench/ledger.py), so it is prepared once per connection, as the ledger's
    posting statement is (`supplycoord.lib.pg.execute_prepared`). Dates never built are not
    requested: they are computed from the ledger as it stands whenever they are built.
    """
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            _rebuilds_upsert_built_sql(),
            {
                "now": now or timezone.now(),
                "pending": SnapshotRebuildStatus.PENDING.value,
                "since": since,
                "today": local_today(),
            },
            prefix="reports_outbox",
        )
        rows = cursor.fetchall()
    if not rows:  # the usual case while posting: nothing built from `since` on
        return []
    dates = sorted(day for (day,) in rows)
    _queue_rebuilds(dates)
    return dates


@functools.cache
def _rebuilds_upsert_built_sql() -> str:
    table = connection.ops.quote_name(SnapshotBuild._meta.db_table)
    return _rebuilds_upsert_sql(
        f"SELECT date, %(now)s::timestamptz, %(pending)s::varchar, 0, '' FROM {table} "
        "WHERE date >= %(since)s::date AND date <= %(today)s::date ORDER BY date"
    )


def snapshot_rebuild_seen(*, date: dt.date) -> RebuildSeen | None:
    """The outbox row of `date` as a build begins (None: nobody asked for one)."""
    row = SnapshotRebuild.objects.filter(date=date).values_list("pk", "requested_at").first()
    return RebuildSeen(*row) if row else None


def snapshot_rebuild_clear(*, date: dt.date, seen: RebuildSeen | None) -> bool:
    """After a build of `date` that began when `seen` was its request: delete the row, unless
    the date was requested again since (then the row stays pending for the next build).

    The build began after `seen` committed, so it read every change `seen` stands for; a later
    request moved requested_at past it, and a row deleted and inserted again has another id.
    """
    if seen is None:
        return False
    table = connection.ops.quote_name(SnapshotRebuild._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE date = %s AND id = %s AND requested_at <= %s",
            [date, seen.pk, seen.requested_at],
        )
        return cursor.rowcount == 1


def snapshot_rebuild_fail(
    *, date: dt.date, seen: RebuildSeen | None, error: str, now: dt.datetime | None = None
) -> None:
    """Record that a build of `date` failed for good (retries exhausted, or an error no retry
    cures). The row becomes failed, with the error and one more failed attempt, unless the date
    was requested again during the build: the new request keeps it pending. A failed build
    nobody asked for through the outbox leaves a failed row, so the sweep retries it too."""
    now = now or timezone.now()
    table = connection.ops.quote_name(SnapshotRebuild._meta.db_table)
    same = f"{table}.id = %s AND {table}.requested_at <= %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (date, requested_at, status, attempts, last_attempt_at, "
            f"last_error) VALUES (%s, %s, %s, 1, %s, %s) "
            f"ON CONFLICT (date) DO UPDATE SET "
            f"status = CASE WHEN {same} THEN EXCLUDED.status ELSE {table}.status END, "
            f"attempts = CASE WHEN {same} THEN {table}.attempts + 1 ELSE {table}.attempts END, "
            f"last_attempt_at = EXCLUDED.last_attempt_at, last_error = EXCLUDED.last_error",
            [
                date,
                now,
                SnapshotRebuildStatus.FAILED,
                now,
                error[:REBUILD_ERROR_MAX_CHARS],
                *([seen.pk, seen.requested_at] if seen else [None, None]) * 2,
            ],
        )


def snapshot_rebuild_run(*, date: dt.date) -> SnapshotBuild:
    """Build `date` in this process and clear its outbox row (the `build_snapshots` command)."""
    seen = snapshot_rebuild_seen(date=date)
    build = snapshot_build_for_date(date=date)
    snapshot_rebuild_clear(date=date, seen=seen)
    return build


def _date_lock_key(date: dt.date) -> int:
    # The key `advisory_xact_lock` derives from the name `_lock_date` gives it.
    return zlib.crc32(f"snapshot:{date.isoformat()}".encode())


def snapshot_rebuilds_claim(*, now: dt.datetime | None = None, limit: int = 100) -> list[dt.date]:
    """The sweep: queue again the rebuilds a lost or failed job left behind. Returns the dates.

    Due are pending rows requested more than REBUILD_GRACE_SECONDS ago (younger ones are left
    to the job queued at their commit) and not queued by a sweep within that time; and failed
    rows, GRACE × 2^attempts after their last attempt, until they have failed
    REBUILD_MAX_ATTEMPTS times (then they wait for a new request: a change of the figures or a
    person's "Rebuild"). Rows are claimed with SKIP LOCKED, so two sweeps, or a sweep and a
    writer holding a row, never wait on each other; a date whose build is running right now
    (its advisory lock is taken) is left to that build.
    """
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.SUPPLYCOORD["REBUILD_GRACE_SECONDS"])
    max_attempts = settings.SUPPLYCOORD["REBUILD_MAX_ATTEMPTS"]
    quiet = Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=now - grace)
    pending = Q(status=SnapshotRebuildStatus.PENDING, requested_at__lte=now - grace) & quiet
    failed = Q(
        status=SnapshotRebuildStatus.FAILED,
        attempts__lt=max_attempts,
        last_attempt_at__lte=now - 2 * grace,  # the shortest back-off; the exact one below
    )
    with transaction.atomic():
        rows = [
            row
            for row in SnapshotRebuild.objects.select_for_update(skip_locked=True)
            .filter(pending | failed)
            .order_by("date")[:limit]
            if row.status == SnapshotRebuildStatus.PENDING
            or row.last_attempt_at <= now - grace * 2 ** max(row.attempts, 1)
        ]
        if not rows:
            return []
        keys = {row.date: _date_lock_key(row.date) for row in rows}
        with connection.cursor() as cursor:
            # Taken until this transaction ends: a build that starts meanwhile waits a moment.
            cursor.execute(
                "SELECT lock_key FROM unnest(%s::bigint[]) AS lock_key "
                "WHERE NOT pg_try_advisory_xact_lock(lock_key)",
                [list(keys.values())],
            )
            building = {key for (key,) in cursor.fetchall()}
        dates = [day for day, key in keys.items() if key not in building]
        SnapshotRebuild.objects.filter(date__in=dates).update(last_attempt_at=now)
        _queue_rebuilds(dates)
    return dates


# --- The reconciliation queue ---------------------------------------------------------------
#
# reports.md: a non-zero `reconciliation_gap` goes to a review queue, where it is explained by
# a note or corrected, never silently edited. The snapshot build keeps the cases in step with
# the figures (a correction goes through `daily_figures_submit` and its rebuild); people
# explain, accept or reopen them, and every step is a note in the case's log.

OPEN = ReconciliationStatus.OPEN
EXPLAINED = ReconciliationStatus.EXPLAINED
ACCEPTED = ReconciliationStatus.ACCEPTED
CORRECTED = ReconciliationStatus.CORRECTED
RECONCILIATION_NOTE_MAX_LENGTH = 2000


class GapFigures(NamedTuple):
    """The figures that make one gap: gap = stock − (previous_stock + received − consumption)."""

    previous_stock: int
    received: int
    consumption: int
    stock: int
    gap: int


class ReconciliationActionRefused(ValueError):
    """The action does not fit the case as it is now, or the note it needs is missing."""


class BuildGaps(Mapping):
    """{(prefecture_id, item_id): GapFigures} of every built row that has a gap, 0 included,
    in prefecture and item order, as the build's temporary table (_BUILD_ROWS_SQL) holds them.

    The previous stock and the day's receipts come from the build's own read of the daily
    figures, the one the gap was computed from: a case never mixes two versions of the figures.
    A mapping like any other, read on first use; `reconciliation_cases_sync_for_date` reads
    the table in SQL instead (`sql`), so 17,000 gaps never make a round trip through Python.
    """

    sql = (
        "SELECT prefecture_id, item_id, stock_prev AS previous_stock, received_d AS received, "
        "consumption, stock, reconciliation_gap AS gap, "
        "row_number() OVER (ORDER BY p_ord, i_ord) AS ord "
        "FROM snapshot_build_rows WHERE reconciliation_gap IS NOT NULL"
    )

    @functools.cached_property
    def _gaps(self) -> dict:
        with connection.cursor() as cursor:
            cursor.execute(f"{self.sql} ORDER BY ord")
            return {(row[0], row[1]): GapFigures._make(row[2:7]) for row in cursor.fetchall()}

    def __getitem__(self, key):
        return self._gaps[key]

    def __iter__(self):
        return iter(self._gaps)

    def __len__(self):
        return len(self._gaps)


def _gaps_of_build() -> BuildGaps:
    """The gaps of the build running in this transaction (BuildGaps)."""
    return BuildGaps()


def _case_figures(case: ReconciliationCase) -> GapFigures:
    return GapFigures(*(getattr(case, field) for field in GapFigures._fields))


# Gaps given as a mapping ({(prefecture_id, item_id): GapFigures}), one array per column.
_GAPS_SQL = """SELECT * FROM unnest(%(prefectures)s::bigint[], %(items)s::bigint[],
        %(previous_stock)s::bigint[], %(received)s::bigint[], %(consumption)s::bigint[],
        %(stock)s::bigint[], %(gap)s::bigint[])
        WITH ORDINALITY AS g(prefecture_id, item_id, previous_stock, received, consumption,
                             stock, gap, ord)"""

# The sync of reconciliation_cases_sync_for_date in one statement, over the gaps given as one
# array per column (g) and the date's cases (c, locked by the statement before): `plan` is
# every case that changes (figures replaced and maybe reopened; or closed as corrected), with
# its note; the cases are updated from it, the notes inserted (changes in the gaps' order, then
# closings in case order), the new cases inserted in the gaps' order. Returns the status
# changes per prefecture: (prefecture_id, old status or NULL for a new case, new status, n).
_RECONCILIATION_SYNC_SQL = """
WITH g AS MATERIALIZED (
    {gaps}
), c AS MATERIALIZED (
    SELECT id, prefecture_id, item_id, previous_stock, received, consumption, stock, gap, status
    FROM {cases} WHERE date = %(d)s
), refigured AS (
    SELECT c.id, c.prefecture_id, c.status AS old_status,
           c.status = %(corrected)s
               OR (c.status IN (%(explained)s, %(accepted)s) AND c.gap <> g.gap) AS reopen,
           c.status = %(corrected)s AS was_corrected, c.gap AS case_gap,
           g.previous_stock, g.received, g.consumption, g.stock, g.gap, g.ord
    FROM c JOIN g ON g.prefecture_id = c.prefecture_id AND g.item_id = c.item_id
    WHERE g.gap <> 0 AND (
        c.status = %(corrected)s
        OR (c.previous_stock, c.received, c.consumption, c.stock, c.gap)
            IS DISTINCT FROM (g.previous_stock, g.received, g.consumption, g.stock, g.gap))
), plan AS (
    SELECT id, prefecture_id, old_status,
           CASE WHEN reopen THEN %(open)s ELSE old_status END AS new_status,
           CASE WHEN reopen THEN %(reopen_action)s ELSE %(changed_action)s END AS action,
           CASE WHEN was_corrected THEN NULL ELSE case_gap END AS gap_before, gap AS gap_after,
           previous_stock, received, consumption, stock, gap, 0 AS part, ord
    FROM refigured
    UNION ALL
    SELECT c.id, c.prefecture_id, c.status, %(corrected)s, %(corrected_action)s, c.gap, g.gap,
           c.previous_stock, c.received, c.consumption, c.stock, c.gap, 1, c.id
    FROM c LEFT JOIN g ON g.prefecture_id = c.prefecture_id AND g.item_id = c.item_id
    WHERE c.status <> %(corrected)s AND (g.gap IS NULL OR g.gap = 0)
), updated AS (
    UPDATE {cases} AS t
    SET previous_stock = plan.previous_stock, received = plan.received,
        consumption = plan.consumption, stock = plan.stock, gap = plan.gap,
        status = plan.new_status,
        status_changed_at = CASE WHEN plan.new_status <> plan.old_status THEN %(now)s
                                 ELSE t.status_changed_at END
    FROM plan WHERE t.id = plan.id
), logged AS (
    INSERT INTO {notes} (case_id, action, text, author_id, gap_before, gap_after, created_at)
    SELECT id, action, '', NULL, gap_before, gap_after, %(now)s FROM plan ORDER BY part, ord
), opened AS (
    INSERT INTO {cases} (date, prefecture_id, item_id, previous_stock, received, consumption,
        stock, gap, status, opened_at, status_changed_at)
    SELECT %(d)s, g.prefecture_id, g.item_id, g.previous_stock, g.received, g.consumption,
           g.stock, g.gap, %(open)s, %(now)s, %(now)s
    FROM g
    WHERE g.gap <> 0 AND NOT EXISTS (
        SELECT 1 FROM c WHERE c.prefecture_id = g.prefecture_id AND c.item_id = g.item_id)
    ORDER BY g.ord
)
-- Every data-modifying CTE above runs to completion whether or not it is read here. The
-- pending counts per prefecture follow by trigger (migration reports/0010).
SELECT 1
"""


@transaction.atomic(savepoint=False)
def reconciliation_cases_sync_for_date(
    *, date: dt.date, gaps: dict, now: dt.datetime | None = None
) -> None:
    """Open, update and close the reconciliation cases of `date` to match its gaps.

    `gaps` is what `snapshot_build_for_date` has just computed ({(prefecture_id, item_id):
    GapFigures}, zero gaps included); the build calls this at its end, in its transaction and
    under its per-date lock. To sync a date, build it.

    - A non-zero gap without a case opens one.
    - Other figures replace the case's. If the gap itself changed on an explained or accepted
      case, the case is reopened: the explanation was about another gap.
    - A non-zero gap on a corrected case reopens it.
    - A gap now 0, or no longer computed (no report for the previous day, or the prefecture or
      item left the report), closes the case as corrected.

    Each change is logged as a note without an author. Set-based, two statements whatever the
    number of cases: the date's cases are locked (so a person's action and a rebuild
    serialise), then one statement (_RECONCILIATION_SYNC_SQL) updates the cases that change,
    logs their notes and inserts the new cases. Running it twice changes nothing. The
    pending counts per prefecture (`ReconciliationPending`) follow by trigger.
    """
    now = now or timezone.now()
    cases = connection.ops.quote_name(ReconciliationCase._meta.db_table)
    notes = connection.ops.quote_name(ReconciliationNote._meta.db_table)
    pending = connection.ops.quote_name(ReconciliationPending._meta.db_table)
    params = {
        "d": date,
        "now": now,
        "open": OPEN,
        "explained": EXPLAINED,
        "accepted": ACCEPTED,
        "corrected": CORRECTED,
        "reopen_action": ReconciliationAction.REOPEN,
        "changed_action": ReconciliationAction.CHANGED,
        "corrected_action": ReconciliationAction.CORRECTED,
    }
    gaps_sql = gaps.sql if isinstance(gaps, BuildGaps) else _GAPS_SQL
    with connection.cursor() as cursor:
        # Lock the date's cases first, in a statement of its own: the sync's statement then
        # sees what a person's action committed while this waited. Then the pending counts
        # of every prefecture the sync may touch, in prefecture order, in one statement: the
        # sync's UPDATE and INSERT of cases fire two triggers, each locking its own
        # prefectures' counts, so a build of another date (or any writer of cases) that took
        # them in the other order deadlocked with this one. Cases before counts, as a
        # person's action takes them. One round trip for the three.
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM {cases} WHERE date = %(d)s "
            f"ORDER BY id FOR UPDATE) AS locked;\n"
            f"INSERT INTO {pending} AS p (prefecture_id, open, explained) "
            f"SELECT prefecture_id, 0, 0 FROM ("
            f"SELECT prefecture_id FROM ({gaps_sql}) AS g WHERE gap <> 0 "
            f"UNION SELECT prefecture_id FROM {cases} WHERE date = %(d)s) AS touched "
            f"ORDER BY prefecture_id "
            f"ON CONFLICT (prefecture_id) DO UPDATE SET open = p.open;\n"
        ) + _RECONCILIATION_SYNC_SQL.format(cases=cases, notes=notes, gaps=gaps_sql)
        if not isinstance(gaps, BuildGaps):
            params["prefectures"] = array_literal(key[0] for key in gaps)
            params["items"] = array_literal(key[1] for key in gaps)
            for field in GapFigures._fields:
                params[field] = array_literal(getattr(figures, field) for figures in gaps.values())
        cursor.execute(sql, params)


def reconciliation_actions_allowed(user, case: ReconciliationCase) -> set[str]:
    """What `user` may do to `case` as it is now: the page shows these buttons, and the
    services below refuse anything else.

    Explain: the prefecture's officer or the office, while the case is open or explained.
    Accept: the office, while open or explained. Reopen: the office, once explained or accepted.
    """
    allowed = set()
    if not getattr(user, "is_authenticated", False):
        return allowed
    pending = case.status in (OPEN, EXPLAINED)
    if pending and can_report_for_prefecture(user, case.prefecture):
        allowed.add(ReconciliationAction.EXPLAIN)
    if can_settle_reconciliation(user):
        if pending:
            allowed.add(ReconciliationAction.ACCEPT)
        if case.status in (EXPLAINED, ACCEPTED):
            allowed.add(ReconciliationAction.REOPEN)
    return allowed


def _locked_case(case: ReconciliationCase) -> ReconciliationCase:
    # Lock the case row only (not its prefecture and item), so a rebuild of the same date waits.
    return (
        ReconciliationCase.objects.select_for_update(of=("self",))
        .select_related("prefecture", "item")
        .get(pk=case.pk)
    )


def _clean_note(note) -> str:
    note = str(note or "").strip()
    if len(note) > RECONCILIATION_NOTE_MAX_LENGTH:
        raise ReconciliationActionRefused(
            _("A note may be at most %(limit)s characters long.")
            % {"limit": grouped(RECONCILIATION_NOTE_MAX_LENGTH)}
        )
    return note


def _reconciliation_record(*, user, case, action, status, note, now) -> ReconciliationCase:
    """The case's new status and the note saying who moved it there, in one transaction."""
    now = now or timezone.now()
    if case.status != status:
        case.status, case.status_changed_at = status, now
        case.save(update_fields=["status", "status_changed_at"])
    ReconciliationNote.objects.create(
        case=case, action=action, text=note, author=user, created_at=now
    )
    return case


def _refuse_status(case):
    raise ReconciliationActionRefused(
        _("This gap is %(status)s; that action is no longer possible.")
        % {"status": case.get_status_display()}
    )


@transaction.atomic
def reconciliation_explain(
    *, user, case: ReconciliationCase, note: str, now: dt.datetime | None = None
) -> ReconciliationCase:
    """The prefecture's officer (or the office) says what explains the gap."""
    case = _locked_case(case)
    if not can_report_for_prefecture(user, case.prefecture):
        raise PermissionDenied
    if ReconciliationAction.EXPLAIN not in reconciliation_actions_allowed(user, case):
        _refuse_status(case)
    note = _clean_note(note)
    if not note:
        raise ReconciliationActionRefused(_("Write what explains the gap."))
    return _reconciliation_record(
        user=user,
        case=case,
        action=ReconciliationAction.EXPLAIN,
        status=EXPLAINED,
        note=note,
        now=now,
    )


@transaction.atomic
def reconciliation_accept(
    *, user, case: ReconciliationCase, note: str = "", now: dt.datetime | None = None
) -> ReconciliationCase:
    """The office accepts the gap as explained. A gap nobody explained needs the office's note."""
    if not can_settle_reconciliation(user):
        raise PermissionDenied
    case = _locked_case(case)
    if ReconciliationAction.ACCEPT not in reconciliation_actions_allowed(user, case):
        _refuse_status(case)
    note = _clean_note(note)
    if case.status == OPEN and not note:
        raise ReconciliationActionRefused(
            _("Nobody has explained this gap yet: write why it is accepted.")
        )
    return _reconciliation_record(
        user=user,
        case=case,
        action=ReconciliationAction.ACCEPT,
        status=ACCEPTED,
        note=note,
        now=now,
    )


@transaction.atomic
def reconciliation_reopen(
    *, user, case: ReconciliationCase, note: str, now: dt.datetime | None = None
) -> ReconciliationCase:
    """The office sends an explained or accepted gap back to the prefecture, saying why."""
    if not can_settle_reconciliation(user):
        raise PermissionDenied
    case = _locked_case(case)
    if ReconciliationAction.REOPEN not in reconciliation_actions_allowed(user, case):
        _refuse_status(case)
    note = _clean_note(note)
    if not note:
        raise ReconciliationActionRefused(_("Write why the gap is reopened."))
    return _reconciliation_record(
        user=user,
        case=case,
        action=ReconciliationAction.REOPEN,
        status=OPEN,
        note=note,
        now=now,
    )
