import dataclasses
import datetime as dt

from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, Max, Prefetch, Q, QuerySet, Sum, Value, When, Window
from django.db.models.expressions import RowRange
from django.utils import timezone
from django.utils.functional import cached_property

from supplycoord.models import Item, Prefecture, ProtectedStaff, Province, StaffCategory
from supplycoord.permissions import can_view_warehouse, scope_to_prefecture
from supplycoord.selectors import key_items, prefectures_visible_to

from .models import (
    FIGURE_FIELDS,
    RESERVE_KINDS,
    DailyFigure,
    StockBalance,
    StockEvent,
    StockEventLine,
    Warehouse,
)

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
    return entry_rows(DailyFigure.objects.filter(prefecture=prefecture), date=date)


def entry_rows(figures, *, date: dt.date) -> list[EntryRow]:
    """The entry grid of one reporter (`figures`: its rows of DailyFigure or of
    CountyDailyFigure): one row per key item, its figures of `date` if entered, else its last
    stock within PREFILL_LOOKBACK_DAYS prefilled. Two queries and the key items."""
    items = list(key_items())
    existing = {f.item_id: f for f in figures.filter(date=date, item__in=items)}
    last = {}
    earlier = (
        figures.filter(
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


# --- The provincial reserve ledger: who sees which warehouse, balances, stock cards ---------


def warehouses_visible_to(user) -> QuerySet[Warehouse]:
    """Office staff, leadership and admins: every warehouse; an officer: their prefecture's."""
    return scope_to_prefecture(user, Warehouse.objects.all(), "prefecture_id")


def balances_visible_to(user, *, warehouse=None, item=None) -> QuerySet[StockBalance]:
    """The balances of the warehouses `user` sees; `warehouse`/`item`: an instance or a code."""
    balances = StockBalance.objects.filter(warehouse__in=warehouses_visible_to(user))
    if warehouse is not None:
        balances = (
            balances.filter(warehouse__code=warehouse.strip())
            if isinstance(warehouse, str)
            else balances.filter(warehouse=warehouse)
        )
    if item is not None:
        balances = (
            balances.filter(item__code=item.strip())
            if isinstance(item, str)
            else balances.filter(item=item)
        )
    return balances.select_related("warehouse", "item").order_by(
        "warehouse__code", "item__sort_order", "item__code"
    )


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class _KnownCountPaginator(Paginator):
    """A paginator told its count: the window query it pages must not be counted itself."""

    def __init__(self, object_list, per_page, *, count):
        super().__init__(object_list, per_page)
        self._known_count = count

    @cached_property
    def count(self):
        return self._known_count


@dataclasses.dataclass
class StockCard:
    """A stock card (货位卡): every line of one item in one warehouse, with running balance.

    `lines` is a lazy queryset ordered by (occurred_at, event), each line annotated with
    `balance_after` (the warehouse's balance of the item right after that line, whatever
    the filters) and with its event joined: for exports, which read it once, in order.
    `page(number, per_page)` is for screens: the running balance is computed over the bare
    lines (no joins, so a deep page of a 100,000-line card stays fast), then only the page's
    lines are fetched with their events. `opening` is the balance at the start of
    `date_from` (0 without it), `closing` the balance at the end of `date_to` (the current
    balance without it); both count every kind of event, so filtering by kind hides lines but
    never changes a balance.
    """

    warehouse: Warehouse
    item: Item
    date_from: dt.date | None
    date_to: dt.date | None
    kinds: tuple
    opening: int
    closing: int
    lines: QuerySet
    # (event id, balance_after), in card order, no joins. The event names the line within
    # the card (an event has one line per item), and unlike the line's id it is in the card's
    # covering index: the page's keys are read from the index alone.
    keys: QuerySet
    shown: QuerySet  # the lines shown (kind filter applied), for counting

    def page(self, number, per_page: int) -> Page:
        paginator = _KnownCountPaginator(self.keys, per_page, count=self.shown.count())
        page = paginator.get_page(number)
        keyrows = list(page.object_list)
        full = StockEventLine.objects.filter(
            warehouse=self.warehouse,
            item=self.item,
            event_id__in=[key for key, _balance in keyrows],
        )
        by_id = {
            line.event_id: line
            for line in full.select_related(
                "event", "event__recorded_by", "event__reverses", "event__reversed_by"
            )
        }
        rows = []
        for key, balance in keyrows:
            line = by_id[key]
            line.balance_after = balance
            rows.append(line)
        page.object_list = rows
        return page


def stock_card(user, *, warehouse, item, date_from=None, date_to=None, kinds=None) -> StockCard:
    """The stock card of `item` in `warehouse`, optionally between two local dates and by kind.

    Raises PermissionDenied if `user` may not see the warehouse.

    The running balance is a window sum over the lines in the date range, plus the opening
    balance (Σ of every line before the range, from one aggregate on the
    (warehouse, item, occurred_at) index). So a page costs the range, not the whole history,
    and a back-dated event lands in its place with every later balance moved by it.
    A kind filter must not drop lines from the sum: it is applied after the window (Django
    puts a filter on a window expression in an outer query), not in the WHERE clause.
    """
    if not can_view_warehouse(user, warehouse):
        raise PermissionDenied
    start = _local_day_start(date_from) if date_from else None
    end = _local_day_start(date_to + dt.timedelta(days=1)) if date_to else None

    pair = StockEventLine.objects.filter(warehouse=warehouse, item=item)
    # Both balances in one aggregate; without a start the opening balance is 0.
    wanted = {"closing": Sum("quantity")}
    if start:
        wanted["opening"] = Sum("quantity", filter=Q(occurred_at__lt=start))
    sums = (pair.filter(occurred_at__lt=end) if end else pair).aggregate(**wanted)
    opening = sums.get("opening") or 0
    closing = sums["closing"] or 0

    in_range = pair
    if start:
        in_range = in_range.filter(occurred_at__gte=start)
    if end:
        in_range = in_range.filter(occurred_at__lt=end)
    order = [F("occurred_at").asc(), F("event_id").asc()]
    lines = in_range.annotate(
        balance_after=Window(Sum("quantity"), order_by=order) + Value(opening)
    )
    kinds = tuple(kinds or ())
    shown = in_range
    if kinds:
        # A window over the current row only, in the same order as the running sum (so the
        # database sorts once), that is 1 for the wanted kinds: filtering on it happens after
        # the running sum is computed. The line's own copy of its event's kind is in the
        # card's covering index: no join to the events.
        lines = lines.annotate(
            kind_shown=Window(
                Max(Case(When(kind__in=kinds, then=Value(1)), default=Value(0))),
                order_by=order,
                frame=RowRange(start=0, end=0),
            )
        ).filter(kind_shown=1)
        shown = in_range.filter(kind__in=kinds)
    lines = lines.order_by("occurred_at", "event_id")
    return StockCard(
        warehouse=warehouse,
        item=item,
        date_from=date_from,
        date_to=date_to,
        kinds=kinds,
        opening=opening,
        closing=closing,
        lines=lines.select_related("event", "event__recorded_by"),
        keys=lines.values_list("event_id", "balance_after"),
        shown=shown,
    )


def reserve_stock_at(date: dt.date) -> dict[int, int]:
    """{item_id: reserve stock} at the end of local `date` (reports.md: reserve stock).

    The ledger sum, not today's balances, so a past date gets its own figure and a
    back-dated receipt counts from the day it happened. Reserve is what active warehouses of
    the RESERVE_KINDS (provincial reserve, producer-held) hold. One grouped query.
    """
    end = _local_day_start(date + dt.timedelta(days=1))
    rows = (
        StockEventLine.objects.filter(
            occurred_at__lt=end, warehouse__active=True, warehouse__kind__in=RESERVE_KINDS
        )
        .values("item_id")
        .annotate(total=Sum("quantity"))
        .order_by()
        .values_list("item_id", "total")
    )
    return {item_id: total for item_id, total in rows if total}


# --- Reads of the ledger pages (inventory/views.py): warehouse rows, one event, form items ---


def warehouse_rows_visible_to(user) -> QuerySet[Warehouse]:
    """The warehouses `user` sees, each with `items_in_stock` (items with a balance above 0)."""
    return (
        warehouses_visible_to(user)
        .select_related("prefecture")
        .annotate(items_in_stock=Count("balances", filter=Q(balances__quantity__gt=0)))
        .order_by("code")
    )


def recent_stock_events(warehouse: Warehouse, *, limit: int = 20) -> list[StockEvent]:
    """The last documents recorded in a warehouse, newest first, with who and any reversal."""
    return list(
        StockEvent.objects.filter(warehouse=warehouse)
        .select_related("recorded_by", "reverses", "reversed_by")
        .order_by("-recorded_at", "-id")[:limit]
    )


def stock_event_visible_to(user, document_number: str) -> StockEvent | None:
    """One event, if `user` sees its warehouse: its people, reversal links and lines joined.

    Lines come in the order they were entered (the order of the paper voucher).
    """
    return (
        StockEvent.objects.filter(
            warehouse__in=warehouses_visible_to(user), document_number=document_number
        )
        .select_related(
            "warehouse__prefecture__province",
            "recorded_by",
            "reverses",
            "reversed_by__recorded_by",
        )
        .prefetch_related(
            Prefetch("lines", queryset=StockEventLine.objects.select_related("item").order_by("id"))
        )
        .first()
    )


def ledger_items() -> QuerySet[Item]:
    """The items a new stock event may hold: the active catalogue, in catalogue order."""
    return Item.objects.filter(active=True).order_by("sort_order", "code")


def office_province(warehouse: Warehouse) -> Province | None:
    """The province whose office keeps this warehouse's ledger (named on its vouchers)."""
    if warehouse.prefecture_id:
        return warehouse.prefecture.province
    return Province.objects.order_by("code").first()
