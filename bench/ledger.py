#!/usr/bin/env python
"""Benchmark of the provincial reserve ledger at 1 million events.

    .venv/bin/python bench/ledger.py [--warehouses 50 --items 60 --events 1000000 --post 2000
                                      --clients 8 --post-each 500 --keep]
    .venv/bin/python bench/ledger.py --posting-only [--post 2000 --clients 8 --post-each 500]

With --posting-only it generates nothing and runs step 2 alone, on the ledger an earlier
--keep run left (before/after comparisons of the posting code, back to back).

1. Generates --events stock events with their lines (1-3 each) across warehouses x items in
   PostgreSQL, with set-based SQL only (`INSERT ... SELECT generate_series`, in date order,
   secondary indexes dropped and rebuilt), plus document sequences and balances that agree
   with them, then VACUUM ANALYZE. One (warehouse, item) pair holds about 5 % of all lines.
   The generated data is checked: no balance ever below zero, document numbers 1..n without
   gaps per warehouse and month, sequences and balances equal to what the ledger says.
2. Times --post events (receipts and issues alternating, 2 lines each) posted one by one
   through `stock_receive` / `stock_issue`, each call its own transaction, as the pages do,
   and counts the statements one event takes and the CPU time (here and in PostgreSQL); then --clients processes at once, each with its
   own connection, posting --post-each such events (spread over the warehouses, then all in
   one warehouse); and, if inventory.services has `stock_events_import`, --post events in one
   batch through it.
3. Times the drift check (`manage.py ledger_verify`, through call_command) on the whole
   ledger: it must report no drift. Then it changes one balance behind the ledger's back (in
   a transaction that is rolled back) and checks that the drift is found.
4. Times the stock card page of the busiest (warehouse, item): the first, a middle and the
   last page, a date-filtered card (first and middle page) and an issues-only one (first,
   middle and last page), through the real view (in-process Django test client, an
   office-staff user), best of 5 and median, with the number of queries; and the plan of the
   issues-only card's page query (EXPLAIN ANALYZE: is it an index-only scan?).

With DATABASE_URL unset it creates a throwaway database `supplycoord_bench_ledger` on
127.0.0.1:5432 (user postgres), and drops it at the end unless --keep. With DATABASE_URL set
it must be PostgreSQL and its ledger must be empty (no warehouses, events or balances); the
generated data is left in it.
Exit status: 0; 1 on drift (or a planted drift not found), a failed post or import, a stock
card answering other than 200, or generated data that breaks a ledger rule; 2 on a usage
problem.
"""

import argparse
import datetime as dt
import functools
import inspect
import io
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import drop_database, prepare_database, timed, usage_error, without_indexes  # noqa: E402

DEFAULT_DB = "supplycoord_bench_ledger"
PREFIX = "BL"  # codes of everything the benchmark creates
CARD_RUNS = 5
CARD_TARGET_MS = 300
POST_TARGET = 1_000  # events/s with --clients concurrent clients
POST_P50_TARGET_MS = 5  # one client


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouses", type=int, default=50)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730, help="days of history, ending yesterday")
    parser.add_argument(
        "--post", type=int, default=2_000, help="events posted by the services, one client"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent posting clients")
    parser.add_argument(
        "--post-each", type=int, default=500, help="events each concurrent client posts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--posting-only",
        action="store_true",
        help="reuse the ledger an earlier --keep run left (or DATABASE_URL's) and time only "
        "the posting: one client, --clients at once, the batch import",
    )
    args = parser.parse_args()
    if args.warehouses < 2 or args.items < 3 or args.days < 60 or args.post < 2:
        parser.error("need at least 2 warehouses, 3 items, 60 days and 2 posted events")
    if args.clients < 1 or args.post_each < 1:
        parser.error("need at least 1 client posting at least 1 event")
    if args.events < 10 * openings(args):
        parser.error(f"need at least {10 * openings(args)} events for this many warehouses/items")
    return args


def openings(args):
    """Events that open the ledger: per warehouse, one receipt per group of 3 items."""
    return args.warehouses * math.ceil(args.items / 3)


# --- the database -------------------------------------------------------------------------


# --- data ---------------------------------------------------------------------------------
#
# Events are numbered n = 1..--events, and n is their id, in date order:
#
# - n <= OPENINGS: the opening receipts, on the first day from 07:00, one per warehouse and
#   group of 3 items (so every pair has a balance from the start). Their quantities are only
#   known once the other lines are: each is 100 + the deepest the later lines would take the
#   pair below zero, so no balance is ever negative at any point of the ledger;
# - n > OPENINGS: the day's receipts (40 %) and issues (60 %), spread evenly over the days,
#   08:00-18:00 local time, each with 1-3 lines of consecutive items. Every 10th event is
#   in the busiest warehouse (rank 1) and starts with the busiest item (rank 1): that pair
#   holds about 5 % of all lines. Receipt lines take in 50-1,000, issue lines 1-400.
#
# Everything is a hash of n (hashint8extended with a seed per attribute), so the data is the
# same on every run. The two fragments below yield (n, w, base, nlines, kind, h, local_at,
# at): w the warehouse rank, items ranks (base + j) %% items + 1 for j < nlines.

OPENINGS_SQL = """
SELECT o.n, (o.n - 1) / %(groups)s + 1 AS w, 3 * ((o.n - 1) %% %(groups)s) AS base,
       least(3, %(items)s - 3 * ((o.n - 1) %% %(groups)s)) AS nlines, 'receipt' AS kind,
       hashint8extended(o.n, 1) & 2147483647 AS h, t.local_at,
       t.local_at AT TIME ZONE %(tz)s AS at
FROM generate_series(1, %(openings)s) AS o(n)
CROSS JOIN LATERAL (
    SELECT %(start)s::date + time '07:00' + o.n * interval '1 second' AS local_at
) AS t
"""

REGULAR_SQL = """
SELECT g.n,
       CASE WHEN x.h %% 10 = 0 THEN 1 ELSE 1 + x.h2 %% %(warehouses)s END AS w,
       CASE WHEN x.h %% 10 = 0 THEN 0 ELSE x.h3 %% %(items)s END AS base,
       1 + x.h4 %% 3 AS nlines,
       CASE WHEN x.h5 %% 100 < 40 THEN 'receipt' ELSE 'issue' END AS kind,
       x.h, t.local_at, t.local_at AT TIME ZONE %(tz)s AS at
FROM generate_series(%(openings)s + 1, %(events)s) AS g(n)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.n, 1) & 2147483647 AS h,
           hashint8extended(g.n, 2) & 2147483647 AS h2,
           hashint8extended(g.n, 3) & 2147483647 AS h3,
           hashint8extended(g.n, 4) & 2147483647 AS h4,
           hashint8extended(g.n, 5) & 2147483647 AS h5,
           (g.n - %(openings)s - 1)::float8 * %(days)s / (%(events)s - %(openings)s) AS pos
) AS x
CROSS JOIN LATERAL (
    -- day floor(pos), at 08:00 + the rest of pos x 10 hours: n order is date order
    SELECT date_trunc('second', %(start)s::date + floor(x.pos)::int + time '08:00'
                      + (x.pos - floor(x.pos)) * interval '10 hours') AS local_at
) AS t
"""

RANKS_SQL = """
wh AS (
    SELECT id, code, row_number() OVER (ORDER BY code) AS w
    FROM inventory_warehouse WHERE code LIKE %(prefix)s
), it AS (
    SELECT id, row_number() OVER (ORDER BY code) AS i
    FROM supplycoord_item WHERE code LIKE %(prefix)s
)
"""

EVENTS_SQL = f"""
WITH {RANKS_SQL}
INSERT INTO inventory_stockevent (
    id, warehouse_id, kind, document_number, receipt_source, issue_kind, adjustment_reason,
    source_document, counterparty, occurred_at, recorded_at, recorded_by_id, note,
    client_uuid, reverses_id)
SELECT e.n, wh.id, e.kind,
       -- <warehouse>-<YYYYMM>-<NNNN>, numbered 1, 2, ... per warehouse and local month
       wh.code || '-' || e.period || '-' || lpad(e.number::text, greatest(4, length(e.number::text)), '0'),
       CASE WHEN e.kind = 'receipt' THEN
           (ARRAY['own_production', 'purchase', 'national_allocation', 'donation',
                  'transfer_in', 'return'])[1 + (e.h / 7) %% 6]
       ELSE '' END,
       CASE WHEN e.kind = 'issue' THEN (ARRAY['dispatch', 'transfer_out'])[1 + (e.h / 7) %% 2]
       ELSE '' END,
       '',
       CASE WHEN e.kind = 'receipt' THEN 'PO-' ELSE 'DN-' END || e.n,
       CASE WHEN e.kind = 'receipt' THEN 'Supplier ' || (1 + (e.h / 11) %% 40)
            ELSE 'County hospital ' || (1 + (e.h / 11) %% 200) END,
       e.at, e.at + ((e.h / 13) %% 120) * interval '1 minute', %(user)s, '', NULL, NULL
FROM (
    SELECT ev.*, to_char(ev.local_at, 'YYYYMM') AS period,
           row_number() OVER (PARTITION BY ev.w, to_char(ev.local_at, 'YYYYMM') ORDER BY ev.n)
               AS number
    FROM ({OPENINGS_SQL} UNION ALL {REGULAR_SQL}) AS ev
) AS e
JOIN wh ON wh.w = e.w
ORDER BY e.n
"""

LINES_SQL = f"""
WITH {RANKS_SQL}, reg AS MATERIALIZED (
    SELECT ev.n, l.j, ev.w, (ev.base + l.j) %% %(items)s + 1 AS i, ev.at, ev.kind,
           CASE WHEN ev.kind = 'receipt' THEN 50 + q.q %% 951 ELSE -(1 + q.q %% 400) END
               AS quantity
    FROM ({REGULAR_SQL}) AS ev
    CROSS JOIN LATERAL generate_series(0, ev.nlines - 1) AS l(j)
    CROSS JOIN LATERAL (SELECT hashint8extended(ev.n * 4 + l.j, 7) & 2147483647 AS q) AS q
), low AS (
    -- how far below zero the regular lines alone would take each pair, at their worst
    SELECT w, i, min(running) AS lowest
    FROM (SELECT w, i, sum(quantity) OVER (PARTITION BY w, i ORDER BY n) AS running
          FROM reg) AS r
    GROUP BY w, i
), opening AS (
    SELECT ev.n, l.j, ev.w, ev.base + l.j + 1 AS i, ev.at, ev.kind,
           100 + greatest(0, -COALESCE(low.lowest, 0)) AS quantity
    FROM ({OPENINGS_SQL}) AS ev
    CROSS JOIN LATERAL generate_series(0, ev.nlines - 1) AS l(j)
    LEFT JOIN low ON low.w = ev.w AND low.i = ev.base + l.j + 1
)
INSERT INTO inventory_stockeventline
    (event_id, item_id, quantity, counted, warehouse_id, occurred_at, kind)
SELECT x.n, it.id, x.quantity, NULL, wh.id, x.at, x.kind
FROM (SELECT * FROM opening UNION ALL SELECT * FROM reg) AS x
JOIN wh ON wh.w = x.w
JOIN it ON it.i = x.i
ORDER BY x.n, x.j
"""

BALANCES_SQL = """
INSERT INTO inventory_stockbalance (warehouse_id, item_id, quantity, updated_at)
SELECT warehouse_id, item_id, sum(quantity), now()
FROM inventory_stockeventline
GROUP BY warehouse_id, item_id
ORDER BY warehouse_id, item_id
"""

SEQUENCES_SQL = """
INSERT INTO inventory_documentsequence (warehouse_id, period, last_number)
SELECT warehouse_id, split_part(document_number, '-', 2),
       max(split_part(document_number, '-', 3)::int)
FROM inventory_stockevent
GROUP BY 1, 2
ORDER BY 1, 2
"""

# The ledger rules the generated data must keep; each query returns 0 when they hold.
CHECKS = {
    "balances that ever go below zero (running sum in stock-card order)": """
        SELECT count(*) FROM (
            SELECT sum(quantity) OVER (PARTITION BY warehouse_id, item_id
                                       ORDER BY occurred_at, event_id) AS running
            FROM inventory_stockeventline) AS r
        WHERE running < 0
    """,
    "events without 1-3 lines": """
        SELECT count(*) FROM inventory_stockevent e
        LEFT JOIN (SELECT event_id, count(*) AS n FROM inventory_stockeventline
                   GROUP BY event_id) AS l ON l.event_id = e.id
        WHERE COALESCE(l.n, 0) NOT BETWEEN 1 AND 3
    """,
    "lines whose warehouse, time or kind differ from their event's": """
        SELECT count(*) FROM inventory_stockeventline l
        JOIN inventory_stockevent e ON e.id = l.event_id
        WHERE l.warehouse_id <> e.warehouse_id OR l.occurred_at <> e.occurred_at
           OR l.kind <> e.kind OR (e.kind = 'receipt') <> (l.quantity > 0)
    """,
    "(warehouse, month)s whose numbers are not 1..n or disagree with their sequence": """
        SELECT count(*) FROM (
            SELECT e.warehouse_id, split_part(e.document_number, '-', 2) AS period,
                   count(*) AS n, min(split_part(e.document_number, '-', 3)::int) AS lo,
                   max(split_part(e.document_number, '-', 3)::int) AS hi,
                   bool_and(split_part(e.document_number, '-', 2)
                            = to_char(e.occurred_at AT TIME ZONE %(tz)s, 'YYYYMM')) AS in_month
            FROM inventory_stockevent e GROUP BY 1, 2) AS g
        FULL JOIN inventory_documentsequence s
            ON s.warehouse_id = g.warehouse_id AND s.period = g.period
        WHERE g.n IS NULL OR s.id IS NULL OR g.lo <> 1 OR g.hi <> g.n
           OR s.last_number <> g.n OR NOT g.in_month
    """,
}


def generate(args, user):
    """Reference rows, events, lines, sequences and balances, straight in SQL.

    Returns (events, lines, seconds by step).
    """
    from django.conf import settings
    from django.db import connection

    from inventory.models import StockEvent, StockEventLine
    from supplycoord.lib.dates import local_today

    end = local_today() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=args.days - 1)
    like = f"{PREFIX}%"
    params = {
        "warehouses": args.warehouses,
        "items": args.items,
        "events": args.events,
        "days": args.days,
        "groups": math.ceil(args.items / 3),
        "openings": openings(args),
        "start": start,
        "tz": settings.TIME_ZONE,
        "user": user.pk,
        "prefix": like,
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
            FROM generate_series(1, %s) AS g
            """,
            [province_id, PREFIX, args.warehouses],
        )
        # Rank 1 (the busiest) and 2 are provincial reserves, every 10th+5 is held by a
        # producer, every 10th+9 a hospital's; the others are prefecture warehouses.
        cursor.execute(
            """
            INSERT INTO inventory_warehouse
                (code, name_zh, name_en, kind, prefecture_id, address, manager, phone, active)
            SELECT %(prefix_code)s || lpad(g::text, 3, '0'), '基准库' || g,
                   'Bench warehouse ' || g,
                   CASE WHEN g <= 2 THEN 'provincial_reserve'
                        WHEN g %% 10 = 5 THEN 'producer_held'
                        WHEN g %% 10 = 9 THEN 'hospital_other'
                        ELSE 'prefecture' END,
                   CASE WHEN g > 2 THEN p.id END, '', '', '', true
            FROM generate_series(1, %(warehouses)s) AS g
            JOIN supplycoord_prefecture p ON p.code = %(prefix_code)s || lpad(g::text, 5, '0')
            ORDER BY g
            """,
            {"prefix_code": PREFIX, "warehouses": args.warehouses},
        )
        cursor.execute(
            """
            INSERT INTO supplycoord_item
                (code, name_zh, name_en, short_name_zh, short_name_en, category, unit,
                 specification, pack_size, is_key, active, sort_order)
            SELECT %s || '-' || lpad(g::text, 4, '0'), '基准物资' || g, 'Bench item ' || g,
                   '', '', 'protective', 'piece', '', 1, true, true, g
            FROM generate_series(1, %s) AS g
            """,
            [PREFIX, args.items],
        )
        # Sorts and index builds in memory (this session only).
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        events_table = StockEvent._meta.db_table
        lines_table = StockEventLine._meta.db_table
        with timed(None) as load:
            with without_indexes(cursor, events_table), without_indexes(cursor, lines_table):
                with timed("events (one INSERT ... SELECT)") as t:
                    cursor.execute(EVENTS_SQL, params)
                    events = cursor.rowcount
                steps["events"] = t.seconds
                with timed("lines (one INSERT ... SELECT)") as t:
                    cursor.execute(LINES_SQL, params)
                    lines = cursor.rowcount
                steps["lines"] = t.seconds
                rebuild = time.perf_counter()
            steps["indexes"] = time.perf_counter() - rebuild
        print(f"  secondary indexes and unique constraints rebuilt: {steps['indexes']:.2f} s")
        steps["load"] = load.seconds
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM "
            + events_table
            + "))",
            [events_table],
        )
        with timed("balances and document sequences (two INSERT ... SELECT)") as t:
            cursor.execute(BALANCES_SQL)
            cursor.execute(SEQUENCES_SQL)
        steps["derived"] = t.seconds
        cursor.execute("RESET work_mem")
        cursor.execute("RESET maintenance_work_mem")
        # VACUUM too, not only ANALYZE: it sets the visibility map, as autovacuum would have
        # long since done on a real ledger, so index-only scans are possible.
        with timed("VACUUM ANALYZE") as t:
            for table in (
                events_table,
                lines_table,
                "inventory_stockbalance",
                "inventory_documentsequence",
            ):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
            cursor.execute("ANALYZE")
        steps["analyze"] = t.seconds
    return events, lines, steps


def check_generated():
    """Run CHECKS; print and return the number of rules broken."""
    from django.conf import settings
    from django.db import connection

    broken = 0
    with connection.cursor() as cursor:
        for label, sql in CHECKS.items():
            cursor.execute(sql, {"tz": settings.TIME_ZONE})
            (count,) = cursor.fetchone()
            print(f"  {label}: {count}" + ("" if count == 0 else "   <-- BROKEN"), flush=True)
            broken += bool(count)
    return broken


def busiest_pair():
    """(warehouse, item, lines of the pair, all lines, first day, last day) of the busiest pair."""
    from django.db import connection

    from inventory.models import Warehouse
    from supplycoord.models import Item

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT warehouse_id, item_id, count(*), sum(count(*)) OVER () "
            "FROM inventory_stockeventline GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 1"
        )
        warehouse_id, item_id, count, total = cursor.fetchone()
    return Warehouse.objects.get(pk=warehouse_id), Item.objects.get(pk=item_id), count, int(total)


# --- posting through the services ---------------------------------------------------------


def post_plan(count, warehouses, items, *, client=0):
    """`count` events: receipts and issues alternating, 2 lines each, over `warehouses`.

    `client` shifts the walk: concurrent clients post to different warehouses and items at
    any moment, as clerks of different warehouses would, and still meet now and then.
    """
    plan = []
    for n in range(count):
        warehouse = warehouses[(n * 7 + client * 3) % len(warehouses)]
        first = (n * 11 + client * 5) % len(items)
        second = (first + 1 + n % (len(items) - 1)) % len(items)
        if n % 2 == 0:
            kind, quantities = "receipt", (10 + n % 90, 20 + n % 80)
        else:  # every balance is at least 100, and receipts outweigh issues ten to one
            kind, quantities = "issue", (1 + n % 10, 1 + n % 7)
        lines = [(items[first], quantities[0]), (items[second], quantities[1])]
        plan.append((kind, warehouse, lines, f"{client}-{n}"))
    return plan


def post_one(user, kind, warehouse, lines, tag):
    """One event through the service the pages call; LedgerError if it is refused."""
    from inventory import services

    if kind == "receipt":
        return services.stock_receive(
            user=user,
            warehouse=warehouse,
            lines=lines,
            source="purchase",
            source_document=f"BENCH-PO-{tag}",
            counterparty="Bench supplier",
        )
    return services.stock_issue(
        user=user,
        warehouse=warehouse,
        lines=lines,
        issue_kind="dispatch",
        source_document=f"BENCH-DN-{tag}",
        counterparty="Bench hospital",
    )


def cpu_clocks():
    """(CPU seconds of this process, of its PostgreSQL backend; -1 when the backend runs on
    another machine). CPU time, unlike wall time, hardly moves with the machine's load: it
    tells what an event costs, and 2 cores / (both together) bounds the events/s."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        backend = -1.0
    return time.process_time(), backend


def percentile(sorted_values, share):
    return sorted_values[min(len(sorted_values) - 1, int(share * len(sorted_values)))]


def bench_post(args, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from inventory import services
    from inventory.models import StockEvent, Warehouse
    from supplycoord.models import Item

    warehouses = list(Warehouse.objects.filter(code__startswith=PREFIX).order_by("code"))
    items = list(Item.objects.filter(code__startswith=PREFIX).order_by("code"))
    print(
        f"\nPosting {args.post} events one by one, one client (stock_receive / stock_issue "
        "alternating, 2 lines, each call its own transaction)",
        flush=True,
    )
    # What one event costs in statements (round trips), BEGIN and COMMIT included: one
    # receipt and one issue before the timed run.
    statements = {}
    for kind, warehouse, lines, tag in post_plan(2, warehouses, items, client=99):
        with CaptureQueriesContext(connection) as queries:
            post_one(user, kind, warehouse, lines, f"warm-{tag}")
        statements[kind] = [" ".join(q["sql"].split()[:3]) for q in queries]
    for kind, sqls in statements.items():
        print(f"  statements a {kind}: {len(sqls)} ({'; '.join(sqls)})")

    before = StockEvent.objects.count()
    failures, latencies = 0, []
    cpu = cpu_clocks()
    with timed(None) as total:
        for kind, warehouse, lines, tag in post_plan(args.post, warehouses, items):
            started = time.perf_counter()
            try:
                post_one(user, kind, warehouse, lines, tag)
            except services.LedgerError as exc:
                failures += 1
                if failures <= 5:
                    print(f"  event {tag} refused: {exc.message}")
            latencies.append(time.perf_counter() - started)
    cpu = [
        (after - start) / args.post if start >= 0 else -1.0
        for start, after in zip(cpu, cpu_clocks(), strict=True)
    ]
    posted = StockEvent.objects.count() - before
    rate = args.post / total.seconds
    latencies.sort()
    median, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    print(
        f"  {posted} events in {total.seconds:.2f} s: {rate:,.0f} events/s; per event "
        f"p50 {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"
        f"{'' if not failures else f'; {failures} refused'}",
        flush=True,
    )
    if cpu[1] >= 0:
        print(
            f"  CPU time per event: {cpu[0] * 1000:.2f} ms here (Python), "
            f"{cpu[1] * 1000:.2f} ms in the PostgreSQL backend",
            flush=True,
        )
    result = {
        "single": (posted, total.seconds, rate, median, p95),
        "statements": {kind: len(sqls) for kind, sqls in statements.items()},
        "cpu": cpu,
    }
    if posted != args.post:
        failures += 1
    for label, chosen in (
        ("spread over the warehouses", warehouses),
        (f"all in one warehouse ({warehouses[0].code})", warehouses[:1]),
    ):
        outcome = bench_post_concurrent(args, user, label, chosen, items)
        result.setdefault("concurrent", []).append(outcome)
        failures += outcome["failures"]

    batch = getattr(services, "stock_events_import", None)
    if batch is None:
        print("  (inventory.services has no stock_events_import: the batch path is not timed)")
        return result, failures
    events = [
        {
            "warehouse": warehouse.code,
            "kind": kind,
            **({"source": "purchase"} if kind == "receipt" else {"issue_kind": "dispatch"}),
            "source_document": f"BENCH-BATCH-{n}",
            "counterparty": "Bench batch",
            "lines": [{"item": item.code, "quantity": quantity} for item, quantity in lines],
        }
        for kind, warehouse, lines, n in post_plan(args.post, warehouses, items)
    ]
    print(f"\nImporting {len(events)} events in one batch (stock_events_import)", flush=True)
    before = StockEvent.objects.count()
    # The batch takes the events as the API's POST body has them; passed by keyword when
    # the service names its parameter `events`, else positionally after the user.
    if "events" in inspect.signature(batch).parameters:
        call = functools.partial(batch, user=user, events=events)
    else:
        call = functools.partial(batch, events, user=user)
    try:
        with timed(None) as t:
            answer = call()
    except Exception as exc:  # noqa: BLE001 - a benchmark reports, it does not crash
        connection.close()
        print(f"  stock_events_import failed: {type(exc).__name__}: {exc}")
        return result, failures + 1
    imported = StockEvent.objects.count() - before
    rate = len(events) / t.seconds
    returned = f"{len(answer)} events returned" if isinstance(answer, list) else str(answer)[:200]
    print(
        f"  {imported} events in {t.seconds:.2f} s: {rate:,.0f} events/s  -> {returned}",
        flush=True,
    )
    result["batch"] = (imported, t.seconds, rate)
    if imported != len(events):
        failures += 1
    return result, failures


def bench_post_concurrent(args, user, label, warehouses, items):
    """--clients processes at once, each with its own connection, post --post-each events
    through the services (processes, not threads: as gunicorn's workers, and no GIL between
    them). Events/s = all events / (last client's end - first client's start)."""
    import multiprocessing

    from django.db import connections

    from inventory.models import StockEvent

    print(
        f"\nPosting with {args.clients} clients at once, {args.post_each} events each, "
        f"{label} (one process and connection per client)",
        flush=True,
    )
    before = StockEvent.objects.count()
    context = multiprocessing.get_context("fork")
    barrier, answers = context.Barrier(args.clients), context.Queue()
    connections.close_all()  # a forked child must not share the parent's socket
    clients = [
        context.Process(
            target=_post_client,
            args=(
                user,
                post_plan(args.post_each, warehouses, items, client=number + 1),
                barrier,
                answers,
            ),
        )
        for number in range(args.clients)
    ]
    for client in clients:
        client.start()
    results = [answers.get(timeout=600) for _client in clients]
    for client in clients:
        client.join()
    problems = [problem for result in results for problem in result["problems"]]
    latencies = sorted(t for result in results for t in result["latencies"])
    refused = sum(result["refused"] for result in results)
    posted = StockEvent.objects.count() - before
    expected = args.clients * args.post_each
    outcome = {"label": label, "failures": int(bool(problems) or posted != expected)}
    if problems or not latencies:
        for problem in problems[:5]:
            print(f"  {problem}")
        return outcome
    wall = max(r["ended"] for r in results) - min(r["started"] for r in results)
    outcome.update(
        posted=posted,
        seconds=wall,
        rate=len(latencies) / wall,
        median=statistics.median(latencies),
        p95=percentile(latencies, 0.95),
        refused=refused,
    )
    print(
        f"  {posted} events in {wall:.2f} s: {outcome['rate']:,.0f} events/s; per event "
        f"p50 {outcome['median'] * 1000:.2f} ms, p95 {outcome['p95'] * 1000:.2f} ms"
        f"{'' if not refused else f'; {refused} refused'}",
        flush=True,
    )
    return outcome


def _post_client(user, plan, barrier, answers):
    """One client process: connect, wait for the others, post the plan, send the timings."""
    from django.db import connection

    from inventory import services

    answer = {"latencies": [], "refused": 0, "problems": [], "started": 0.0, "ended": 0.0}
    try:
        connection.ensure_connection()
        barrier.wait(timeout=120)
        # perf_counter is CLOCK_MONOTONIC: the same clock in every process of the machine.
        answer["started"] = time.perf_counter()
        for kind, warehouse, lines, tag in plan:
            started = time.perf_counter()
            try:
                post_one(user, kind, warehouse, lines, tag)
            except services.LedgerError as exc:
                answer["refused"] += 1
                answer["problems"].append(f"event {tag} refused: {exc.message}")
            answer["latencies"].append(time.perf_counter() - started)
        answer["ended"] = time.perf_counter()
    except Exception as exc:  # noqa: BLE001 - reported by the parent
        answer["problems"].append(f"client failed: {type(exc).__name__}: {exc}")
    finally:
        connection.close()
        answers.put(answer)


# --- the drift check ----------------------------------------------------------------------


def bench_drift():
    """ledger_verify on everything (must find nothing); then a planted drift (must be found)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection, transaction

    from inventory.management.commands.ledger_verify import ledger_drift

    print("\nDrift check: manage.py ledger_verify (call_command), on the whole ledger", flush=True)
    out = io.StringIO()
    runs, drift = [], False
    for _ in range(3):
        with timed(None) as t:
            try:
                call_command("ledger_verify", stdout=out, stderr=out)
            except (CommandError, SystemExit):
                drift = True
        runs.append(t.seconds)
    message = out.getvalue().strip().splitlines()
    print(f"  {message[-1] if message else '(no output)'}")
    print(
        f"  first {runs[0]:.2f} s, best of {len(runs)} {min(runs):.2f} s  "
        f"(runs: {', '.join(f'{s:.2f}' for s in runs)})",
        flush=True,
    )
    if drift:
        print("  DRIFT: some balances differ from the ledger")
        for line in message[:12]:
            print(f"    {line}")

    # Someone changes one balance behind the ledger's back: the check must name it.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE inventory_stockbalance SET quantity = quantity + 7 "
                "WHERE id = (SELECT min(id) FROM inventory_stockbalance) "
                "RETURNING warehouse_id, item_id"
            )
            planted = cursor.fetchone()
        with timed(None) as t:
            found = ledger_drift()
        transaction.set_rollback(True)
    caught = [row[:2] for row in found] == [planted] and found[0][2] - found[0][3] == 7
    print(
        f"  planted drift of +7 on one balance (rolled back): "
        f"{'found' if caught else 'NOT FOUND'}, {len(found)} row(s), {t.seconds:.2f} s",
        flush=True,
    )
    return {"runs": runs, "drift": drift, "planted_found": caught}


# --- the stock card -----------------------------------------------------------------------


def bench_stock_card(user, warehouse, item, pair_lines, days_back):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from inventory.views import STOCK_CARD_PAGE_SIZE
    from supplycoord.lib.dates import local_today

    client = Client()
    client.force_login(user)
    url = reverse("inventory:stock_card", args=[warehouse.code, item.code])
    pages = math.ceil(pair_lines / STOCK_CARD_PAGE_SIZE)
    # One month in the middle of the history, as someone looking into a period would.
    month_from = local_today() - dt.timedelta(days=days_back // 2)
    month_to = month_from + dt.timedelta(days=29)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM inventory_stockeventline WHERE warehouse_id = %s "
            "AND item_id = %s AND occurred_at >= %s AND occurred_at < %s",
            [
                warehouse.pk,
                item.pk,
                _local_start(month_from),
                _local_start(month_to + dt.timedelta(days=1)),
            ],
        )
        (month_lines,) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM inventory_stockeventline WHERE warehouse_id = %s "
            "AND item_id = %s AND kind = 'issue'",
            [warehouse.pk, item.pk],
        )
        (issue_lines,) = cursor.fetchone()
    month_pages = max(1, math.ceil(month_lines / STOCK_CARD_PAGE_SIZE))
    issue_pages = max(1, math.ceil(issue_lines / STOCK_CARD_PAGE_SIZE))
    dates = f"from={month_from.isoformat()}&to={month_to.isoformat()}"
    cases = [
        ("all, first page", "", pair_lines),
        (f"all, middle page {pages // 2 + 1}", f"?page={pages // 2 + 1}", pair_lines),
        (f"all, last page {pages}", f"?page={pages}", pair_lines),
        ("30 days, first page", f"?{dates}", month_lines),
        (
            f"30 days, middle page {month_pages // 2 + 1}",
            f"?{dates}&page={month_pages // 2 + 1}",
            month_lines,
        ),
        ("issues only, first page", "?kind=issue", issue_lines),
        (
            f"issues only, middle page {issue_pages // 2 + 1}",
            f"?kind=issue&page={issue_pages // 2 + 1}",
            issue_lines,
        ),
        (f"issues only, last page {issue_pages}", f"?kind=issue&page={issue_pages}", issue_lines),
    ]
    print(
        f"\nStock card of {warehouse.code} / {item.code}: {pair_lines:,} lines "
        f"({pages:,} pages of {STOCK_CARD_PAGE_SIZE}); 30 days {month_from}..{month_to}: "
        f"{month_lines:,} lines; issues only: {issue_lines:,} lines. Best and median of "
        f"{CARD_RUNS}, after one warm-up request.",
        flush=True,
    )
    results, failures = [], 0
    for label, query, _lines in cases:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url + query)  # warm-up, and the queries it takes
        # Read now: the next request empties the connection's query log.
        captured = list(queries.captured_queries)
        ok = response.status_code == 200 and b'id="stock-card"' in response.content
        runs = []
        for _ in range(CARD_RUNS):
            with timed(None) as t:
                response = client.get(url + query)
            runs.append(t.seconds)
            ok = ok and response.status_code == 200
        best, median = min(runs) * 1000, statistics.median(runs) * 1000
        slowest = sorted(captured, key=lambda q: -float(q["time"]))[:2]
        slowest_ms = ", ".join(f"{float(q['time']) * 1000:.0f} ms" for q in slowest)
        results.append(
            {
                "label": label,
                "query": query,
                "best": best,
                "median": median,
                "queries": len(captured),
                "slowest": slowest,
                "ok": ok,
            }
        )
        print(
            f"  {label:28}: best {best:7.1f} ms, median {median:7.1f} ms, "
            f"{len(captured):2d} queries  "
            f"(slowest: {slowest_ms})" + ("" if ok else f"  <-- HTTP {response.status_code}"),
            flush=True,
        )
        failures += not ok
        if "kind=" in query:
            results[-1]["plans"] = plans = explain_line_queries(captured)
            for name, ms, scans in plans:
                print(f"      {name:24}: {ms:6.1f} ms, {'; '.join(scans)}", flush=True)
    return results, failures, (month_from, month_to, month_lines)


def explain_line_queries(captured):
    """[(what, execution ms, scans of the lines table)] of a request's queries of the ledger
    lines, from EXPLAIN (ANALYZE, BUFFERS) run again on their exact SQL."""
    import json

    from django.db import connection

    names = (("COUNT(", "count"), (" OVER ", "page keys (window)"), ("SUM(", "opening, closing"))
    plans = []
    for query in captured:
        sql = query["sql"]
        if not sql.startswith("SELECT") or '"inventory_stockeventline"' not in sql:
            continue
        name = next((label for marker, label in names if marker in sql), "lines of the page")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            (plan,) = cursor.fetchone()
        if isinstance(plan, str):
            plan = json.loads(plan)
        plans.append((name, plan[0]["Execution Time"], _line_scans(plan[0]["Plan"])))
    return plans


def _line_scans(node):
    """The plan's scans of the lines table, as "Index Only Scan using x (heap fetches n)"."""
    scans = []
    if node.get("Relation Name") == "inventory_stockeventline":
        scan = node["Node Type"]
        if node.get("Index Name"):
            scan += f" using {node['Index Name']}"
        if "Heap Fetches" in node:
            scan += f" (heap fetches {node['Heap Fetches']})"
        scans.append(scan)
    for child in node.get("Plans", ()):
        scans.extend(_line_scans(child))
    return scans


def _local_start(day):
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- main ---------------------------------------------------------------------------------


def _django_setup(url: str) -> None:
    """Django on the benchmark database, with nothing reaching a real broker (any after-commit
    work runs in-process) and the stock card's view able to render without collected static
    files (a fresh checkout: the manifest storage would refuse every {% static %})."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("STATIC_MANIFEST", "False")

    import django

    django.setup()


def main():
    args = parse_args()
    if args.posting_only:
        return main_posting_only(args)
    url, created = prepare_database(DEFAULT_DB)
    _django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    from inventory.models import StockBalance, StockEvent, Warehouse
    from supplycoord.models import Item, Prefecture, Province, Role, User

    safe = str(connection.settings_dict["NAME"])
    print(f"Database: {safe} on {connection.settings_dict['HOST'] or 'localhost'}")
    status, generated = 0, False
    try:
        with timed("migrate"):
            call_command("migrate", verbosity=0, interactive=False)
        if not created and (
            Warehouse.objects.exists()
            or StockEvent.objects.exists()
            or StockBalance.objects.exists()
            or Item.objects.filter(code__startswith=PREFIX).exists()
            or Prefecture.objects.filter(code__startswith=PREFIX).exists()
            or Province.objects.filter(code=PREFIX).exists()
        ):
            usage_error(
                "the database of DATABASE_URL already holds a ledger (or codes starting with "
                f"{PREFIX}); point it at an empty database, or unset DATABASE_URL for a "
                "throwaway one"
            )
        user = User.objects.create_user(
            username=f"{PREFIX.lower()}_office", password="bench-pass-word", role=Role.OFFICE_STAFF
        )
        print(
            f"\nGenerating {args.events:,} events over {args.warehouses} warehouses x "
            f"{args.items} items, {args.days} days ending yesterday",
            flush=True,
        )
        with timed(None) as gen:
            generated = True
            events, lines, steps = generate(args, user)
        print(
            f"  {events:,} events, {lines:,} lines in {gen.seconds:.1f} s, "
            "indexes and VACUUM ANALYZE included",
            flush=True,
        )
        print("Checking the generated ledger", flush=True)
        with timed(None) as chk:
            broken = check_generated()
        print(f"  checks: {chk.seconds:.1f} s", flush=True)
        warehouse, item, pair_lines, total_lines = busiest_pair()
        print(
            f"  busiest pair {warehouse.code} / {item.code}: {pair_lines:,} lines "
            f"({100 * pair_lines / total_lines:.1f} % of {total_lines:,})",
            flush=True,
        )

        post, post_failures = bench_post(args, user)
        drift = bench_drift()
        card, card_failures, month = bench_stock_card(
            user, warehouse, item, pair_lines + count_posted(warehouse, item), args.days
        )

        print("\nSummary")
        print(
            f"  data generation        : {gen.seconds:.1f} s for {events:,} events and "
            f"{lines:,} lines (events {steps['events']:.1f} s, lines {steps['lines']:.1f} s, "
            f"indexes {steps['indexes']:.1f} s, VACUUM ANALYZE {steps['analyze']:.1f} s)"
        )
        print(f"  generated data checks  : {'all hold' if not broken else f'{broken} BROKEN'}")
        posted, seconds, rate, median, p95 = post["single"]
        statements = ", ".join(f"{n} a {kind}" for kind, n in post["statements"].items())
        print(
            f"  post, one client       : p50 {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, "
            f"{rate:,.0f} events/s ({posted} in {seconds:.2f} s); {statements} "
            f"(BEGIN and COMMIT included)  "
            f"p50 target <= {POST_P50_TARGET_MS} ms: {met(median * 1000 <= POST_P50_TARGET_MS)}"
        )
        python_cpu, backend_cpu = post["cpu"]
        if backend_cpu >= 0:
            print(
                f"  CPU per event          : {python_cpu * 1000:.2f} ms Python + "
                f"{backend_cpu * 1000:.2f} ms PostgreSQL backend"
            )
        for run in post.get("concurrent", []):
            if "rate" not in run:
                print(f"  post, {args.clients} clients, {run['label']}: FAILED")
                continue
            target = ""
            if run is post["concurrent"][0]:
                target = f"  target >= {POST_TARGET:,}/s: {met(run['rate'] >= POST_TARGET)}"
            print(
                f"  post, {args.clients} clients, {run['label']}: {run['rate']:,.0f} events/s "
                f"({run['posted']} in {run['seconds']:.2f} s; p50 {run['median'] * 1000:.2f} ms, "
                f"p95 {run['p95'] * 1000:.2f} ms){target}"
            )
        if "batch" in post:
            imported, seconds, rate = post["batch"]
            print(
                f"  stock_events_import    : {rate:,.0f} events/s ({imported} in {seconds:.2f} s)"
            )
        print(
            f"  drift check (ledger_verify), best : {min(drift['runs']):.2f} s  "
            f"-> {'DRIFT' if drift['drift'] else 'no drift'}; planted drift "
            f"{'found' if drift['planted_found'] else 'NOT FOUND'}"
        )
        for row in card:
            flag = "" if row["best"] < CARD_TARGET_MS else "   over target"
            print(
                f"  stock card {row['label']:28}: best {row['best']:6.1f} ms, median "
                f"{row['median']:6.1f} ms, {row['queries']} queries{flag}"
            )
        print(f"  (stock card target < {CARD_TARGET_MS} ms)")
        issue_scans = {
            scan for row in card for _name, _ms, scans in row.get("plans", ()) for scan in scans
        }
        print(f"  issues-only card, scans of the lines: {'; '.join(sorted(issue_scans))}")
        if broken or post_failures or drift["drift"] or not drift["planted_found"] or card_failures:
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


def main_posting_only(args):
    """--posting-only: the posting steps alone, on the ledger an earlier run generated and
    kept (its events, the ones posted since included), so that code can be compared before
    and after a change back to back without generating a million events each time. The
    database is left as it is (the posted events stay in it)."""
    url, created = prepare_database(DEFAULT_DB, keep_existing=True)
    _django_setup(url)
    from django.core.management import call_command
    from django.db import connection
    from django.db.utils import DatabaseError

    from inventory.models import StockEvent, Warehouse
    from supplycoord.models import User

    safe = str(connection.settings_dict["NAME"])
    try:
        user = User.objects.filter(username=f"{PREFIX.lower()}_office").first()
        ready = user is not None and Warehouse.objects.filter(code__startswith=PREFIX).exists()
    except DatabaseError:
        ready = False
    if not ready:
        connection.close()
        if created:  # nothing was there: leave nothing behind
            drop_database(url)
        usage_error(
            f"{safe} holds no benchmark ledger: run bench/ledger.py --keep first "
            "(or point DATABASE_URL at the database such a run filled)"
        )
    # The kept ledger may predate the code's latest migrations.
    call_command("migrate", verbosity=0, interactive=False)
    print(f"Database: {safe}, {StockEvent.objects.count():,} events (reused; posting only)")
    try:
        post, failures = bench_post(args, user)
    finally:
        connection.close()
    posted, seconds, rate, median, p95 = post["single"]
    print("\nSummary (posting only)")
    print(
        f"  post, one client       : p50 {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, "
        f"{rate:,.0f} events/s; "
        + ", ".join(f"{n} statements a {kind}" for kind, n in post["statements"].items())
    )
    python_cpu, backend_cpu = post["cpu"]
    if backend_cpu >= 0:
        print(
            f"  CPU per event          : {python_cpu * 1000:.2f} ms Python + "
            f"{backend_cpu * 1000:.2f} ms PostgreSQL backend"
        )
    for run in post.get("concurrent", []):
        if "rate" in run:
            print(
                f"  post, {args.clients} clients, {run['label']}: {run['rate']:,.0f} events/s "
                f"(p50 {run['median'] * 1000:.2f} ms)"
            )
    return 1 if failures else 0


def met(ok):
    return "met" if ok else "OVER TARGET"


def count_posted(warehouse, item):
    """Lines the posting step added to the pair (they are on its card too)."""
    from inventory.models import StockEventLine

    return StockEventLine.objects.filter(
        warehouse=warehouse, item=item, event__source_document__startswith="BENCH-"
    ).count()


if __name__ == "__main__":
    sys.exit(main())
