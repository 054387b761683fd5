"""Demo demand norms for the demo province. ASSUMPTIONS, NOT FACTS.

Every figure below was chosen for the demonstration: plausible orders of magnitude, picked so
that the estimates land near the demo's own reported demand (inventory/demo.py, whose demand
also follows population and staff). None is an official standard, a hospital's practice or
a figure from Gansu in 2020. With the demo data, the ratios on the last day (2020-03-24) all
lie within 0.5–1.5; flags show on the first days (N95 on 2020-01-25: five prefectures below
0.5× while demand was still ramping up) and for hand sanitiser around 2020-02-12. Each norm's note and the norms page say so; a real deployment replaces
them on the norms page before anyone relies on the estimates.

Written through `norm_set`, like any norm. Idempotent: a version that already exists for a
(category, item, effective date) is left alone, so running it again changes nothing and never
overwrites a figure the office has corrected.

`load_demo` calls `demo_norms_create(user=<the demo office user>)` after the protected staff.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db import transaction

from .models import Item, Norm, StaffCategory
from .norms import norm_set

# The demo's figures start on 2020-01-25 (inventory.demo.DEMO_START; not imported: the core
# does not depend on inventory).
DEMO_NORMS_FROM = dt.date(2020, 1, 25)
# A revision part-way through the demo, to show how a version takes over from an earlier one.
DEMO_REVISION_FROM = dt.date(2020, 2, 15)

# Notes of demo norms start with this; the norms page warns when it sees one.
DEMO_NOTE_PREFIX = "演示假设"
DEMO_NOTE = "演示假设，非事实 / Demo assumption, not a fact"


@dataclasses.dataclass(frozen=True)
class DemoNorm:
    category: str
    item: str
    per_shift: str | None = None
    shifts_per_day: str | None = None
    per_day: str | None = None  # when the norm is not stated per shift
    effective_from: dt.date = DEMO_NORMS_FROM
    why: str = ""


# (staff category code, item code) as in supplycoord/data/*.csv. Units: the item's unit.
DEMO_NORMS = (
    # N95 (FH001): front-line medical staff only.
    DemoNorm("fever_clinic", "FH001", "1", "2", why="assumed: one mask per shift, two shifts"),
    DemoNorm("isolation_ward", "FH001", "1", "3", why="assumed: one mask per 4-hour shift"),
    DemoNorm(
        "isolation_ward",
        "FH001",
        "1",
        "2",
        effective_from=DEMO_REVISION_FROM,
        why="assumed revision (longer shifts), to show a second version",
    ),
    # Surgical masks (FH002): other medical staff and checkpoints.
    DemoNorm("general_medical", "FH002", "1", "1", why="assumed: one per shift"),
    DemoNorm("port_checkpoint", "FH002", "1", "2", why="assumed: one per shift, two shifts"),
    # Disposable medical masks (FH003): community workers.
    DemoNorm("community", "FH003", "2", "2", why="assumed: two per shift, two shifts"),
    DemoNorm("port_checkpoint", "FH003", per_day="2", why="assumed"),
    # Protective suits (FH004).
    DemoNorm("isolation_ward", "FH004", "1", "1", why="assumed: one suit per shift"),
    DemoNorm("fever_clinic", "FH004", per_day="0.2", why="assumed: for sampling duties"),
    # Isolation gowns (FH005).
    DemoNorm("fever_clinic", "FH005", "1", "1", why="assumed: one gown per shift"),
    DemoNorm("general_medical", "FH005", per_day="0.02", why="assumed"),
    # Goggles (FH006, reused) and face shields (FH007).
    DemoNorm("isolation_ward", "FH006", per_day="0.25", why="assumed: reused about four days"),
    DemoNorm("fever_clinic", "FH006", per_day="0.15", why="assumed"),
    DemoNorm("fever_clinic", "FH007", per_day="0.25", why="assumed"),
    DemoNorm("isolation_ward", "FH007", per_day="0.5", why="assumed"),
    # Examination gloves (FH008), pairs.
    DemoNorm("fever_clinic", "FH008", "2", "2", why="assumed: two pairs per shift"),
    DemoNorm("isolation_ward", "FH008", "3", "2", why="assumed: three pairs per shift"),
    DemoNorm("general_medical", "FH008", per_day="0.2", why="assumed"),
    # Hand sanitiser gel (XD006), bottles.
    DemoNorm("community", "XD006", per_day="0.15", why="assumed"),
    DemoNorm("port_checkpoint", "XD006", per_day="0.2", why="assumed"),
)


@transaction.atomic
def demo_norms_create(user) -> dict:
    """Create the demo norms that do not exist yet (by category, item and date).

    `user` must be office staff or an admin (norm_set checks). Categories or items missing
    from the catalogue are skipped and counted, so a trimmed catalogue still loads.
    """
    categories = {c.code: c for c in StaffCategory.objects.all()}
    items = {i.code: i for i in Item.objects.all()}
    existing = set(Norm.objects.values_list("staff_category__code", "item__code", "effective_from"))
    created = already = skipped = 0
    for demo in DEMO_NORMS:
        category, item = categories.get(demo.category), items.get(demo.item)
        if category is None or item is None:
            skipped += 1
            continue
        if (demo.category, demo.item, demo.effective_from) in existing:
            already += 1
            continue
        norm_set(
            user=user,
            staff_category=category,
            item=item,
            effective_from=demo.effective_from,
            units_per_person_per_day=Decimal(demo.per_day) if demo.per_day else None,
            per_shift=Decimal(demo.per_shift) if demo.per_shift else None,
            shifts_per_day=Decimal(demo.shifts_per_day) if demo.shifts_per_day else None,
            note=f"{DEMO_NOTE} ({demo.why})",
        )
        created += 1
    return {"created": created, "existing": already, "skipped": skipped}
