"""Demand estimated from norms, beside reported demand (reports.md, "Demand estimate").

Definitions, for prefecture p, item i and day d (the page explains them in plain words):

- `estimate(p, i, d) = Σ over staff categories c: staff(p, c) × norm(c, i, d)`, where
  norm(c, i, d) is the version with the latest `effective_from` ≤ d. Categories without a
  norm in force for i add nothing; when *no* category has a norm for i the estimate is
  missing (there is nothing to compare with), not 0. staff(p, c) is the protected-staff
  register as it stands now: the register has no dates, so a past day is estimated with
  today's head counts and that day's norms.
- `reported` is the snapshot row's `demand` of d (the prefecture's own figure).
- `ratio = reported / estimate`; missing when either is missing or the estimate is 0.
  Flagged **high** when ratio > SUPPLYCOORD["DEMAND_RATIO_HIGH"] (1.5) and **low** when
  ratio < SUPPLYCOORD["DEMAND_RATIO_LOW"] (0.5). The comparison is exact
  (reported > 1.5 × estimate), so a ratio of exactly 1.5 or 0.5 is *not* flagged.
- `net_requirement(h) = estimate × h − stock − arriving_3d` over a horizon of h days
  (default 7), with the snapshot's stock (carried forward when stale) and arriving_3d.
  Negative means the prefecture holds more than the norms say it needs for h days: the page
  shows it as a *surplus*. Missing when the estimate or the stock is missing. Shown in whole
  units: a requirement rounded up (a part of a unit still has to be sent), a surplus down.

`demand_table` runs a fixed number of queries whatever the number of prefectures,
categories or norm versions.
"""

import dataclasses
import datetime as dt
import math
from decimal import Decimal

from django.conf import settings

from supplycoord.models import Item, Prefecture, ProtectedStaff, StaffCategory
from supplycoord.norms import norms_in_force
from supplycoord.selectors import active_prefectures, prefectures_visible_to

from .models import SnapshotRow

DEFAULT_HORIZON_DAYS = 7
MIN_HORIZON_DAYS = 1
MAX_HORIZON_DAYS = 60

FLAG_HIGH = "high"
FLAG_LOW = "low"


def ratio_bounds() -> tuple[Decimal, Decimal]:
    """(low, high) from the settings, as exact decimals ("1.5", 1.5 and Decimal all work)."""
    return (
        Decimal(str(settings.SUPPLYCOORD["DEMAND_RATIO_LOW"])),
        Decimal(str(settings.SUPPLYCOORD["DEMAND_RATIO_HIGH"])),
    )


def demand_flag(reported, estimate, *, low: Decimal, high: Decimal) -> str:
    """Flag "high", "low" or "" for reported demand against the estimate; exact, bounds excluded."""
    if reported is None or not estimate:
        return ""
    if reported > high * estimate:
        return FLAG_HIGH
    if reported < low * estimate:
        return FLAG_LOW
    return ""


def estimated_demand(
    *, date: dt.date, prefectures=None, items=None
) -> dict[tuple[int, int], Decimal]:
    """{(prefecture_id, item_id): Σ_c staff(p, c) × norm(c, i) in force on `date`}.

    Only items with at least one norm in force appear; for those, every given prefecture
    does (0 when it has no staff in the categories the norms cover). Three queries.
    """
    prefectures = list(prefectures if prefectures is not None else active_prefectures())
    norms = norms_in_force(date, items=items)
    staff = _staff_counts(prefectures, {c for c, _i in norms})
    estimates: dict[tuple[int, int], Decimal] = {}
    for (category_id, item_id), norm in norms.items():
        for prefecture in prefectures:
            key = (prefecture.pk, item_id)
            people = staff.get((prefecture.pk, category_id), 0)
            estimates[key] = estimates.get(key, Decimal(0)) + people * norm.units_per_person_per_day
    return estimates


def _staff_counts(prefectures, category_ids) -> dict[tuple[int, int], int]:
    if not prefectures or not category_ids:
        return {}
    return {
        (p, c): n
        for p, c, n in ProtectedStaff.objects.filter(
            prefecture__in=prefectures, category_id__in=category_ids
        ).values_list("prefecture_id", "category_id", "count")
    }


@dataclasses.dataclass
class DemandRow:
    prefecture: Prefecture
    staff_cells: list  # [people] in the order of DemandTable.categories
    staff_total: int  # people in the categories with a norm in force for the item
    estimate: Decimal | None
    reported: int | None
    flag: str
    stock: int | None
    stock_is_stale: bool
    arriving_3d: int | None
    net_requirement: Decimal | None
    has_snapshot: bool

    @property
    def ratio(self) -> Decimal | None:
        if self.reported is None or not self.estimate:
            return None
        return Decimal(self.reported) / self.estimate

    @property
    def requirement_units(self) -> int | None:
        """The net requirement in whole units to send, rounded up; None when a surplus."""
        if self.net_requirement is None or self.net_requirement <= 0:
            return None
        return math.ceil(self.net_requirement)

    @property
    def surplus_units(self) -> int | None:
        """What is held beyond the horizon's need, in whole units rounded down."""
        if self.net_requirement is None or self.net_requirement >= 0:
            return None
        return math.floor(-self.net_requirement)


@dataclasses.dataclass
class DemandTable:
    date: dt.date
    item: Item
    horizon: int
    categories: list[StaffCategory]  # those with a norm in force for the item, in order
    norms: list  # the Norm in force of each category above, same order
    rows: list[DemandRow]
    low: Decimal
    high: Decimal
    whole_province: bool

    @property
    def has_norm(self) -> bool:
        return bool(self.norms)

    @property
    def flagged(self) -> list[DemandRow]:
        return [r for r in self.rows if r.flag]

    @property
    def totals(self) -> dict:
        """Province sums of staff, estimate and reported demand (whole-province viewers)."""
        reported = [r.reported for r in self.rows if r.reported is not None]
        return {
            "staff_cells": [
                sum(cells) for cells in zip(*(r.staff_cells for r in self.rows), strict=True)
            ]
            if self.rows
            else [0] * len(self.categories),
            "staff_total": sum(r.staff_total for r in self.rows),
            "estimate": sum((r.estimate for r in self.rows if r.estimate is not None), Decimal(0))
            if self.has_norm
            else None,
            "reported": sum(reported) if reported else None,
            "requirement": sum(r.requirement_units or 0 for r in self.rows),
        }


def demand_table(user, *, date: dt.date, item: Item, horizon: int = DEFAULT_HORIZON_DAYS):
    """The demand estimate of one item on one day, per prefecture the user may see.

    Officers get their own prefecture's row only. Four queries: prefectures, norms in force,
    protected staff, snapshot rows.
    """
    if not MIN_HORIZON_DAYS <= horizon <= MAX_HORIZON_DAYS:
        raise ValueError(f"horizon must be {MIN_HORIZON_DAYS}–{MAX_HORIZON_DAYS} days")
    low, high = ratio_bounds()
    prefectures = list(prefectures_visible_to(user).filter(active=True).order_by("code"))
    norms = sorted(
        norms_in_force(date, items=[item]).values(),
        key=lambda n: (n.staff_category.sort_order, n.staff_category.code),
    )
    categories = [n.staff_category for n in norms]
    staff = _staff_counts(prefectures, {c.pk for c in categories})
    snapshot = {
        row.prefecture_id: row
        for row in SnapshotRow.objects.filter(
            date=date, item=item, prefecture_id__in=[p.pk for p in prefectures]
        ).only("prefecture_id", "demand", "stock", "stock_is_stale", "arriving_3d")
    }

    rows = []
    for prefecture in prefectures:
        cells = [staff.get((prefecture.pk, c.pk), 0) for c in categories]
        estimate = (
            sum(
                (
                    people * n.units_per_person_per_day
                    for people, n in zip(cells, norms, strict=True)
                ),
                Decimal(0),
            )
            if norms
            else None
        )
        snap = snapshot.get(prefecture.pk)
        reported = snap.demand if snap else None
        stock = snap.stock if snap else None
        arriving = snap.arriving_3d if snap else None
        net = None
        if estimate is not None and stock is not None:
            net = estimate * horizon - stock - (arriving or 0)
        rows.append(
            DemandRow(
                prefecture=prefecture,
                staff_cells=cells,
                staff_total=sum(cells),
                estimate=estimate,
                reported=reported,
                flag=demand_flag(reported, estimate, low=low, high=high),
                stock=stock,
                stock_is_stale=bool(snap and snap.stock_is_stale),
                arriving_3d=arriving,
                net_requirement=net,
                has_snapshot=snap is not None,
            )
        )
    return DemandTable(
        date=date,
        item=item,
        horizon=horizon,
        categories=categories,
        norms=norms,
        rows=rows,
        low=low,
        high=high,
        whole_province=user.sees_whole_province,
    )


def items_with_norms(date: dt.date) -> set[int]:
    """Ids of the items that have a norm in force on `date` for some category. One query."""
    return {item_id for _c, item_id in norms_in_force(date)}
