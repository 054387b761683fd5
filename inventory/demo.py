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

The second part of the module writes the reserve ledger of the same sixty days (warehouses
and stock events), through `stock_events_import`; see `demo_ledger_events`.
"""

import dataclasses
import datetime as dt
import hashlib
import math
import random
import uuid

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from supplycoord.demo import STAFF_PER_10K, medical_concentration, population_10k
from supplycoord.lib.dates import cutoff_for
from supplycoord.models import Item, ItemCategory, Prefecture, Role, User
from supplycoord.selectors import active_prefectures, key_items

from .models import FIGURE_FIELDS, DailyFigure, Warehouse, WarehouseKind
from .services import stock_events_import

DEMO_START = dt.date(2020, 1, 25)
DEMO_DAYS = 60
DEMO_SEED = 20200125
# Generated beyond the last day only to know "expected arrivals within 3 days" there.
LOOKAHEAD_DAYS = 3

MISSING_PREFECTURE_DAYS = 6
LATE_PREFECTURE_DAYS = 10
INCONSISTENT_REPORTS = 8

# Daily consumption per 10,000 residents once the epidemic response is in full swing (in a
# prefecture with the average mix of protected staff; see _protected_scale).
CONSUMPTION_PER_10K = {
    "FH001": 9.0,  # N95
    "FH002": 45.0,  # surgical masks
    "FH003": 110.0,  # disposable medical masks: everybody at work wears them
    "FH004": 2.2,  # protective suits
    "FH005": 4.0,  # isolation gowns
    "FH006": 0.9,  # goggles (reused)
    "FH007": 1.6,  # face shields
    "FH008": 30.0,  # examination gloves, pairs
    "XD001": 6.0,  # 84 disinfectant, bottles
    "XD002": 8.0,  # 75% alcohol, bottles
    "XD003": 2.0,
    "XD004": 0.8,
    "XD005": 40.0,  # chlorine dioxide tablets
    "XD006": 5.0,
    "SB001": 0.25,  # infrared thermometers handed out to checkpoints and schools
    "SB002": 0.012,  # fixed scanners: stations, airports, hospital entrances
    "SB003": 0.006,  # invasive ventilators: a few a day in Lanzhou at most
    "SB004": 0.01,
    "SB005": 0.03,
    "SB006": 0.025,
    "YP001": 3.0,
    "YP002": 3.0,
    "YP003": 8.0,
    "YP004": 6.0,  # PCR tests
    "YP005": 4.0,
    "YP008": 6.0,  # sampling tubes
}
# Items added to the catalogue later get a rate from their category.
CATEGORY_PER_10K = {
    ItemCategory.PROTECTIVE: 5.0,
    ItemCategory.DISINFECTION: 3.0,
    ItemCategory.DEVICES: 0.02,
    ItemCategory.DRUGS_TESTS: 3.0,
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


# One prefecture that uses twice the N95 per protected person of the others, so the spot
# checks (比对抽查) have a case to find and follow up in the demo: 定西市.
SPOT_CHECK_OUTLIER = ("621100", "FH001", 2.0)


def _protected_scale(prefecture_code: str) -> float:
    """Protected people per resident, relative to a prefecture of the average staff mix.

    Lanzhou protects far more medical staff than its population suggests (the provincial
    hospitals are there), and it uses more of every item for them: use follows the people
    protected, which is what the spot checks compare.
    """
    concentration = medical_concentration(prefecture_code)
    weighted = sum(n * (concentration if medical else 1) for n, medical in STAFF_PER_10K.values())
    return weighted / sum(n for n, _medical in STAFF_PER_10K.values())


def _usage_habit(prefecture_code: str, item_code: str, *, seed: int) -> float:
    """A prefecture's own habit with one item (how strictly masks are changed, how wards
    ration suits): a stable factor between 0.8 and 1.25, and 2.0 for the spot-check case."""
    if (prefecture_code, item_code) == SPOT_CHECK_OUTLIER[:2]:
        return SPOT_CHECK_OUTLIER[2]
    return random.Random(f"{seed}:habit:{prefecture_code}:{item_code}").uniform(0.8, 1.25)


def _series(
    *, prefecture_code: str, item: DemoItem, days: int, seed: int, jumps: set[int]
) -> list[dict]:
    """One prefecture's figures for one item, day by day (plus the look-ahead days)."""
    rng = random.Random(f"{seed}:series:{prefecture_code}:{item.code}")
    per_10k = CONSUMPTION_PER_10K.get(item.code) or CATEGORY_PER_10K.get(item.category, 3.0)
    rate = (
        per_10k
        * population_10k(prefecture_code)
        * _protected_scale(prefecture_code)
        * _usage_habit(prefecture_code, item.code, seed=seed)
    )
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


# --- The reserve ledger: five warehouses and sixty days of stock events ----------------------
#
# The provincial reserve (two warehouses in and near Lanzhou) and the reserve a mask maker
# holds for the province (代储, the policy of February 2020: "生产企业代省级储备库储备") take in
# national allocations, purchases, donations and the maker's own output, and dispatch to the
# prefectures; Lanzhou's and Tianshui's own warehouses receive those dispatches and hand them
# on to their hospitals. Scarce early on, everything that comes in goes out within days; from
# March the reserve builds up. Also one damaged-goods adjustment, one physical count with a
# small difference, and one receipt booked into the wrong warehouse and reversed.
#
# Every event is posted through `stock_events_import` with a client UUID made from the seed
# and what the event is, so a second run posts nothing. The generator keeps its own running
# balances, so it never dispatches stock it does not have.


@dataclasses.dataclass(frozen=True)
class DemoWarehouse:
    code: str
    name_zh: str
    name_en: str
    kind: str
    prefecture_code: str
    address: str
    manager: str


DEMO_WAREHOUSES = (
    DemoWarehouse(
        "SZ01",
        "省级医疗物资储备一库",
        "Provincial medical reserve warehouse No. 1",
        WarehouseKind.PROVINCIAL_RESERVE,
        "620100",
        "兰州市七里河区西津西路物资储备中心",
        "马建国",
    ),
    DemoWarehouse(
        "SZ02",
        "省级医疗物资储备二库",
        "Provincial medical reserve warehouse No. 2",
        WarehouseKind.PROVINCIAL_RESERVE,
        "LZXQ",
        "兰州新区综合保税区物流园",
        "李文娟",
    ),
    DemoWarehouse(
        "DC01",
        "广河新善友医疗器械有限公司代储库",
        "Guanghe Xinshanyou Medical Devices (held reserve)",
        WarehouseKind.PRODUCER_HELD,
        "622900",
        "临夏州广河县工业园区",
        "马永福",
    ),
    DemoWarehouse(
        "LZ01",
        "兰州市应急物资储备库",
        "Lanzhou emergency supplies warehouse",
        WarehouseKind.PREFECTURE,
        "620100",
        "兰州市城关区雁滩路",
        "张立新",
    ),
    DemoWarehouse(
        "TS01",
        "天水市应急物资储备库",
        "Tianshui emergency supplies warehouse",
        WarehouseKind.PREFECTURE,
        "620500",
        "天水市秦州区藉河南路",
        "王海燕",
    ),
)
WAREHOUSE_NAMES = {w.code: w.name_zh for w in DEMO_WAREHOUSES}
RESERVE_WAREHOUSES = ("SZ01", "SZ02")
HELD_RESERVE = "DC01"
PREFECTURE_WAREHOUSES = {"LZ01": "620100", "TS01": "620500"}

# Units per consignment into the reserve, (low, high), by channel. Masks come by the
# hundred thousand, suits and goggles by the thousand, disinfectant by the bottle.
RESERVE_INFLOWS = {
    "FH001": {"national": (20_000, 60_000), "purchase": (5_000, 20_000), "donation": (500, 5_000)},
    "FH002": {
        "national": (100_000, 300_000),
        "purchase": (40_000, 120_000),
        "donation": (5_000, 30_000),
    },
    "FH003": {"purchase": (50_000, 150_000), "donation": (10_000, 50_000)},
    "FH004": {"national": (5_000, 20_000), "purchase": (1_000, 5_000), "donation": (200, 1_500)},
    "FH005": {"national": (4_000, 12_000), "purchase": (2_000, 6_000), "donation": (300, 2_000)},
    "FH006": {"national": (2_000, 8_000), "purchase": (500, 3_000), "donation": (100, 1_000)},
    "XD001": {"purchase": (2_000, 8_000), "donation": (500, 3_000)},
    "XD002": {"purchase": (3_000, 10_000), "donation": (500, 4_000)},
    "XD005": {"purchase": (20_000, 100_000)},
}
# The held reserve's own output per day: (item, first day index, (low, high)). Disposable
# masks from 4 February (the province's first line, 30,000 a day), N95 from late February.
OWN_PRODUCTION = (("FH003", 10, (18_000, 30_000)), ("FH001", 30, (2_000, 6_000)))
NATIONAL_DAYS = (4, 9, 15, 21, 28, 36, 45, 53)
SUPPLIERS = ("国药控股甘肃有限公司", "甘肃省医药投资集团有限公司", "九州通医药集团甘肃有限公司")
DONORS = ("甘肃省红十字会", "甘肃省慈善总会", "兰州市工商业联合会", "海外甘肃同乡会")
NATIONAL_SENDER = "国务院联防联控机制医疗物资保障组"
PROVINCIAL_RECIPIENTS = ("省级定点医疗机构", "甘肃支援湖北医疗队")
HOSPITALS = {
    "LZ01": ("兰州市第一人民医院", "兰州市第二人民医院", "兰州市肺科医院"),
    "TS01": ("天水市第一人民医院", "天水市中医医院", "天水市第四人民医院"),
}
# The mistake: a purchase of N95 booked into SZ02 on day 12, reversed the next morning
# and booked again into SZ01, where it arrived.
MISTAKE_DAY = 12
COUNT_DAY = 45  # 10 March: the month's physical count in SZ01
DAMAGE_DAY = 21  # 15 February: part of a national consignment arrives wet


def _demo_event_uuid(seed: int, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplycoord-demo-ledger:{seed}:{key}"))


def _at(start: dt.date, day: int, hour: int, minute: int = 0) -> dt.datetime:
    moment = dt.datetime.combine(start + dt.timedelta(days=day), dt.time(hour, minute))
    return timezone.make_aware(moment)


class _LedgerWriter:
    """Collects the demo's events in time order and keeps their running balances."""

    def __init__(self, *, seed: int, pack_sizes: dict[str, int]):
        self.seed, self.pack = seed, pack_sizes
        self.events: list[dict] = []
        self.stock: dict[tuple[str, str], int] = {}
        self.held: dict[tuple[str, str], int] = {}  # booked but not to be dispatched

    def available(self, warehouse: str, item: str) -> int:
        key = (warehouse, item)
        return self.stock.get(key, 0) - self.held.get(key, 0)

    def post(self, key: str, kind: str, warehouse: str, when, lines: dict, **fields) -> dict:
        if kind != "count":
            lines = {item: n for item, n in lines.items() if n}
        if not lines and kind != "reversal":
            return {}
        event = {
            "warehouse": warehouse,
            "kind": kind,
            "occurred_at": when,
            "client_uuid": _demo_event_uuid(self.seed, key),
            **fields,
        }
        if kind == "count":
            event["lines"] = [{"item": i, "counted": n} for i, n in lines.items()]
            for item, counted in lines.items():
                self.stock[(warehouse, item)] = counted
        elif kind != "reversal":
            event["lines"] = [{"item": i, "quantity": n} for i, n in lines.items()]
            sign = -1 if kind == "issue" else 1
            for item, n in lines.items():
                self.stock[(warehouse, item)] = self.stock.get((warehouse, item), 0) + sign * n
                assert self.stock[(warehouse, item)] >= 0, (key, item)
        self.events.append(event)
        return event

    def packs(self, item: str, units: float) -> int:
        """Whole packs (cartons of pack_size × 10 for masks and gloves), never more."""
        pack = self.pack.get(item, 1)
        pack = pack * 10 if pack >= 20 else pack
        return int(units // pack) * pack


def demo_ledger_events(
    *,
    item_codes: set[str],
    pack_sizes: dict[str, int],
    prefecture_names: dict[str, str],
    start: dt.date = DEMO_START,
    days: int = DEMO_DAYS,
    seed: int = DEMO_SEED,
) -> list[dict]:
    """The demo's stock events as `stock_events_import` takes them; no database.

    `item_codes`: the catalogue's active items (others are left out); `prefecture_names`:
    {code: Chinese name} of the prefectures dispatches may go to.
    """
    rng = random.Random(f"{seed}:ledger")
    writer = _LedgerWriter(seed=seed, pack_sizes=pack_sizes)
    inflows = {code: ranges for code, ranges in RESERVE_INFLOWS.items() if code in item_codes}
    production = [p for p in OWN_PRODUCTION if p[0] in item_codes]
    others = sorted(code for code in prefecture_names if code not in PREFECTURE_WAREHOUSES.values())

    def consignment(channel, chance=1.0):
        return {
            item: writer.packs(item, rng.uniform(*ranges[channel]))
            for item, ranges in inflows.items()
            if channel in ranges and rng.random() < chance
        }

    for t in range(days):
        if t == MISTAKE_DAY + 1 and ("SZ02", "FH001") in writer.held:
            # The wrongly booked receipt is reversed and booked where the goods are.
            writer.post(
                f"{MISTAKE_DAY}:mistake:reversal",
                "reversal",
                "SZ02",
                _at(start, t, 9, 0),
                {},
                reverses=_demo_event_uuid(seed, f"{MISTAKE_DAY}:mistake"),
                note="误记入二库，实际入一库；冲销后重新入账",
            )
            writer.stock[("SZ02", "FH001")] -= writer.held.pop(("SZ02", "FH001"))
            writer.post(
                f"{MISTAKE_DAY}:mistake:rebooked",
                "receipt",
                "SZ01",
                _at(start, t, 9, 15),
                {"FH001": 8_000},
                source="purchase",
                counterparty=SUPPLIERS[0],
                source_document="CG-2020-012B",
                note="原误记入二库，已冲销",
            )
        # Morning: the prefecture warehouses hand yesterday's dispatches on to hospitals.
        for warehouse, hospitals in HOSPITALS.items():
            out = {
                item: writer.packs(item, writer.available(warehouse, item) * rng.uniform(0.5, 0.9))
                for item in sorted(item_codes)
                if writer.available(warehouse, item)
            }
            writer.post(
                f"{t}:{warehouse}:hospitals",
                "issue",
                warehouse,
                _at(start, t, 9, 30),
                out,
                issue_kind="dispatch",
                counterparty=rng.choice(hospitals),
                source_document=f"{warehouse}-FF-{t:03d}",
            )
        if t in NATIONAL_DAYS:
            lines = consignment("national", chance=0.85)
            if "FH001" in inflows:
                lines.setdefault("FH001", writer.packs("FH001", rng.uniform(20_000, 60_000)))
            writer.post(
                f"{t}:national",
                "receipt",
                "SZ01",
                _at(start, t, 10, 0),
                lines,
                source="national_allocation",
                counterparty=NATIONAL_SENDER,
                source_document=f"国联防物资调〔2020〕{NATIONAL_DAYS.index(t) + 1}号",
            )
        if t % 3 == 2:
            warehouse = RESERVE_WAREHOUSES[(t // 3) % 2]
            writer.post(
                f"{t}:purchase",
                "receipt",
                warehouse,
                _at(start, t, 11, 0),
                consignment("purchase", chance=0.5),
                source="purchase",
                counterparty=rng.choice(SUPPLIERS),
                source_document=f"CG-2020-{t:03d}",
            )
        if t == MISTAKE_DAY and "FH001" in inflows:
            writer.post(
                f"{MISTAKE_DAY}:mistake",
                "receipt",
                "SZ02",
                _at(start, t, 11, 30),
                {"FH001": 8_000},
                source="purchase",
                counterparty=SUPPLIERS[0],
                source_document="CG-2020-012B",
            )
            # Not SZ02's to dispatch: it leaves with the reversal tomorrow.
            writer.held[("SZ02", "FH001")] = 8_000
        if t % 2 == 1:
            chosen = [i for i in sorted(inflows) if "donation" in inflows[i]]
            picked = rng.sample(chosen, k=min(len(chosen), rng.randint(1, 3)))
            writer.post(
                f"{t}:donation",
                "receipt",
                "SZ02",
                _at(start, t, 12, 0),
                {i: writer.packs(i, rng.uniform(*inflows[i]["donation"])) for i in sorted(picked)},
                source="donation",
                counterparty=rng.choice(DONORS),
                source_document=f"JZ-2020-{t:03d}",
            )
        if t == DAMAGE_DAY:
            # Part of the morning's national consignment arrived wet (about 2% of what the
            # warehouse holds of the item): written off.
            damaged = next(
                (i for i in ("FH002", "FH001") if writer.available("SZ01", i) >= 5_000), None
            )
            if damaged:
                writer.post(
                    f"{t}:damaged",
                    "adjustment",
                    "SZ01",
                    _at(start, t, 13, 0),
                    {damaged: -writer.packs(damaged, writer.available("SZ01", damaged) * 0.02)},
                    reason="damaged",
                    note="到货时部分外箱被雨雪浸湿，开箱查验后报损",
                )
        _demo_dispatches(writer, rng, t=t, start=start, others=others, names=prefecture_names)
        for item, first_day, (low, high) in production:
            if t >= first_day:
                writer.post(
                    f"{t}:production:{item}",
                    "receipt",
                    HELD_RESERVE,
                    _at(start, t, 18, 0),
                    {item: writer.packs(item, rng.uniform(low, high))},
                    source="own_production",
                    counterparty="广河新善友医疗器械有限公司",
                    source_document=f"SC-{item}-{t:03d}",
                )
        if t == COUNT_DAY:
            counted = {}
            for item, difference in (("FH001", -20), ("FH002", 0), ("XD002", -3)):
                on_hand = writer.stock.get(("SZ01", item), 0)
                if item in item_codes and on_hand + difference >= 0:
                    counted[item] = on_hand + difference
            writer.post(
                f"{t}:count",
                "count",
                "SZ01",
                _at(start, t, 19, 0),
                counted,
                note="3月上旬库存盘点：N95少20只（破损未登记），酒精少3瓶",
            )
    return writer.events


def _demo_dispatches(writer, rng, *, t, start, others, names) -> None:
    """Afternoon dispatches from the reserve: early on nearly all that came in, from March
    a smaller share, so the reserve builds up. Lanzhou and Tianshui receive theirs into their
    own warehouses the same evening; the other destinations have no warehouse here."""
    share = (0.35, 0.6) if t < 35 else (0.08, 0.2)
    sources = [*RESERVE_WAREHOUSES] + ([HELD_RESERVE] if t >= 12 and t % 3 == 0 else [])
    if t % 2 and t < 35:
        sources = [HELD_RESERVE] if HELD_RESERVE in sources else []
    for n, source in enumerate(sources):
        items = sorted({item for (warehouse, item) in writer.stock if warehouse == source})
        portion = {
            item: writer.available(source, item) * rng.uniform(*share)
            for item in items
            if writer.available(source, item) > 0
        }
        if not portion:
            continue
        destinations = ["LZ01", "TS01", *rng.sample(others, k=min(len(others), 2))]
        weights = [rng.uniform(1.5, 2.5), rng.uniform(0.8, 1.2)] + [
            rng.uniform(0.3, 0.8) for _ in destinations[2:]
        ]
        if source != HELD_RESERVE and rng.random() < 0.3:
            destinations.append(rng.choice(PROVINCIAL_RECIPIENTS))
            weights.append(rng.uniform(0.3, 0.6))
        total = sum(weights)
        for k, destination in enumerate(destinations):
            lines = {
                item: writer.packs(item, units * weights[k] / total)
                for item, units in portion.items()
            }
            lines = {item: q for item, q in lines.items() if q}
            if not lines:
                continue
            note = f"DB-2020{(start + dt.timedelta(days=t)).strftime('%m%d')}-{n}{k}"
            writer.post(
                f"{t}:{source}:dispatch:{destination}",
                "issue",
                source,
                _at(start, t, 15, 10 * k),
                lines,
                issue_kind="dispatch",
                counterparty=WAREHOUSE_NAMES.get(destination)
                or names.get(destination, destination),
                source_document=note,
            )
            if destination in PREFECTURE_WAREHOUSES:
                writer.post(
                    f"{t}:{source}:arrival:{destination}",
                    "receipt",
                    destination,
                    _at(start, t, 20, 10 * k),
                    lines,
                    source="transfer_in",
                    counterparty=WAREHOUSE_NAMES[source],
                    source_document=note,
                )


def demo_warehouses_create(*, user=None) -> dict:
    """The demo's five warehouses, those missing; existing ones are left as they are."""
    existing = set(
        Warehouse.objects.filter(code__in=[w.code for w in DEMO_WAREHOUSES]).values_list(
            "code", flat=True
        )
    )
    prefectures = {p.code: p for p in Prefecture.objects.all()}
    created = []
    for demo in DEMO_WAREHOUSES:
        if demo.code in existing:
            continue
        warehouse = Warehouse(
            code=demo.code,
            name_zh=demo.name_zh,
            name_en=demo.name_en,
            kind=demo.kind,
            prefecture=prefectures.get(demo.prefecture_code),
            address=demo.address,
            manager=demo.manager,
        )
        warehouse._history_user = user
        warehouse.save()
        created.append(demo.code)
    return {"created": len(created), "existing": len(existing)}


@transaction.atomic
def demo_ledger_create(*, user=None, start=DEMO_START, days=DEMO_DAYS, seed=DEMO_SEED) -> dict:
    """The demo warehouses and their ledger, posted through `stock_events_import`.

    Idempotent: every event carries a client UUID, so a second run posts nothing.
    """
    user = user or _default_fallback_user()
    warehouses = demo_warehouses_create(user=user)
    items = dict(Item.objects.filter(active=True).values_list("code", "pack_size"))
    events = demo_ledger_events(
        item_codes=set(items),
        pack_sizes=items,
        prefecture_names=dict(active_prefectures().values_list("code", "name_zh")),
        start=start,
        days=days,
        seed=seed,
    )
    posted = stock_events_import(user=user, events=events)
    replayed = sum(1 for event in posted if event.replayed)
    return {
        "warehouses_created": warehouses["created"],
        "warehouses_existing": warehouses["existing"],
        "events_posted": len(posted) - replayed,
        "events_existing": replayed,
    }
