import dataclasses
import datetime as dt

from supplycoord.models import Item, Prefecture, ProtectedStaff, StaffCategory
from supplycoord.selectors import key_items, prefectures_visible_to

from .models import FIGURE_FIELDS, DailyFigure

# How far back the entry form looks for the last reported stock to prefill.
PREFILL_LOOKBACK_DAYS = 30


@dataclasses.dataclass
class EntryRow:
    item: Item
    values: dict  # field -> value shown in the form
    existing: DailyFigure | None
    last_stock: int | None
    last_stock_date: dt.date | None
    errors: dict = dataclasses.field(default_factory=dict)


def daily_entry_rows(*, prefecture: Prefecture, date: dt.date) -> list[EntryRow]:
    """One row per key item: the day's figures if entered, else the last stock prefilled."""
    items = list(key_items())
    existing = {
        f.item_id: f
        for f in DailyFigure.objects.filter(prefecture=prefecture, date=date, item__in=items)
    }
    last = {}
    earlier = (
        DailyFigure.objects.filter(
            prefecture=prefecture,
            date__lt=date,
            date__gte=date - dt.timedelta(days=PREFILL_LOOKBACK_DAYS),
        )
        .order_by("item_id", "-date")
        .values_list("item_id", "date", "stock")
    )
    for item_id, day, stock in earlier:
        last.setdefault(item_id, (stock, day))
    rows = []
    for item in items:
        figure = existing.get(item.pk)
        last_stock, last_date = last.get(item.pk, (None, None))
        if figure is not None:
            values = figure.figures()
        else:
            values = dict.fromkeys(FIGURE_FIELDS, "")
            if last_stock is not None:
                values["stock"] = last_stock
        rows.append(EntryRow(item, values, figure, last_stock, last_date))
    return rows


def protected_staff_table(user):
    """Prefectures the user sees × staff categories, with counts (None where not recorded)."""
    prefectures = list(prefectures_visible_to(user).filter(active=True).order_by("code"))
    categories = list(StaffCategory.objects.order_by("sort_order", "code"))
    counts = {
        (row.prefecture_id, row.category_id): row.count
        for row in ProtectedStaff.objects.filter(prefecture__in=prefectures)
    }
    rows = [(p, [(c, counts.get((p.pk, c.pk))) for c in categories]) for p in prefectures]
    return categories, rows
