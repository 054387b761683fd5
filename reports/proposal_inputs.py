"""What an allocation proposal needs from the daily snapshot, per prefecture and item."""

import datetime as dt
import math

from django.conf import settings

from allocation.models import ReserveFloor
from allocation.proposals import PrefectureInput
from supplycoord.models import Item, Prefecture

from .models import ProvinceRollup, SnapshotRow


def proposal_inputs(*, date: dt.date, items: list[Item]) -> dict[Item, list[PrefectureInput]]:
    """Each active prefecture's stock, arriving_3d, 7-day average and demand on `date`.

    A prefecture without a snapshot row (or whose stock is missing) comes with stock None:
    the proposal lists it as getting nothing because its need is unknown. Two queries.
    """
    prefectures = list(Prefecture.objects.filter(active=True).order_by("code"))
    rows = {
        (row.prefecture_id, row.item_id): row
        for row in SnapshotRow.objects.filter(date=date, item__in=items, prefecture__in=prefectures)
    }
    inputs = {}
    for item in items:
        inputs[item] = []
        for prefecture in prefectures:
            row = rows.get((prefecture.pk, item.pk))
            inputs[item].append(
                PrefectureInput(
                    prefecture=prefecture,
                    stock=row.stock if row else None,
                    arriving_3d=(row.arriving_3d or 0) if row else 0,
                    avg_consumption_7d=row.avg_consumption_7d if row else None,
                    demand=row.demand if row else None,
                )
            )
    return inputs


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
