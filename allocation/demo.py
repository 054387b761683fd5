"""The demo's allocation ledger: destinations, donations and Gansu's 58 dispatch batches.

Gansu's medical-supplies group reported (甘肃日报, 13 March 2020; ../shared/seeds): "截至3月10日,
全省共调拨疫情防控物资58批, 累计调拨防控物资463.7万余件。其中, 已向省级医疗机构调拨近11.57万件,
向甘肃支援湖北医疗队调拨11.78万件, 向14个市州及兰州新区调拨235.08万件。" The demo reproduces
those figures exactly in `allocation_totals(2020-01-01, 2020-03-10)`:

    destination kind          batches   items
    prefecture (14 + LZXQ)         38   2,350,800
    provincial institution          6     115,700
    aid team                        4     117,800
    other province or city         10   2,052,700
    total                          58   4,637,000

The report does not say where the remaining 2,052,700 went. The same article says the
province sent its own protective suits to Tianjin, Qingdao, Fuzhou and Xiamen on 29 February
(40,000 sets), own N95 masks to Qinghai and Ningxia on 9 March (12,000) and that its
disinfection products "在满足省内需求的同时, 还向周边省份供应": the demo books those two
shipments as reported and the rest (2,000,700, mostly disinfectant tablets counted one by
one) as disinfection products supplied to four neighbouring provinces. That split is the
demo's assumption, not a reported figure.

History path: the batch services act "now" (stock_issue refuses dates older than
SUPPLYCOORD["LEDGER_BACKDATE_DAYS"]), so the demo goes through the migration services
`donations_import_history` and `batches_import_history`, and posts the reserve receipts the
batches draw on through `inventory.services.stock_events_import`. Every receipt comes in at
08:00 on the first dispatch day of its group (warehouse, channel, week) and holds exactly what
that group's batches then dispatch, so the reserve ledger of `inventory.demo` is never lower
at any moment than without the batches, and is unchanged after them (the 10 March count
still agrees). Everything is deterministic and keyed (client UUIDs, batch numbers,
destination names): a second run adds nothing.
"""

import dataclasses
import datetime as dt
import uuid
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from inventory.models import Warehouse
from inventory.services import stock_events_import
from supplycoord.models import Item, Prefecture, Role, User

from .models import (
    BatchPriority,
    Channel,
    Destination,
    DestinationKind,
    DonationRestriction,
    DonorKind,
)
from .services import batches_import_history, donations_import_history

DEMO_YEAR = 2020
FIGURES = {
    DestinationKind.PREFECTURE: 2_350_800,
    DestinationKind.PROVINCIAL_INSTITUTION: 115_700,
    DestinationKind.AID_TEAM: 117_800,
    DestinationKind.OTHER_PROVINCE: 2_052_700,
}
TOTAL = 4_637_000
BATCHES = 58
UNIT = 100  # every line is a whole number of hundreds

INSTITUTIONS = (
    ("甘肃省人民医院", "Gansu Provincial Hospital", "李主任"),
    ("兰州大学第一医院", "First Hospital of Lanzhou University", "王主任"),
    ("兰州大学第二医院", "Second Hospital of Lanzhou University", "张主任"),
    ("甘肃省中医院", "Gansu Provincial Hospital of TCM", "赵主任"),
)
AID_TEAM = ("甘肃省支援湖北医疗队", "Gansu medical team supporting Hubei", "医疗队物资联络员")
OTHER_PROVINCES = (
    ("天津市", "Tianjin"),
    ("青岛市", "Qingdao"),
    ("福州市", "Fuzhou"),
    ("厦门市", "Xiamen"),
    ("青海省", "Qinghai"),
    ("宁夏回族自治区", "Ningxia"),
    ("陕西省", "Shaanxi"),
    ("四川省", "Sichuan"),
    ("内蒙古自治区", "Inner Mongolia"),
)
# Prefecture batches: how many each destination received, and its weight (size of a batch).
PREFECTURE_BATCHES = {
    "620100": (5, 3.0),
    "620200": (2, 0.5),
    "620300": (2, 0.6),
    "620400": (2, 1.0),
    "620500": (4, 1.6),
    "620600": (2, 1.1),
    "620700": (2, 0.9),
    "620800": (3, 1.0),
    "620900": (2, 0.9),
    "621000": (2, 1.1),
    "621100": (3, 1.1),
    "621200": (2, 1.1),
    "622900": (3, 1.0),
    "623000": (2, 0.7),
    "LZXQ": (2, 0.6),
}
NATIONAL_SENDER = "国务院联防联控机制医疗物资保障组"
SUPPLIERS = ("国药控股甘肃有限公司", "甘肃省医药投资集团有限公司", "九州通医药集团甘肃有限公司")
PRODUCERS = {
    "DC01": "广河新善友医疗器械有限公司",
    "SZ01": "省内医用防护服生产企业（政府收储）",
    "SZ02": "省内消杀产品生产企业（政府收储）",
}
CARRIERS = ("甘肃省邮政物流", "兰州顺丰速运", "省交通运输厅应急运输车队")

# Line templates: (item, channel, weight).
NATIONAL_SZ01 = (
    ("FH001", Channel.NATIONAL_ALLOCATION, 1.0),
    ("FH002", Channel.NATIONAL_ALLOCATION, 4.0),
    ("FH004", Channel.NATIONAL_ALLOCATION, 0.4),
    ("XD001", Channel.PURCHASE, 1.5),
    ("XD002", Channel.PURCHASE, 1.5),
)
PURCHASE_SZ02 = (
    ("FH002", Channel.PURCHASE, 3.0),
    ("FH003", Channel.PURCHASE, 6.0),
    ("FH005", Channel.PURCHASE, 0.5),
    ("XD005", Channel.PURCHASE, 4.0),
)
OWN_DC01 = (("FH003", Channel.OWN_PRODUCTION, 1.0),)
OWN_DC01_N95 = (("FH003", Channel.OWN_PRODUCTION, 5.0), ("FH001", Channel.OWN_PRODUCTION, 1.0))
INSTITUTION_SZ01 = (
    ("FH001", Channel.NATIONAL_ALLOCATION, 1.0),
    ("FH002", Channel.NATIONAL_ALLOCATION, 2.0),
    ("FH004", Channel.NATIONAL_ALLOCATION, 0.5),
    ("FH005", Channel.PURCHASE, 0.5),
    ("XD002", Channel.PURCHASE, 0.5),
)
AID_SZ01 = (
    ("FH001", Channel.NATIONAL_ALLOCATION, 1.0),
    ("FH004", Channel.NATIONAL_ALLOCATION, 0.6),
    ("FH005", Channel.NATIONAL_ALLOCATION, 0.6),
    ("FH006", Channel.PURCHASE, 0.2),
    ("FH008", Channel.PURCHASE, 1.5),
)
AID_SZ02 = (("FH002", Channel.PURCHASE, 1.0), ("FH008", Channel.PURCHASE, 1.0))
DISINFECTION_SZ02 = (
    ("XD005", Channel.OWN_PRODUCTION, 6.0),
    ("XD007", Channel.OWN_PRODUCTION, 3.0),
    ("XD001", Channel.OWN_PRODUCTION, 1.0),
)

# The donations, by key: donor, kind, foreign, warehouse, received (date, hour), lines,
# restriction (and its target), declared value, public.
DONATIONS = {
    "redcross": {
        "donor_name": "甘肃省红十字会",
        "donor_kind": DonorKind.ORGANISATION,
        "warehouse": "SZ02",
        "received_at": (dt.date(2020, 2, 3), 9),
        "lines": {"FH002": 30_000, "FH003": 80_000},
        "declared_value": "152000.00",
        "public": True,
        "note": "社会各界经省红十字会捐赠的口罩",
    },
    "overseas": {
        "donor_name": "海外甘肃同乡会",
        "donor_kind": DonorKind.ORGANISATION,
        "foreign": True,
        "warehouse": "SZ02",
        "received_at": (dt.date(2020, 2, 6), 9),
        "lines": {"FH001": 10_000, "FH004": 2_000},
        "restriction": DonationRestriction.FRONT_LINE_STAFF,
        "declared_value": "260000.00",
        "public": True,
        "note": "限用于一线医务人员",
    },
    "tianshui": {
        "donor_name": "天水籍在外企业家联谊会",
        "donor_kind": DonorKind.ORGANISATION,
        "warehouse": "SZ01",
        "received_at": (dt.date(2020, 2, 11), 9),
        "lines": {"FH003": 50_000, "XD001": 5_000},
        "restriction": DonationRestriction.NAMED_PREFECTURE,
        "restricted_prefecture": "620500",
        "declared_value": "85000.00",
        "public": True,
        "note": "定向捐赠天水市",
    },
    "person": {
        "donor_name": "兰州市民（个人捐赠）",
        "donor_kind": DonorKind.PERSON,
        "warehouse": "SZ01",
        "received_at": (dt.date(2020, 2, 14), 10),
        "lines": {"FH006": 500},
        "declared_value": "9000.00",
        "public": False,
        "note": "个人捐赠防护眼罩, 不公开捐赠人信息",
    },
}


@dataclasses.dataclass
class PlannedBatch:
    key: str  # destination key
    kind: str
    day: dt.date
    warehouse: str
    template: tuple
    weight: float = 1.0
    priority: str = BatchPriority.OTHER
    reason: str = ""
    fixed: tuple = ()  # ((item, channel, quantity, donation key or None), ...)
    lines: list = dataclasses.field(default_factory=list)  # [(item, channel, qty, donation)]
    at: dt.datetime | None = None
    number: str = ""


def _uuid(key: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"supplycoord-demo-allocation:{key}"))


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _spread(start: dt.date, end: dt.date, count: int) -> list[dt.date]:
    span = (end - start).days
    return [start + dt.timedelta(days=(i * span) // max(1, count - 1)) for i in range(count)]


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to `weights`, each part at least 1, exactly `total`."""
    n = len(weights)
    assert total >= n, (total, n)
    rest = total - n
    scale = sum(weights)
    raw = [rest * w / scale for w in weights]
    parts = [int(x) for x in raw]
    order = sorted(range(n), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[: rest - sum(parts)]:
        parts[i] += 1
    return [p + 1 for p in parts]


def demo_batch_plan() -> list[PlannedBatch]:
    """The 58 batches with their lines, numbered in dispatch order; no database."""
    plan: list[PlannedBatch] = []
    lanzhou_first = dt.date(2020, 1, 27)

    # Prefectures: two rounds to every destination, then the larger ones again.
    rounds: list[list[str]] = [[], [], []]
    for code, (count, _w) in PREFECTURE_BATCHES.items():
        for r in range(count):
            rounds[min(r, 2)].append(code)
    ordered = rounds[0] + rounds[1] + rounds[2]
    days = _spread(lanzhou_first, dt.date(2020, 3, 10), len(ordered))
    for n, (code, day) in enumerate(zip(ordered, days, strict=True)):
        if day < dt.date(2020, 2, 5) or n % 3 == 0:
            warehouse, template = "SZ01", NATIONAL_SZ01
        elif n % 3 == 1:
            warehouse, template = "SZ02", PURCHASE_SZ02
        else:
            warehouse = "DC01"
            template = OWN_DC01_N95 if day >= dt.date(2020, 2, 24) else OWN_DC01
        hard_hit = code in ("620100", "620500", "LZXQ")
        plan.append(
            PlannedBatch(
                key=code,
                kind=DestinationKind.PREFECTURE,
                day=day,
                warehouse=warehouse,
                template=template,
                weight=PREFECTURE_BATCHES[code][1],
                priority=BatchPriority.HARD_HIT_AREA if hard_hit else BatchPriority.KEY_UNIT,
                reason="确诊病例较多, 优先保障" if hard_hit else "按日需求和库存测算调拨",
            )
        )
    # The Tianshui donation goes to Tianshui on a batch from SZ01 after it arrived; the
    # Red Cross's masks go out on prefecture batches from SZ02.
    tianshui = next(
        b
        for b in plan
        if b.key == "620500" and b.warehouse == "SZ01" and b.day >= dt.date(2020, 2, 11)
    )
    tianshui.fixed = (
        ("FH003", Channel.DONATION, 50_000, "tianshui"),
        ("XD001", Channel.DONATION, 5_000, "tianshui"),
    )
    redcross = [b for b in plan if b.warehouse == "SZ02" and b.day >= dt.date(2020, 2, 3)][:2]
    redcross[0].fixed = (
        ("FH002", Channel.DONATION, 20_000, "redcross"),
        ("FH003", Channel.DONATION, 50_000, "redcross"),
    )
    redcross[1].fixed = (
        ("FH002", Channel.DONATION, 10_000, "redcross"),
        ("FH003", Channel.DONATION, 30_000, "redcross"),
    )

    # Provincial medical institutions: six batches from SZ01.
    for (name, day), weight in zip(
        (
            (INSTITUTIONS[0][0], dt.date(2020, 1, 28)),
            (INSTITUTIONS[1][0], dt.date(2020, 2, 2)),
            (INSTITUTIONS[2][0], dt.date(2020, 2, 7)),
            (INSTITUTIONS[0][0], dt.date(2020, 2, 15)),
            (INSTITUTIONS[3][0], dt.date(2020, 2, 22)),
            (INSTITUTIONS[1][0], dt.date(2020, 3, 2)),
        ),
        (1.2, 1.0, 0.8, 1.0, 0.6, 0.8),
        strict=True,
    ):
        plan.append(
            PlannedBatch(
                key=name,
                kind=DestinationKind.PROVINCIAL_INSTITUTION,
                day=day,
                warehouse="SZ01",
                template=INSTITUTION_SZ01,
                weight=weight,
                priority=BatchPriority.FRONT_LINE_STAFF,
                reason="省级定点救治医院一线医务人员防护",
            )
        )
    plan[-3].fixed = (("FH006", Channel.DONATION, 500, "person"),)  # 15 Feb, after 14 Feb

    # The aid team: four batches, one of them the overseas donation (front-line staff).
    for day, warehouse, template, weight in (
        (dt.date(2020, 1, 27), "SZ01", AID_SZ01, 1.0),
        (dt.date(2020, 2, 3), "SZ01", AID_SZ01, 1.2),
        (dt.date(2020, 2, 9), "SZ02", AID_SZ02, 0.8),
        (dt.date(2020, 2, 18), "SZ01", AID_SZ01, 1.0),
    ):
        plan.append(
            PlannedBatch(
                key=AID_TEAM[0],
                kind=DestinationKind.AID_TEAM,
                day=day,
                warehouse=warehouse,
                template=template,
                weight=weight,
                priority=BatchPriority.FRONT_LINE_STAFF,
                reason="随队携带及后续补充, 保障援鄂医护人员防护",
            )
        )
    plan[-2].fixed = (
        ("FH001", Channel.DONATION, 10_000, "overseas"),
        ("FH004", Channel.DONATION, 2_000, "overseas"),
    )

    # Other provinces and cities: as reported, then the disinfection products.
    for name in ("天津市", "青岛市", "福州市", "厦门市"):
        plan.append(
            PlannedBatch(
                key=name,
                kind=DestinationKind.OTHER_PROVINCE,
                day=dt.date(2020, 2, 29),
                warehouse="SZ01",
                template=(),
                fixed=(("FH004", Channel.OWN_PRODUCTION, 10_000, None),),
                reason="向天津、青岛、福州、厦门四市捐赠省内自产医用防护服",
            )
        )
    for name in ("青海省", "宁夏回族自治区"):
        plan.append(
            PlannedBatch(
                key=name,
                kind=DestinationKind.OTHER_PROVINCE,
                day=dt.date(2020, 3, 9),
                warehouse="DC01",
                template=(),
                fixed=(("FH001", Channel.OWN_PRODUCTION, 6_000, None),),
                reason="向青海、宁夏两省区调拨自产N95口罩",
            )
        )
    for name, day, weight in (
        ("陕西省", dt.date(2020, 2, 8), 1.0),
        ("四川省", dt.date(2020, 2, 17), 1.1),
        ("青海省", dt.date(2020, 2, 25), 0.8),
        ("内蒙古自治区", dt.date(2020, 3, 5), 0.9),
    ):
        plan.append(
            PlannedBatch(
                key=name,
                kind=DestinationKind.OTHER_PROVINCE,
                day=day,
                warehouse="SZ02",
                template=DISINFECTION_SZ02,
                weight=weight,
                reason="消杀产品在满足省内需求的同时向周边省份供应",
            )
        )

    # Quantities: each kind's figure less its fixed lines, over the template lines.
    for kind, figure in FIGURES.items():
        batches = [b for b in plan if b.kind == kind]
        fixed = sum(q for b in batches for _i, _c, q, _d in b.fixed)
        slots = [
            (b, item, channel, b.weight * w) for b in batches for item, channel, w in b.template
        ]
        parts = _largest_remainder((figure - fixed) // UNIT, [s[3] for s in slots]) if slots else []
        assert (figure - fixed) % UNIT == 0 and (slots or figure == fixed), kind
        for b in batches:
            b.lines = [(i, c, q, d) for i, c, q, d in b.fixed]
        for (b, item, channel, _w), units in zip(slots, parts, strict=True):
            b.lines.append((item, channel, units * UNIT, None))

    # Numbers in dispatch order; batches of one day leave 40 minutes apart from 10:00.
    plan.sort(key=lambda b: (b.day, b.kind != DestinationKind.AID_TEAM, b.kind, b.key))
    per_day: dict[dt.date, int] = defaultdict(int)
    for n, b in enumerate(plan, start=1):
        slot = per_day[b.day]
        per_day[b.day] += 1
        b.at = _at(b.day, 10 + (slot * 40) // 60, (slot * 40) % 60)
        b.number = f"{DEMO_YEAR}-{n:03d}"
    assert len(plan) == BATCHES
    assert sum(q for b in plan for _i, _c, q, _d in b.lines) == TOTAL
    return plan


_RECEIPT_SOURCE = {
    Channel.NATIONAL_ALLOCATION: "national_allocation",
    Channel.PURCHASE: "purchase",
    Channel.OWN_PRODUCTION: "own_production",
}


def demo_reserve_receipts(plan: list[PlannedBatch]) -> list[dict]:
    """The receipts the batches draw on, for `stock_events_import`: per (warehouse, channel,
    ISO week) of dispatch, at 08:00 of the group's first dispatch day, exactly what the
    group's batches dispatch from that channel. Donated stock comes with its donation."""
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
    for n, ((warehouse, channel, week), group) in enumerate(
        sorted(groups.items(), key=lambda g: (g[1]["day"], g[0]))
    ):
        source = _RECEIPT_SOURCE[channel]
        if channel == Channel.NATIONAL_ALLOCATION:
            counterparty, document = NATIONAL_SENDER, f"国联防物资调〔2020〕补{week}-{n + 1}号"
        elif channel == Channel.PURCHASE:
            counterparty, document = SUPPLIERS[n % len(SUPPLIERS)], f"CG-2020-B{n + 1:03d}"
        else:
            counterparty, document = PRODUCERS[warehouse], f"SC-2020-B{n + 1:03d}"
        events.append(
            {
                "warehouse": warehouse,
                "kind": "receipt",
                "source": source,
                "occurred_at": _at(group["day"], 8, 0),
                "lines": [{"item": i, "quantity": q} for i, q in sorted(group["lines"].items())],
                "counterparty": counterparty,
                "source_document": document,
                "note": "调拨批次备货入库",
                "client_uuid": _uuid(f"receipt:{warehouse}:{channel}:{week}"),
            }
        )
    return events


def demo_destinations_create() -> dict:
    """The destinations, those missing (found by kind and Chinese name)."""
    users = {u.username: u for u in User.objects.filter(role=Role.PREFECTURE_OFFICER)}
    officers = {u.prefecture_id: u for u in users.values() if u.prefecture_id}
    wanted = []
    for prefecture in Prefecture.objects.filter(code__in=PREFECTURE_BATCHES).order_by("code"):
        wanted.append(
            {
                "kind": DestinationKind.PREFECTURE,
                "name_zh": prefecture.name_zh,
                "name_en": prefecture.name_en,
                "prefecture": prefecture,
                "contact": "市州卫健委物资保障组",
                "confirming_officer": officers.get(prefecture.pk),
                "key": prefecture.code,
            }
        )
    for name_zh, name_en, contact in INSTITUTIONS:
        wanted.append(
            {
                "kind": DestinationKind.PROVINCIAL_INSTITUTION,
                "name_zh": name_zh,
                "name_en": name_en,
                "contact": f"设备科{contact}",
                "key": name_zh,
            }
        )
    wanted.append(
        {
            "kind": DestinationKind.AID_TEAM,
            "name_zh": AID_TEAM[0],
            "name_en": AID_TEAM[1],
            "contact": AID_TEAM[2],
            "key": AID_TEAM[0],
        }
    )
    for name_zh, name_en in OTHER_PROVINCES:
        wanted.append(
            {
                "kind": DestinationKind.OTHER_PROVINCE,
                "name_zh": name_zh,
                "name_en": name_en,
                "contact": "对口物资保障部门",
                "key": name_zh,
            }
        )
    existing = {(d.kind, d.name_zh): d for d in Destination.objects.all()}
    by_key, created = {}, 0
    for fields in wanted:
        key = fields.pop("key")
        destination = existing.get((fields["kind"], fields["name_zh"]))
        if destination is None:
            destination = Destination.objects.create(**fields)
            created += 1
        by_key[key] = destination
    return {"by_key": by_key, "created": created, "existing": len(wanted) - created}


@transaction.atomic
def demo_allocation_create(*, user=None, leader=None) -> dict:
    """Destinations, donations, the reserve receipts and the 58 batches; idempotent."""
    user = user or User.objects.filter(username="office").first()
    leader = leader or User.objects.filter(role=Role.LEADERSHIP).order_by("pk").first() or user
    needed = {i for b in demo_batch_plan() for i, *_rest in b.lines}
    missing = needed - set(Item.objects.filter(active=True).values_list("code", flat=True))
    if missing or Warehouse.objects.filter(code__in=("SZ01", "SZ02", "DC01")).count() != 3:
        return {
            "skipped": True,
            "destinations_created": 0,
            "donations_created": 0,
            "receipts_posted": 0,
            "batches_created": 0,
            "batches_existing": 0,
        }
    destinations = demo_destinations_create()
    by_key = destinations["by_key"]
    prefectures = {p.code: p for p in Prefecture.objects.all()}

    donation_rows = []
    for key, spec in DONATIONS.items():
        day, hour = spec["received_at"]
        row = {
            **{k: v for k, v in spec.items() if k not in ("received_at", "lines")},
            "received_at": _at(day, hour),
            "lines": [{"item": i, "quantity": q} for i, q in spec["lines"].items()],
            "source_document": f"JZ-2020-D{list(DONATIONS).index(key) + 1:02d}",
            "client_uuid": _uuid(f"donation:{key}"),
        }
        if "restricted_prefecture" in spec:
            row["restricted_prefecture"] = prefectures[spec["restricted_prefecture"]]
        donation_rows.append(row)
    donations = dict(
        zip(DONATIONS, donations_import_history(user=user, donations=donation_rows), strict=True)
    )

    plan = demo_batch_plan()
    receipts = stock_events_import(user=user, events=demo_reserve_receipts(plan))
    officers = {d.pk: d.confirming_officer for d in by_key.values()}
    damaged = next(b.number for b in plan if b.key == "623000" and b.day > dt.date(2020, 2, 1))
    rows = []
    for n, b in enumerate(plan):
        destination = by_key[b.key]
        travel = (
            1
            if b.kind in (DestinationKind.PREFECTURE, DestinationKind.PROVINCIAL_INSTITUTION)
            else 3
        )
        expected = b.day + dt.timedelta(days=travel)
        lines = [
            {
                "item": item,
                "quantity": quantity,
                "channel": channel,
                "donation": donations[donation] if donation else None,
            }
            for item, channel, quantity, donation in b.lines
        ]
        receiver = officers.get(destination.pk) or user
        arrived = b.at + dt.timedelta(days=travel, hours=2)
        quantities = [line["quantity"] for line in lines]
        receipt = {"at": arrived, "by": receiver, "quantities": quantities, "note": ""}
        extra = {}
        if b.number == "2020-058":
            # Still on its way on the demo's last reported day: half has arrived.
            receipt["quantities"] = [q // 2 // UNIT * UNIT for q in quantities]
            receipt["note"] = "分批到货, 余量在途"
        elif b.number == damaged:
            # Gannan: a carton damaged on the mountain road, the difference kept visible.
            receipt["quantities"] = [quantities[0] - UNIT, *quantities[1:]]
            receipt["note"] = "运输途中一箱外包装破损受潮, 少收100件, 已拍照留存"
            extra = {"complete": True}
        rows.append(
            {
                "number": b.number,
                "source_warehouse": b.warehouse,
                "destination": destination,
                "lines": lines,
                "priority": b.priority,
                "reason": b.reason,
                "planned_dispatch_date": b.day,
                "expected_arrival": expected,
                "carrier": CARRIERS[n % len(CARRIERS)],
                "vehicle": f"甘A·{(n * 7919) % 90000 + 10000}",
                "created_at": b.at - dt.timedelta(hours=20),
                "approved_by": leader,
                "approved_at": b.at - dt.timedelta(hours=4),
                "dispatched_at": b.at,
                "receipts": [receipt],
                "issue_client_uuid": _uuid(f"issue:{b.number}"),
                **extra,
            }
        )
    batches = batches_import_history(user=user, batches=rows)
    return {
        "skipped": False,
        "destinations_created": destinations["created"],
        "donations_created": sum(1 for d in donations.values() if not d.replayed),
        "receipts_posted": sum(1 for e in receipts if not e.replayed),
        "batches_created": sum(1 for b in batches if not b.replayed),
        "batches_existing": sum(1 for b in batches if b.replayed),
    }
