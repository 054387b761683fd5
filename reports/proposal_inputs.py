"""What an allocation proposal needs from the daily snapshot, per prefecture and item."""

import datetime as dt

from allocation.proposals import PrefectureInput
from supplycoord.models import Item, Prefecture

from .models import SnapshotRow


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
