"""Sixty days of believable daily figures for the demo province, from 2020-01-25.

The shape follows Gansu's winter of 2020 (see ../shared/seeds): stock on hand falls for
about three weeks while consumption climbs, bottoms out (some prefectures run into red),
then recovers as own production (the first mask line opened on 4 February), purchases and
allocations ramp up. Demand runs ahead of consumption early on and converges later.

Everything is deterministic: each (prefecture, item) series has its own `random.Random`
seeded from the fixed seed and the two codes, so adding an item does not reshuffle the
others. The stock identity `stock_d = stock_{d-1} + received_d - consumption_d` holds except
for a handful of deliberately inconsistent reports (a stocktake difference nobody
explained: the level jumps once and the series carries on from it). A few prefecture-days
are reported after the cut-off, a few are not reported at all.

The rows are written directly with `bulk_create_with_history` rather than through
`daily_figures_submit`: the dates are historic (the service refuses old dates for officers,
and would queue one snapshot rebuild per date). Existing keys are never touched, so running
it again changes nothing.
"""

import dataclasses
import datetime as dt
import hashlib
import math
import random

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from supplycoord.demo import medical_concentration, population_10k
from supplycoord.lib.dates import cutoff_for
from supplycoord.models import ItemCategory, Role, User
from supplycoord.selectors import active_prefectures, key_items

from .models import FIGURE_FIELDS, DailyFigure

DEMO_START = dt.date(2020, 1, 25)
DEMO_DAYS = 60
DEMO_SEED = 20200125
# Generated beyond the last day only to know "expected arrivals within 3 days" there.
LOOKAHEAD_DAYS = 3

MISSING_PREFECTURE_DAYS = 6
LATE_PREFECTURE_DAYS = 10
INCONSISTENT_REPORTS = 8

# Daily consumption per 10,000 residents once the epidemic response is in full swing, and
# whether it follows medical staff (concentrated in Lanzhou) rather than the population.
CONSUMPTION_PER_10K = {
    "FH001": (9.0, True),  # N95
    "FH002": (45.0, True),  # surgical masks
    "FH003": (110.0, False),  # disposable medical masks: everybody at work wears them
    "FH004": (2.2, True),  # protective suits
    "FH005": (4.0, True),  # isolation gowns
    "FH006": (0.9, True),  # goggles (reused)
    "FH007": (1.6, True),  # face shields
    "FH008": (30.0, True),  # examination gloves, pairs
    "XD001": (6.0, False),  # 84 disinfectant, bottles
    "XD002": (8.0, False),  # 75% alcohol, bottles
    "XD003": (2.0, False),
    "XD004": (0.8, False),
    "XD005": (40.0, False),  # chlorine dioxide tablets
    "XD006": (5.0, False),
    "SB001": (0.25, False),  # infrared thermometers handed out to checkpoints and schools
    "SB002": (0.012, False),  # fixed scanners: stations, airports, hospital entrances
    "SB003": (0.006, True),  # invasive ventilators: a few a day in Lanzhou at most
    "SB004": (0.01, True),
    "SB005": (0.03, True),
    "SB006": (0.025, True),
    "YP001": (3.0, False),
    "YP002": (3.0, False),
    "YP003": (8.0, False),
    "YP004": (6.0, True),  # PCR tests
    "YP005": (4.0, False),
    "YP008": (6.0, True),  # sampling tubes
}
# Items added to the catalogue later get a rate from their category.
CATEGORY_PER_10K = {
    ItemCategory.PROTECTIVE: (5.0, True),
    ItemCategory.DISINFECTION: (3.0, False),
    ItemCategory.DEVICES: (0.02, True),
    ItemCategory.DRUGS_TESTS: (3.0, False),
}
# Hospitals keep a couple of devices whatever the rate says.
MIN_STOCK = {ItemCategory.DEVICES: 2}


@dataclasses.dataclass(frozen=True)
class DemoItem:
    code: str
    category: str


@dataclasses.dataclass(frozen=True)
class DemoPlan:
    """Which reports are deliberately off: missing and late prefecture-days, stock jumps."""

    missing: frozenset  # {(prefecture_code, day index)}
    late: frozenset  # {(prefecture_code, day index)}
    inconsistent: frozenset  # {(prefecture_code, item_code, day index)}


def _stochastic_round(rng: random.Random, value: float) -> int:
    """Round so the expected value is kept: 0.3 becomes 1 three times in ten."""
    if value <= 0:
        return 0
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


def consumption_level(t: int) -> float:
    """Share of the plateau rate on day t: about 40% on 25 January, 95% by mid-February."""
    return 0.35 + 0.65 / (1 + math.exp(-(t - 9) / 3.5))


def _smoothstep(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3 - 2 * u)


def demo_plan(
    prefecture_codes: list[str], item_codes: list[str], *, days=DEMO_DAYS, seed=DEMO_SEED
) -> DemoPlan:
    """Pick the late, missing and inconsistent reports, deterministically.

    The last day has one missing and one late prefecture, so today's completeness panel on
    the demo has something to show.
    """
    rng = random.Random(f"{seed}:plan")
    codes = sorted(prefecture_codes)
    items = sorted(item_codes)
    if not codes or not items or days < 4:
        return DemoPlan(frozenset(), frozenset(), frozenset())
    last = days - 1

    missing = {(rng.choice(codes), last)}
    while len(missing) < min(MISSING_PREFECTURE_DAYS, len(codes) * (days - 2)):
        missing.add((rng.choice(codes), rng.randrange(1, last)))

    late = set()
    candidates = [c for c in codes if (c, last) not in missing]
    if candidates:
        late.add((rng.choice(candidates), last))
    while len(late) < min(LATE_PREFECTURE_DAYS, len(codes) * (days - 2) - len(missing)):
        key = (rng.choice(codes), rng.randrange(0, last))
        if key not in missing:
            late.add(key)

    inconsistent = set()
    attempts = 0
    while len(inconsistent) < INCONSISTENT_REPORTS and attempts < 1000:
        attempts += 1
        code, day = rng.choice(codes), rng.randrange(2, last)
        # The gap only shows when both this day and the day before were reported.
        if (code, day) in missing or (code, day - 1) in missing:
            continue
        inconsistent.add((code, rng.choice(items), day))
    return DemoPlan(frozenset(missing), frozenset(late), frozenset(inconsistent))


def _series(
    *, prefecture_code: str, item: DemoItem, days: int, seed: int, jumps: set[int]
) -> list[dict]:
    """One prefecture's figures for one item, day by day (plus the look-ahead days)."""
    rng = random.Random(f"{seed}:series:{prefecture_code}:{item.code}")
    per_10k, medical = CONSUMPTION_PER_10K.get(item.code) or CATEGORY_PER_10K.get(
        item.category, (3.0, False)
    )
    rate = per_10k * population_10k(prefecture_code)
    if medical:
        rate *= medical_concentration(prefecture_code)
    min_stock = MIN_STOCK.get(item.category, 0)

    # The stock the prefecture is heading for, in days of the full-swing rate: it falls
    # steadily from the start to a trough in the third week (some prefectures into red,
    # others amber), then climbs back as supply catches up.
    level_0 = consumption_level(0)
    start_stock = rng.uniform(6, 11) * level_0
    trough_day = rng.randint(17, 23)
    trough_stock = min(0.7 * start_stock, rng.uniform(0.8, 5.0) * consumption_level(trough_day))
    # Most prefectures end comfortable; a few stay short of one item to the end.
    end_stock = rng.uniform(5, 16) if rng.random() > 0.04 else rng.uniform(1.5, 3.5)
    recovery_days = rng.randint(18, 26)
    demand_premium = rng.uniform(0.7, 1.3)

    def target_stock(t):
        if t <= trough_day:
            return start_stock + (trough_stock - start_stock) * t / trough_day
        return trough_stock + (end_stock - trough_stock) * _smoothstep(
            (t - trough_day) / recovery_days
        )

    stock = max(min_stock, round(start_stock * rate * rng.uniform(0.95, 1.05)))
    rows = []
    for t in range(days + LOOKAHEAD_DAYS):
        expected = rate * consumption_level(t)
        target = max(min_stock, target_stock(t) * rate)
        needed = max(0.0, target - stock + expected)
        if t <= trough_day:
            # Before production and allocation ramp up, deliveries are lumpy: many days
            # nothing arrives, then a consignment.
            received = (
                0 if rng.random() < 0.45 else _stochastic_round(rng, needed * rng.uniform(1.2, 2.2))
            )
        else:
            received = _stochastic_round(rng, needed * rng.uniform(0.85, 1.2))
        consumption = min(stock + received, _stochastic_round(rng, expected * rng.gauss(1, 0.08)))
        premium = 0.05 + 0.6 * max(0.0, 1 - t / 28) * demand_premium
        demand = max(
            consumption, _stochastic_round(rng, expected * (1 + premium) * rng.gauss(1, 0.05))
        )
        stock = stock + received - consumption
        if t in jumps:
            # An unexplained stocktake difference of 5–20%: the report no longer adds up.
            delta = max(1, round(stock * rng.uniform(0.05, 0.2)))
            stock = stock - delta if rng.random() < 0.5 and stock >= delta else stock + delta
        rows.append(
            {"stock": stock, "received": received, "consumption": consumption, "demand": demand}
        )
    # What the prefecture expects in the next three days from its own channels: a part of
    # what will actually arrive (provincial dispatches are not in this figure).
    for t, row in enumerate(rows):
        coming = sum(r["received"] for r in rows[t + 1 : t + 1 + LOOKAHEAD_DAYS])
        row["expected_arrivals_3d"] = round(coming * rng.uniform(0.4, 0.9))
    return rows[:days]


def _submission_time(*, prefecture_code: str, date: dt.date, late: bool, seed: int):
    """When a prefecture's report of `date` came in: before the cut-off, or after it if late."""
    rng = random.Random(f"{seed}:submitted:{prefecture_code}:{date.isoformat()}")
    cutoff = cutoff_for(date)
    if late:
        return cutoff + dt.timedelta(minutes=rng.randint(20, 390))
    return cutoff - dt.timedelta(minutes=rng.randint(10, 420))


def demo_figures(
    *,
    prefecture_codes: list[str],
    items: list[DemoItem],
    start: dt.date = DEMO_START,
    days: int = DEMO_DAYS,
    seed: int = DEMO_SEED,
):
    """Yield (prefecture_code, item_code, date, figures, submitted_at, on_time); no database.

    Missing prefecture-days yield nothing.
    """
    plan = demo_plan(prefecture_codes, [i.code for i in items], days=days, seed=seed)
    jumps_by_key: dict[tuple[str, str], set[int]] = {}
    for code, item_code, day in plan.inconsistent:
        jumps_by_key.setdefault((code, item_code), set()).add(day)
    submitted = {}
    for code in prefecture_codes:
        for t in range(days):
            date = start + dt.timedelta(days=t)
            at = _submission_time(
                prefecture_code=code, date=date, late=(code, t) in plan.late, seed=seed
            )
            submitted[(code, t)] = (at, at <= cutoff_for(date))
    for code in prefecture_codes:
        for item in items:
            series = _series(
                prefecture_code=code,
                item=item,
                days=days,
                seed=seed,
                jumps=jumps_by_key.get((code, item.code), set()),
            )
            for t, figures in enumerate(series):
                if (code, t) in plan.missing:
                    continue
                at, on_time = submitted[(code, t)]
                yield code, item.code, start + dt.timedelta(days=t), figures, at, on_time


def _reporters(prefectures, fallback_user) -> dict:
    """Each prefecture's officer submits its reports; the office enters the others'."""
    officers = {}
    for user in User.objects.filter(
        role=Role.PREFECTURE_OFFICER, prefecture__in=prefectures, is_active=True
    ).order_by("username"):
        officers.setdefault(user.prefecture_id, user)
    return {p.pk: officers.get(p.pk, fallback_user) for p in prefectures}


def _default_fallback_user():
    user = (
        User.objects.filter(role=Role.OFFICE_STAFF, is_active=True).order_by("pk").first()
        or User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    )
    if user is None:
        raise ValueError("demo daily figures need an office-staff or admin user to submit them")
    return user


@transaction.atomic
def demo_daily_figures_create(
    *,
    fallback_user=None,
    start: dt.date = DEMO_START,
    days: int = DEMO_DAYS,
    seed: int = DEMO_SEED,
) -> dict:
    """Write the demo figures of every active prefecture and key item; skip existing keys."""
    prefectures = list(active_prefectures())
    items = list(key_items())
    if not prefectures or not items:
        return {"created": 0, "existing": 0, "late": 0, "missing": 0, "inconsistent": 0}
    fallback_user = fallback_user or _default_fallback_user()
    reporters = _reporters(prefectures, fallback_user)
    prefecture_by_code = {p.code: p for p in prefectures}
    item_by_code = {i.code: i for i in items}
    end = start + dt.timedelta(days=days - 1)
    existing = set(
        DailyFigure.objects.filter(
            date__range=(start, end), prefecture__in=prefectures, item__in=items
        ).values_list("prefecture_id", "item_id", "date")
    )

    to_create = []
    for code, item_code, date, figures, at, on_time in demo_figures(
        prefecture_codes=[p.code for p in prefectures],
        items=[DemoItem(i.code, i.category) for i in items],
        start=start,
        days=days,
        seed=seed,
    ):
        prefecture, item = prefecture_by_code[code], item_by_code[item_code]
        if (prefecture.pk, item.pk, date) in existing:
            continue
        figure = DailyFigure(
            prefecture=prefecture,
            item=item,
            date=date,
            submitted_by=reporters[prefecture.pk],
            first_submitted_at=at,
            submitted_at=at,
            on_time=on_time,
            correction_reason="",
            **figures,
        )
        # The history row says who submitted it and when, as if it had come in that day.
        figure._history_user = reporters[prefecture.pk]
        figure._history_date = at
        to_create.append(figure)
    if to_create:
        bulk_create_with_history(to_create, DailyFigure, batch_size=2000)

    plan = demo_plan([p.code for p in prefectures], list(item_by_code), days=days, seed=seed)
    return {
        "created": len(to_create),
        "existing": len(existing),
        "late": len(plan.late),
        "missing": len(plan.missing),
        "inconsistent": len(plan.inconsistent),
    }


def daily_figures_checksum(*, start: dt.date = DEMO_START, days: int = DEMO_DAYS) -> str:
    """A SHA-256 over every figure of the date range, by codes: equal data, equal checksum."""
    digest = hashlib.sha256()
    end = start + dt.timedelta(days=days - 1)
    rows = (
        DailyFigure.objects.filter(date__range=(start, end))
        .order_by("date", "prefecture__code", "item__code")
        .values_list(
            "date",
            "prefecture__code",
            "item__code",
            *FIGURE_FIELDS,
            "first_submitted_at",
            "on_time",
        )
    )
    for date, prefecture, item, *values, submitted_at, on_time in rows.iterator(chunk_size=5000):
        line = f"{date}|{prefecture}|{item}|{values}|{submitted_at.timestamp()}|{on_time}\n"
        digest.update(line.encode())
    return digest.hexdigest()
