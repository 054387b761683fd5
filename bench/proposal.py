#!/usr/bin/env python
"""Benchmark of the allocation proposal for one item over 340 prefectures (target: 200 ms).

    .venv/bin/python bench/proposal.py [--prefectures 340 --repeat 5 --keep]

1. Times `allocation.waterfill.water_fill` alone (exact fractions, pack rounding) on 340
   prefectures with varied stock, arrivals, rates (some missing) and weights: best of N.
2. In a throwaway PostgreSQL database, generates 340 prefectures with one day's snapshot rows
   for N95 and a reserve warehouse holding stock, then times the whole proposal as the page
   runs it: `reports.proposal_inputs.proposal_inputs` (read the snapshot) +
   `allocation.proposals.proposal_create` (compute and keep every input and share, with
   history): best of N. Checks that the shares add up to what was handed out and that no
   prefecture receiving anything ends below the level reached.

With DATABASE_URL unset it creates a throwaway database `supplycoord_bench_proposal` on
127.0.0.1:5432 (user postgres) and drops it at the end unless --keep. With DATABASE_URL set it
must be PostgreSQL and hold no prefectures with codes starting BP.
Exit status: 0, 1 when a check fails or the target is missed, 2 on a usage problem.
"""

import argparse
import datetime as dt
import os
import random
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import drop_database, prepare_database, timed, usage_error  # noqa: E402

DEFAULT_DB = "supplycoord_bench_proposal"
PREFIX = "BP"
TARGET_MS = 200


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--prefectures", type=int, default=340)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database")
    args = parser.parse_args()
    if args.prefectures < 1 or args.repeat < 1:
        usage_error("--prefectures and --repeat must be at least 1")
    return args


def inputs(n, seed=20200220):
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        rate = None if rng.random() < 0.05 else rng.randint(100, 60_000)
        rows.append(
            (
                f"{PREFIX}{k:04d}",
                rng.randint(0, 500_000),
                rng.randint(0, 100_000),
                rate,
                rng.choice([1, 1, 1, 1, 2, 3]),
            )
        )
    return rows


def best_ms(function, repeat):
    import time

    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        ms = (time.perf_counter() - started) * 1000
        best = ms if best is None else min(best, ms)
    return best, result


def bench_pure(args):
    from allocation.waterfill import Claimant, water_fill

    claimants = [Claimant(code, s, a, r, w) for code, s, a, r, w in inputs(args.prefectures)]
    ms, proposal = best_ms(lambda: water_fill(claimants, 5_000_000, 20), args.repeat)
    ok = proposal.handed_out <= 5_000_000 and proposal.available - proposal.handed_out < 20
    print(
        f"water_fill, {args.prefectures} prefectures: best {ms:.1f} ms "
        f"(level {float(proposal.level):.2f} weighted days, {proposal.handed_out:,} handed out)"
    )
    return ms, ok


def generate(args):
    from django.utils import timezone

    from allocation.models import Destination, DestinationKind
    from inventory.models import Warehouse, WarehouseKind
    from inventory.services import stock_receive
    from reports.models import SnapshotRow, Status
    from supplycoord.lib.dates import local_today
    from supplycoord.models import Item, Prefecture, Province, Role, User

    province = Province.objects.create(code=PREFIX, name_zh="基准省", name_en="Bench province")
    prefectures = Prefecture.objects.bulk_create(
        Prefecture(code=code, name_zh=f"基准{code}", province=province, active=True)
        for code, *_ in inputs(args.prefectures)
    )
    # Issue 15: each prefecture's claimant destination (proposal_create would make them).
    Destination.objects.bulk_create(
        Destination(
            kind=DestinationKind.PREFECTURE,
            prefecture=prefecture,
            code=prefecture.code,
            name_zh=prefecture.name_zh,
        )
        for prefecture in prefectures
    )
    item = Item.objects.create(
        code=f"{PREFIX}N95", name_zh="基准N95", unit="piece", pack_size=20, is_key=True
    )
    office = User.objects.create_user(
        username="bp_office", password="bench-pass-word", role=Role.OFFICE_STAFF
    )
    warehouse = Warehouse.objects.create(
        code=f"{PREFIX}01", name_zh="基准储备库", kind=WarehouseKind.PROVINCIAL_RESERVE
    )
    stock_receive(user=office, warehouse=warehouse, lines=[(item, 5_000_000)], source="purchase")
    day = local_today() - dt.timedelta(days=1)
    now = timezone.now()
    SnapshotRow.objects.bulk_create(
        SnapshotRow(
            date=day,
            prefecture=prefecture,
            item=item,
            stock=stock,
            consumption=rate or 0,
            avg_consumption_7d=Decimal(rate) if rate else None,
            demand=rate,
            arriving_3d=arriving,
            status=Status.GREEN,
            built_at=now,
        )
        for prefecture, (_, stock, arriving, rate, _w) in zip(
            prefectures, inputs(args.prefectures), strict=True
        )
    )
    weights = {
        code: (Decimal(w), "bench") for code, _s, _a, _r, w in inputs(args.prefectures) if w != 1
    }
    return office, item, warehouse, day, weights


def bench_whole(args):
    from allocation.models import Proposal
    from allocation.proposals import proposal_create
    from reports.proposal_inputs import proposal_inputs

    office, item, warehouse, day, weights = generate(args)

    def run():
        return proposal_create(
            user=office,
            name="bench",
            date=day,
            warehouses=[warehouse],
            inputs=proposal_inputs(date=day, items=[item]),
            weights=weights,
        )

    run()  # warm the caches, as a page that has been opened once
    ms, proposal = best_ms(run, args.repeat)
    proposal_item = proposal.items.get()
    lines = list(proposal_item.lines.all())
    handed = sum(line.quantity for line in lines)
    ok = handed <= proposal_item.quantity and proposal_item.quantity - handed < 20
    level = Fraction(str(proposal_item.level))
    for line in lines:
        if line.quantity and line.rate:
            reached = Fraction(line.stock + line.arriving_3d + line.quantity) / (
                Fraction(str(line.rate)) * Fraction(str(line.weight))
            )
            # Rounding down to packs may leave a receiver up to one pack short of the level.
            slack = Fraction(20) / (Fraction(str(line.rate)) * Fraction(str(line.weight)))
            ok = ok and reached >= level - slack - Fraction(1, 100)
    print(
        f"proposal_inputs + proposal_create, {len(lines)} prefectures: best {ms:.1f} ms "
        f"({handed:,} handed out, {Proposal.objects.count()} proposals kept)"
    )
    return ms, ok


def main():
    args = parse_args()
    url, created = prepare_database(DEFAULT_DB)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supplycoord.settings")
    os.environ.pop("REDIS_URL", None)
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command

    from supplycoord.models import Prefecture

    status = 0
    try:
        pure_ms, pure_ok = bench_pure(args)
        with timed("migrate"):
            call_command("migrate", verbosity=0, interactive=False)
        if not created and Prefecture.objects.filter(code__startswith=PREFIX).exists():
            usage_error(f"the database already holds prefectures starting with {PREFIX}")
        whole_ms, whole_ok = bench_whole(args)
        print(f"Target: under {TARGET_MS} ms for the whole proposal.")
        if not (pure_ok and whole_ok):
            print("FAILED: a check of the proposal did not hold", file=sys.stderr)
            status = 1
        elif whole_ms >= TARGET_MS:
            print(f"MISSED: {whole_ms:.1f} ms", file=sys.stderr)
            status = 1
    finally:
        from django.db import connections

        connections.close_all()
        if created and not args.keep:
            drop_database(url)
    sys.exit(status)


if __name__ == "__main__":
    main()
