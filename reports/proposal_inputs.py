"""What an allocation proposal needs, per claimant and item: the daily snapshot for the
prefectures, requests and norms for every claimant, the spot checks' flags (issue 15).

Allocation never reads reports: this module reads and hands everything to
`allocation.proposals.proposal_create` as ClaimantInputs.
"""

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum

from allocation.models import (
    UNIT_KINDS,
    ClaimantStaff,
    Destination,
    DestinationKind,
    ReserveFloor,
)
from allocation.proposals import ClaimantInput, SpotCheck
from allocation.request_selectors import open_accepted_requests, requested_rate
from supplycoord.models import Item, Prefecture, ProtectedStaff
from supplycoord.norms import norms_in_force

from .demand import estimated_demand
from .models import ProvinceRollup, SnapshotRow, SpotCheckFlag


def unit_claimants():
    """The claimant units a proposal may include: active institutions, aid teams, key units."""
    return Destination.objects.filter(kind__in=UNIT_KINDS, active=True).order_by(
        "kind", "code", "name_zh"
    )


def units_with_open_requests(*, items) -> list[Destination]:
    """The default units of a proposal: those with an open accepted request for one of
    `items`. Three queries."""
    units = list(unit_claimants())
    asked = {
        claimant_id for claimant_id, _item in open_accepted_requests(items=items, claimants=units)
    }
    return [unit for unit in units if unit.pk in asked]


def proposal_inputs(
    *, date: dt.date, items: list[Item], units=None
) -> dict[Item, list[ClaimantInput]]:
    """Each active prefecture's figures on `date`, and each of `units` (claimant units; None:
    those with an open accepted request for one of `items`), per item.

    A prefecture comes with its snapshot's stock, arriving_3d, 7-day average and demand (stock
    None without a snapshot row or a stock: its need is unknown), the requested rate of its
    destinations of kind prefecture, its norm estimate (reports.demand.estimated_demand), its
    protected staff and its spot-check flag for the item on `date` (not cleared). A unit comes
    with its requested rate, its norm estimate (Σ ClaimantStaff × norm in force) and its
    staff; it reports no stock. A fixed number of queries whatever the number of claimants.
    """
    prefectures = list(Prefecture.objects.filter(active=True).order_by("code"))
    units = (
        units_with_open_requests(items=items)
        if units is None
        else sorted(units, key=lambda u: (u.kind, u.code or "", u.name_zh))
    )
    rows = {
        (row.prefecture_id, row.item_id): row
        for row in SnapshotRow.objects.filter(date=date, item__in=items, prefecture__in=prefectures)
    }
    estimates = estimated_demand(date=date, prefectures=prefectures, items=items)
    staff = dict(
        ProtectedStaff.objects.filter(prefecture__in=prefectures)
        .values_list("prefecture_id")
        .annotate(total=Sum("count"))
        .order_by()
    )
    flags = {
        (flag.prefecture_id, flag.item_id): SpotCheck(
            date=flag.date, score=flag.score, median_7d=flag.median
        )
        for flag in SpotCheckFlag.objects.filter(
            date=date, item__in=items, prefecture__in=prefectures, cleared_at__isnull=True
        )
    }
    # Requests: a prefecture asks through its destinations of kind prefecture.
    own = {
        d.pk: d.prefecture_id
        for d in Destination.objects.filter(
            kind=DestinationKind.PREFECTURE, prefecture__in=prefectures
        ).only("pk", "prefecture_id")
    }
    asked = open_accepted_requests(items=items, claimants=[*own, *(u.pk for u in units)])
    by_prefecture = defaultdict(list)
    for (claimant_id, item_id), entries in asked.items():
        if claimant_id in own:
            by_prefecture[(own[claimant_id], item_id)].extend(entries)
    unit_estimates, unit_staff = _unit_norm_estimates(units, items, date)

    inputs = {}
    for item in items:
        inputs[item] = []
        for prefecture in prefectures:
            row = rows.get((prefecture.pk, item.pk))
            inputs[item].append(
                ClaimantInput(
                    prefecture=prefecture,
                    stock=row.stock if row else None,
                    arriving_3d=(row.arriving_3d or 0) if row else 0,
                    avg_consumption_7d=row.avg_consumption_7d if row else None,
                    demand=row.demand if row else None,
                    requested_rate=requested_rate(
                        by_prefecture.get((prefecture.pk, item.pk)), date
                    ),
                    norm_estimate=estimates.get((prefecture.pk, item.pk)),
                    staff=staff.get(prefecture.pk),
                    spot_check=flags.get((prefecture.pk, item.pk)),
                )
            )
        for unit in units:
            inputs[item].append(
                ClaimantInput(
                    destination=unit,
                    requested_rate=requested_rate(asked.get((unit.pk, item.pk)), date),
                    norm_estimate=unit_estimates.get((unit.pk, item.pk)),
                    staff=unit_staff.get(unit.pk),
                )
            )
    return inputs


def _unit_norm_estimates(units, items, date):
    """({(unit id, item id): Σ_c ClaimantStaff(u, c) × norm(c, i) in force on `date`},
    {unit id: staff in all categories}). An item with no norm in force has no estimate (None,
    as for prefectures); a unit without staff in the categories it covers has 0. Two queries."""
    if not units:
        return {}, {}
    norms = norms_in_force(date, items=items)
    counts = list(
        ClaimantStaff.objects.filter(destination__in=units).values_list(
            "destination_id", "category_id", "count"
        )
    )
    staff = defaultdict(int)
    people = {}
    for unit_id, category_id, count in counts:
        staff[unit_id] += count
        people[(unit_id, category_id)] = count
    estimates: dict[tuple[int, int], Decimal] = {}
    for (category_id, item_id), norm in norms.items():
        for unit in units:
            key = (unit.pk, item_id)
            estimates[key] = (
                estimates.get(key, Decimal(0))
                + people.get((unit.pk, category_id), 0) * norm.units_per_person_per_day
            )
    return estimates, dict(staff)


def partial_items(*, date: dt.date, items: list[Item]) -> list[Item]:
    """The items whose province figures on `date` are partial (reports.md "Coverage"): a
    proposal on them needs the office's confirmation with a reason. One query."""
    partial = set(
        ProvinceRollup.objects.filter(date=date, item__in=items, partial=True).values_list(
            "item_id", flat=True
        )
    )
    return [item for item in items if item.pk in partial]


def default_reserve_floors(*, date: dt.date, items: list[Item]) -> dict[int, dict]:
    """The reserve floor a new proposal offers per item (issue 12), shown and editable:
    the office's floor where it set one, else SUPPLYCOORD_DEFAULT_RESERVE_FLOOR_DAYS days of
    the province's consumption, read as the rollup's Σ avg_consumption_7d on `date` (the 7-day
    average, not one day's figure: one late or missing report would swing it), rounded up to a
    whole unit; 0 where there is no rollup or no rate. Two queries.

    {item id: {"quantity": int, "office": bool, "days": int, "rate": Decimal | None}}."""
    days = settings.SUPPLYCOORD["DEFAULT_RESERVE_FLOOR_DAYS"]
    office = dict(ReserveFloor.objects.filter(item__in=items).values_list("item_id", "quantity"))
    rates = dict(
        ProvinceRollup.objects.filter(date=date, item__in=items).values_list(
            "item_id", "avg_consumption_7d"
        )
    )
    floors = {}
    for item in items:
        rate = rates.get(item.pk)
        if item.pk in office:
            floors[item.pk] = {
                "quantity": office[item.pk],
                "office": True,
                "days": days,
                "rate": rate,
            }
        else:
            quantity = math.ceil(days * rate) if rate else 0
            floors[item.pk] = {"quantity": quantity, "office": False, "days": days, "rate": rate}
    return floors
