"""Reads of procurement: the supplier search, the working-capital lines, order lists and the
overdue order lines. Pages, the API and (later) the inbound view and alerts call these.

The working-capital line of a reserve-task unit (周转金), from its orders funded by working
capital (procurement.models.FundingSource.WORKING_CAPITAL) and their payments:
- granted   = ReserveUnit.capital_granted;
- paid      = Σ payments of its placed, partly arrived, arrived and closed orders;
- committed = Σ over its open orders (placed, partly arrived, arrived) of amount − paid:
              money promised to suppliers and not paid yet. A draft commits nothing (it has
              not been sent); a cancelled order nothing; a closed order only what was paid;
- remaining = granted − committed − paid (negative when the line is overdrawn);
- over      = committed + paid > granted: the alert.
"""

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from supplycoord.permissions import can_read_procurement, scope_purchase_orders

from .models import (
    IN_TRANSIT_STATUSES,
    OPEN_STATUSES,
    SPENT_STATUSES,
    FundingSource,
    NationalAllocation,
    NationalRequest,
    OrderPayment,
    OrderStatus,
    PurchaseOrder,
    PurchaseOrderLine,
    ReserveUnit,
    Supplier,
    SupplierCapability,
)

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=32, decimal_places=2)


def line_amount():
    """quantity × unit price of an order line, in SQL."""
    return ExpressionWrapper(F("quantity") * F("unit_price"), output_field=MONEY)


# --- Suppliers ---------------------------------------------------------------------------------


def suppliers_visible_to(user) -> QuerySet[Supplier]:
    if not can_read_procurement(user):
        return Supplier.objects.none()
    return Supplier.objects.all()


def supplier_rows(user, *, query: str = "", origin: str = "") -> QuerySet[Supplier]:
    """The directory, by name, each with how many items it offers (one query per page)."""
    suppliers = suppliers_visible_to(user)
    if query:
        suppliers = suppliers.filter(
            Q(name__icontains=query) | Q(credit_code__icontains=query) | Q(contact__icontains=query)
        )
    if origin:
        suppliers = suppliers.filter(origin=origin)
    return suppliers.annotate(capability_count=Count("capabilities")).order_by("name", "pk")


def capabilities_for_item(user, *, item, within_days: int | None = None):
    """ "Who can supply item X within N days": active suppliers offering `item` with a lead
    time of at most `within_days`, fastest first, then the largest daily capacity."""
    if not can_read_procurement(user):
        return SupplierCapability.objects.none()
    rows = SupplierCapability.objects.filter(item=item, supplier__active=True)
    if within_days is not None:
        rows = rows.filter(lead_time_days__lte=within_days)
    return rows.select_related("supplier", "item").order_by(
        "lead_time_days", "-daily_capacity", "supplier__name", "pk"
    )


# --- Working-capital lines --------------------------------------------------------------------


@dataclasses.dataclass
class CapitalLine:
    unit: ReserveUnit
    granted: Decimal
    committed: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def used(self) -> Decimal:
        return self.committed + self.paid

    @property
    def remaining(self) -> Decimal:
        return self.granted - self.committed - self.paid

    @property
    def over(self) -> bool:
        """Commitments (with what was paid) exceed the line granted."""
        return self.used > self.granted

    @property
    def overdrawn_by(self) -> Decimal:
        return max(ZERO, self.used - self.granted)


def capital_lines(units=None) -> list[CapitalLine]:
    """The working-capital line of each unit (all units when `units` is None), in the
    module's definitions. Three queries whatever the number of units and orders."""
    units = list(ReserveUnit.objects.order_by("name", "pk") if units is None else units)
    lines = {unit.pk: CapitalLine(unit=unit, granted=unit.capital_granted) for unit in units}
    if not lines:
        return []
    orders = PurchaseOrder.objects.filter(
        buyer_unit__in=list(lines),
        funding_source=FundingSource.WORKING_CAPITAL,
        status__in=SPENT_STATUSES,
    )
    amounts = {
        row["order"]: row
        for row in PurchaseOrderLine.objects.filter(order__in=orders)
        .values("order", "order__buyer_unit", "order__status")
        .annotate(amount=Sum(line_amount()))
    }
    paid = dict(
        OrderPayment.objects.filter(order__in=orders)
        .values("order")
        .annotate(paid=Sum("amount"))
        .values_list("order", "paid")
    )
    for order_id, row in amounts.items():
        line = lines[row["order__buyer_unit"]]
        amount = row["amount"] or ZERO
        order_paid = min(paid.get(order_id, ZERO), amount)
        line.paid += order_paid
        if row["order__status"] in OPEN_STATUSES:
            line.committed += amount - order_paid
    return [lines[unit.pk] for unit in units]


def capital_line(unit: ReserveUnit) -> CapitalLine:
    return capital_lines([unit])[0]


def units_over_capital_line() -> list[CapitalLine]:
    """The units whose commitments exceed their working-capital line: the alert other pages
    (the overview, the alerts page) can show."""
    return [line for line in capital_lines() if line.over]


# --- Purchase orders -----------------------------------------------------------------------------


def orders_visible_to(user) -> QuerySet[PurchaseOrder]:
    return scope_purchase_orders(user, PurchaseOrder.objects.all())


def overdue_lines_q(date: dt.date) -> Q:
    """A line is overdue on `date` when its order is placed or partly arrived, its expected
    arrival is before `date` and some of it has not arrived (reports.md "Inbound": overdue
    inbound is what was expected before d and has not arrived)."""
    return Q(
        order__status__in=IN_TRANSIT_STATUSES,
        expected_arrival__lt=date,
        arrived_quantity__lt=F("quantity"),
    )


def overdue_order_lines(*, date: dt.date, item=None) -> QuerySet[PurchaseOrderLine]:
    """The order lines overdue on `date`, most overdue first, with their order, supplier and
    item. The inbound view and the alerts read this."""
    lines = PurchaseOrderLine.objects.filter(overdue_lines_q(date))
    if item is not None:
        lines = lines.filter(item=item)
    return lines.select_related("order", "order__supplier", "order__buyer_unit", "item").order_by(
        "expected_arrival", "order__number", "pk"
    )


def days_overdue(line: PurchaseOrderLine, *, date: dt.date, status: str) -> int:
    """How many days `line` is overdue on `date` (0 when it is not)."""
    if (
        status not in IN_TRANSIT_STATUSES
        or line.arrived_quantity >= line.quantity
        or line.expected_arrival >= date
    ):
        return 0
    return (date - line.expected_arrival).days


def filter_orders(
    orders: QuerySet, *, status="", supplier=None, item=None, overdue_on: dt.date | None = None
) -> QuerySet[PurchaseOrder]:
    if status:
        orders = orders.filter(status=status)
    if supplier is not None:
        orders = orders.filter(supplier=supplier)
    # Subqueries, not joins: a join on the lines here would also narrow the sums that
    # orders_with_totals adds over every line of the order.
    if item is not None:
        orders = orders.filter(pk__in=PurchaseOrderLine.objects.filter(item=item).values("order"))
    if overdue_on is not None:
        orders = orders.filter(
            pk__in=PurchaseOrderLine.objects.filter(overdue_lines_q(overdue_on)).values("order")
        )
    return orders


def orders_with_totals(orders: QuerySet, *, date: dt.date) -> QuerySet[PurchaseOrder]:
    """Orders with line_count, lines_arrived (lines whose goods are all in), total_amount,
    overdue_lines (as of `date`) and paid_amount, for a page of a list (one query). No sum of
    quantities: an order's lines are in different units (pieces, sets, bottles)."""
    paid = (
        OrderPayment.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(s=Sum("amount"))
        .values("s")
    )
    return orders.select_related("supplier", "buyer_unit").annotate(
        line_count=Count("lines"),
        total_amount=Coalesce(
            Sum(
                ExpressionWrapper(F("lines__quantity") * F("lines__unit_price"), output_field=MONEY)
            ),
            Value(ZERO),
            output_field=MONEY,
        ),
        lines_arrived=Count("lines", filter=Q(lines__arrived_quantity__gte=F("lines__quantity"))),
        overdue_lines=Count(
            "lines",
            filter=Q(
                status__in=IN_TRANSIT_STATUSES,
                lines__expected_arrival__lt=date,
                lines__arrived_quantity__lt=F("lines__quantity"),
            ),
        ),
        paid_amount=Coalesce(Subquery(paid, output_field=MONEY), Value(ZERO), output_field=MONEY),
    )


def order_for_display(user, number: str) -> PurchaseOrder | None:
    return (
        orders_visible_to(user)
        .select_related("supplier", "buyer_unit", "created_by")
        .filter(number=number)
        .first()
    )


def order_lines_in_transit(*, item=None) -> QuerySet[PurchaseOrderLine]:
    """Open order lines with quantity outstanding (the inbound pipeline's purchase channel)."""
    lines = PurchaseOrderLine.objects.filter(
        order__status__in=IN_TRANSIT_STATUSES, arrived_quantity__lt=F("quantity")
    )
    if item is not None:
        lines = lines.filter(item=item)
    return lines.select_related("order", "item").order_by("expected_arrival", "pk")


def unit_orders(unit: ReserveUnit) -> QuerySet[PurchaseOrder]:
    return PurchaseOrder.objects.filter(buyer_unit=unit).exclude(status=OrderStatus.CANCELLED)


# --- National allocation (上面调) ---------------------------------------------------------------


def national_requests_visible_to(user) -> QuerySet[NationalRequest]:
    if not can_read_procurement(user):
        return NationalRequest.objects.none()
    return NationalRequest.objects.select_related("item").order_by("-year", "-pk")


def national_allocations_visible_to(user) -> QuerySet[NationalAllocation]:
    if not can_read_procurement(user):
        return NationalAllocation.objects.none()
    return NationalAllocation.objects.select_related("item", "warehouse", "request").order_by(
        "-announced_on", "-id"
    )


def national_outstanding_q() -> Q:
    """An announced allocation not yet (fully) arrived."""
    return Q(arrived_quantity__lt=F("quantity"))


def overdue_national_allocations(*, date: dt.date, item=None) -> QuerySet[NationalAllocation]:
    """Announced allocations overdue on `date`: expected before `date` with quantity still
    outstanding (reports.md "Inbound": shown apart, counted in no window), most overdue
    first."""
    rows = NationalAllocation.objects.filter(national_outstanding_q(), expected_arrival__lt=date)
    if item is not None:
        rows = rows.filter(item=item)
    return rows.select_related("item", "warehouse", "request").order_by("expected_arrival", "pk")


def national_allocations_outstanding_by_item(
    *, until: dt.date, since: dt.date | None = None
) -> dict[int, int]:
    """{item id: Σ (announced − arrived)} of the announced allocations expected on or before
    `until` (and on or after `since` when given) with quantity outstanding: the national
    channel of reports.md "Inbound" (`inbound_3d`: since = d, until = d + 3; leaving `since`
    out also counts the overdue ones). One query."""
    rows = NationalAllocation.objects.filter(national_outstanding_q(), expected_arrival__lte=until)
    if since is not None:
        rows = rows.filter(expected_arrival__gte=since)
    return dict(
        rows.values("item")
        .annotate(outstanding=Sum(F("quantity") - F("arrived_quantity")))
        .values_list("item", "outstanding")
    )
