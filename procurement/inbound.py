"""What is coming into the province (reports.md "Inbound"): `inbound_3d`, `inbound_14d`, the
overdue inbound, and the per-day calendar of the inbound view.

Per item and date d:
- inbound_3d / inbound_14d = Σ over open purchase-order lines of (ordered − arrived) with
  expected arrival in [d, d+3] / [d, d+14]
  + Σ over announced national allocations of (announced − arrived) expected in that window
  + Σ of the distribution enterprises' `purchase_in_transit` reported for d (it has no date:
  counted in both windows);
- overdue = what was expected before d and has not arrived: shown apart, in neither window.
  A line expected on d itself and not arrived is in the windows, not overdue.

"As of d" means as of the end of d (office time), so a past date rebuilt later gives the
figure one could have known that evening, whatever happened since:
- an order line counts when its order was placed on or before d (PurchaseOrder.placed_at) and
  no transition to cancelled or closed happened on or before d (OrderTransition.at); what has
  arrived is Σ of its arrival lines whose arrival's `arrived_at` falls on or before d (an
  arrival on d+1 does not lower d's figure, a back-dated arrival lowers it from its date);
- an announced allocation counts when announced on or before d (`announced_on`); arrived is Σ
  of its arrivals with `arrived_at` on or before d;
- the distribution enterprises' figure is their report for d itself.
What cannot be known as of d: an order's lines (and their expected arrival) can only change
while it is a draft, and an announced allocation has no edit, so the expected dates used are
the ones recorded; were either ever corrected in place, a rebuilt past date would use the
corrected date. An announcement recorded late with an earlier `announced_on` counts from
`announced_on` (the day the ministry announced it), not from when it was typed in.

Every read is one grouped query per channel (three for the figures, whatever the number of
items), never one per item.
"""

import dataclasses
import datetime as dt

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from inventory.models import Warehouse, WarehouseKind

from .distribution_selectors import distribution_in_transit_by_item
from .models import (
    NationalAllocation,
    NationalAllocationArrival,
    OrderArrivalLine,
    OrderStatus,
    OrderTransition,
    PurchaseOrder,
    PurchaseOrderLine,
)

WINDOW_SHORT = 3
WINDOW_LONG = 14

# Channels of the calendar, in its row order. The producers' channel is computed by the
# reports app (procurement may not read production) and is not part of the figures.
CHANNEL_ORDERS = "orders"
CHANNEL_NATIONAL = "national"
CHANNEL_DISTRIBUTION = "distribution"


@dataclasses.dataclass
class InboundFigures:
    """The inbound figures of one item on one date, with their parts per channel."""

    item_id: int
    orders_3d: int = 0
    orders_14d: int = 0
    national_3d: int = 0
    national_14d: int = 0
    distribution_in_transit: int = 0
    overdue_orders: int = 0
    overdue_national: int = 0

    @property
    def inbound_3d(self) -> int:
        return self.orders_3d + self.national_3d + self.distribution_in_transit

    @property
    def inbound_14d(self) -> int:
        return self.orders_14d + self.national_14d + self.distribution_in_transit

    @property
    def overdue(self) -> int:
        return self.overdue_orders + self.overdue_national


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after local `day` (office time): "on or before d" is `< end_of_day(d)`."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def _item_ids(items) -> list[int] | None:
    if items is None:
        return None
    return [getattr(item, "pk", item) for item in items]


def _order_lines_open_on(day: dt.date, *, until: dt.date, items=None, warehouses=None):
    """Order lines open at the end of `day` with quantity outstanding then, expected on or
    before `until`, each annotated with `outstanding_then` (ordered − arrived by the end of d).

    `warehouses`: only lines whose goods may go into one of them (the order's buyer unit keeps
    one of them, or the buyer keeps none: the office's own orders go into any reserve)."""
    end = end_of_day(day)
    ended = OrderTransition.objects.filter(
        to_status__in=(OrderStatus.CANCELLED, OrderStatus.CLOSED), at__lt=end
    ).values("order")
    arrived = (
        OrderArrivalLine.objects.filter(order_line=OuterRef("pk"), arrival__arrived_at__lt=end)
        .order_by()
        .values("order_line")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    # A line fully arrived now whose last arrival came on or before d was not open on d:
    # left out before the per-line sum, so the read does not grow with the order history.
    arrived_later = OrderArrivalLine.objects.filter(
        order_line=OuterRef("pk"), arrival__arrived_at__gte=end
    )
    lines = (
        PurchaseOrderLine.objects.filter(order__placed_at__lt=end, expected_arrival__lte=until)
        .filter(Q(arrived_quantity__lt=F("quantity")) | Exists(arrived_later))
        .exclude(order__in=ended)
    )
    ids = _item_ids(items)
    if ids is not None:
        lines = lines.filter(item__in=ids)
    if warehouses is not None:
        kept = PurchaseOrder.objects.filter(buyer_unit__warehouses__in=list(warehouses))
        keeps_any = PurchaseOrder.objects.filter(buyer_unit__warehouses__isnull=False)
        lines = lines.filter(Q(order__in=kept.values("pk")) | ~Q(order__in=keeps_any.values("pk")))
    return lines.annotate(
        outstanding_then=F("quantity") - Coalesce(Subquery(arrived), Value(0))
    ).filter(outstanding_then__gt=0)


def _national_open_on(day: dt.date, *, until: dt.date, items=None, warehouses=None):
    """Announced allocations announced on or before `day`, expected on or before `until`,
    with `outstanding_then` (announced − arrived by the end of d) above 0."""
    end = end_of_day(day)
    arrived = (
        NationalAllocationArrival.objects.filter(allocation=OuterRef("pk"), arrived_at__lt=end)
        .order_by()
        .values("allocation")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    arrived_later = NationalAllocationArrival.objects.filter(
        allocation=OuterRef("pk"), arrived_at__gte=end
    )
    rows = NationalAllocation.objects.filter(
        Q(arrived_quantity__lt=F("quantity")) | Exists(arrived_later),
        announced_on__lte=day,
        expected_arrival__lte=until,
    )
    ids = _item_ids(items)
    if ids is not None:
        rows = rows.filter(item__in=ids)
    if warehouses is not None:
        rows = rows.filter(warehouse__in=list(warehouses))
    return rows.annotate(
        outstanding_then=F("quantity") - Coalesce(Subquery(arrived), Value(0))
    ).filter(outstanding_then__gt=0)


def _by_item_and_date(rows) -> list[tuple[int, dt.date, int]]:
    """[(item id, expected arrival, Σ outstanding then)]: one grouped query."""
    return list(
        rows.order_by()
        .values("item_id", "expected_arrival")
        .annotate(total=Sum("outstanding_then"))
        .values_list("item_id", "expected_arrival", "total")
    )


def inbound_by_item(day: dt.date, *, items=None) -> dict[int, InboundFigures]:
    """{item id: InboundFigures} as of the end of `day` (module docstring), for every item
    with anything inbound or overdue (all items when `items` is None, else only those).

    Three queries: the order lines, the announced allocations (each grouped by item and
    expected date), and the distribution enterprises' reports of `day`.
    """
    short_end = day + dt.timedelta(days=WINDOW_SHORT)
    long_end = day + dt.timedelta(days=WINDOW_LONG)
    figures: dict[int, InboundFigures] = {}

    def of(item_id):
        if item_id not in figures:
            figures[item_id] = InboundFigures(item_id=item_id)
        return figures[item_id]

    for prefix, rows in (
        ("orders", _order_lines_open_on(day, until=long_end, items=items)),
        ("national", _national_open_on(day, until=long_end, items=items)),
    ):
        for item_id, expected, total in _by_item_and_date(rows):
            entry = of(item_id)
            if expected < day:
                name = f"overdue_{prefix}"
                setattr(entry, name, getattr(entry, name) + total)
                continue
            if expected <= short_end:
                name = f"{prefix}_3d"
                setattr(entry, name, getattr(entry, name) + total)
            name = f"{prefix}_14d"
            setattr(entry, name, getattr(entry, name) + total)

    wanted = None if items is None else set(_item_ids(items))
    for item_id, total in distribution_in_transit_by_item(day).items():
        if total and (wanted is None or item_id in wanted):
            of(item_id).distribution_in_transit += total
    return figures


# --- The calendar of one item ------------------------------------------------------------------


@dataclasses.dataclass
class OverdueEntry:
    """One order line or announced allocation overdue on the calendar's date."""

    kind: str  # CHANNEL_ORDERS or CHANNEL_NATIONAL
    number: str  # the order number, or the allocation's notice reference (else its id)
    pk: int
    supplier: str  # the supplier, or the destination warehouse of an allocation
    expected_arrival: dt.date
    outstanding: int
    days_overdue: int


@dataclasses.dataclass
class InboundCalendar:
    """What is expected to arrive of one item, day by day from d to d+14 (15 columns: the
    window of inbound_14d is [d, d+14]), by channel, as of the end of d."""

    day: dt.date
    days: list[dt.date]
    orders: list[int]
    national: list[int]
    distribution_in_transit: int  # undated: its own "no date" column
    overdue: list[OverdueEntry]


def inbound_calendar(day: dt.date, *, item) -> InboundCalendar:
    """The calendar of `item` on `day` (module docstring's as-of rule). Five queries: order
    lines and allocations grouped by date, the distribution reports of d, and the overdue lines
    and allocations listed one by one with their order, supplier or warehouse."""
    long_end = day + dt.timedelta(days=WINDOW_LONG)
    days = [day + dt.timedelta(days=offset) for offset in range(WINDOW_LONG + 1)]
    index = {date: position for position, date in enumerate(days)}
    orders = [0] * len(days)
    national = [0] * len(days)
    overdue: list[OverdueEntry] = []

    order_rows = _order_lines_open_on(day, until=long_end, items=[item])
    national_rows = _national_open_on(day, until=long_end, items=[item])
    for rows, target in ((order_rows, orders), (national_rows, national)):
        for _item_id, expected, total in _by_item_and_date(rows.filter(expected_arrival__gte=day)):
            target[index[expected]] += total

    late_orders = (
        order_rows.filter(expected_arrival__lt=day)
        .select_related("order", "order__supplier")
        .order_by("expected_arrival", "order__number", "pk")
    )
    for line in late_orders:
        overdue.append(
            OverdueEntry(
                kind=CHANNEL_ORDERS,
                number=line.order.number,
                pk=line.order.pk,
                supplier=line.order.supplier.name,
                expected_arrival=line.expected_arrival,
                outstanding=line.outstanding_then,
                days_overdue=(day - line.expected_arrival).days,
            )
        )
    late_national = (
        national_rows.filter(expected_arrival__lt=day)
        .select_related("warehouse")
        .order_by("expected_arrival", "pk")
    )
    for allocation in late_national:
        overdue.append(
            OverdueEntry(
                kind=CHANNEL_NATIONAL,
                number=allocation.reference or str(allocation.pk),
                pk=allocation.pk,
                supplier=str(allocation.warehouse),
                expected_arrival=allocation.expected_arrival,
                outstanding=allocation.outstanding_then,
                days_overdue=(day - allocation.expected_arrival).days,
            )
        )
    overdue.sort(key=lambda entry: (entry.expected_arrival, entry.kind, entry.number))
    in_transit = distribution_in_transit_by_item(day).get(item.pk, 0) or 0
    return InboundCalendar(
        day=day,
        days=days,
        orders=orders,
        national=national,
        distribution_in_transit=in_transit,
        overdue=overdue,
    )


# --- What arrives in the provincial reserve (the proposal) ------------------------------------


def provincial_reserve_arriving_3d(day: dt.date, *, items, warehouses) -> dict[int, int]:
    """{item id: quantity} expected to arrive within 3 days of `day` (expected in [d, d+3],
    not overdue, as of the end of d) in the provincial reserve warehouses among `warehouses`:
    open order lines whose goods may go into one of them and announced allocations destined to
    one of them. Distribution enterprises' purchases are theirs, not the reserve's: not here.
    Two queries."""
    reserve = [
        warehouse
        for warehouse in warehouses
        if isinstance(warehouse, Warehouse) and warehouse.kind == WarehouseKind.PROVINCIAL_RESERVE
    ]
    if not reserve or not items:
        return {}
    short_end = day + dt.timedelta(days=WINDOW_SHORT)
    totals: dict[int, int] = {}
    for rows in (
        _order_lines_open_on(day, until=short_end, items=items, warehouses=reserve),
        _national_open_on(day, until=short_end, items=items, warehouses=reserve),
    ):
        for item_id, _expected, total in _by_item_and_date(rows.filter(expected_arrival__gte=day)):
            totals[item_id] = totals.get(item_id, 0) + total
    return totals


# --- Overdue inbound, per item (the alerts page) ---------------------------------------------


@dataclasses.dataclass
class OverdueByItem:
    item_id: int
    entries: int = 0  # order lines and announced allocations overdue
    quantity: int = 0  # Σ not arrived


def overdue_inbound_by_item(day: dt.date) -> list[OverdueByItem]:
    """Per item, the order lines and announced allocations overdue on `day` (expected before
    d, not arrived by the end of d; the module's as-of rule), by item id. Two queries."""
    before = day - dt.timedelta(days=1)
    totals: dict[int, OverdueByItem] = {}
    for rows in (
        _order_lines_open_on(day, until=before),
        _national_open_on(day, until=before),
    ):
        grouped = (
            rows.order_by()
            .values("item_id")
            .annotate(entries=Count("pk"), quantity=Sum("outstanding_then"))
            .values_list("item_id", "entries", "quantity")
        )
        for item_id, entries, quantity in grouped:
            entry = totals.setdefault(item_id, OverdueByItem(item_id=item_id))
            entry.entries += entries
            entry.quantity += quantity
    return sorted(totals.values(), key=lambda entry: (-entry.quantity, entry.item_id))
