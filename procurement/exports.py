"""The request for national allocation (申请国家调拨) as the office sends it, declared on the
one exporter base (supplycoord/exports.py): the title block, a table of the item requested,
then the justification and the signature lines a printed request carries.

Every text cell, the justification included, goes through the base's `formula_safe`: a
justification typed as "=…" stays text in the spreadsheet.
"""

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from supplycoord import permissions
from supplycoord.exports import DATE, DECIMAL, INT, TEXT, Column, Exporter, Strong
from supplycoord.lib.dates import local_today
from supplycoord.lib.text import ascii_whole_number, text_error
from supplycoord.models import Item

from . import selectors
from .models import FundingSource, OrderStatus, PurchaseOrderLine, Supplier


class NationalRequestExport(Exporter):
    """`params`: {"number": "SQ-2020-001"}. The rows: the item requested (one row, the table
    of items), an empty row, the justification, an empty row, then the signature lines."""

    read_rule = staticmethod(permissions.can_read_procurement)

    title = gettext_lazy("Request for national allocation")

    def __init__(self, user, params=None):
        super().__init__(user, params)
        number = (self.params.get("number") or "").strip()
        self.request = (
            selectors.national_requests_visible_to(user).filter(number=number).first()
            if number
            else None
        )

    @property
    def valid(self) -> bool:
        return self.request is not None

    def error_text(self) -> str:
        return _("No such request.")

    def columns(self):
        return [
            Column("position", _("No."), INT, width=8),
            Column("code", _("Item code"), TEXT, width=12),
            Column("item", _("Item"), TEXT, width=28),
            Column("specification", _("Specification"), TEXT, width=20),
            Column("unit", _("Unit"), TEXT, width=8),
            Column("net_requirement", _("Net requirement"), INT, width=16),
            Column("quantity", _("Quantity requested"), INT, width=16),
            Column("sent_on", _("Sent on"), DATE, width=14),
        ]

    def date_range(self):
        return (self.request.sent_on, self.request.sent_on)

    def filters_text(self) -> str:
        return _("Request %(number)s") % {"number": self.request.number}

    def filename_parts(self):
        return [self.request.number]

    def count(self) -> int:
        return 1

    def rows(self):
        request = self.request
        item = request.item
        yield {
            "position": 1,
            "code": item.code,
            "item": item.name,
            "specification": item.specification,
            "unit": str(item.get_unit_display()),
            "net_requirement": request.net_requirement,
            "quantity": request.quantity,
            "sent_on": request.sent_on,
        }
        yield {}
        yield Strong({"position": None, "code": _("Justification")})
        yield {"code": request.justification}
        yield {}
        for label in (
            _("Prepared by (signature):"),
            _("Checked by (signature):"),
            _("Head of the office (signature and seal):"),
            _("Date:"),
        ):
            yield Strong({"code": label})
            yield {}


class PurchaseOrderLinesExport(Exporter):
    """The purchase orders (采购订单台账) as the order list filters them, one row per order line:
    what was ordered from whom, at what price, when it is due, what has arrived and what is
    still in transit, and how many days a line is overdue as of `today`.

    `params` are the order list's filters: status, supplier (id), item (code), overdue
    ("1"/"true": lines of orders with an overdue line only). A filter that names nothing is
    an invalid export (a 400 naming it), never a silently unfiltered file."""

    read_rule = staticmethod(permissions.can_read_procurement)

    title = gettext_lazy("Purchase orders")

    def __init__(self, user, params=None, *, today: dt.date | None = None):
        super().__init__(user, params)
        self.today = today or local_today()
        self.problem = ""
        self.status = (self.params.get("status") or "").strip()
        if self.status and self.status not in OrderStatus.values:
            self.problem = _("Unknown status: choose one of the list's statuses.")
        self.supplier = None
        raw_supplier = (self.params.get("supplier") or "").strip()
        if raw_supplier:
            pk = ascii_whole_number(raw_supplier, max_digits=12)
            self.supplier = Supplier.objects.filter(pk=pk).first() if pk is not None else None
            if self.supplier is None:
                self.problem = _("Unknown supplier.")
        self.item = None
        code = (self.params.get("item") or "").strip()
        if code:
            self.item = Item.objects.filter(code=code).first() if not text_error(code) else None
            if self.item is None:
                self.problem = _("Unknown item code.")
        overdue = (self.params.get("overdue") or "").strip().lower()
        if overdue not in ("", "0", "1", "true", "false", "on"):
            self.problem = _("Overdue only: give true or false.")
        self.overdue = overdue in ("1", "true", "on")

    @property
    def valid(self) -> bool:
        return not self.problem

    def error_text(self) -> str:
        return self.problem

    def _lines(self):
        orders = selectors.filter_orders(
            selectors.orders_visible_to(self.user),
            status=self.status,
            supplier=self.supplier,
            item=self.item,
            overdue_on=self.today if self.overdue else None,
        )
        return PurchaseOrderLine.objects.filter(order__in=orders.values("pk"))

    def count(self) -> int:
        return self._lines().count()

    def columns(self):
        return [
            Column("number", _("Order number"), TEXT, width=14),
            Column("status", _("Status"), TEXT, width=12),
            Column("supplier", _("Supplier"), TEXT, width=28),
            Column("buyer", _("Buyer"), TEXT, width=22),
            Column("funding_source", _("Funding source"), TEXT, width=14),
            Column("ordered_on", _("Ordered on"), DATE, width=12),
            Column("code", _("Item code"), TEXT, width=10),
            Column("item", _("Item"), TEXT, width=24),
            Column("unit", _("Unit"), TEXT, width=6),
            Column("quantity", _("Quantity ordered"), INT, width=14),
            Column("unit_price", _("Unit price (yuan)"), DECIMAL, width=12),
            Column("amount", _("Amount (yuan)"), DECIMAL, width=16),
            Column("expected_arrival", _("Expected arrival"), DATE, width=12),
            Column("arrived", _("Arrived"), INT, width=14),
            Column("outstanding", _("In transit"), INT, width=14),
            Column("days_overdue", _("Days overdue"), INT, width=10),
        ]

    def date_range(self):
        return None

    def filters_text(self) -> str:
        parts = []
        if self.status:
            parts.append(_("Status: %(value)s") % {"value": OrderStatus(self.status).label})
        if self.supplier is not None:
            parts.append(_("Supplier: %(value)s") % {"value": self.supplier.name})
        if self.item is not None:
            parts.append(_("Item: %(value)s") % {"value": self.item.name})
        if self.overdue:
            parts.append(_("overdue only"))
        parts.append(_("as of %(date)s") % {"date": self.today.isoformat()})
        return "; ".join(parts)

    def filename_parts(self):
        return [self.today.isoformat()]

    def rows(self):
        funding = dict(FundingSource.choices)
        statuses = dict(OrderStatus.choices)
        office = _("The office itself")
        lines = (
            self._lines()
            .select_related("order__supplier", "order__buyer_unit", "item")
            .order_by("-order__year", "-order_id", "id")
        )
        for line in lines.iterator(chunk_size=2000):
            order = line.order
            yield {
                "number": order.number,
                "status": str(statuses.get(order.status, order.status)),
                "supplier": order.supplier.name,
                "buyer": order.buyer_unit.name if order.buyer_unit_id else office,
                "funding_source": str(funding.get(order.funding_source, order.funding_source)),
                "ordered_on": order.ordered_on,
                "code": line.item.code,
                "item": line.item.name,
                "unit": str(line.item.get_unit_display()),
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "amount": line.amount,
                "expected_arrival": line.expected_arrival,
                "arrived": line.arrived_quantity,
                "outstanding": line.quantity - line.arrived_quantity,
                "days_overdue": selectors.days_overdue(line, date=self.today, status=order.status),
            }
