#!/usr/bin/env python
"""National-scale benchmark of the snapshot build and of the daily-figures API.

    .venv/bin/python bench/snapshot.py [--prefectures 340 --items 60 --days 120 --keep]

1. Generates prefectures x key items x days of daily figures in PostgreSQL with one
   `INSERT ... SELECT generate_series` (with gaps, late reports, zero rates, per-item
   thresholds, an inactive prefecture and non-key items), then ANALYZE.
2. Times `reports.services.snapshot_build_for_date` for the last day: the first run, then the
   best of 3.
3. Times the floor: ONE hand-written SQL statement that computes the same snapshot columns
   for that date and upserts them (`INSERT ... SELECT ... ON CONFLICT DO UPDATE`), best of 3;
   compares its rows with the service's, column by column, for every row.
3b. Times the whole after-build chain (the build, then its job's spot checks and alerts:
   `spot_checks_compute_for_date`, `alerts_refresh`) for the day before and then the last day
   (the daily case: thousands of alerts opened, seen again and closed), then the last day
   again; reports each part and the ratio of the chain to the floor (target <= 3). Every
   prefecture gets protected staff, so the spot checks compare every item.
4. Times `POST /api/v1/daily-figures/` (in-process Django test client, token auth, an office
   user) with 10,000 rows: creates, then the same body again (unchanged), then every value
   changed (updates); then the same three calls of `daily_figures_submit` directly, for
   other prefectures (the service alone, without HTTP, JSON and DRF). If the endpoint is not
   routed, only the service is timed.

With DATABASE_URL unset it creates a throwaway database `supplycoord_bench` on
127.0.0.1:5432 (user postgres), and drops it at the end unless --keep. With DATABASE_URL set
it must be PostgreSQL and must hold no prefectures, items or daily figures yet; the
generated data is left in it.
Exit status: 0, or 1 when the floor and the service disagree (or the API answers wrongly),
2 on a usage problem.
"""

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import drop_database, prepare_database, timed, usage_error, without_indexes  # noqa: E402

DEFAULT_DB = "supplycoord_bench"
PREFIX = "BX"  # codes of everything the benchmark creates

# Columns the service writes (besides the key and built_at) and that the floor must equal.
COMPARED = [
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
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prefectures", type=int, default=340)
    parser.add_argument("--items", type=int, default=60, help="key items")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--api-rows", type=int, default=10_000)
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    if args.prefectures < 1 or args.items < 1 or args.days < 8 or args.runs < 1:
        parser.error("need at least 1 prefecture, 1 item, 8 days and 1 run")
    return args


# --- the database -------------------------------------------------------------------------


# --- data ---------------------------------------------------------------------------------

# One statement for every daily figure. h is a per-row hash, k a per-(prefecture, item) hash;
# both are non-negative int4 so the figures are deterministic for a given set of ids.
FIGURES_SQL = """
INSERT INTO inventory_dailyfigure (
    prefecture_id, item_id, date, stock, received, consumption, demand, expected_arrivals_3d,
    submitted_by_id, first_submitted_at, submitted_at, on_time, correction_reason)
SELECT p.id, i.id, %(start)s::date + d,
       (h / 23) %% (v.level * 12),                                          -- 0-12 days of cover
       CASE WHEN (h / 7) %% 3 = 0 THEN (h / 11) %% (3 * v.level) ELSE 0 END,  -- received
       CASE WHEN k %% 50 = 7 THEN 0 ELSE v.level / 2 + h %% v.level END,    -- zero rate for 2%%
       v.level + (h / 13) %% v.level,                                       -- demand
       CASE WHEN (h / 17) %% 4 = 0 THEN (h / 19) %% (2 * v.level) ELSE 0 END,
       %(user)s, v.at, v.at, v.at <= ((%(start)s::date + d) + %(cutoff)s::time) AT TIME ZONE %(tz)s, ''
FROM generate_series(0, %(days)s - 1) AS d
CROSS JOIN supplycoord_prefecture p
CROSS JOIN supplycoord_item i
CROSS JOIN LATERAL (
    SELECT hashint8(p.id * 1000003 + i.id * 10007 + d) & 2147483647 AS h,
           hashint8(p.id * 1000003 + i.id * 10007) & 2147483647 AS k
) AS x
CROSS JOIN LATERAL (
    SELECT 20 + k %% 200 AS level,
           ((%(start)s::date + d) + time '09:00' + ((h / 29) %% 600) * interval '1 minute')
               AT TIME ZONE %(tz)s AS at
) AS v
WHERE p.code LIKE %(prefix)s AND i.code LIKE %(prefix)s
  -- 4%% of reports are missing at random: averages over fewer days, 1-day stale stock
  AND (h / 31) %% 100 >= 4
  -- 5%% of the prefecture-item pairs stop reporting 1-6 days before the end: stale 1-3 days,
  -- then no stock at all
  AND NOT (k %% 20 = 3 AND d >= %(days)s - 1 - (k / 20) %% 6)
  -- every 17th prefecture has not reported at all on the last day
  AND NOT (p.id %% 17 = 0 AND d = %(days)s - 1)
-- day by day, as the reports arrive: one date's figures sit together on disk
ORDER BY d, p.id, i.id
"""


def generate(args, end, user):
    """Reference rows and daily figures, straight in SQL. Returns the number of figures."""
    from django.conf import settings
    from django.db import connection

    from inventory.models import DailyFigure

    start = end - dt.timedelta(days=args.days - 1)
    like = f"{PREFIX}%"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO supplycoord_province (code, name_zh, name_en) "
            "VALUES (%s, '基准省', 'Bench province') RETURNING id",
            [PREFIX],
        )
        (province_id,) = cursor.fetchone()
        # The active prefectures, plus one inactive one (its figures must be ignored).
        cursor.execute(
            """
            INSERT INTO supplycoord_prefecture
                (province_id, code, is_gb_code, name_zh, name_en, active, priority_weight)
            SELECT %s, %s || lpad(g::text, 5, '0'), false, '基准市' || g, 'Bench city ' || g,
                   g <= %s, 1
            FROM generate_series(1, %s + 1) AS g
            """,
            [province_id, PREFIX, args.prefectures, args.prefectures],
        )
        # The key items, plus two non-key items (reported, but not in the snapshot). Every
        # 10th item has its own thresholds (2 and 5 days), every 10th+5 only a red one (2.5).
        cursor.execute(
            """
            INSERT INTO supplycoord_item
                (code, name_zh, name_en, category, unit, specification, pack_size, is_key,
                 active, red_days, amber_days, sort_order, short_name_zh, short_name_en)
            SELECT %s || '-' || lpad(g::text, 4, '0'), '基准物资' || g, 'Bench item ' || g,
                   'protective', 'piece', '', 1, g <= %s, true,
                   CASE g %% 10 WHEN 0 THEN 2 WHEN 5 THEN 2.5 END,
                   CASE g %% 10 WHEN 0 THEN 5 END, g, '', ''
            FROM generate_series(1, %s + 2) AS g
            """,
            [PREFIX, args.items, args.items],
        )
        # Protected staff (one category), so the spot checks of the chain compare every item.
        cursor.execute(
            "INSERT INTO supplycoord_staffcategory (code, name_zh, name_en, sort_order) "
            "VALUES (%s, '基准人员', 'Bench staff', 1) RETURNING id",
            [PREFIX],
        )
        (category_id,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO supplycoord_protectedstaff (prefecture_id, category_id, count, updated_at)
            SELECT id, %s, 200 + (id * 37) %% 400, now() FROM supplycoord_prefecture
            WHERE code LIKE %s
            """,
            [category_id, like],
        )
        params = {
            "start": start,
            "days": args.days,
            "user": user.pk,
            "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
            "tz": settings.TIME_ZONE,
            "prefix": like,
        }
        with without_indexes(cursor, DailyFigure._meta.db_table):
            cursor.execute(FIGURES_SQL, params)
            count = cursor.rowcount
        cursor.execute("ANALYZE")
    return count


# --- the floor ----------------------------------------------------------------------------

FLOOR_SQL = """
WITH pre AS (
    SELECT id FROM supplycoord_prefecture WHERE active
), itm AS (
    SELECT id, COALESCE(red_days, %(red)s) AS red, COALESCE(amber_days, %(amber)s) AS amber
    FROM supplycoord_item WHERE is_key AND active
), fig AS (
    SELECT f.prefecture_id, f.item_id,
           max(f.stock) FILTER (WHERE f.date = %(d)s) AS stock_d,
           max(f.received) FILTER (WHERE f.date = %(d)s) AS received_d,
           max(f.consumption) FILTER (WHERE f.date = %(d)s) AS consumption_d,
           max(f.demand) FILTER (WHERE f.date = %(d)s) AS demand_d,
           max(f.expected_arrivals_3d) FILTER (WHERE f.date = %(d)s) AS expected_d,
           max(f.stock) FILTER (WHERE f.date = %(d)s - 1) AS stock_prev,
           max(f.date) FILTER (WHERE f.date >= %(stale_from)s) AS stock_date,
           (array_agg(f.stock ORDER BY f.date DESC) FILTER (WHERE f.date >= %(stale_from)s))[1]
               AS stock,
           sum(f.consumption) FILTER (WHERE f.date >= %(avg_from)s) AS c_sum,
           count(*) FILTER (WHERE f.date >= %(avg_from)s) AS c_n
    FROM inventory_dailyfigure f
    WHERE f.date BETWEEN %(from)s AND %(d)s
      AND f.prefecture_id IN (SELECT id FROM pre) AND f.item_id IN (SELECT id FROM itm)
    GROUP BY f.prefecture_id, f.item_id
), r AS (
    SELECT pre.id AS prefecture_id, itm.id AS item_id, itm.red, itm.amber,
           fig.stock, fig.stock_date, fig.stock_d, fig.stock_prev, fig.received_d,
           fig.consumption_d, fig.demand_d, COALESCE(fig.expected_d, 0) AS arriving,
           fig.c_sum, NULLIF(fig.c_n, 0) AS c_n,
           fig.c_sum > 0 AND fig.stock IS NOT NULL AS covered
    FROM pre CROSS JOIN itm
    LEFT JOIN fig ON fig.prefecture_id = pre.id AND fig.item_id = itm.id
)
INSERT INTO reports_snapshotrow (
    date, prefecture_id, item_id, stock, stock_is_stale, stock_date, consumption,
    avg_consumption_7d, demand, in_transit, arriving_3d, days_of_cover, projected_days_of_cover,
    shortfall_3d, reconciliation_gap, status, built_at)
SELECT %(d)s, prefecture_id, item_id, stock,
       stock IS NOT NULL AND stock_date <> %(d)s, stock_date, consumption_d,
       round(c_sum::numeric / c_n, 4), demand_d, 0, arriving,
       CASE WHEN covered THEN round(stock::numeric * c_n / c_sum, 2) END,
       CASE WHEN covered THEN round((stock + arriving)::numeric * c_n / c_sum, 2) END,
       CASE WHEN demand_d IS NOT NULL THEN greatest(0, 3 * demand_d - stock - arriving) END,
       stock_d - (stock_prev + received_d - consumption_d),
       CASE WHEN covered IS NOT TRUE THEN 'grey'
            WHEN round(stock::numeric * c_n / c_sum, 2) < red THEN 'red'
            WHEN round(stock::numeric * c_n / c_sum, 2) < amber THEN 'amber'
            ELSE 'green' END,
       %(now)s
FROM r
ON CONFLICT (date, prefecture_id, item_id) DO UPDATE SET
    stock = EXCLUDED.stock, stock_is_stale = EXCLUDED.stock_is_stale,
    stock_date = EXCLUDED.stock_date, consumption = EXCLUDED.consumption,
    avg_consumption_7d = EXCLUDED.avg_consumption_7d, demand = EXCLUDED.demand,
    in_transit = EXCLUDED.in_transit, arriving_3d = EXCLUDED.arriving_3d,
    days_of_cover = EXCLUDED.days_of_cover,
    projected_days_of_cover = EXCLUDED.projected_days_of_cover,
    shortfall_3d = EXCLUDED.shortfall_3d, reconciliation_gap = EXCLUDED.reconciliation_gap,
    status = EXCLUDED.status, built_at = EXCLUDED.built_at
"""


def floor_params(date, now):
    from django.conf import settings

    cfg = settings.SUPPLYCOORD
    reach = max(cfg["AVG_WINDOW_DAYS"] - 1, cfg["STALE_DAYS"], 1)
    return {
        "d": date,
        "from": date - dt.timedelta(days=reach),
        "stale_from": date - dt.timedelta(days=cfg["STALE_DAYS"]),
        "avg_from": date - dt.timedelta(days=cfg["AVG_WINDOW_DAYS"] - 1),
        "red": cfg["RED_DAYS"],
        "amber": cfg["AMBER_DAYS"],
        "now": now,
    }


def run_floor(date):
    from django.db import connection, transaction
    from django.utils import timezone

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL, floor_params(date, timezone.now()))
        return cursor.rowcount


# --- the snapshot benchmark ---------------------------------------------------------------


def bench_snapshot(args, date):
    from django.db import connection

    from reports.models import SnapshotRow
    from reports.services import snapshot_build_for_date

    print(f"\nSnapshot build of {date} ({args.runs} timed runs after the first)", flush=True)
    with timed(None) as first:
        build = snapshot_build_for_date(date=date)
    service = []
    for _ in range(args.runs):
        with timed(None) as run:
            build = snapshot_build_for_date(date=date)
        service.append(run.seconds)
    rows = build.rows
    print(f"  service first run : {first.seconds:6.2f} s", flush=True)
    print(
        f"  service best of {args.runs} : {min(service):6.2f} s   (runs: "
        + ", ".join(f"{s:.2f}" for s in service)
        + ")",
        flush=True,
    )

    # Keep the service's rows aside, then let the floor overwrite them and compare.
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_service_rows")
        cursor.execute(
            "CREATE TABLE bench_service_rows AS SELECT * FROM reports_snapshotrow WHERE date = %s",
            [date],
        )
    with timed(None) as floor_first:
        floor_rows = run_floor(date)
    floor = []
    for _ in range(args.runs):
        with timed(None) as run:
            run_floor(date)
        floor.append(run.seconds)
    print(f"  floor first run   : {floor_first.seconds:6.2f} s", flush=True)
    print(
        f"  floor best of {args.runs}   : {min(floor):6.2f} s   (runs: "
        + ", ".join(f"{s:.2f}" for s in floor)
        + ")",
        flush=True,
    )

    mismatches = compare(date)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_service_rows")
    stored = SnapshotRow.objects.filter(date=date).count()
    best, floor_best = min(service), min(floor)
    return {
        "rows": rows,
        "floor_rows": floor_rows,
        "stored": stored,
        "service_first": first.seconds,
        "service_best": best,
        "floor_first": floor_first.seconds,
        "floor_best": floor_best,
        "ratio": best / floor_best,
        "mismatches": mismatches,
    }


def bench_chain(args, date):
    """The whole after-build chain of one date: the snapshot build, then (its Celery job, run
    here in turn) the spot checks and the alerts. First `date - 1` is chained (alerts open),
    then `date` (the daily case: most alerts seen again, some closed, some opened), then
    `date` again `--runs` times (nothing changes)."""
    from reports.alerts import alerts_refresh
    from reports.models import SnapshotBuild
    from reports.services import snapshot_build_for_date
    from reports.spotchecks import spot_checks_compute_for_date

    def chain(day):
        parts = {}
        with timed(None) as t:
            snapshot_build_for_date(date=day)
        parts["build"] = t.seconds
        with timed(None) as t:
            flags = spot_checks_compute_for_date(date=day)
        parts["spot checks"] = t.seconds
        with timed(None) as t:
            result = alerts_refresh(date=day)
        parts["alerts"] = t.seconds
        parts["total"] = sum(parts.values())
        return parts, len(flags), result

    print(f"\nAfter-build chain (build + spot checks + alerts) of {date}", flush=True)
    # Alerts follow the latest built date: forget that `date` was built (bench_snapshot),
    # so the day before opens its alerts, then `date` opens, sees and closes them.
    SnapshotBuild.objects.filter(date__gte=date).delete()
    chain(date - dt.timedelta(days=1))
    daily, flags, result = chain(date)
    print(
        "  daily (after the day before): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in daily.items())
        + f"  [{flags} flags, {result['opened']} opened, {result['closed']} closed]",
        flush=True,
    )
    runs = [chain(date)[0] for _ in range(args.runs)]
    best = min(runs, key=lambda parts: parts["total"])
    print(
        f"  again, best of {args.runs}: " + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()),
        flush=True,
    )
    return {"daily": daily, "best": best}


def compare(date):
    """Compare the service's rows (kept aside) with the floor's, column by column, for `date`.

    Returns the number of rows that differ in any compared column or exist on one side only.
    """
    from django.db import connection

    differs = " OR ".join(f"s.{c} IS DISTINCT FROM f.{c}" for c in COMPARED)
    per_column = ", ".join(
        f"count(*) FILTER (WHERE s.{c} IS DISTINCT FROM f.{c})" for c in COMPARED
    )
    join = (
        "FROM bench_service_rows s FULL JOIN "
        "(SELECT * FROM reports_snapshotrow WHERE date = %(d)s) f "
        "ON f.prefecture_id = s.prefecture_id AND f.item_id = s.item_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FILTER (WHERE s.id IS NULL OR f.id IS NULL OR {differs}), "
            "count(*) FILTER (WHERE s.id IS NULL), count(*) FILTER (WHERE f.id IS NULL), "
            "count(*) FILTER (WHERE s.status = 'red'), "
            "count(*) FILTER (WHERE s.status = 'amber'), "
            "count(*) FILTER (WHERE s.status = 'green'), "
            "count(*) FILTER (WHERE s.status = 'grey'), "
            "count(*) FILTER (WHERE s.stock_is_stale), "
            "count(*) FILTER (WHERE s.stock IS NULL), "
            "count(*) FILTER (WHERE s.reconciliation_gap IS NOT NULL), "
            f"{per_column} {join}",
            {"d": date},
        )
        counts = cursor.fetchone()
        total, only_floor, only_service, red, amber, green, grey, stale, no_stock, gaps = counts[
            :10
        ]
        by_column = dict(zip(COMPARED, counts[10:], strict=True))
        cursor.execute(
            "SELECT COALESCE(s.prefecture_id, f.prefecture_id), COALESCE(s.item_id, f.item_id), "
            + ", ".join(f"s.{c}, f.{c}" for c in COMPARED)
            + f" {join} WHERE s.id IS NULL OR f.id IS NULL OR {differs} "
            "ORDER BY 1, 2 LIMIT 5",
            {"d": date},
        )
        examples = cursor.fetchall()
    print(
        f"  service rows: red {red}, amber {amber}, green {green}, grey {grey}; "
        f"stale stock {stale}, no stock {no_stock}; reconciliation gaps {gaps}"
    )
    if not total:
        print(f"  floor == service: all {len(COMPARED)} compared columns equal in every row")
        return 0
    print(
        f"  MISMATCH in {total} rows: only in the floor {only_floor}, "
        f"only in the service {only_service}"
    )
    for column, count in by_column.items():
        if count:
            print(f"    {column}: {count} rows differ")
    for example in examples:
        pairs = example[2:]
        shown = {
            c: f"service={pairs[2 * n]!r} floor={pairs[2 * n + 1]!r}"
            for n, c in enumerate(COMPARED)
            if pairs[2 * n] != pairs[2 * n + 1]
        }
        print(f"    prefecture id {example[0]}, item id {example[1]}: {shown}")
    return total


# --- the API benchmark --------------------------------------------------------------------


def bench_api(args, user, today):
    from django.test import Client
    from django.urls import NoReverseMatch, reverse
    from rest_framework.authtoken.models import Token

    from inventory.services import daily_figures_submit
    from supplycoord.models import Item, Prefecture

    items = list(Item.objects.filter(code__startswith=PREFIX, is_key=True).order_by("sort_order"))
    prefectures = list(
        Prefecture.objects.filter(code__startswith=PREFIX, active=True).order_by("code")
    )
    per_set = -(-args.api_rows // len(items))  # prefectures needed for one body

    def body(prefecture_set, bump):
        rows = [
            {
                "prefecture": p.code,
                "item": i.code,
                "date": today.isoformat(),
                "stock": 1000 + n + bump,
                "received": 100 + bump,
                "consumption": 90 + bump,
                "demand": 120 + bump,
                "expected_arrivals_3d": bump,
            }
            for n, (p, i) in enumerate((p, i) for p in prefecture_set for i in items)
        ]
        return rows[: args.api_rows]

    try:
        url = reverse("api:daily-figures")
    except NoReverseMatch:
        url = None
    results, failures = {}, 0
    expected = {
        "create": {"created": args.api_rows, "updated": 0, "unchanged": 0},
        "unchanged": {"created": 0, "updated": 0, "unchanged": args.api_rows},
        "update": {"created": 0, "updated": args.api_rows, "unchanged": 0},
    }
    # The posts are for today: no snapshot of today is built, so the after-commit rebuild of
    # the receivers has nothing to do and the figures measure the submission alone.
    plan = []
    if url:
        plan.append(("POST " + url, prefectures[:per_set]))
    if len(prefectures) >= 2 * per_set or not url:
        start = per_set if url else 0
        plan.append(("daily_figures_submit()", prefectures[start : start + per_set]))
    token = Token.objects.get_or_create(user=user)[0].key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    for label, prefecture_set in plan:
        if len(prefecture_set) * len(items) < args.api_rows:
            print(f"\n{label}: not enough prefectures for {args.api_rows} rows, skipped")
            continue
        print(f"\n{label} with {args.api_rows} rows for {today}", flush=True)
        for step, bump in (("create", 0), ("unchanged", 0), ("update", 1)):
            rows = body(prefecture_set, bump)
            if label.startswith("POST"):
                payload = json.dumps(rows)
                with timed(None) as t:
                    response = client.post(url, data=payload, content_type="application/json")
                answer = response.json() if response.status_code == 200 else response.content[:300]
                ok = response.status_code == 200 and answer == expected[step]
            else:
                with timed(None) as t:
                    answer = daily_figures_submit(user=user, rows=rows).as_dict()
                ok = answer == expected[step]
            rate = args.api_rows / t.seconds
            results[(label, step)] = (t.seconds, rate)
            print(f"  {step:9}: {t.seconds:6.2f} s  {rate:8,.0f} rows/s  -> {answer}", flush=True)
            if not ok:
                print(f"  UNEXPECTED ANSWER, wanted {expected[step]}")
                failures += 1
    if not url:
        print("\n(POST /api/v1/daily-figures/ is not routed yet: timed the service directly)")
    return results, failures


# --- main ---------------------------------------------------------------------------------


def main():
    args = parse_args()
    url, created = prepare_database(DEFAULT_DB)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    # Nothing may reach a real broker: any after-commit rebuild runs in-process.
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from inventory.models import DailyFigure
    from supplycoord.lib.dates import local_today
    from supplycoord.models import Item, Prefecture, Role, User

    safe = str(connection.settings_dict["NAME"])
    print(f"Database: {safe} on {connection.settings_dict['HOST'] or 'localhost'}")
    status, generated = 0, False
    try:
        with timed("migrate"):
            call_command("migrate", verbosity=0, interactive=False)
        if not created and (
            Prefecture.objects.exists() or Item.objects.exists() or DailyFigure.objects.exists()
        ):
            usage_error(
                "the database of DATABASE_URL already holds data; point it at an empty "
                "database, or unset DATABASE_URL for a throwaway one"
            )
        today = local_today()
        end = today - dt.timedelta(days=1)
        user = User.objects.create_user(
            username=f"{PREFIX.lower()}_office", password="bench-pass-word", role=Role.OFFICE_STAFF
        )
        print(
            f"\nGenerating {args.prefectures} prefectures x {args.items} key items x "
            f"{args.days} days ending {end}",
            flush=True,
        )
        with timed(None) as gen:
            generated = True
            figures = generate(args, end, user)
        print(
            f"  {figures:,} daily figures (incl. 1 inactive prefecture and 2 non-key items) "
            f"in {gen.seconds:.1f} s, ANALYZE included",
            flush=True,
        )

        # The build queues its spot checks and alerts as a Celery job after it commits, which
        # runs eagerly here, inside the timing: the build is timed alone, and the chain calls
        # them in turn (bench_chain).
        import reports.services

        reports.services._queue_decisions_refresh = lambda date: None
        snap = bench_snapshot(args, end)
        chain = bench_chain(args, end)
        api, api_failures = ({}, 0) if args.skip_api else bench_api(args, user, today)

        print("\nSummary")
        print(f"  data generation        : {gen.seconds:.1f} s for {figures:,} figures")
        print(
            f"  snapshot rows          : {snap['rows']:,} (stored {snap['stored']:,}, "
            f"floor wrote {snap['floor_rows']:,})"
        )
        print(f"  service build, first   : {snap['service_first']:.2f} s")
        print(
            f"  service build, best    : {snap['service_best']:.2f} s  "
            f"({snap['rows'] / snap['service_best']:,.0f} rows/s)"
        )
        print(
            f"  floor (one SQL), best  : {snap['floor_best']:.2f} s  "
            f"({snap['rows'] / snap['floor_best']:,.0f} rows/s)"
        )
        print(f"  ratio service / floor  : {snap['ratio']:.2f}  (target <= 3; build target < 10 s)")
        print(f"  floor vs service       : {snap['mismatches']} mismatching rows")
        for label, parts in (("daily", chain["daily"]), ("again", chain["best"])):
            print(
                f"  chain, {label:5}          : {parts['total']:.2f} s "
                f"(build {parts['build']:.2f}, spot checks {parts['spot checks']:.2f}, "
                f"alerts {parts['alerts']:.2f}); ratio to the floor "
                f"{parts['total'] / snap['floor_best']:.2f}  (target <= 3)"
            )
        for (label, step), (seconds, rate) in api.items():
            print(f"  {label} {step:9}: {rate:,.0f} rows/s ({seconds:.2f} s)")
        if snap["mismatches"] or api_failures:
            status = 1
    finally:
        connection.close()
        if created and not args.keep:
            drop_database(url)
            print(f"\nDropped the database {safe}.")
        elif created:
            print(f"\nKept the database: DATABASE_URL={url}")
        elif generated:
            print(f"\nThe generated data is left in {safe} (DATABASE_URL).")
    return status


if __name__ == "__main__":
    sys.exit(main())
