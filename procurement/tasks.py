"""Celery jobs of procurement: telling the office of overdue inbound (issue 16)."""

from celery import shared_task
from django.urls import reverse

from supplycoord.lib.dates import local_today
from supplycoord.notifications import recipients as to
from supplycoord.notifications.kinds import translated
from supplycoord.notifications.services import notify

from .selectors import overdue_national_allocations, overdue_order_lines


@shared_task(name="procurement.tasks.inbound_overdue_notify", acks_late=True)
def inbound_overdue_notify() -> int:
    """Tell the office of each purchase order with lines overdue today and each overdue
    announced national allocation (reports.md "Inbound": expected before today, not arrived;
    beat: SUPPLYCOORD_INBOUND_OVERDUE_TIME). Each once for its expected date: an order still
    overdue tomorrow is not told again, one whose overdue lines change date is. Returns how
    many orders and allocations were told of."""
    today = local_today()
    orders = {}
    for line in overdue_order_lines(date=today):
        orders.setdefault(line.order, []).append(line)
    for order, lines in orders.items():
        expected = min(line.expected_arrival for line in lines)
        notify(
            event="inbound_overdue",
            recipients=[to.office()],
            params={
                "variant": "order",
                "number": order.number,
                "supplier": order.supplier.name,
                "lines": len(lines),
                "expected": expected.isoformat(),
            },
            url=reverse("procurement:order_detail", args=[order.number]),
            dedupe_key=f"inbound_overdue:order:{order.pk}:{expected}",
        )
    allocations = list(overdue_national_allocations(date=today))
    for allocation in allocations:
        notify(
            event="inbound_overdue",
            recipients=[to.office()],
            params={
                "variant": "national",
                "number": allocation.reference or str(allocation.pk),
                "item": translated(allocation.item),
                "unit": translated(allocation.item.get_unit_display),
                "outstanding": allocation.quantity - allocation.arrived_quantity,
                "expected": allocation.expected_arrival.isoformat(),
            },
            url=reverse("procurement:national_allocation_detail", args=[allocation.pk]),
            dedupe_key=f"inbound_overdue:national:{allocation.pk}:{allocation.expected_arrival}",
        )
    return len(orders) + len(allocations)
