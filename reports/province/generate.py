"""The seeded generator of a province's series: no database, only a `Province` and its seed.

Everything generated lives here, drawn from the parameters of the province folder:
- the protected staff of every prefecture and category (`staff_count`);
- the daily figures of every prefecture and key item (`daily_figures`): stock falls for about
  three weeks while consumption climbs, bottoms out (some prefectures run into red), then
  recovers as own production, purchases and allocations ramp up; demand runs ahead of
  consumption early on and converges later. The stock identity
  `stock_d = stock_{d-1} + received_d - consumption_d` holds except for a handful of
  deliberately inconsistent reports; a few prefecture-days are late, a few missing;
- the reserve ledger of the same days (`ledger_events`), in the shape `stock_events_import`
  takes;
- the producers' credit codes, capacities and daily production reports (`production_rows`);
- the dispatch batches and the reserve receipts they draw on (`batch_plan`,
  `batch_reserve_receipts`).

Each series has its own `random.Random` seeded from the province's seed and what it is (the
prefecture and item codes, a producer key...), so adding an item does not reshuffle the others,
and the same folder always gives the same rows.
"""

import dataclasses
import datetime as dt
import math
import random
import uuid
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from supplycoord.lib.credit_code import ALPHABET, check_character
from supplycoord.lib.dates import cutoff_for
from supplycoord.lib.numbers import grouped

from .files import (
    Province,
    ProvinceDataInvalid,
    ProvinceFileError,
    ProvinceProducer,
    onward_numbers,
)

# Kinds of warehouse, destination, line and channel, as the files write them.
PROVINCIAL_RESERVE, PRODUCER_HELD, PREFECTURE = "provincial_reserve", "producer_held", "prefecture"
AID_TEAM = "aid_team"
COMMISSIONED, STOPPED = "commissioned", "stopped"
DONATION = "donation"


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A local moment of the province's calendar."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _stochastic_round(rng: random.Random, value: float) -> int:
    """Round so the expected value is kept: 0.3 becomes 1 three times in ten."""
    if value <= 0:
        return 0
    whole = int(value)
    return whole + (1 if rng.random() < value - whole else 0)


# --- people -------------------------------------------------------------------------------


def population_10k(province: Province, prefecture_code: str) -> int:
    return province.population.get(prefecture_code, province.figures["default_population_10k"])


def medical_concentration(province: Province, prefecture_code: str) -> float:
    return province.medical_concentration.get(prefecture_code, 1.0)


def staff_count(province: Province, prefecture_code: str, category_code: str) -> int | None:
    """The head count of one prefecture and category; deterministic, rounded to 10.

    None for a category without a rate (added later in the admin: no staff generated)."""
    if category_code not in province.staff_rates:
        return None
    per_10k, medical = province.staff_rates[category_code]
    people = population_10k(province, prefecture_code) * per_10k
    if medical:
        people *= medical_concentration(province, prefecture_code)
    # A stable ±12% wobble per prefecture and category, so the figures do not look computed.
    wobble = random.Random(f"{province.seed}:staff:{prefecture_code}:{category_code}").uniform(
        0.88, 1.12
    )
    return max(10, int(round(people * wobble, -1)))


# --- daily figures ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class FigureItem:
    code: str
    category: str


@dataclasses.dataclass(frozen=True)
class FigurePlan:
    """Which reports are deliberately off: missing and late prefecture-days, stock jumps."""

    missing: frozenset  # {(prefecture_code, day index)}
    late: frozenset  # {(prefecture_code, day index)}
    inconsistent: frozenset  # {(prefecture_code, item_code, day index)}


def consumption_level(t: int) -> float:
    """Share of the plateau rate on day t: about 40% on the first day, 95% by the third week."""
    return 0.35 + 0.65 / (1 + math.exp(-(t - 9) / 3.5))


def _smoothstep(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return u * u * (3 - 2 * u)


def figure_plan(
    province: Province, prefecture_codes: list[str], item_codes: list[str]
) -> FigurePlan:
    """Pick the late, missing and inconsistent reports, deterministically.

    The last day has one missing and one late prefecture, so today's completeness panel has
    something to show.
    """
    days, params = province.days, province.figures
    rng = random.Random(f"{province.seed}:plan")
    codes = sorted(prefecture_codes)
    items = sorted(item_codes)
    if not codes or not items or days < 4:
        return FigurePlan(frozenset(), frozenset(), frozenset())
    last = days - 1

    missing = {(rng.choice(codes), last)}
    while len(missing) < min(params["missing_prefecture_days"], len(codes) * (days - 2)):
        missing.add((rng.choice(codes), rng.randrange(1, last)))

    late = set()
    candidates = [c for c in codes if (c, last) not in missing]
    if candidates:
        late.add((rng.choice(candidates), last))
    while len(late) < min(params["late_prefecture_days"], len(codes) * (days - 2) - len(missing)):
        key = (rng.choice(codes), rng.randrange(0, last))
        if key not in missing:
            late.add(key)

    inconsistent = set()
    attempts = 0
    while len(inconsistent) < params["inconsistent_reports"] and attempts < 1000:
        attempts += 1
        code, day = rng.choice(codes), rng.randrange(2, last)
        # The gap only shows when both this day and the day before were reported.
        if (code, day) in missing or (code, day - 1) in missing:
            continue
        inconsistent.add((code, rng.choice(items), day))
    return FigurePlan(frozenset(missing), frozenset(late), frozenset(inconsistent))


def _protected_scale(province: Province, prefecture_code: str) -> float:
    """Protected people per resident, relative to a prefecture of the average staff mix.

    Where the provincial hospitals are, far more medical staff are protected than the
    population suggests, and more of every item is used for them: use follows the people
    protected, which is what the spot checks compare.
    """
    concentration = medical_concentration(province, prefecture_code)
    rates = province.staff_rates.values()
    weighted = sum(n * (concentration if medical else 1) for n, medical in rates)
    return weighted / sum(n for n, _medical in rates)


def _usage_habit(province: Province, prefecture_code: str, item_code: str) -> float:
    """A prefecture's own habit with one item (how strictly masks are changed, how wards
    ration suits): a stable factor between 0.8 and 1.25, and the spot-check case's factor."""
    outlier = province.figures["spot_check_outlier"]
    if outlier and (prefecture_code, item_code) == outlier[:2]:
        return outlier[2]
    return random.Random(f"{province.seed}:habit:{prefecture_code}:{item_code}").uniform(0.8, 1.25)


def _series(
    province: Province, *, prefecture_code: str, item: FigureItem, jumps: set[int]
) -> list[dict]:
    """One prefecture's figures for one item, day by day (plus the look-ahead days)."""
    params, seed = province.figures, province.seed
    rng = random.Random(f"{seed}:series:{prefecture_code}:{item.code}")
    per_10k = province.consumption.get(item.code) or params["category_per_10k"].get(
        item.category, 3.0
    )
    rate = (
        per_10k
        * population_10k(province, prefecture_code)
        * _protected_scale(province, prefecture_code)
        * _usage_habit(province, prefecture_code, item.code)
    )
    min_stock = params["min_stock"].get(item.category, 0)

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
    lookahead = params["lookahead_days"]
    for t in range(province.days + lookahead):
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
    # What the prefecture expects in the next days from its own channels: a part of what
    # will actually arrive (provincial dispatches are not in this figure).
    for t, row in enumerate(rows):
        coming = sum(r["received"] for r in rows[t + 1 : t + 1 + lookahead])
        row["expected_arrivals_3d"] = round(coming * rng.uniform(0.4, 0.9))
    return rows[: province.days]


def _figure_submission_time(province: Province, *, prefecture_code: str, date: dt.date, late: bool):
    """When a prefecture's report of `date` came in: before the cut-off, or after it if late."""
    recorded = province.as_recorded(date)  # the same draw wherever the story is laid
    rng = random.Random(f"{province.seed}:submitted:{prefecture_code}:{recorded.isoformat()}")
    cutoff = cutoff_for(date)
    if late:
        return cutoff + dt.timedelta(minutes=rng.randint(20, 390))
    return cutoff - dt.timedelta(minutes=rng.randint(10, 420))


def daily_figures(province: Province, *, prefecture_codes: list[str], items: list[FigureItem]):
    """Yield (prefecture_code, item_code, date, figures, submitted_at, on_time).

    Missing prefecture-days yield nothing.
    """
    start, days = province.start, province.days
    plan = figure_plan(province, prefecture_codes, [i.code for i in items])
    jumps_by_key: dict[tuple[str, str], set[int]] = {}
    for code, item_code, day in plan.inconsistent:
        jumps_by_key.setdefault((code, item_code), set()).add(day)
    submitted = {}
    for code in prefecture_codes:
        for t in range(days):
            date = start + dt.timedelta(days=t)
            moment = _figure_submission_time(
                province, prefecture_code=code, date=date, late=(code, t) in plan.late
            )
            submitted[(code, t)] = (moment, moment <= cutoff_for(date))
    for code in prefecture_codes:
        for item in items:
            series = _series(
                province,
                prefecture_code=code,
                item=item,
                jumps=jumps_by_key.get((code, item.code), set()),
            )
            for t, figures in enumerate(series):
                if (code, t) in plan.missing:
                    continue
                moment, on_time = submitted[(code, t)]
                yield code, item.code, start + dt.timedelta(days=t), figures, moment, on_time


# --- the reserve ledger -------------------------------------------------------------------


def _event_uuid(seed: int, key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplycoord-demo-ledger:{seed}:{key}"))


class _LedgerWriter:
    """Collects the events in time order and keeps their running balances, so the generator
    never dispatches stock it does not have."""

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
            "client_uuid": _event_uuid(self.seed, key),
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
                if self.stock[(warehouse, item)] < 0:
                    raise ValueError(f"the generated ledger goes negative: {key} {item}")
        self.events.append(event)
        return event

    def packs(self, item: str, units: float) -> int:
        """Whole packs (cartons of pack_size × 10 for masks and gloves), never more."""
        pack = self.pack.get(item, 1)
        pack = pack * 10 if pack >= 20 else pack
        return int(units // pack) * pack


def ledger_events(
    province: Province,
    *,
    item_codes: set[str],
    pack_sizes: dict[str, int],
    prefecture_names: dict[str, str],
) -> list[dict]:
    """The stock events of the province's days as `stock_events_import` takes them.

    `item_codes`: the catalogue's active items (others are left out); `prefecture_names`:
    {code: Chinese name} of the prefectures dispatches may go to.
    """
    start, seed, p = province.start, province.seed, province.ledger
    names = {w.code: w.name_zh for w in province.warehouses}
    reserve = [w.code for w in province.warehouses if w.kind == PROVINCIAL_RESERVE]
    held_reserve = next((w.code for w in province.warehouses if w.kind == PRODUCER_HELD), None)
    # The prefecture warehouses this ledger's dispatches reach (ledger.yaml's receiving
    # weights). Another prefecture warehouse (DX01: onward.yaml stocks it from the province's
    # batches) is not part of this story, and its prefecture stays among the other
    # destinations, so the generated ledger is the same with it as without it.
    receiving = p["dispatch"]["receiving_weights"]
    prefecture_warehouses = {
        w.code: w.prefecture_code
        for w in province.warehouses
        if w.kind == PREFECTURE and w.code in receiving
    }
    rng = random.Random(f"{seed}:ledger")
    writer = _LedgerWriter(seed=seed, pack_sizes=pack_sizes)
    inflows = {
        code: ranges for code, ranges in province.reserve_inflows.items() if code in item_codes
    }
    production = [o for o in p["own_production"]["items"] if o["item"] in item_codes]
    others = sorted(code for code in prefecture_names if code not in prefecture_warehouses.values())
    mistake, damage, count = p["mistake"], p["damage"], p["count"]
    national, purchase, donation = p["national"], p["purchase"], p["donation"]

    def consignment(channel, chance=1.0):
        return {
            item: writer.packs(item, rng.uniform(*ranges[channel]))
            for item, ranges in inflows.items()
            if channel in ranges and rng.random() < chance
        }

    def mistaken_purchase(key, warehouse, when, **note):
        writer.post(
            key,
            "receipt",
            warehouse,
            when,
            {mistake["item"]: mistake["quantity"]},
            source="purchase",
            counterparty=purchase["suppliers"][0],
            source_document=mistake["document"],
            **note,
        )

    for t in range(province.days):
        day = start + dt.timedelta(days=t)
        if t == mistake["day"] + 1 and (mistake["wrong_warehouse"], mistake["item"]) in writer.held:
            # The wrongly booked receipt is reversed and booked where the goods are.
            writer.post(
                f"{mistake['day']}:mistake:reversal",
                "reversal",
                mistake["wrong_warehouse"],
                at(day, 9, 0),
                {},
                reverses=_event_uuid(seed, f"{mistake['day']}:mistake"),
                note=mistake["reversal_note"],
            )
            key = (mistake["wrong_warehouse"], mistake["item"])
            writer.stock[key] -= writer.held.pop(key)
            mistaken_purchase(
                f"{mistake['day']}:mistake:rebooked",
                mistake["right_warehouse"],
                at(day, 9, 15),
                note=mistake["rebooked_note"],
            )
        # Morning: the prefecture warehouses hand yesterday's dispatches on to hospitals.
        for warehouse, hospitals in p["hospitals"]["by_warehouse"].items():
            out = {
                item: writer.packs(item, writer.available(warehouse, item) * rng.uniform(0.5, 0.9))
                for item in sorted(item_codes)
                if writer.available(warehouse, item)
            }
            writer.post(
                f"{t}:{warehouse}:hospitals",
                "issue",
                warehouse,
                at(day, 9, 30),
                out,
                issue_kind="dispatch",
                counterparty=rng.choice(hospitals),
                source_document=p["hospitals"]["document"].format(warehouse=warehouse, day=t),
            )
        if t in national["days"]:
            lines = consignment("national", chance=national["share_of_items"])
            always, (low, high) = national["always"]
            if always in inflows:
                lines.setdefault(always, writer.packs(always, rng.uniform(low, high)))
            writer.post(
                f"{t}:national",
                "receipt",
                reserve[0],
                at(day, 10, 0),
                lines,
                source="national_allocation",
                counterparty=national["sender"],
                source_document=national["document"].format(n=national["days"].index(t) + 1),
            )
        every = purchase["every_days"]
        if t % every == every - 1:
            warehouse = reserve[(t // every) % len(reserve)]
            writer.post(
                f"{t}:purchase",
                "receipt",
                warehouse,
                at(day, 11, 0),
                consignment("purchase", chance=purchase["share_of_items"]),
                source="purchase",
                counterparty=rng.choice(purchase["suppliers"]),
                source_document=purchase["document"].format(day=t),
            )
        if t == mistake["day"] and mistake["item"] in inflows:
            mistaken_purchase(
                f"{mistake['day']}:mistake", mistake["wrong_warehouse"], at(day, 11, 30)
            )
            # Not the wrong warehouse's to dispatch: it leaves with the reversal tomorrow.
            writer.held[(mistake["wrong_warehouse"], mistake["item"])] = mistake["quantity"]
        if t % 2 == 1:
            chosen = [i for i in sorted(inflows) if "donation" in inflows[i]]
            picked = rng.sample(chosen, k=min(len(chosen), rng.randint(1, 3)))
            writer.post(
                f"{t}:donation",
                "receipt",
                donation["warehouse"],
                at(day, 12, 0),
                {i: writer.packs(i, rng.uniform(*inflows[i]["donation"])) for i in sorted(picked)},
                source="donation",
                counterparty=rng.choice(donation["donors"]),
                source_document=donation["document"].format(day=t),
            )
        if t == damage["day"]:
            # Part of the morning's national consignment arrived wet: written off.
            warehouse = damage["warehouse"]
            damaged = next(
                (
                    i
                    for i in damage["items"]
                    if writer.available(warehouse, i) >= damage["at_least"]
                ),
                None,
            )
            if damaged:
                writer.post(
                    f"{t}:damaged",
                    "adjustment",
                    warehouse,
                    at(day, 13, 0),
                    {
                        damaged: -writer.packs(
                            damaged, writer.available(warehouse, damaged) * damage["share"]
                        )
                    },
                    reason="damaged",
                    note=damage["note"],
                )
        _dispatches(
            writer,
            rng,
            province,
            t=t,
            reserve=reserve,
            held_reserve=held_reserve,
            prefecture_warehouses=prefecture_warehouses,
            others=others,
            names=names,
            prefecture_names=prefecture_names,
        )
        for own in production:
            if t >= own["from_day"]:
                item = own["item"]
                writer.post(
                    f"{t}:production:{item}",
                    "receipt",
                    held_reserve,
                    at(day, 18, 0),
                    {item: writer.packs(item, rng.uniform(*own["range"]))},
                    source="own_production",
                    counterparty=p["own_production"]["counterparty"],
                    source_document=p["own_production"]["document"].format(item=item, day=t),
                )
        if t == count["day"]:
            counted = {}
            for item, difference in count["differences"].items():
                on_hand = writer.stock.get((count["warehouse"], item), 0)
                if item in item_codes and on_hand + difference >= 0:
                    counted[item] = on_hand + difference
            writer.post(
                f"{t}:count",
                "count",
                count["warehouse"],
                at(day, 19, 0),
                counted,
                note=count["note"],
            )
    return writer.events


def _dispatches(
    writer,
    rng,
    province,
    *,
    t,
    reserve,
    held_reserve,
    prefecture_warehouses,
    others,
    names,
    prefecture_names,
) -> None:
    """Afternoon dispatches from the reserve: early on nearly all that came in, later a
    smaller share, so the reserve builds up. The prefecture warehouses receive theirs the same
    evening; the other destinations have no warehouse here."""
    params = province.ledger["dispatch"]
    build_up = params["build_up_from_day"]
    share = (0.35, 0.6) if t < build_up else (0.08, 0.2)
    from_held = held_reserve and t >= params["held_reserve_from_day"] and t % 3 == 0
    sources = [*reserve] + ([held_reserve] if from_held else [])
    if t % 2 and t < build_up:
        sources = [held_reserve] if held_reserve in sources else []
    for n, source in enumerate(sources):
        items = sorted({item for (warehouse, item) in writer.stock if warehouse == source})
        portion = {
            item: writer.available(source, item) * rng.uniform(*share)
            for item in items
            if writer.available(source, item) > 0
        }
        if not portion:
            continue
        receiving = params["receiving_weights"]
        destinations = [*receiving, *rng.sample(others, k=min(len(others), 2))]
        weights = [rng.uniform(*receiving[code]) for code in receiving]
        weights += [rng.uniform(*params["other_weight"]) for _ in destinations[len(receiving) :]]
        if source != held_reserve and rng.random() < 0.3:
            destinations.append(rng.choice(params["provincial_recipients"]))
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
            day = province.start + dt.timedelta(days=t)
            note = params["document"].format(mmdd=day.strftime("%m%d"), n=n, k=k)
            writer.post(
                f"{t}:{source}:dispatch:{destination}",
                "issue",
                source,
                at(day, 15, 10 * k),
                lines,
                issue_kind="dispatch",
                counterparty=names.get(destination)
                or prefecture_names.get(destination, destination),
                source_document=note,
            )
            if destination in prefecture_warehouses:
                writer.post(
                    f"{t}:{source}:arrival:{destination}",
                    "receipt",
                    destination,
                    at(day, 20, 10 * k),
                    lines,
                    source="transfer_in",
                    counterparty=names[source],
                    source_document=note,
                )


# --- producers ----------------------------------------------------------------------------


def credit_code(province: Province, producer: ProvinceProducer) -> str:
    """An invented but valid unified social credit code: 9 (market regulator), 1 (enterprise),
    the county code, "MA" and seven seeded characters, and the GB 32100 check character."""
    rng = random.Random(f"{province.seed}:credit-code:{producer.key}")
    region = producer.county or producer.prefecture
    first17 = "91" + region + "MA" + "".join(rng.choice(ALPHABET) for _ in range(7))
    return first17 + check_character(first17)


def capacity(province: Province) -> dict[str, dict[str, int]]:
    """{item: {"commissioned": …, "when_all_built": …, "lines": …}} of the province's lines."""
    totals: dict[str, dict[str, int]] = {}
    for producer in province.producers:
        for line in producer.lines:
            if line.status == STOPPED:
                continue
            row = totals.setdefault(line.item, {"commissioned": 0, "when_all_built": 0, "lines": 0})
            row["when_all_built"] += line.capacity
            row["lines"] += 1
            if line.status == COMMISSIONED:
                row["commissioned"] += line.capacity
    return totals


def report_window(province: Province) -> tuple[dt.date, dt.date]:
    """The first and last day with production reports: the province's last days."""
    last = province.last_day
    return last - dt.timedelta(days=province.production["report_days"] - 1), last


def _ramp(line, day: dt.date) -> float:
    """A new line runs at 60% of its capacity the day it is commissioned, full after 5 days."""
    return min(1.0, 0.6 + 0.08 * (day - line.on).days)


def production_rows(
    province: Province, *, reserve: dict[tuple[str, dt.date], int] | None = None
) -> list[dict]:
    """The production reports as dicts (producer key, item, date, figures).

    `reserve`: {(item, date): quantity} the held-reserve producer delivered into its warehouse
    that day (from the ledger); its reports carry those quantities as `to_reserve`.
    """
    params, seed = province.production, province.seed
    reserve = reserve or {}
    first_day, _last = report_window(province)
    held_producer, _warehouse = params["held_reserve"]
    low_key, low_item, low_from = params["low_utilisation"]
    hundreds = set(params["counted_in_hundreds"])

    def rounded(value: float, item: str) -> int:
        step = 100 if item in hundreds else 10
        return int(value // step) * step

    rows = []
    for producer in province.producers:
        for item in sorted({line.item for line in producer.lines}):
            lines = [
                line for line in producer.lines if line.item == item and line.status == COMMISSIONED
            ]
            if not lines:
                continue
            rng = random.Random(f"{seed}:production:{producer.key}:{item}")
            stock = None
            base_days = rng.randint(6, 15)
            for n in range(params["report_days"]):
                day = first_day + dt.timedelta(days=n)
                running = [line for line in lines if line.on <= day]
                if not running:
                    continue
                utilisation = rng.uniform(0.72, 0.94)
                material_days = max(2, base_days + rng.randint(-3, 3))
                if (producer.key, item) == (low_key, low_item) and day >= low_from:
                    utilisation = rng.uniform(0.35, 0.5)
                    material_days = 1
                running_capacity = sum(line.capacity * _ramp(line, day) for line in running)
                output = rounded(running_capacity * utilisation, item)
                to_reserve = reserve.get((item, day), 0) if producer.key == held_producer else 0
                output = max(output, to_reserve)
                if stock is None:
                    # Stock carried into the window: none on a line's first day.
                    first = min(line.on for line in running)
                    stock = 0 if first == day else rounded(output * rng.uniform(0.3, 0.6), item)
                target = rounded(output * rng.uniform(0.25, 0.7), item)
                shipped = max(to_reserve, stock + output - target)
                stock = stock + output - shipped
                rest = shipped - to_reserve
                share = (
                    rng.uniform(0.75, 0.9) if item == params["suit"] else rng.uniform(0.35, 0.65)
                )
                to_prefectures = rounded(rest * share, item)
                held = rounded(stock * rng.uniform(0.2, 0.5), item) if producer.provincial else 0
                rows.append(
                    {
                        "producer": producer.key,
                        "item": item,
                        "date": day,
                        "output": output,
                        "to_reserve": to_reserve,
                        "to_prefectures": to_prefectures,
                        "to_market": rest - to_prefectures,
                        "factory_stock": stock,
                        "held_for_province": held,
                        "raw_material_days": material_days,
                    }
                )
    return rows


def production_submission_time(province: Province, who: str, day: dt.date) -> dt.datetime:
    """When a day's production reports came in: in the evening, from 17:00."""
    recorded = province.as_recorded(day).isoformat()  # the same draw wherever the story is laid
    rng = random.Random(f"{province.seed}:production-submitted:{who}:{recorded}")
    return at(day, 17, 0) + dt.timedelta(minutes=rng.randint(0, 150))


# --- dispatch batches ---------------------------------------------------------------------


@dataclasses.dataclass
class PlannedBatch:
    key: str  # a prefecture code, or the destination's Chinese name
    kind: str
    day: dt.date
    warehouse: str
    template: tuple
    weight: float = 1.0
    priority: str = "other"
    reason: str = ""
    fixed: tuple = ()  # ((item, channel, quantity, donation key or None), ...)
    lines: list = dataclasses.field(default_factory=list)  # [(item, channel, qty, donation)]
    at: dt.datetime | None = None
    number: str = ""
    recorded: str = ""  # the number as the files write it (before a shift moves its year)


def _spread(start: dt.date, end: dt.date, count: int) -> list[dt.date]:
    span = (end - start).days
    return [start + dt.timedelta(days=(i * span) // max(1, count - 1)) for i in range(count)]


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights`, each part at least 1, exactly `total`."""
    n = len(weights)
    rest = total - n
    scale = sum(weights)
    raw = [rest * w / scale for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + 1 for p in parts]


def _plan_invalid(field: str, message: str) -> ProvinceDataInvalid:
    return ProvinceDataInvalid([ProvinceFileError("allocation.yaml", "/", field, message)])


def batch_plan(province: Province) -> list[PlannedBatch]:
    """The dispatch batches with their lines, numbered in dispatch order.

    Raises ProvinceDataInvalid when the totals of allocation.yaml cannot be met (fewer units
    than template lines, fixed lines above a total, a count that does not add up)."""
    p = province.allocation
    templates, prefectures = p["templates"], p["prefectures"]
    plan: list[PlannedBatch] = []

    # Prefectures: two rounds to every destination, then the larger ones again.
    rounds: list[list[str]] = [[], [], []]
    for code, (count, _weight) in prefectures["counts"].items():
        for r in range(count):
            rounds[min(r, 2)].append(code)
    ordered = rounds[0] + rounds[1] + rounds[2]
    days = _spread(prefectures["first_day"], prefectures["last_day"], len(ordered))
    rotation = prefectures["rotation"]
    for n, (code, day) in enumerate(zip(ordered, days, strict=True)):
        slot = rotation[0] if day < prefectures["rotation_from"] else rotation[n % len(rotation)]
        template = slot["template"]
        if slot["from"] and slot["then"] and day >= slot["from"]:
            template = slot["then"]
        hard_hit = code in prefectures["hard_hit"]
        plan.append(
            PlannedBatch(
                key=code,
                kind=PREFECTURE,
                day=day,
                warehouse=slot["warehouse"],
                template=templates[template],
                weight=prefectures["counts"][code][1],
                priority=prefectures["hard_hit_priority"] if hard_hit else prefectures["priority"],
                reason=prefectures["hard_hit_reason"] if hard_hit else prefectures["reason"],
            )
        )
    # Donated stock on prefecture batches that left after the donation arrived.
    for placement in prefectures["donations"]:
        matching = [
            b
            for b in plan
            if b.warehouse == placement["warehouse"]
            and b.day >= placement["on_or_after"]
            and placement["destination"] in (None, b.key)
        ]
        if len(matching) < placement["nth"]:
            raise _plan_invalid(
                "prefectures.donations",
                _(
                    "Donation %(donation)s: there is no batch number %(nth)d from %(warehouse)s "
                    "on or after %(date)s."
                )
                % {
                    "donation": placement["donation"],
                    "nth": placement["nth"],
                    "warehouse": placement["warehouse"],
                    "date": placement["on_or_after"],
                },
            )
        batch = matching[placement["nth"] - 1]
        batch.fixed = (
            *batch.fixed,
            *(
                (item, DONATION, quantity, placement["donation"])
                for item, quantity in placement["lines"]
            ),
        )
    for spec in p["other_batches"]:
        plan.append(
            PlannedBatch(
                key=spec["destination"],
                kind=spec["kind"],
                day=spec["day"],
                warehouse=spec["warehouse"],
                template=templates[spec["template"]] if spec["template"] else (),
                weight=spec["weight"],
                priority=spec["priority"],
                reason=spec["reason"],
                fixed=tuple(spec["fixed"]),
            )
        )

    # Quantities: each kind's total less its fixed lines, over the template lines.
    unit = p["unit"]
    for kind, figure in p["totals"].items():
        batches = [b for b in plan if b.kind == kind]
        fixed = sum(q for b in batches for _i, _c, q, _d in b.fixed)
        slots = [
            (b, item, channel, b.weight * w) for b in batches for item, channel, w in b.template
        ]
        if (
            (figure - fixed) % unit
            or not (slots or figure == fixed)
            or (slots and (figure - fixed) // unit < len(slots))
        ):
            raise _plan_invalid(
                f"totals.{kind}",
                _(
                    "%(total)s less the fixed lines (%(fixed)s) cannot be split into whole units "
                    "of %(unit)s over %(lines)s template lines."
                )
                % {
                    "total": grouped(figure),
                    "fixed": grouped(fixed),
                    "unit": grouped(unit),
                    "lines": grouped(len(slots)),
                },
            )
        parts = _largest_remainder((figure - fixed) // unit, [s[3] for s in slots]) if slots else []
        for b in batches:
            b.lines = [(i, c, q, d) for i, c, q, d in b.fixed]
        for (b, item, channel, _w), units in zip(slots, parts, strict=True):
            b.lines.append((item, channel, units * unit, None))

    # Numbers in dispatch order; batches of one day leave some minutes apart.
    dispatch = p["dispatch"]
    plan.sort(key=lambda b: (b.day, b.kind != AID_TEAM, b.kind, b.key))
    per_day: dict[dt.date, int] = defaultdict(int)
    for n, b in enumerate(plan, start=1):
        slot = per_day[b.day]
        per_day[b.day] += 1
        minutes = slot * dispatch["minutes_apart"]
        b.at = at(b.day, dispatch["first_departure_hour"] + minutes // 60, minutes % 60)
        b.recorded = p["number"].format(n=n)
        # A shifted story numbers its batches in the year they now leave (2026-058).
        b.number = f"{b.day.year}{b.recorded[4:]}" if province.shift_days else b.recorded
    if len(plan) != p["batches"]:
        raise _plan_invalid(
            "batches",
            _("The plan has %(count)s batches, not %(expected)s.")
            % {"count": grouped(len(plan)), "expected": grouped(p["batches"])},
        )
    total = sum(q for b in plan for _i, _c, q, _d in b.lines)
    if total != p["total"]:
        raise _plan_invalid(
            "total",
            _("The batches add up to %(total)s, not %(expected)s.")
            % {"total": grouped(total), "expected": grouped(p["total"])},
        )
    return plan


def allocation_uuid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplycoord-demo-allocation:{key}"))


def batch_reserve_receipts(province: Province, plan: list[PlannedBatch]) -> list[dict]:
    """The receipts the batches draw on, for `stock_events_import`: per (warehouse, channel,
    ISO week) of dispatch, at 08:00 of the group's first dispatch day, exactly what the
    group's batches dispatch from that channel. Donated stock comes with its donation."""
    params, ledger = province.allocation["receipts"], province.ledger
    groups: dict[tuple, dict] = {}
    for b in plan:
        for item, channel, quantity, donation in b.lines:
            if donation is not None:
                continue
            key = (b.warehouse, channel, b.day.isocalendar()[1])
            group = groups.setdefault(key, {"day": b.day, "lines": defaultdict(int)})
            group["day"] = min(group["day"], b.day)
            group["lines"][item] += quantity
    events = []
    suppliers = ledger["purchase"]["suppliers"]
    for n, ((warehouse, channel, week), group) in enumerate(
        sorted(groups.items(), key=lambda g: (g[1]["day"], g[0]))
    ):
        if channel == "national_allocation":
            counterparty = ledger["national"]["sender"]
            document = params["national_document"].format(week=week, n=n + 1)
        elif channel == "purchase":
            counterparty = suppliers[n % len(suppliers)]
            document = params["purchase_document"].format(n=n + 1)
        else:
            counterparty = params["producers"][warehouse]
            document = params["own_production_document"].format(n=n + 1)
        events.append(
            {
                "warehouse": warehouse,
                "kind": "receipt",
                "source": channel,
                "occurred_at": at(group["day"], 8, 0),
                "lines": [{"item": i, "quantity": q} for i, q in sorted(group["lines"].items())],
                "counterparty": counterparty,
                "source_document": document,
                "note": params["note"],
                "client_uuid": allocation_uuid(f"receipt:{warehouse}:{channel}:{week}"),
            }
        )
    return events


# --- three-level dispatch: the prefectures' onward batches (onward.yaml) --------------------


@dataclasses.dataclass(frozen=True)
class OnwardBatch:
    """A batch a prefecture sent from its own warehouse to one of its counties."""

    prefecture: str
    warehouse: str
    officer: str
    lead: str
    carrier: str
    destination: str  # the county destination's Chinese name
    number: str  # in the year it leaves (a shifted story: the year it now leaves)
    recorded: str  # the number as the files write it, for onward.yaml's references
    drafted: dt.datetime
    approved: dt.datetime
    dispatched: dt.datetime
    expected_arrival: dt.date
    priority: str
    reason: str
    lines: dict  # {item: quantity}
    received_at: dt.datetime
    received_by: str
    received: dict  # {item: quantity received}: all of it, or a part on its way
    receipt_note: str


def onward_plan(province: Province) -> list[OnwardBatch]:
    """The onward batches of onward.yaml, numbered in each prefecture's series in the order
    they leave (files.onward_numbers); [] when the folder has none."""
    plan = []
    for entry in province.onward.get("prefectures", ()):
        days = [spec["dispatched"][0] for spec in entry["batches"]]
        numbers = onward_numbers(entry["prefecture"], days)
        for spec, number in zip(entry["batches"], numbers, strict=True):
            received = spec["received"]
            plan.append(
                OnwardBatch(
                    prefecture=entry["prefecture"],
                    warehouse=entry["warehouse"],
                    officer=entry["officer"],
                    lead=entry["lead"],
                    carrier=entry["carrier"],
                    destination=spec["destination"],
                    number=number,
                    recorded=spec["recorded"],
                    drafted=at(*spec["drafted"]),
                    approved=at(*spec["approved"]),
                    dispatched=at(*spec["dispatched"]),
                    expected_arrival=spec["expected_arrival"],
                    priority=spec["priority"],
                    reason=spec["reason"],
                    lines=dict(spec["lines"]),
                    received_at=at(*received["at"]),
                    received_by=received["by"],
                    received=dict(received["quantities"] or spec["lines"]),
                    receipt_note=received["note"],
                )
            )
    return plan


# --- procurement: orders, distribution enterprises' reports (procurement.yaml) --------------


def supplier_credit_code(province: Province, key: str, region: str) -> str:
    """An invented but valid credit code for a supplier or an enterprise, as `credit_code`."""
    rng = random.Random(f"{province.seed}:credit-code:procurement:{key}")
    first17 = "91" + region + "MA" + "".join(rng.choice(ALPHABET) for _ in range(7))
    return first17 + check_character(first17)


def ledger_event_uuid(province: Province, key: str) -> str:
    """The client UUID of the ledger's event `key` ("53:national", "59:purchase")."""
    return _event_uuid(province.seed, key)


@dataclasses.dataclass
class PlannedOrder:
    """A purchase order of the demo, as the loader writes it (procurement.yaml)."""

    key: str  # stable: the receipt's client UUID, or the key written in procurement.yaml
    buyer: str | None  # a reserve-task unit's key; None: the office
    supplier: str
    funding: str
    ordered_on: dt.date
    created_at: dt.datetime
    lines: list  # [(item, quantity, unit price as Decimal text, expected arrival)]
    arrival: dict | None = None  # {"uuid", "warehouse", "at", "lines": {item: quantity}}
    paid: list = dataclasses.field(default_factory=list)  # [(day, amount as Decimal)]
    closed_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    note: str = ""
    number: str = ""
    recorded: str = ""  # the number as the files write it (before a shift moves its year)

    @property
    def status(self) -> str:
        if self.cancelled_at:
            return "cancelled"
        if self.closed_at:
            return "closed"
        if self.arrival is None:
            return "placed"
        done = all(self.arrival["lines"].get(item, 0) >= q for item, q, _p, _e in self.lines)
        return "arrived" if done else "partly_arrived"

    @property
    def amount(self):
        return sum((q * Decimal(p) for _i, q, p, _e in self.lines), Decimal("0.00"))


def purchase_orders(province: Province, *, events: list[dict]) -> list[PlannedOrder]:
    """The purchase orders of the province: one for every purchase receipt of `events` (the
    ledger's and the batches' receipts, as `stock_events_import` takes them), whose arrival
    that receipt is, and the open and cancelled orders of procurement.yaml.

    Each purchase receipt is rewritten in place to name its order's number and supplier
    (`source_document`, `counterparty`); its day, warehouse and quantities stay, so the ledger
    is what it was. A reversed receipt names the order of the receipt that books it again.
    Numbered per year in the order they were placed."""
    spec = province.procurement
    if not spec:
        return []
    params = spec["orders"]
    start, last = province.start, province.last_day
    suppliers = {row["key"]: row for row in spec["suppliers"]}
    offers: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in spec["capabilities"]:
        offers[row["supplier"]][row["item"]] = row
    unit_of = {}
    for row in spec["units"]:
        for code in row["warehouses"]:
            unit_of.setdefault(code, row["key"])

    def day_of(t: int) -> dt.date:
        return start + dt.timedelta(days=t)

    def price(supplier: str, item: str) -> str:
        offer = offers[supplier].get(item)
        if offer is not None:
            return offer["unit_price"]
        if item not in params["prices"]:
            raise ProvinceDataInvalid(
                [
                    ProvinceFileError(
                        "procurement.yaml",
                        "orders.prices",
                        item,
                        _("No price for %(item)s: no supplier of its order lists it.")
                        % {"item": item},
                    )
                ]
            )
        return params["prices"][item]

    reversed_ = {e["reverses"] for e in events if e["kind"] == "reversal" and e.get("reverses")}
    receipts = sorted(
        (
            e
            for e in events
            if e["kind"] == "receipt" and e.get("source") == "purchase" and e.get("lines")
        ),
        key=lambda e: (e["occurred_at"], e["client_uuid"]),
    )
    extras = {
        ledger_event_uuid(province, f"{entry['receipt_day']}:purchase"): entry
        for entry in params["partly_arrived"]
    }
    orders: list[PlannedOrder] = []
    by_receipt: dict[str, PlannedOrder] = {}
    for event in receipts:
        if event["client_uuid"] in reversed_:
            continue
        moment = timezone.localtime(event["occurred_at"])
        day = moment.date()
        recorded = province.as_recorded(day)
        rng = random.Random(
            f"{province.seed}:order:{event['warehouse']}:{recorded.isoformat()}:{moment:%H%M}"
        )
        arrived = {line["item"]: line["quantity"] for line in event["lines"]}
        # The supplier listing most of the receipt's items (ties drawn).
        score = {key: sum(1 for i in arrived if i in offers[key]) for key in suppliers}
        best = max(score.values())
        supplier = rng.choice(sorted(k for k, s in score.items() if s == best))
        lead = max(
            (offers[supplier][i]["lead_time_days"] for i in arrived if i in offers[supplier]),
            default=3,
        )
        expected = day - dt.timedelta(days=1) if rng.random() < params["late_share"] else day
        ordered = expected - dt.timedelta(days=lead)
        extra = extras.get(event["client_uuid"])
        wanted = dict(arrived)
        due = dict.fromkeys(arrived, expected)
        note = ""
        if extra is not None:
            for item, quantity, t in extra["lines"]:
                wanted[item] = wanted.get(item, 0) + quantity
                due[item] = day_of(t)
            note = extra["note"]
        buyer = unit_of.get(event["warehouse"])
        order = PlannedOrder(
            key=event["client_uuid"],
            buyer=buyer,
            supplier=supplier,
            funding="working_capital" if buyer else "fiscal",
            ordered_on=ordered,
            created_at=at(ordered, 9, rng.randint(0, 59)),
            lines=[(i, q, price(supplier, i), due[i]) for i, q in sorted(wanted.items())],
            arrival={
                "uuid": event["client_uuid"],
                "warehouse": event["warehouse"],
                "at": event["occurred_at"],
                "lines": arrived,
            },
            note=note,
        )
        pay_day = day + dt.timedelta(days=round(rng.uniform(*params["pay_after_days"])))
        if order.status == "arrived" and pay_day <= last:
            order.paid = [(pay_day, order.amount)]
            order.closed_at = at(pay_day, 16, 0)
        orders.append(order)
        by_receipt[event["client_uuid"]] = order

    for entry in (*params["placed"], *params["cancelled"]):
        rng = random.Random(f"{province.seed}:order:{entry['key']}")
        ordered = day_of(entry["ordered"])
        buyer = entry["buyer"]
        order = PlannedOrder(
            key=entry["key"],
            buyer=buyer,
            supplier=entry["supplier"],
            funding=entry["funding"] or ("working_capital" if buyer else "fiscal"),
            ordered_on=ordered,
            created_at=at(ordered, 9, rng.randint(0, 59)),
            lines=[(i, q, price(entry["supplier"], i), day_of(t)) for i, q, t in entry["lines"]],
            note=entry["note"],
        )
        if entry["cancelled"] is not None:
            order.cancelled_at = at(day_of(entry["cancelled"]), 10, 0)
        elif entry["prepaid"]:
            share = (order.amount * Decimal(str(entry["prepaid"]))).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP
            )
            pay_day = min(last, ordered + dt.timedelta(days=1))
            order.paid = [(pay_day, share)]
        orders.append(order)

    orders.sort(key=lambda o: (o.created_at, o.key))
    per_year: dict[int, int] = defaultdict(int)
    for order in orders:
        per_year[order.ordered_on.year] += 1
        n = per_year[order.ordered_on.year]
        order.number = params["number"].format(year=order.ordered_on.year, n=n)
        order.recorded = params["number"].format(
            year=province.as_recorded(order.ordered_on).year, n=n
        )

    # The receipts name their order; a reversed one the order of the receipt booked again
    # under the same document.
    document_order = {}
    for event in receipts:
        order = by_receipt.get(event["client_uuid"])
        if order is not None:
            document_order.setdefault(event.get("source_document"), order)
    for event in receipts:
        order = by_receipt.get(event["client_uuid"]) or document_order.get(
            event.get("source_document")
        )
        if order is not None:
            event["source_document"] = order.number
            event["counterparty"] = suppliers[order.supplier]["name"]
    return orders


def distribution_rows(province: Province) -> list[dict]:
    """The distribution enterprises' daily reports of the last `days` days: one dict per
    enterprise, item and day reported, with its figures and when it came in."""
    spec = province.procurement
    if not spec:
        return []
    params = spec["distribution"]
    last = province.last_day
    first = last - dt.timedelta(days=params["days"] - 1)
    late = {(key, province.start + dt.timedelta(days=t)) for key, t in params["late"]}
    missing = {(key, province.start + dt.timedelta(days=t)) for key, t in params["missing"]}
    rows = []
    for enterprise in spec["enterprises"]:
        for item in enterprise["items"]:
            rng = random.Random(f"{province.seed}:distribution:{enterprise['key']}:{item}")
            volume = enterprise["daily_volume"] * params["item_weights"].get(item, 0.1)
            stock = round(volume * rng.uniform(2, 5), -1)
            transit = round(volume * rng.uniform(1, 3), -1)
            for n in range(params["days"]):
                day = first + dt.timedelta(days=n)
                purchased = round(transit * rng.uniform(0.3, 0.6), -1)
                ordered = round(volume * rng.uniform(0.7, 1.3), -1)
                transit = transit - purchased + ordered
                shipped = min(stock + purchased, round(volume * rng.uniform(0.8, 1.2), -1))
                stock = stock + purchased - shipped
                if (enterprise["key"], day) in missing:
                    continue
                recorded = province.as_recorded(day).isoformat()
                when = random.Random(
                    f"{province.seed}:distribution-submitted:{enterprise['key']}:{recorded}"
                )
                cutoff = cutoff_for(day)
                if (enterprise["key"], day) in late:
                    moment = cutoff + dt.timedelta(minutes=when.randint(20, 300))
                else:
                    moment = cutoff - dt.timedelta(minutes=when.randint(30, 360))
                rows.append(
                    {
                        "enterprise": enterprise["key"],
                        "item": item,
                        "date": day,
                        "purchased": int(purchased),
                        "shipped": int(shipped),
                        "purchase_in_transit": int(transit),
                        "stock": int(stock),
                        "submitted_at": moment,
                    }
                )
    return rows
