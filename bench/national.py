"""The national bench data: one province of 340 prefectures, as bench/pages.py serves it.

    from national import Plan, generate, holds_bench_data, facts   (bench/ on sys.path)

At the defaults (`Plan()`): 340 prefectures with six-digit GB-style codes (900100, 900200, …,
990 at most) under one province, 60 key items, 120 days of daily figures ending yesterday, the
snapshots of the last 31 days built through the real service, 1,000,000 dispatch batch lines
in 40,000 batches (about 6,880 of them on the road past their expected arrival on the last
day), a 1,000,000-event reserve ledger in 20 warehouses, 680 producers with their lines,
licences, 30 days of production reports and problems, demand norms and protected staff, and
200 background exports. One user per role, all with the password PASSWORD.

Everything is set-based SQL (`INSERT ... SELECT generate_series`, every attribute a hash of
its row number, so every run gives the same rows), loaded into empty tables whose secondary
indexes are dropped and rebuilt (`_common.without_indexes`). The daily figures are
bench/snapshot.py's statement and the ledger bench/ledger.py's statements, imported, not
copied. Only the snapshots go through the product's code: `manage.py build_snapshots`, which
writes rows, rollups, reporting status and reconciliation cases, then (Celery runs eagerly)
the spot checks and alerts of each date.

It expects an empty, migrated database with Django set up (DJANGO_SETTINGS_MODULE, no
REDIS_URL, CELERY_TASK_ALWAYS_EAGER=True), as the benchmarks here arrange.
"""

import dataclasses
import datetime as dt
import json
import math
import time

from _common import timed, without_indexes
from ledger import BALANCES_SQL, EVENTS_SQL, SEQUENCES_SQL
from ledger import LINES_SQL as LEDGER_LINES_SQL
from snapshot import FIGURES_SQL

PREFIX = "BN"  # item and warehouse codes: BN-0001, BN001
PROVINCE_CODE = "900000"
PASSWORD = "bench-pass-word"
# One user per role that reads pages (bench/pages.py signs in as each).
USERS = {
    "leadership": "bn_leader",
    "office": "bn_office",
    "officer": "bn_officer",  # of the first prefecture
    "reporter": "bn_reporter",  # of the first producer
}
WAREHOUSES = 20  # BN001-BN002 provincial reserves, BN003-BN006 producer-held, then prefectures
LINES_PER_BATCH = 25
# Of the batches dispatched before the last three days, this share (per mille) is still on the
# road (dispatched or partly received) on the last day: past its expected arrival, so overdue.
# 172 ‰ of 40,000 batches is the ~6,880 overdue batches the issue (13) measured the overview with.
OVERDUE_PER_MILLE = 172
LEDGER_DAYS = 365
INFO_TABLE = "bench_national_info"  # what was generated, for --reuse


@dataclasses.dataclass
class Plan:
    prefectures: int = 340
    items: int = 60
    days: int = 120
    built_dates: int = 31
    batch_lines: int = 1_000_000
    ledger_events: int = 1_000_000
    producers_per_prefecture: int = 2

    @property
    def batches(self) -> int:
        return max(10, self.batch_lines // LINES_PER_BATCH)

    def problems(self) -> list[str]:
        """What is wrong with this plan, in words; [] when it can be generated."""
        wrong = []
        if self.prefectures < 20 or self.prefectures > 990:
            wrong.append("--prefectures must be 20 to 990 (six-digit codes 90xx00 to 99xx00)")
        if self.items < 3:
            wrong.append("--items must be at least 3")
        if self.days < 8:
            wrong.append("--days must be at least 8")
        if not 1 <= self.built_dates <= self.days - 7:
            wrong.append("--built-dates must be 1 to --days - 7 (each build reads 7 days back)")
        if self.batch_lines < 10 * LINES_PER_BATCH:
            wrong.append(f"--batch-lines must be at least {10 * LINES_PER_BATCH}")
        if self.ledger_events < 10 * self.ledger_openings:
            wrong.append(f"--ledger-events must be at least {10 * self.ledger_openings}")
        return wrong

    @property
    def ledger_openings(self) -> int:
        # bench/ledger.py: per warehouse, one opening receipt per group of 3 items.
        return WAREHOUSES * math.ceil(self.items / 3)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


# --- reference data -------------------------------------------------------------------------

# GB/T 2260 style: six digits ending in 00. One province has at most 99 prefecture numbers, so
# the 340 run over the first two digits 90-93 (the province row is one: 900000).
PREFECTURES_SQL = """
INSERT INTO supplycoord_prefecture
    (province_id, code, is_gb_code, name_zh, name_en, active, priority_weight)
SELECT %(province)s,
       (90 + (g - 1) / 99)::text || lpad(((g - 1) %% 99 + 1)::text, 2, '0') || '00', true,
       '基准市' || g, 'Bench city ' || g, true, CASE WHEN g %% 10 = 0 THEN 2 ELSE 1 END
FROM generate_series(1, %(prefectures)s) AS g
ORDER BY g
"""

COUNTIES_SQL = """
INSERT INTO supplycoord_county (prefecture_id, code, name_zh, name_en, active)
SELECT p.id, left(p.code, 4) || lpad(c::text, 2, '0'), '基准县' || p.r || '-' || c,
       'Bench county ' || p.r || '-' || c, true
FROM (SELECT id, code, row_number() OVER (ORDER BY code) AS r FROM supplycoord_prefecture) AS p
CROSS JOIN generate_series(1, 3) AS c
WHERE p.r <= 20
ORDER BY p.r, c
"""

# Units, categories and pack sizes vary as in the real catalogue; every 10th item has its own
# thresholds (2 and 5 days), every 10th+5 only a red one (2.5), as in bench/snapshot.py.
ITEMS_SQL = """
INSERT INTO supplycoord_item
    (code, name_zh, name_en, short_name_zh, short_name_en, category, unit, specification,
     pack_size, is_key, active, red_days, amber_days, sort_order)
SELECT %(prefix)s || '-' || lpad(g::text, 4, '0'), '基准物资' || g || '号', 'Bench item ' || g,
       '物资' || g, 'Item ' || g,
       (ARRAY['protective', 'disinfection', 'devices', 'drugs_tests'])[1 + g %% 4],
       (ARRAY['piece', 'set', 'box', 'bottle', 'pair', 'test'])[1 + g %% 6],
       'GB 19083-2010 规格 ' || g, (ARRAY[1, 10, 20, 50])[1 + g %% 4], true, true,
       CASE g %% 10 WHEN 0 THEN 2 WHEN 5 THEN 2.5 END, CASE g %% 10 WHEN 0 THEN 5 END, 10 * g
FROM generate_series(1, %(items)s) AS g
"""

WAREHOUSES_SQL = """
INSERT INTO inventory_warehouse
    (code, name_zh, name_en, kind, prefecture_id, address, manager, phone, active)
SELECT %(prefix)s || lpad(g::text, 3, '0'), '基准库' || g, 'Bench warehouse ' || g,
       CASE WHEN g <= 2 THEN 'provincial_reserve' WHEN g <= 6 THEN 'producer_held'
            ELSE 'prefecture' END,
       p.id, '基准路' || g || '号', '', '', true
FROM generate_series(1, %(warehouses)s) AS g
LEFT JOIN (SELECT id, row_number() OVER (ORDER BY code) AS r FROM supplycoord_prefecture) AS p
       ON g > 6 AND p.r = g - 6
ORDER BY g
"""

STAFF_CATEGORIES = [
    ("fever_clinic", "发热门诊医务人员", "Fever clinic staff"),
    ("isolation_ward", "隔离病区医务人员", "Isolation ward staff"),
    ("general_medical", "其他医疗机构医务人员", "General medical staff"),
    ("community", "社区(村)防控工作人员", "Community prevention workers"),
    ("port_checkpoint", "口岸及交通卡口检疫人员", "Port and checkpoint staff"),
]

PROTECTED_STAFF_SQL = """
INSERT INTO supplycoord_protectedstaff (prefecture_id, category_id, count, updated_at)
SELECT p.id, c.id, 50 + (hashint8extended(p.id * 100 + c.id, 41) & 2147483647) %% 2000, now()
FROM supplycoord_prefecture p CROSS JOIN supplycoord_staffcategory c
ORDER BY p.code, c.sort_order
"""

# Norms for the protective items (every 4th), each staff category, from the first day.
NORMS_SQL = """
INSERT INTO supplycoord_norm
    (staff_category_id, item_id, units_per_person_per_day, per_shift, shifts_per_day,
     effective_from, note, created_by_id, created_at)
SELECT c.id, i.id, 0.5 * (1 + (hashint8extended(c.id * 1000 + i.id, 42) & 2147483647) %% 6),
       NULL, NULL, %(start)s, '', %(user)s, now()
FROM supplycoord_staffcategory c CROSS JOIN supplycoord_item i
WHERE i.category = 'protective'
"""

DESTINATIONS_SQL = """
INSERT INTO allocation_destination
    (kind, name_zh, name_en, prefecture_id, county_id, contact, phone, confirming_officer_id,
     active)
SELECT 'prefecture', p.name_zh || '卫生健康委员会', p.name_en || ' health commission', p.id,
       NULL::bigint, '', '', NULL::bigint, true
FROM supplycoord_prefecture p
UNION ALL
SELECT 'county', c.name_zh || '人民医院', c.name_en || ' people''s hospital', c.prefecture_id,
       c.id, '', '', NULL, true
FROM supplycoord_county c
UNION ALL
SELECT k.kind, k.zh || g, k.en || ' ' || g, NULL, NULL, '', '', NULL, true
FROM (VALUES ('provincial_institution', '省级基准医院', 'Provincial bench hospital', 20),
             ('aid_team', '援助医疗队', 'Bench aid team', 10),
             ('other_province', '外省基准市', 'Other bench province', 10)) AS k(kind, zh, en, n)
CROSS JOIN LATERAL generate_series(1, k.n) AS g
"""

# --- dispatch batches -----------------------------------------------------------------------
#
# Batches b = 1..B, numbered <year>-<b>, created in b order over the LEDGER_DAYS days ending
# on the last day, 08:00-18:00 local time. Status, as of the last day: in the last 3 days 30 %
# drafts, 20 % approved and 50 % dispatched; before that 2 % cancelled (half of them after
# approval), OVERDUE_PER_MILLE on the road (two thirds dispatched, one third partly received,
# all past their expected arrival 1-3 days after dispatch), the rest received (about 88 %)
# or closed. Destinations: 70 % prefectures, 10 % counties, 10 % provincial institutions,
# 5 % aid teams, 5 % other provinces. Source: a provincial reserve or producer-held warehouse.

BATCHES_SQL = """
WITH de AS (
    SELECT id, kind, row_number() OVER (PARTITION BY kind ORDER BY id) AS r
    FROM allocation_destination
), wh AS (
    SELECT id, row_number() OVER (ORDER BY code) AS r FROM inventory_warehouse
    WHERE kind IN ('provincial_reserve', 'producer_held')
)
INSERT INTO allocation_dispatchbatch (
    number, year, source_warehouse_id, destination_id, priority, reason,
    planned_dispatch_date, expected_arrival, carrier, vehicle, note, status, version,
    created_by_id, created_at, approved_by_id, approved_at, dispatched_by_id, dispatched_at,
    received_by_id, received_at, closed_by_id, closed_at, issue_event_id, proposal_id)
SELECT extract(year FROM t.local_at)::int || '-' || lpad(g.b::text, 6, '0'),
       extract(year FROM t.local_at)::int, wh.id, de.id,
       (ARRAY['hard_hit_area', 'key_unit', 'front_line_staff', 'other'])[1 + x.h %% 4],
       '基准调拨第' || g.b || '批', t.local_at::date, t.local_at::date + (1 + x.h2 %% 3)::int,
       '基准物流', '甘A' || lpad((x.h %% 100000)::text, 5, '0'), '', s.status,
       CASE s.status WHEN 'draft' THEN 1 WHEN 'approved' THEN 2 WHEN 'cancelled' THEN 2
                     WHEN 'dispatched' THEN 3 WHEN 'closed' THEN 5 ELSE 4 END,
       %(office)s, t.at - interval '2 hours',
       CASE WHEN s.approved THEN %(leader)s END,
       CASE WHEN s.approved THEN t.at - interval '1 hour' END,
       CASE WHEN s.shipped THEN %(office)s END, CASE WHEN s.shipped THEN t.at END,
       CASE WHEN s.status IN ('received', 'closed') THEN %(officer)s END,
       CASE WHEN s.status IN ('received', 'closed')
            THEN t.at + (1 + x.h2 %% 3) * interval '1 day' END,
       CASE WHEN s.status = 'closed' THEN %(office)s END,
       CASE WHEN s.status = 'closed' THEN t.at + (2 + x.h2 %% 3) * interval '1 day' END,
       NULL, NULL
FROM generate_series(1, %(batches)s) AS g(b)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.b, 31) & 2147483647 AS h,
           hashint8extended(g.b, 32) & 2147483647 AS h2,
           hashint8extended(g.b, 33) & 2147483647 AS h3,
           hashint8extended(g.b, 34) & 2147483647 AS h4,
           (g.b - 1)::float8 * %(span)s / %(batches)s AS pos
) AS x
CROSS JOIN LATERAL (
    SELECT date_trunc('second', %(start)s::date + floor(x.pos)::int + time '08:00'
                      + (x.pos - floor(x.pos)) * interval '10 hours') AS local_at
) AS t0
CROSS JOIN LATERAL (SELECT t0.local_at, t0.local_at AT TIME ZONE %(tz)s AS at) AS t
CROSS JOIN LATERAL (
    SELECT CASE WHEN floor(x.pos) >= %(span)s - 3 THEN
                     CASE WHEN x.h3 %% 10 < 3 THEN 'draft' WHEN x.h3 %% 10 < 5 THEN 'approved'
                          ELSE 'dispatched' END
                WHEN x.h3 %% 1000 < 20 THEN 'cancelled'
                WHEN x.h3 %% 1000 < 20 + %(overdue)s THEN
                     CASE WHEN x.h %% 3 = 0 THEN 'partly_received' ELSE 'dispatched' END
                WHEN x.h3 %% 1000 < 900 THEN 'received'
                ELSE 'closed' END AS status
) AS s0
CROSS JOIN LATERAL (
    SELECT s0.status,
           s0.status NOT IN ('draft', 'cancelled') OR (s0.status = 'cancelled' AND x.h %% 2 = 0)
               AS approved,
           s0.status IN ('dispatched', 'partly_received', 'received', 'closed') AS shipped,
           CASE WHEN x.h2 %% 100 < 70 THEN 'prefecture' WHEN x.h2 %% 100 < 80 THEN 'county'
                WHEN x.h2 %% 100 < 90 THEN 'provincial_institution'
                WHEN x.h2 %% 100 < 95 THEN 'aid_team' ELSE 'other_province' END AS kind
) AS s
JOIN de ON de.kind = s.kind AND de.r = 1 + x.h4 %% CASE s.kind
        WHEN 'prefecture' THEN %(n_prefecture)s WHEN 'county' THEN %(n_county)s
        WHEN 'provincial_institution' THEN %(n_provincial_institution)s
        WHEN 'aid_team' THEN %(n_aid_team)s ELSE %(n_other_province)s END
JOIN wh ON wh.r = 1 + x.h %% %(source_warehouses)s
ORDER BY g.b
"""

# Lines n = 1..L spread evenly over the batches, consecutive items within a batch. Received
# quantity: 0 until dispatched and when dispatched; about half the lines of a partly received
# batch in full; the shipped quantity when received, every 20th line 1-5 short; closed
# batches every 5th line short.
BATCH_LINES_SQL = """
WITH b AS (
    SELECT id, status, row_number() OVER (ORDER BY id) AS r FROM allocation_dispatchbatch
), it AS (
    SELECT id, row_number() OVER (ORDER BY code) AS i FROM supplycoord_item
)
INSERT INTO allocation_dispatchbatchline (
    batch_id, item_id, quantity, channel, donation_id, received_quantity, discrepancy_note)
SELECT b.id, it.id, q.quantity,
       (ARRAY['own_production', 'purchase', 'national_allocation', 'reserve'])[1 + x.h %% 4],
       NULL,
       CASE b.status
            WHEN 'partly_received' THEN CASE WHEN x.h2 %% 2 = 0 THEN q.quantity ELSE 0 END
            WHEN 'received' THEN
                 CASE WHEN x.h2 %% 20 = 0 THEN q.quantity - least(q.quantity - 1, 1 + x.h %% 5)
                      ELSE q.quantity END
            WHEN 'closed' THEN
                 CASE WHEN x.h2 %% 5 = 0 THEN q.quantity - least(q.quantity - 1, 1 + x.h %% 5)
                      ELSE q.quantity END
            ELSE 0
       END,
       ''
FROM generate_series(1, %(lines)s) AS g(n)
CROSS JOIN LATERAL (
    SELECT hashint8extended(g.n, 35) & 2147483647 AS h,
           hashint8extended(g.n, 36) & 2147483647 AS h2,
           ((g.n - 1)::bigint * %(batches)s / %(lines)s) + 1 AS br
) AS x
CROSS JOIN LATERAL (SELECT 10 + x.h %% 5000 AS quantity) AS q
JOIN b ON b.r = x.br
JOIN it ON it.i = 1 + (x.br * 7 + g.n) %% %(items)s
ORDER BY g.n
"""

# The receipts of the partly received batches (so their in-transit figure is what is still on
# the road). Received and closed batches carry their received quantities on the lines only.
RECEIPTS_SQL = """
INSERT INTO allocation_batchreceipt
    (batch_id, line_id, quantity, received_at, received_by_id, recorded_at, note)
SELECT b.id, l.id, l.received_quantity, least(b.dispatched_at + interval '1 day', now()),
       %(officer)s, least(b.dispatched_at + interval '1 day', now()), ''
FROM allocation_dispatchbatchline l JOIN allocation_dispatchbatch b ON b.id = l.batch_id
WHERE b.status = 'partly_received' AND l.received_quantity > 0
ORDER BY l.id
"""

TRANSITIONS_SQL = """
INSERT INTO allocation_batchtransition (batch_id, from_status, to_status, by_id, at, note)
SELECT batch_id, from_status, to_status, by_id, at, note FROM (
    SELECT id AS batch_id, '' AS from_status, 'draft' AS to_status, created_by_id AS by_id,
           created_at AS at, '' AS note
    FROM allocation_dispatchbatch
    UNION ALL
    SELECT id, 'draft', 'approved', approved_by_id, approved_at, ''
    FROM allocation_dispatchbatch WHERE approved_at IS NOT NULL
    UNION ALL
    SELECT id, 'approved', 'dispatched', dispatched_by_id, dispatched_at, ''
    FROM allocation_dispatchbatch WHERE dispatched_at IS NOT NULL
    UNION ALL
    SELECT id, 'dispatched', 'partly_received', %(officer)s,
           least(dispatched_at + interval '1 day', now()), ''
    FROM allocation_dispatchbatch WHERE status = 'partly_received'
    UNION ALL
    SELECT id, 'dispatched', 'received', received_by_id, received_at, ''
    FROM allocation_dispatchbatch WHERE received_at IS NOT NULL
    UNION ALL
    SELECT id, 'received', 'closed', closed_by_id, closed_at, ''
    FROM allocation_dispatchbatch WHERE closed_at IS NOT NULL
    UNION ALL
    SELECT id, CASE WHEN approved_at IS NULL THEN 'draft' ELSE 'approved' END, 'cancelled',
           created_by_id, created_at + interval '3 hours', '需求已由其他渠道满足'
    FROM allocation_dispatchbatch WHERE status = 'cancelled'
) AS t
ORDER BY at, batch_id
"""

# --- production -------------------------------------------------------------------------------
#
# producers_per_prefecture producers per prefecture (the first four hold reserve for the
# province in BN003-BN006), two lines each (70 % commissioned, then building, planned,
# stopped), one or two licences (some expired, some expiring within two weeks), three
# problems each (open, in progress, resolved), and daily reports of the last 30 days for each
# commissioned line.

PRODUCERS_SQL = """
INSERT INTO production_producer
    (name, credit_code, prefecture_id, county_id, address, contact, phone, product_categories,
     status, resumption_date, national_whitelist_since, provincial_whitelist_since,
     held_reserve_warehouse_id, active)
SELECT '基准医疗用品' || n || '有限公司', '91' || lpad(n::text, 16, '0'), p.id, NULL,
       '基准工业园' || n || '号', '联系人' || n, '0931-' || lpad(n::text, 7, '0'),
       jsonb_build_array((ARRAY['protective', 'disinfection', 'devices', 'drugs_tests'])[1 + n %% 4]),
       (ARRAY['producing', 'producing', 'producing', 'converting', 'building_lines',
              'resumed', 'stopped'])[1 + (hashint8extended(n, 51) & 2147483647) %% 7],
       %(start)s::date + (n %% 20), CASE WHEN n %% 7 = 0 THEN %(start)s::date END,
       CASE WHEN n %% 3 = 0 THEN %(start)s::date END, w.id, true
FROM generate_series(1, %(producers)s) AS n
JOIN (SELECT id, row_number() OVER (ORDER BY code) AS r FROM supplycoord_prefecture) AS p
  ON p.r = 1 + (n - 1) / %(per_prefecture)s
LEFT JOIN (SELECT id, row_number() OVER (ORDER BY code) AS r FROM inventory_warehouse
           WHERE kind = 'producer_held') AS w ON w.r = n
ORDER BY n
"""

PRODUCTION_LINES_SQL = """
INSERT INTO production_productionline
    (producer_id, item_id, daily_capacity, status, planned_commissioning, actual_commissioning)
SELECT pr.id, it.id, 1000 * (1 + x.h %% 50), s.status,
       %(start)s::date - 30 + (x.h %% 60)::int,
       CASE WHEN s.status IN ('commissioned', 'stopped')
            THEN %(start)s::date - 30 + (x.h %% 60)::int END
FROM (SELECT id, row_number() OVER (ORDER BY id) AS r FROM production_producer) AS pr
CROSS JOIN generate_series(0, 1) AS j
CROSS JOIN LATERAL (SELECT hashint8extended(pr.r * 2 + j, 52) & 2147483647 AS h) AS x
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.h %% 10 < 7 THEN 'commissioned' WHEN x.h %% 10 < 8 THEN 'building'
                WHEN x.h %% 10 < 9 THEN 'planned' ELSE 'stopped' END AS status
) AS s
JOIN (SELECT id, row_number() OVER (ORDER BY code) AS i FROM supplycoord_item) AS it
  ON it.i = 1 + (pr.r * 7 + j) %% %(items)s
ORDER BY pr.r, j
"""

LICENCES_SQL = """
INSERT INTO production_licence (producer_id, kind, number, issuer, issued, expires)
SELECT pr.id, k.kind, upper(left(k.kind, 2)) || '-' || lpad(pr.id::text, 6, '0'),
       '基准省药品监督管理局', %(end)s::date - 400,
       %(end)s::date - 30 + ((hashint8extended(pr.id * 2 + k.j, 53) & 2147483647) %% 400)::int
FROM production_producer pr
CROSS JOIN (VALUES (0, 'production_licence'), (1, 'medical_device_registration')) AS k(j, kind)
WHERE k.j = 0 OR pr.id %% 2 = 0
ORDER BY pr.id, k.j
"""

PROBLEMS_SQL = """
INSERT INTO production_problem
    (producer_id, category, description, reported_by_id, reported_at, owner_id, status,
     resolution, resolved_by_id, resolved_at)
SELECT pr.id,
       (ARRAY['raw_materials', 'labour', 'logistics', 'licence', 'funding', 'equipment',
              'utilities', 'other'])[1 + x.h %% 8],
       '基准问题：熔喷布供应不足，需协调 ' || pr.id || '-' || j, %(reporter)s, x.at,
       CASE WHEN s.status <> 'open' THEN %(office)s END, s.status,
       CASE WHEN s.status = 'resolved' THEN '已协调解决' ELSE '' END,
       CASE WHEN s.status = 'resolved' THEN %(office)s END,
       CASE WHEN s.status = 'resolved'
            THEN least(x.at + (1 + x.h %% 5) * interval '1 day', now()) END
FROM production_producer pr
CROSS JOIN generate_series(1, 3) AS j
CROSS JOIN LATERAL (
    SELECT hashint8extended(pr.id * 3 + j, 54) & 2147483647 AS h,
           (%(end)s::date - ((hashint8extended(pr.id * 3 + j, 55) & 2147483647) %% 60)::int
            + time '10:00') AT TIME ZONE %(tz)s AS at
) AS x
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.h %% 10 < 3 THEN 'open' WHEN x.h %% 10 < 5 THEN 'in_progress'
                ELSE 'resolved' END AS status
) AS s
ORDER BY x.at
"""

PRODUCTION_REPORTS_SQL = """
INSERT INTO production_productionreport
    (producer_id, item_id, date, output, to_reserve, to_prefectures, to_market, factory_stock,
     held_for_province, raw_material_days, reserve_receipt_id, submitted_by_id,
     first_submitted_at, submitted_at, correction_reason)
SELECT l.producer_id, l.item_id, %(end)s::date - d, o.output, 0, o.output * 6 / 10,
       o.output * 2 / 10, 2 * o.output, o.output, 1 + o.h %% 30, NULL, %(reporter)s,
       o.at, o.at, ''
FROM production_productionline l
CROSS JOIN generate_series(0, 29) AS d
CROSS JOIN LATERAL (
    SELECT l.daily_capacity * (50 + (hashint8extended(l.id * 31 + d, 56) & 2147483647) %% 51)
               / 100 AS output,
           hashint8extended(l.id * 31 + d, 57) & 2147483647 AS h,
           ((%(end)s::date - d) + time '17:00') AT TIME ZONE %(tz)s AS at
) AS o
WHERE l.status = 'commissioned'
ORDER BY d DESC, l.id
"""

# Background exports of the last days, all expired or failed (no files): the exports list.
EXPORT_JOBS_SQL = """
INSERT INTO supplycoord_exportjob
    (requested_by_id, exporter, title, params, language, file_format, filename, scope, status,
     done, total, row_count, file, created_at, started_at, finished_at, expires_at, attempts,
     error)
SELECT u.id, 'allocation.exports.AllocationLedgerExport', '调拨台账',
       jsonb_build_object('status', 'received'), 'zh-hans', 'xlsx', '调拨台账-' || g || '.xlsx',
       u.scope, CASE WHEN g %% 10 = 0 THEN 'failed' ELSE 'expired' END, 1000 * g, 1000 * g,
       CASE WHEN g %% 10 = 0 THEN NULL ELSE 1000 * g END, '', t.at, t.at, t.at + interval '3 minutes',
       t.at + interval '24 hours', 1, CASE WHEN g %% 10 = 0 THEN 'MemoryError' ELSE '' END
FROM generate_series(1, %(jobs)s) AS g
CROSS JOIN LATERAL (
    SELECT (%(end)s::date - g / 20 + time '09:00' + (g %% 20) * interval '20 minutes')
               AT TIME ZONE %(tz)s AS at
) AS t
JOIN (VALUES (%(office)s::bigint, %(office_scope)s), (%(leader)s::bigint, %(leader_scope)s))
     AS u(id, scope) ON u.id = CASE WHEN g %% 3 = 0 THEN %(leader)s ELSE %(office)s END
ORDER BY t.at
"""


# --- generation -------------------------------------------------------------------------------


def holds_bench_data() -> dict | None:
    """What an earlier generation recorded ({"plan": ..., "end": ..., "seconds": ...}), or None
    when this database holds no national bench data."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [INFO_TABLE])
        if cursor.fetchone()[0] is None:
            return None
        cursor.execute(f"SELECT value FROM {INFO_TABLE} WHERE key = 'generated'")
        row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def is_empty() -> bool:
    """No prefectures, items, users, figures, warehouses or batches: safe to generate into."""
    from allocation.models import DispatchBatch
    from inventory.models import DailyFigure, Warehouse
    from supplycoord.models import Item, Prefecture, User

    return not any(
        model.objects.exists()
        for model in (Prefecture, Item, User, DailyFigure, Warehouse, DispatchBatch)
    )


def generate(plan: Plan, *, end: dt.date) -> dict:
    """Write the whole data set for the days ending `end`, then build the snapshots of the last
    `plan.built_dates` days. Returns {"seconds": {step: s}, "counts": {table: rows}}."""
    from django.conf import settings
    from django.db import connection

    from allocation.models import DispatchBatch, DispatchBatchLine
    from inventory.models import DailyFigure, StockEvent, StockEventLine
    from supplycoord.models import Province, StaffCategory
    from supplycoord.permissions import access_scope

    seconds, counts = {}, {}
    tz = settings.TIME_ZONE
    start = end - dt.timedelta(days=plan.days - 1)
    started = time.perf_counter()

    with timed("reference data, users, producers, demand norms") as t:
        province = Province.objects.create(
            code=PROVINCE_CODE, name_zh="全国基准省", name_en="National bench province"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                PREFECTURES_SQL, {"province": province.pk, "prefectures": plan.prefectures}
            )
            cursor.execute(COUNTIES_SQL)
            cursor.execute(ITEMS_SQL, {"prefix": PREFIX, "items": plan.items})
            cursor.execute(WAREHOUSES_SQL, {"prefix": PREFIX, "warehouses": WAREHOUSES})
        users = _users()
        StaffCategory.objects.bulk_create(
            StaffCategory(code=code, name_zh=zh, name_en=en, sort_order=10 * n)
            for n, (code, zh, en) in enumerate(STAFF_CATEGORIES, start=1)
        )
        ids = {role: user.pk for role, user in users.items()}
        with connection.cursor() as cursor:
            cursor.execute(PROTECTED_STAFF_SQL, {})
            cursor.execute(NORMS_SQL, {"start": start, "user": ids["office"]})
            cursor.execute(
                PRODUCERS_SQL,
                {
                    "producers": plan.prefectures * plan.producers_per_prefecture,
                    "per_prefecture": plan.producers_per_prefecture,
                    "start": start,
                },
            )
            cursor.execute(PRODUCTION_LINES_SQL, {"start": start, "items": plan.items})
            cursor.execute(LICENCES_SQL, {"end": end})
            cursor.execute(
                PROBLEMS_SQL,
                {"end": end, "tz": tz, "reporter": ids["reporter"], "office": ids["office"]},
            )
            cursor.execute(
                PRODUCTION_REPORTS_SQL, {"end": end, "tz": tz, "reporter": ids["reporter"]}
            )
            counts["production reports"] = cursor.rowcount
            # The reporter reports for the first producer.
            cursor.execute(
                "INSERT INTO production_producer_reporters (producer_id, user_id) "
                "SELECT min(id), %s FROM production_producer",
                [ids["reporter"]],
            )
            cursor.execute(
                EXPORT_JOBS_SQL,
                {
                    "jobs": 200,
                    "end": end,
                    "tz": tz,
                    "office": ids["office"],
                    "leader": ids["leadership"],
                    "office_scope": access_scope(users["office"]),
                    "leader_scope": access_scope(users["leadership"]),
                },
            )
    seconds["reference"] = t.seconds

    with connection.cursor() as cursor:
        # Sorts and index builds in memory (this session only).
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("SET maintenance_work_mem = '512MB'")

        with (
            timed("daily figures (bench/snapshot.py's INSERT ... SELECT)") as t,
            without_indexes(cursor, DailyFigure._meta.db_table),
        ):
            cursor.execute(
                FIGURES_SQL,
                {
                    "start": start,
                    "days": plan.days,
                    "user": ids["office"],
                    "cutoff": settings.SUPPLYCOORD["CUTOFF_TIME"],
                    "tz": tz,
                    # Every prefecture and item of this database is the bench's.
                    "prefix": "%",
                },
            )
            counts["daily figures"] = cursor.rowcount
        seconds["daily figures"] = t.seconds

        with timed("reserve ledger (bench/ledger.py's statements)") as t:
            ledger = {
                "warehouses": WAREHOUSES,
                "items": plan.items,
                "events": plan.ledger_events,
                "days": LEDGER_DAYS,
                "groups": math.ceil(plan.items / 3),
                "openings": plan.ledger_openings,
                "start": end - dt.timedelta(days=LEDGER_DAYS - 1),
                "tz": tz,
                "user": ids["office"],
                "prefix": f"{PREFIX}%",
            }
            events_table, lines_table = StockEvent._meta.db_table, StockEventLine._meta.db_table
            with without_indexes(cursor, events_table), without_indexes(cursor, lines_table):
                cursor.execute(EVENTS_SQL, ledger)
                counts["stock events"] = cursor.rowcount
                cursor.execute(LEDGER_LINES_SQL, ledger)
                counts["stock event lines"] = cursor.rowcount
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                f"(SELECT max(id) FROM {events_table}))",
                [events_table],
            )
            cursor.execute(BALANCES_SQL)
            cursor.execute(SEQUENCES_SQL)
        seconds["ledger"] = t.seconds

        with timed("destinations, dispatch batches, lines, receipts, transitions") as t:
            cursor.execute(DESTINATIONS_SQL)
            cursor.execute("SELECT kind, count(*) FROM allocation_destination GROUP BY kind")
            per_kind = {f"n_{kind}": n for kind, n in cursor.fetchall()}
            cursor.execute(
                "SELECT count(*) FROM inventory_warehouse "
                "WHERE kind IN ('provincial_reserve', 'producer_held')"
            )
            (sources,) = cursor.fetchone()
            batch_params = {
                "batches": plan.batches,
                "lines": plan.batch_lines,
                "items": plan.items,
                "span": LEDGER_DAYS,
                "start": end - dt.timedelta(days=LEDGER_DAYS - 1),
                "tz": tz,
                "overdue": OVERDUE_PER_MILLE,
                "office": ids["office"],
                "leader": ids["leadership"],
                "officer": ids["officer"],
                "source_warehouses": sources,
                **per_kind,
            }
            with without_indexes(cursor, DispatchBatch._meta.db_table):
                cursor.execute(BATCHES_SQL, batch_params)
                counts["dispatch batches"] = cursor.rowcount
            with without_indexes(cursor, DispatchBatchLine._meta.db_table):
                cursor.execute(BATCH_LINES_SQL, batch_params)
                counts["dispatch batch lines"] = cursor.rowcount
            cursor.execute(RECEIPTS_SQL, batch_params)
            cursor.execute(TRANSITIONS_SQL, batch_params)
            # New batches made on the pages are numbered after the generated ones.
            cursor.execute(
                "INSERT INTO allocation_batchyearsequence (year, last_number) "
                "SELECT year, %s FROM allocation_dispatchbatch GROUP BY year",
                [plan.batches],
            )
        seconds["batches"] = t.seconds

        cursor.execute("RESET work_mem")
        cursor.execute("RESET maintenance_work_mem")
        # VACUUM too, not only ANALYZE: the visibility map, as autovacuum would have set it on
        # a live database, so index-only scans are possible (bench/ledger.py does the same).
        with timed("VACUUM ANALYZE") as t:
            cursor.execute("VACUUM (ANALYZE)")
        seconds["vacuum analyze"] = t.seconds

    with timed(f"snapshots of the last {plan.built_dates} dates (manage.py build_snapshots)") as t:
        _build_snapshots(plan, end)
    seconds["snapshots"] = t.seconds
    # The 31 builds opened, saw and closed alerts and cases thousands of times: vacuum again,
    # as autovacuum would between builds on a live database, so the open-alert and case
    # indexes do not point at hundreds of thousands of dead row versions (the open-alert count
    # by kind: 38 ms before this vacuum, 4.7 ms after, on the default data).
    with connection.cursor() as cursor, timed("VACUUM ANALYZE after the builds") as t:
        cursor.execute("VACUUM (ANALYZE)")
    seconds["analyze"] = t.seconds
    seconds["total"] = time.perf_counter() - started
    _record(plan, end, seconds, counts)
    return {"seconds": seconds, "counts": counts}


def _users() -> dict:
    from supplycoord.models import Prefecture, Role, User

    first = Prefecture.objects.order_by("code").first()
    roles = {
        "leadership": (Role.LEADERSHIP, None),
        "office": (Role.OFFICE_STAFF, None),
        "officer": (Role.PREFECTURE_OFFICER, first),
        "reporter": (Role.PRODUCER_REPORTER, None),
    }
    return {
        key: User.objects.create_user(
            username=USERS[key],
            password=PASSWORD,
            role=role,
            prefecture=prefecture,
            first_name="基准",
            last_name=key,
        )
        for key, (role, prefecture) in roles.items()
    }


def _build_snapshots(plan: Plan, end: dt.date) -> None:
    import io

    from django.core.management import call_command

    first = end - dt.timedelta(days=plan.built_dates - 1)
    out = io.StringIO()
    call_command(
        "build_snapshots", "--from", first.isoformat(), "--to", end.isoformat(), stdout=out
    )
    print("  " + out.getvalue().strip().splitlines()[-1], flush=True)


def _record(plan: Plan, end: dt.date, seconds: dict, counts: dict) -> None:
    from django.db import connection

    value = {
        "plan": plan.as_dict(),
        "end": end.isoformat(),
        "seconds": seconds,
        "counts": counts,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {INFO_TABLE} (key text PRIMARY KEY, value jsonb)"
        )
        cursor.execute(
            f"INSERT INTO {INFO_TABLE} (key, value) VALUES ('generated', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            [json.dumps(value)],
        )


# --- what the pages are opened on ---------------------------------------------------------------


def facts() -> dict:
    """The codes, numbers and dates bench/pages.py opens its pages on, read from the data."""
    from django.db import connection

    from allocation.models import BatchStatus, DispatchBatch
    from production.models import Producer
    from reports.models import SnapshotBuild
    from supplycoord.models import Item, User

    built = list(SnapshotBuild.objects.order_by("date").values_list("date", flat=True))
    last = built[-1]
    officer = User.objects.select_related("prefecture").get(username=USERS["officer"])
    overdue = DispatchBatch.objects.filter(
        status__in=(BatchStatus.DISPATCHED, BatchStatus.PARTLY_RECEIVED), expected_arrival__lt=last
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(DISTINCT batch_id) FROM allocation_dispatchbatchline"
        )
        lines, batches = cursor.fetchone()
    return {
        "built_dates": [d.isoformat() for d in built],
        "last_date": last,
        "item": Item.objects.filter(is_key=True).order_by("sort_order").first().code,
        "warehouse": f"{PREFIX}001",
        "officer_prefecture": officer.prefecture.code,
        # The first batch the overview lists: the oldest overdue one.
        "batch": overdue.order_by("expected_arrival", "number").first().number,
        "overdue_batches": overdue.count(),
        "batch_lines": lines,
        "batches": batches,
        "producer": Producer.objects.filter(reporters__username=USERS["reporter"]).first().pk,
    }
