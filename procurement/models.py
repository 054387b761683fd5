"""Procurement (采购): the supplier directory, reserve-task units and purchase orders.

Orders change only through procurement/services.py: every transition bumps `version`
(optimistic concurrency) and writes an OrderTransition row with the acting user. Arrivals are
receipts (purchase) in the reserve ledger (inventory.services.stock_receive), linked here by
OrderArrival; arrivals, transitions and payments are append-only.

A reserve-task unit's working-capital line (周转金) is not stored as figures: granted is the
unit's own field, and committed, paid and remaining are computed from its orders and their
payments by procurement.selectors.capital_lines.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from inventory.models import StockEvent, Warehouse
from supplycoord.lib.credit_code import validate_credit_code
from supplycoord.lib.text import validate_free_text, validate_single_line
from supplycoord.models import Item

# Money: yuan with fen. A unit price up to 10^12 yuan, a line amount (quantity × price) and a
# capital line up to 10^16: beyond them a figure is a typing error (services refuse it).
PRICE_DIGITS = 14
AMOUNT_DIGITS = 18
MAX_AMOUNT = Decimal("9999999999999999.99")


class SupplierOrigin(models.TextChoices):
    IN_PROVINCE = "in_province", _("In the province")
    OTHER_PROVINCE = "other_province", _("Another province")
    ABROAD = "abroad", _("Abroad")


class Supplier(models.Model):
    """An enterprise of the supplier directory (供应商名录)."""

    name = models.CharField(_("enterprise name"), max_length=128, validators=[validate_single_line])
    # Enterprises abroad have no unified social credit code; every Chinese one has exactly one.
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        null=True,
        blank=True,
        validators=[validate_credit_code],
    )
    origin = models.CharField(_("origin"), max_length=16, choices=SupplierOrigin.choices)
    contact = models.CharField(
        _("contact person"), max_length=64, blank=True, validators=[validate_single_line]
    )
    phone = models.CharField(
        _("phone"), max_length=32, blank=True, validators=[validate_single_line]
    )
    note = models.TextField(
        _("reliability notes"), blank=True, max_length=2000, validators=[validate_free_text]
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supplier")
        verbose_name_plural = _("suppliers")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(origin="abroad") | models.Q(credit_code__isnull=False),
                name="supplier_chinese_has_credit_code",
                violation_error_message=_(
                    "An enterprise in China needs its unified social credit code."
                ),
            ),
        ]

    def __str__(self):
        return self.name


class SupplierCapability(models.Model):
    """What a supplier can deliver of one catalogue item."""

    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="capabilities"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    daily_capacity = models.PositiveBigIntegerField(_("capacity per day"))
    lead_time_days = models.PositiveSmallIntegerField(_("lead time (days)"))
    minimum_order = models.PositiveBigIntegerField(_("minimum order"), default=0)
    last_unit_price = models.DecimalField(
        _("last unit price (yuan)"),
        max_digits=PRICE_DIGITS,
        decimal_places=2,
        null=True,
        blank=True,
    )
    updated_at = models.DateTimeField(_("updated at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("supplier capability")
        verbose_name_plural = _("supplier capabilities")
        ordering = ["item__sort_order", "item__code"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "item"], name="supplier_capability_once"),
            models.CheckConstraint(
                condition=models.Q(lead_time_days__lte=365), name="supplier_lead_time_a_year"
            ),
        ]
        # "Who can supply item X within N days": the item's rows by lead time.
        indexes = [models.Index(fields=["item", "lead_time_days"], name="capability_by_item")]

    def __str__(self):
        return f"{self.supplier} · {self.item}"


class ReserveUnit(models.Model):
    """承储单位: an enterprise that keeps reserve warehouses and buys on the province's behalf
    with a working-capital line (周转金) granted by the province."""

    name = models.CharField(
        _("name"), max_length=128, unique=True, validators=[validate_single_line]
    )
    contact = models.CharField(
        _("contact person"), max_length=64, blank=True, validators=[validate_single_line]
    )
    phone = models.CharField(
        _("phone"), max_length=32, blank=True, validators=[validate_single_line]
    )
    warehouses = models.ManyToManyField(
        Warehouse, verbose_name=_("reserve warehouses"), blank=True, related_name="reserve_units"
    )
    capital_granted = models.DecimalField(
        _("working capital granted (yuan)"),
        max_digits=AMOUNT_DIGITS,
        decimal_places=2,
        default=Decimal("0.00"),
    )
    note = models.TextField(_("note"), blank=True, validators=[validate_free_text])
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reserve-task unit")
        verbose_name_plural = _("reserve-task units")
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capital_granted__gte=0), name="reserve_unit_capital_not_negative"
            ),
        ]

    def __str__(self):
        return self.name


class FundingSource(models.TextChoices):
    FISCAL = "fiscal", _("Fiscal funds")
    WORKING_CAPITAL = "working_capital", _("Working capital")
    DONATED = "donated", _("Donated funds")
    ENTERPRISE_ADVANCE = "enterprise_advance", _("Advanced by the enterprise")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PLACED = "placed", _("Placed")
    PARTLY_ARRIVED = "partly_arrived", _("Partly arrived")
    ARRIVED = "arrived", _("Arrived")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Orders whose goods are still expected: their outstanding quantities are in transit.
IN_TRANSIT_STATUSES = (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED)
# Orders that hold money of a working-capital line until paid: placed and not yet closed.
OPEN_STATUSES = (OrderStatus.PLACED, OrderStatus.PARTLY_ARRIVED, OrderStatus.ARRIVED)
# Orders whose payments count as paid from the line (a closed order was paid what it was).
SPENT_STATUSES = (*OPEN_STATUSES, OrderStatus.CLOSED)


class OrderYearSequence(models.Model):
    """The last order number used in a year; locked to hand out the next (no gaps)."""

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class PurchaseOrder(models.Model):
    """采购订单: goods bought by the office or a reserve-task unit from a supplier."""

    number = models.CharField(_("order number"), max_length=20, unique=True)
    year = models.PositiveIntegerField(_("year"))
    # Blank: the office buys itself.
    buyer_unit = models.ForeignKey(
        ReserveUnit,
        verbose_name=_("buyer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
    )
    supplier = models.ForeignKey(
        Supplier, verbose_name=_("supplier"), on_delete=models.PROTECT, related_name="orders"
    )
    funding_source = models.CharField(
        _("funding source"), max_length=20, choices=FundingSource.choices
    )
    ordered_on = models.DateField(_("ordered on"))
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    placed_at = models.DateTimeField(_("placed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("purchase order")
        verbose_name_plural = _("purchase orders")
        # Newest first. The number is text ("CG-2020-1000" sorts before "CG-2020-999"); within
        # a year the ids follow the numbers, which are taken in one locked sequence.
        ordering = ["-year", "-id"]
        indexes = [
            models.Index(fields=["-year", "-id"], name="order_list_newest"),
            models.Index(fields=["status"], name="order_status"),
        ]
        constraints = [
            # The office has no working-capital line: only a reserve-task unit buys with one.
            models.CheckConstraint(
                condition=~models.Q(funding_source="working_capital")
                | models.Q(buyer_unit__isnull=False),
                name="order_working_capital_needs_unit",
            ),
        ]

    def __str__(self):
        return self.number


class PurchaseOrderLine(models.Model):
    """One item of an order. `amount` = quantity × unit price, computed, never stored."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity ordered"))
    unit_price = models.DecimalField(
        _("unit price (yuan)"), max_digits=PRICE_DIGITS, decimal_places=2
    )
    expected_arrival = models.DateField(_("expected arrival"))
    # Σ of the line's OrderArrivalLine rows, kept with them in the same transaction (as a
    # dispatch batch line keeps its received quantity): the overdue and in-transit reads use it.
    arrived_quantity = models.PositiveBigIntegerField(_("quantity arrived"), default=0)

    class Meta:
        verbose_name = _("purchase order line")
        verbose_name_plural = _("purchase order lines")
        ordering = ["id"]
        constraints = [
            # One line per item: an arrival is one ledger receipt, which holds each item once.
            models.UniqueConstraint(fields=["order", "item"], name="order_line_item_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_line_qty"),
            models.CheckConstraint(
                condition=models.Q(unit_price__gte=0), name="order_line_price_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(arrived_quantity__lte=models.F("quantity")),
                name="order_line_never_over_arrived",
            ),
        ]
        indexes = [
            # Lines still expected, by date: the overdue list and the inbound windows.
            models.Index(fields=["expected_arrival", "item"], name="order_line_expected"),
        ]

    def __str__(self):
        return f"{self.order_id} {self.item_id} {self.quantity}"

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price

    @property
    def outstanding(self) -> int:
        """Ordered but not arrived yet."""
        return self.quantity - self.arrived_quantity


class OrderTransition(models.Model):
    """The audit trail of an order: who moved it from which state to which, when. Append-only."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(
        _("from status"), max_length=16, choices=OrderStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=16, choices=OrderStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acting user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("happened at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("order transition")
        verbose_name_plural = _("order transitions")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class OrderArrival(models.Model):
    """Goods of an order arriving in a reserve warehouse: one purchase receipt in the ledger."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="arrivals")
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("received into"), on_delete=models.PROTECT, related_name="+"
    )
    receipt_event = models.OneToOneField(
        StockEvent,
        verbose_name=_("receipt"),
        on_delete=models.PROTECT,
        related_name="order_arrival",
    )
    arrived_at = models.DateTimeField(_("arrived at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("order arrival")
        verbose_name_plural = _("order arrivals")
        ordering = ["arrived_at", "id"]

    def __str__(self):
        return f"{self.order_id} · {self.receipt_event_id}"


class OrderArrivalLine(models.Model):
    arrival = models.ForeignKey(OrderArrival, on_delete=models.PROTECT, related_name="lines")
    order_line = models.ForeignKey(
        PurchaseOrderLine, on_delete=models.PROTECT, related_name="arrival_lines"
    )
    quantity = models.PositiveBigIntegerField(_("quantity arrived"))

    class Meta:
        verbose_name = _("order arrival line")
        verbose_name_plural = _("order arrival lines")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["arrival", "order_line"], name="order_arrival_line_once"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="order_arrival_qty"),
        ]

    def __str__(self):
        return f"{self.arrival_id}/{self.order_line_id}: {self.quantity}"


class OrderPayment(models.Model):
    """Money paid to the supplier for an order. Append-only; the sum paid never exceeds the
    order's amount (procurement.services.order_payment_record)."""

    order = models.ForeignKey(PurchaseOrder, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(
        _("amount paid (yuan)"), max_digits=AMOUNT_DIGITS, decimal_places=2
    )
    paid_on = models.DateField(_("paid on"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    note = models.TextField(_("note"), blank=True)
    # The form's own id: the same form sent twice (a double click, a reload) records once.
    client_uuid = models.UUIDField(_("client UUID"), null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("order payment")
        verbose_name_plural = _("order payments")
        ordering = ["paid_on", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="order_payment_positive")
        ]

    def __str__(self):
        return f"{self.order_id}: {self.amount}"


# --- National allocation (上面调) ---------------------------------------------------------------
# A request up (申请国家调拨) is sent by the office for one item; the national ministry answers
# with announced allocations (国家调拨通知), each optionally linked to the request it answers.
# The request's granted quantity is Σ of the announcements linked to it, kept with them in the
# same transaction (as an order line keeps its arrived quantity). An announced allocation
# arrives as receipts (source national allocation) into its destination reserve warehouse.


class NationalRequestStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    PARTLY_GRANTED = "partly_granted", _("Partly granted")
    GRANTED = "granted", _("Granted")
    REFUSED = "refused", _("Refused")


class NationalRequestYearSequence(models.Model):
    """The last request number used in a year (SQ-2020-001); locked to hand out the next."""

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class NationalRequest(models.Model):
    """申请国家调拨: the office asks the national ministry for a quantity of one item.

    `net_requirement` is the computed net requirement attached when the request is made, as
    the office (or the caller, e.g. the proposal page of `allocation`) passes it: procurement
    may not read the reports or the proposal, so it stores the figure, never computes it."""

    number = models.CharField(_("request number"), max_length=20, unique=True)
    year = models.PositiveIntegerField(_("year"))
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity requested"))
    net_requirement = models.PositiveBigIntegerField(_("net requirement"), null=True, blank=True)
    justification = models.TextField(_("justification"), max_length=4000)
    sent_on = models.DateField(_("sent on"))
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=NationalRequestStatus.choices,
        default=NationalRequestStatus.SENT,
    )
    granted_quantity = models.PositiveBigIntegerField(_("quantity granted"), default=0)
    refusal_reason = models.TextField(_("reason for refusal"), blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("request for national allocation")
        verbose_name_plural = _("requests for national allocation")
        # Newest first. The number is text ("CG-2020-1000" sorts before "CG-2020-999"); within
        # a year the ids follow the numbers, which are taken in one locked sequence.
        ordering = ["-year", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="national_request_qty"),
        ]

    def __str__(self):
        return self.number


class NationalRequestTransition(models.Model):
    """The audit trail of a request: who moved it from which state to which, when."""

    request = models.ForeignKey(
        NationalRequest, on_delete=models.PROTECT, related_name="transitions"
    )
    from_status = models.CharField(
        _("from status"), max_length=16, choices=NationalRequestStatus.choices, blank=True
    )
    to_status = models.CharField(
        _("to status"), max_length=16, choices=NationalRequestStatus.choices
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acting user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("happened at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("request transition")
        verbose_name_plural = _("request transitions")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.request_id}: {self.from_status} → {self.to_status}"


class NationalAllocation(models.Model):
    """国家调拨通知: a quantity of one item the national ministry announces for a reserve
    warehouse of the province, expected on a date. `arrived_quantity` is Σ of its arrivals."""

    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity announced"))
    expected_arrival = models.DateField(_("expected arrival"))
    warehouse = models.ForeignKey(
        Warehouse,
        verbose_name=_("destination reserve warehouse"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    request = models.ForeignKey(
        NationalRequest,
        verbose_name=_("answers request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="allocations",
    )
    reference = models.CharField(_("notice reference"), max_length=64, blank=True)
    announced_on = models.DateField(_("announced on"))
    note = models.TextField(_("note"), blank=True)
    arrived_quantity = models.PositiveBigIntegerField(_("quantity arrived"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("announced national allocation")
        verbose_name_plural = _("announced national allocations")
        ordering = ["-announced_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="national_allocation_qty"
            ),
            models.CheckConstraint(
                condition=models.Q(arrived_quantity__lte=models.F("quantity")),
                name="national_allocation_never_over_arrived",
            ),
        ]
        indexes = [
            models.Index(fields=["expected_arrival", "item"], name="national_alloc_expected"),
        ]

    def __str__(self):
        return f"{self.item_id} {self.quantity} → {self.warehouse_id}"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.arrived_quantity


class NationalAllocationArrival(models.Model):
    """Goods of an announced allocation arriving: one receipt (national allocation) in the
    destination warehouse's ledger. Append-only."""

    allocation = models.ForeignKey(
        NationalAllocation, on_delete=models.PROTECT, related_name="arrivals"
    )
    receipt_event = models.OneToOneField(
        StockEvent,
        verbose_name=_("receipt"),
        on_delete=models.PROTECT,
        related_name="national_allocation_arrival",
    )
    quantity = models.PositiveBigIntegerField(_("quantity arrived"))
    arrived_at = models.DateTimeField(_("arrived at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("national allocation arrival")
        verbose_name_plural = _("national allocation arrivals")
        ordering = ["arrived_at", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="national_arrival_qty"),
        ]

    def __str__(self):
        return f"{self.allocation_id} · {self.receipt_event_id}"


# --- Distribution enterprises (医药流通企业) ----------------------------------------------


class DistributionEnterprise(models.Model):
    """A pharmaceutical distribution enterprise that reports its purchases, shipments,
    purchases in transit and stock of the catalogue's items every day (seed 000:
    "全省医药流通企业疫情防控物资的采购数量、调运数量、采购在途数量及库存数量统计汇总").

    Its reporters (role distribution_reporter) see and report for their enterprises only, as a
    producer's reporters do for theirs. `items` are the items it is expected to report every
    day (its completeness is counted over them); empty means every active key item.
    """

    name = models.CharField(_("enterprise name"), max_length=128, validators=[validate_single_line])
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    prefecture = models.ForeignKey(
        "supplycoord.Prefecture",
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        related_name="distribution_enterprises",
    )
    contact = models.CharField(
        _("contact person"), max_length=64, blank=True, validators=[validate_single_line]
    )
    phone = models.CharField(
        _("phone"), max_length=32, blank=True, validators=[validate_single_line]
    )
    items = models.ManyToManyField(
        Item,
        verbose_name=_("items reported"),
        blank=True,
        related_name="+",
        help_text=_("The items it reports every day; none chosen means every key item."),
    )
    reporters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporters"),
        blank=True,
        related_name="distribution_enterprises",
        limit_choices_to={"role": "distribution_reporter"},
    )
    note = models.TextField(_("note"), blank=True, max_length=2000, validators=[validate_free_text])
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(m2m_fields=[reporters, items])

    class Meta:
        verbose_name = _("distribution enterprise")
        verbose_name_plural = _("distribution enterprises")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name


DISTRIBUTION_FIGURES = ("purchased", "shipped", "purchase_in_transit", "stock")


class DistributionReport(models.Model):
    """One distribution enterprise's figures for one item on one day (reports.md, "Inbound").

    One row per (enterprise, item, date). A later submission for the same key is a correction:
    it replaces the figures, needs a reason, and django-simple-history keeps the old ones with
    who and when. `first_submitted_at` decides on time / late against the cut-off.
    """

    enterprise = models.ForeignKey(
        DistributionEnterprise,
        verbose_name=_("distribution enterprise"),
        on_delete=models.PROTECT,
        related_name="reports",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    date = models.DateField(_("date"))
    purchased = models.PositiveBigIntegerField(_("purchased"))
    shipped = models.PositiveBigIntegerField(_("shipped"))
    purchase_in_transit = models.PositiveBigIntegerField(_("purchase in transit"))
    stock = models.PositiveBigIntegerField(_("stock"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_submitted_at = models.DateTimeField(_("first submitted at"))
    submitted_at = models.DateTimeField(_("last submitted at"))
    correction_reason = models.CharField(
        _("reason for correction"), max_length=500, blank=True, validators=[validate_free_text]
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("distribution enterprise report")
        verbose_name_plural = _("distribution enterprise reports")
        ordering = ["date", "enterprise_id", "item__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "item", "date"], name="distribution_report_key"
            ),
        ]
        indexes = [models.Index(fields=["date", "item"], name="distribution_report_day")]

    def __str__(self):
        return f"{self.enterprise_id} {self.item_id} {self.date}"

    def figures(self) -> dict:
        return {f: getattr(self, f) for f in DISTRIBUTION_FIGURES}
