#!/usr/bin/env python
"""Benchmark of the allocation ledger export (调拨台账) at 1 million batch lines.

    .venv/bin/python bench/ledger_export.py [--lines 1000000 --batches 20000 --runs 3 --keep]

1. Generates destinations, warehouses, items, an office user and --batches shipped dispatch
   batches (dispatched, partly received, received, closed) holding --lines lines, with
   set-based SQL only (`INSERT ... SELECT generate_series`, secondary indexes dropped and
   rebuilt, then VACUUM ANALYZE). Statuses, dates and received quantities agree with each
   other; no stock events are generated (the export never reads them), so the inventory
   ledger is NOT consistent with the batches: this benchmark needs only the batch lines.
2. Times the CSV export through the real view (`allocation:ledger_csv`, in-process Django
   test client, office user), consuming the whole streamed response: rows/s, best of --runs.
3. Times the floor: PostgreSQL's own `COPY (<the exporter's SQL>) TO STDOUT WITH CSV`, the
   exporter's queryset rendered by `cursor.mogrify`, read by psycopg2 `copy_expert` into a
   sink that only counts bytes: rows/s, best of --runs. Target: CSV export >= 40 % of it.
4. Writes the xlsx (the function the background job uses, `write_xlsx`: over
   50,000 rows the view hands the work to a Celery job) in a child process, with its time
   and peak RSS growth (VmHWM after - VmRSS before). Target: growth under 150 MB.

With DATABASE_URL unset it creates a throwaway database `supplycoord_bench_export` on
127.0.0.1:5432 (user postgres), and drops it at the end unless --keep. With DATABASE_URL set
it must be PostgreSQL without dispatch batches; the generated data is left in it.
Exit status: 0; 1 when the CSV export or the floor does not give one row per line or the
view answers other than 200; 2 on a usage problem.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import drop_database, prepare_database, timed, usage_error, without_indexes  # noqa: E402

DEFAULT_DB = "supplycoord_bench_export"
PREFIX = "BE"  # codes of everything the benchmark creates
CSV_TARGET = 0.40  # CSV export rows/s >= 40 % of COPY's
XLSX_TARGET_MB = 150


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--warehouses", type=int, default=20)
    parser.add_argument("--destinations", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of CSV and floor")
    parser.add_argument("--skip-xlsx", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--xlsx-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.batches < 10 or args.lines < args.batches or args.items < 2:
        parser.error("need at least 10 batches, one line per batch and 2 items")
    return args


# --- the database -------------------------------------------------------------------------


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    # Nothing may reach a real broker: any after-commit work runs in-process.
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- data ---------------------------------------------------------------------------------
#
# Batches b = 1..--batches, numbered <year>-<b>, dispatched in b order over the last 365
# days, 08:00-18:00 local time. Status by a hash of b: 20 % dispatched, 15 % partly received,
# 55 % received, 10 % closed. created < approved < dispatched; expected arrival 1-3 days
# after dispatch; received_at (received and closed) 1-3 days after dispatch; closed_at a day
# after that. Lines: --lines spread evenly over the batches (line n in batch
# (n - 1) * batches / lines + 1), items consecutive within a batch, channels own production,
# purchase, national allocation, reserve (no donation: a donation line needs a donation and
# its receipt stock event). Received quantity: 0 when dispatched; about half the lines of a
# partly received batch in full; the shipped quantity when received, every 20th line 1-5
# short; closed batches every 5th line short.

BATCHES_SQL = """
INSERT INTO allocation_dispatchbatch (
    number, year, source_warehouse_id, destination_id, priority, reason,
    planned_dispatch_date, expected_arrival, carrier, vehicle, note, status, version,
    created_by_id, created_at, approved_by_id, approved_at, dispatched_by_id, dispatched_at,
    received_by_id, received_at, closed_by_id, closed_at, issue_event_id)
SELECT extract(year FROM t.local_at)::int || '-' || lpad(g.b::text, 6, '0'),
       extract(year FROM t.local_at)::int,
       wh.id, de.id,
       (ARRAY['hard_hit_area', 'key_unit', 'front_line_staff', 'other'])[1 + x.h %% 4],
       '', t.local_at::date, t.local_at::date + (1 + x.h2 %% 3)::int, '', '', '', s.status, 4,
       %(user)s, t.at - interval '2 hours', %(user)s, t.at - interval '1 hour',
       %(user)s, t.at,
       CASE WHEN s.status IN ('received', 'closed') THEN %(user)s END,
       CASE WHEN s.status IN ('received', 'closed')
            THEN t.at + (1 + x.h2 %% 3) * interval '1 day' END,
       CASE WHEN s.status = 'closed' THEN %(user)s END,
       CASE WHEN s.status = 'closed' THEN t.at + (2 + x.h2 %% 3) * interval '1 day' END,
       NULL
FROM generate_series(1, %(batches)s) AS g(b)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.b, 11) & 2147483647 AS h,
           hashint8extended(g.b, 12) & 2147483647 AS h2,
           hashint8extended(g.b, 13) & 2147483647 AS h3,
           (g.b - 1)::float8 * 365 / %(batches)s AS pos
) AS x
CROSS JOIN LATERAL (
    SELECT date_trunc('second', %(start)s::date + floor(x.pos)::int + time '08:00'
                      + (x.pos - floor(x.pos)) * interval '10 hours') AS local_at
) AS t0
CROSS JOIN LATERAL (SELECT t0.local_at, t0.local_at AT TIME ZONE %(tz)s AS at) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.h3 %% 100 < 20 THEN 'dispatched'
                WHEN x.h3 %% 100 < 35 THEN 'partly_received'
                WHEN x.h3 %% 100 < 90 THEN 'received'
                ELSE 'closed' END AS status
) AS s
JOIN (SELECT id, row_number() OVER (ORDER BY code) AS r FROM inventory_warehouse
      WHERE code LIKE %(prefix)s) AS wh ON wh.r = 1 + x.h %% %(warehouses)s
JOIN (SELECT id, row_number() OVER (ORDER BY id) AS r FROM allocation_destination
      WHERE name_en LIKE 'Bench%%') AS de ON de.r = 1 + x.h2 %% %(destinations)s
ORDER BY g.b
"""

LINES_SQL = """
WITH b AS (
    SELECT id, status, row_number() OVER (ORDER BY id) AS r FROM allocation_dispatchbatch
), it AS (
    SELECT id, row_number() OVER (ORDER BY code) AS i
    FROM supplycoord_item WHERE code LIKE %(prefix)s
)
INSERT INTO allocation_dispatchbatchline (
    batch_id, item_id, quantity, channel, donation_id, received_quantity, discrepancy_note)
SELECT b.id, it.id, q.quantity,
       (ARRAY['own_production', 'purchase', 'national_allocation', 'reserve'])[1 + x.h %% 4],
       NULL,
       CASE b.status
            WHEN 'dispatched' THEN 0
            WHEN 'partly_received' THEN CASE WHEN x.h2 %% 2 = 0 THEN q.quantity ELSE 0 END
            WHEN 'received' THEN
                 CASE WHEN x.h2 %% 20 = 0 THEN q.quantity - least(q.quantity - 1, 1 + x.h %% 5)
                      ELSE q.quantity END
            ELSE CASE WHEN x.h2 %% 5 = 0 THEN q.quantity - least(q.quantity - 1, 1 + x.h %% 5)
                      ELSE q.quantity END
       END,
       ''
FROM generate_series(1, %(lines)s) AS g(n)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.n, 21) & 2147483647 AS h,
           hashint8extended(g.n, 22) & 2147483647 AS h2,
           ((g.n - 1)::bigint * %(batches)s / %(lines)s) + 1 AS br
) AS x
CROSS JOIN LATERAL (SELECT 10 + x.h %% 5000 AS quantity) AS q
JOIN b ON b.r = x.br
JOIN it ON it.i = 1 + (x.br * 7 + g.n) %% %(items)s
ORDER BY g.n
"""


def generate(args, user):
    """Reference rows, batches and lines, straight in SQL. Returns (batches, lines, seconds)."""
    import datetime as dt

    from django.conf import settings
    from django.db import connection

    from supplycoord.lib.dates import local_today

    end = local_today() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=364)
    params = {
        "batches": args.batches,
        "lines": args.lines,
        "items": args.items,
        "warehouses": args.warehouses,
        "destinations": args.destinations,
        "start": start,
        "tz": settings.TIME_ZONE,
        "user": user.pk,
        "prefix": f"{PREFIX}%",
    }
    steps = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO supplycoord_province (code, name_zh, name_en) "
            "VALUES (%s, '基准省', 'Bench province') RETURNING id",
            [PREFIX],
        )
        (province_id,) = cursor.fetchone()
        cursor.execute(
            """
            INSERT INTO supplycoord_prefecture
                (province_id, code, is_gb_code, name_zh, name_en, active, priority_weight)
            SELECT %s, %s || lpad(g::text, 5, '0'), false, '基准市' || g, 'Bench city ' || g,
                   true, 1
            FROM generate_series(1, 14) AS g
            """,
            [province_id, PREFIX],
        )
        cursor.execute(
            """
            INSERT INTO inventory_warehouse
                (code, name_zh, name_en, kind, prefecture_id, address, manager, phone, active)
            SELECT %s || lpad(g::text, 3, '0'), '基准库' || g, 'Bench warehouse ' || g,
                   'provincial_reserve', NULL, '', '', '', true
            FROM generate_series(1, %s) AS g
            """,
            [PREFIX, args.warehouses],
        )
        cursor.execute(
            """
            INSERT INTO supplycoord_item
                (code, name_zh, name_en, category, unit, specification, pack_size, is_key,
                 active, sort_order)
            SELECT %s || '-' || lpad(g::text, 4, '0'), '基准物资' || g, 'Bench item ' || g,
                   'protective',
                   (ARRAY['piece', 'box', 'pair', 'set', 'bottle'])[1 + g %% 5],
                   'GB 19083-2010 规格 ' || g, 1, true, true, g
            FROM generate_series(1, %s) AS g
            """,
            [PREFIX, args.items],
        )
        # Half prefecture destinations (of the 14 bench prefectures), the rest spread over
        # the kinds that need no prefecture.
        cursor.execute(
            """
            INSERT INTO allocation_destination
                (kind, name_zh, name_en, prefecture_id, county_id, contact, phone,
                 confirming_officer_id, active)
            SELECT CASE WHEN g %% 2 = 0 THEN 'prefecture'
                        ELSE (ARRAY['provincial_institution', 'aid_team',
                                    'other_province'])[1 + g %% 3] END,
                   '基准接收单位' || g, 'Bench destination ' || g,
                   CASE WHEN g %% 2 = 0 THEN p.id END, NULL, '', '', NULL, true
            FROM generate_series(1, %s) AS g
            JOIN supplycoord_prefecture p
              ON p.code = %s || lpad((1 + g %% 14)::text, 5, '0')
            ORDER BY g
            """,
            [args.destinations, PREFIX],
        )
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        with timed(None) as load:
            with without_indexes(cursor, "allocation_dispatchbatch"):
                with timed("batches (one INSERT ... SELECT)") as t:
                    cursor.execute(BATCHES_SQL, params)
                    batches = cursor.rowcount
                steps["batches"] = t.seconds
            with without_indexes(cursor, "allocation_dispatchbatchline"):
                with timed("lines (one INSERT ... SELECT)") as t:
                    cursor.execute(LINES_SQL, params)
                    lines = cursor.rowcount
                steps["lines"] = t.seconds
        steps["load"] = load.seconds
        cursor.execute("RESET work_mem")
        cursor.execute("RESET maintenance_work_mem")
        with timed("VACUUM ANALYZE") as t:
            for table in ("allocation_dispatchbatch", "allocation_dispatchbatchline"):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("ANALYZE")
        steps["analyze"] = t.seconds
    return batches, lines, steps


# --- the measurements ---------------------------------------------------------------------


def bench_csv(user, runs):
    """The real view, streamed to the end. Returns (best seconds, rows, bytes, ok)."""
    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(user)
    url = reverse("allocation:ledger_csv")
    best, rows, size, ok = None, 0, 0, True
    for run in range(runs):
        with timed(None) as t:
            response = client.get(url)
            size = newlines = 0
            for chunk in response.streaming_content:
                size += len(chunk)
                newlines += chunk.count(b"\n")
        ok = ok and response.status_code == 200 and response.streaming
        rows = newlines - 2  # minus the header and the totals line
        print(f"  run {run + 1}: {t.seconds:.2f} s, {rows:,} rows, {size / 1e6:.0f} MB", flush=True)
        best = t.seconds if best is None else min(best, t.seconds)
    return best, rows, size, ok


class _Sink:
    def __init__(self):
        self.size = 0
        self.newlines = 0

    def write(self, data):
        self.size += len(data)
        self.newlines += data.count(b"\n") if isinstance(data, bytes) else data.count("\n")
        return len(data)


def floor_sql(user):
    """The exporter's own query (what `AllocationLedgerExport.line_rows` iterates), as one SQL
    string."""
    from django.db import connection

    from allocation.exports import FIELDS, AllocationLedgerExport

    query = AllocationLedgerExport(user, {})
    queryset = query.lines.order_by("batch__dispatched_at", "batch__number", "id").values(*FIELDS)
    sql, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        return cursor.mogrify(sql, params).decode()


def bench_floor(user, runs):
    """COPY (the exporter's SQL) TO STDOUT WITH CSV into a null sink. (best s, rows, bytes)."""
    from django.db import connection

    sql = floor_sql(user)
    best, rows, size = None, 0, 0
    for run in range(runs):
        sink = _Sink()
        with connection.connection.cursor() as cursor, timed(None) as t:
            cursor.copy_expert(f"COPY ({sql}) TO STDOUT WITH CSV", sink)
        rows, size = sink.newlines, sink.size
        print(f"  run {run + 1}: {t.seconds:.2f} s, {rows:,} rows, {size / 1e6:.0f} MB", flush=True)
        best = t.seconds if best is None else min(best, t.seconds)
    connection.connection.rollback()
    return best, rows, size, sql


def _status_kb(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def xlsx_child(user_id):
    """In the child: write the xlsx as the background job does; print figures as JSON."""
    import tempfile

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import translation

    from allocation import exports
    from supplycoord.exports import write_xlsx

    user = get_user_model().objects.get(pk=user_id)
    connection.ensure_connection()
    before_rss, before_hwm = _status_kb("VmRSS"), _status_kb("VmHWM")
    started = time.perf_counter()
    with (
        translation.override("zh-hans"),
        tempfile.NamedTemporaryFile(suffix=".xlsx") as handle,
    ):
        write_xlsx(exports.AllocationLedgerExport(user, {}), handle)
        seconds = time.perf_counter() - started
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": size,
                "rss_before_kb": before_rss,
                "hwm_before_kb": before_hwm,
                "hwm_after_kb": _status_kb("VmHWM"),
            }
        )
    )


def bench_xlsx(url, user):
    env = dict(os.environ, DATABASE_URL=url, BENCH_EXPORT_USER=str(user.pk))
    done = subprocess.run(
        [sys.executable, __file__, "--xlsx-child"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- main ---------------------------------------------------------------------------------


def main():
    if "--xlsx-child" in sys.argv:
        # The child: the user's id in BENCH_EXPORT_USER, the database in DATABASE_URL.
        setup_django(os.environ["DATABASE_URL"])
        xlsx_child(int(os.environ["BENCH_EXPORT_USER"]))
        return 0
    args = parse_args()
    url, created = prepare_database(DEFAULT_DB)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    from allocation.models import DispatchBatch
    from supplycoord.models import Role, User

    safe = str(connection.settings_dict["NAME"])
    print(f"Database: {safe} on {connection.settings_dict['HOST'] or 'localhost'}")
    status, generated = 0, False
    try:
        with timed("migrate"):
            call_command("migrate", verbosity=0, interactive=False)
        if not created and DispatchBatch.objects.exists():
            usage_error("the database of DATABASE_URL already holds dispatch batches")
        user = User.objects.create_user(
            username=f"{PREFIX.lower()}_office", password="bench-pass-word", role=Role.OFFICE_STAFF
        )
        print(f"\nGenerating {args.batches:,} batches with {args.lines:,} lines", flush=True)
        with timed(None) as gen:
            generated = True
            batches, lines, steps = generate(args, user)
        print(f"  {batches:,} batches, {lines:,} lines in {gen.seconds:.1f} s", flush=True)

        print(f"\nCSV export through the view, {args.runs} runs", flush=True)
        csv_best, csv_rows, csv_bytes, csv_ok = bench_csv(user, args.runs)
        print(f"\nFloor: COPY (the exporter's query) TO STDOUT WITH CSV, {args.runs} runs")
        floor_best, floor_rows, floor_bytes, _sql = bench_floor(user, args.runs)
        xlsx = None
        if not args.skip_xlsx:
            print("\nxlsx export (supplycoord.exports.write_xlsx, in a child process)", flush=True)
            xlsx = bench_xlsx(url, user)

        csv_rate, floor_rate = csv_rows / csv_best, floor_rows / floor_best
        ratio = csv_rate / floor_rate
        print("\nSummary")
        print(
            f"  data generation : {gen.seconds:.1f} s for {batches:,} batches and {lines:,} "
            f"lines (batches {steps['batches']:.1f} s, lines {steps['lines']:.1f} s, "
            f"VACUUM ANALYZE {steps['analyze']:.1f} s)"
        )
        print(
            f"  CSV export (view), best of {args.runs}: {csv_best:.2f} s, {csv_rate:,.0f} rows/s"
            f" ({csv_bytes / 1e6:.0f} MB)"
        )
        print(
            f"  floor (COPY), best of {args.runs}  : {floor_best:.2f} s, {floor_rate:,.0f} "
            f"rows/s ({floor_bytes / 1e6:.0f} MB)"
        )
        print(
            f"  CSV / floor     : {100 * ratio:.1f} %  (target >= {100 * CSV_TARGET:.0f} %)"
            + ("" if ratio >= CSV_TARGET else "  MISSED")
        )
        if xlsx:
            growth = (xlsx["hwm_after_kb"] - xlsx["rss_before_kb"]) / 1024
            print(
                f"  xlsx export     : {xlsx['seconds']:.1f} s, {lines / xlsx['seconds']:,.0f} "
                f"rows/s, {xlsx['bytes'] / 1e6:.0f} MB file; RSS {xlsx['rss_before_kb'] / 1024:.0f}"
                f" MB before, peak {xlsx['hwm_after_kb'] / 1024:.0f} MB: growth {growth:.0f} MB"
                f"  (target < {XLSX_TARGET_MB} MB)"
                + ("" if growth < XLSX_TARGET_MB else "  MISSED")
            )
        elif not args.skip_xlsx:
            print("  xlsx export     : FAILED")
            status = 1
        if not csv_ok or csv_rows != lines or floor_rows != lines:
            print(f"  row counts differ: lines {lines}, CSV {csv_rows}, COPY {floor_rows}")
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
