from django.conf import settings
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from supplycoord.models import County, Item, Prefecture

FIGURE_FIELDS = ("stock", "received", "consumption", "demand", "expected_arrivals_3d")

# The note the migration of the office's paper ledger (allocation.services'
# batches_import_history) stores on what it records: a marker, stored as it is whatever the
# language of who migrated, and worded where it is shown (StockEvent.note_shown) in the
# reader's language. Here, so allocation and inventory import it without a cycle.
PAPER_LEDGER_NOTE = "从纸质台账迁移"


class FiguresOfADay(models.Model):
    """The five figures a reporter gives for one item and day, and who gave them when: a
    prefecture's (DailyFigure) or a county's (CountyDailyFigure)."""

    date = models.DateField(_("date"))
    stock = models.PositiveBigIntegerField(_("stock"))
    received = models.PositiveBigIntegerField(_("received"))
    consumption = models.PositiveBigIntegerField(_("consumption"))
    demand = models.PositiveBigIntegerField(_("demand"))
    expected_arrivals_3d = models.PositiveBigIntegerField(_("expected arrivals within 3 days"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    # The first submission decides punctuality; corrections keep it (the prefecture did report).
    first_submitted_at = models.DateTimeField(_("first submitted at"))
    submitted_at = models.DateTimeField(_("last submitted at"))
    on_time = models.BooleanField(_("on time"))
    correction_reason = models.CharField(_("reason for correction"), max_length=500, blank=True)

    class Meta:
        abstract = True

    def figures(self) -> dict:
        return {f: getattr(self, f) for f in FIGURE_FIELDS}


class DailyFigure(FiguresOfADay):
    """日报: one prefecture's figures for one item and day.

    One row per (prefecture, item, date). A later submission for the same key is a
    correction: it replaces the figures here and django-simple-history keeps the old ones,
    with who changed them, when, and why.
    """

    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        related_name="daily_figures",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="daily_figures"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("daily figure")
        verbose_name_plural = _("daily figures")
        ordering = ["date", "prefecture__code", "item__sort_order"]
        constraints = [
            models.UniqueConstraint(fields=["prefecture", "item", "date"], name="daily_figure_key"),
        ]
        indexes = [models.Index(fields=["date", "prefecture"])]

    def __str__(self):
        return f"{self.prefecture.code} {self.item.code} {self.date}"


class CountyDailyFigure(FiguresOfADay):
    """区县日报: one county's figures for one item and day (three-level dispatch, issue 15).

    Entered for the counties of a prefecture that reports as the sum of its counties
    (Prefecture.reports_as_sum_of_counties); the prefecture's DailyFigure of the item and day
    is derived from them once every active county has reported (inventory.county_figures).
    One row per (county, item, date); a later submission is a correction, the old figures
    kept in the history with who, when and why, as for DailyFigure. A county row is never
    deleted.
    """

    county = models.ForeignKey(
        County, verbose_name=_("county"), on_delete=models.PROTECT, related_name="daily_figures"
    )
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        on_delete=models.PROTECT,
        related_name="county_daily_figures",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("county daily figure")
        verbose_name_plural = _("county daily figures")
        ordering = ["date", "county__code", "item__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "item", "date"], name="county_daily_figure_key"
            ),
        ]
        indexes = [models.Index(fields=["date", "county"])]

    def __str__(self):
        return f"{self.county.code} {self.item.code} {self.date}"


# --- The provincial reserve ledger (台账) -------------------------------------------------


class WarehouseKind(models.TextChoices):
    PROVINCIAL_RESERVE = "provincial_reserve", _("Provincial reserve warehouse")
    PREFECTURE = "prefecture", _("Prefecture warehouse")
    PRODUCER_HELD = "producer_held", _("Reserve held by a producer")
    HOSPITAL_OTHER = "hospital_other", _("Hospital or other")


# Stock in these warehouses is the province's reserve (reports.md: beside prefecture stock).
RESERVE_KINDS = (WarehouseKind.PROVINCIAL_RESERVE, WarehouseKind.PRODUCER_HELD)


class Warehouse(models.Model):
    """A place that holds stock. Producer-held reserve (代储) is linked from the production app."""

    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
        help_text=_("Short code used in document numbers, e.g. SZ01 (letters, digits)."),
    )
    name_zh = models.CharField(_("Chinese name"), max_length=128)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=WarehouseKind.choices)
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warehouses",
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    manager = models.CharField(_("manager"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def name(self):
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh

    @property
    def is_reserve(self) -> bool:
        return self.kind in RESERVE_KINDS


class StockEventKind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    ISSUE = "issue", _("Issue")
    ADJUSTMENT = "adjustment", _("Adjustment")
    COUNT = "count", _("Physical count")
    REVERSAL = "reversal", _("Reversal")


class ReceiptSource(models.TextChoices):
    OWN_PRODUCTION = "own_production", _("Own production")
    PURCHASE = "purchase", _("Purchase")
    NATIONAL_ALLOCATION = "national_allocation", _("National allocation")
    DONATION = "donation", _("Donation")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    RETURN = "return", _("Return")


class IssueKind(models.TextChoices):
    DISPATCH = "dispatch", _("Dispatch")
    TRANSFER_OUT = "transfer_out", _("Transfer out")


class AdjustmentReason(models.TextChoices):
    DAMAGED = "damaged", _("Damaged")
    EXPIRED = "expired", _("Expired")
    COUNT_DIFFERENCE = "count_difference", _("Count difference")
    OTHER = "other", _("Other")


class DocumentSequence(models.Model):
    """The last document number used per warehouse and month; locked to hand out the next."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=6)  # YYYYMM of the event's date
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "period"], name="document_sequence_key")
        ]

    def __str__(self):
        return f"{self.warehouse_id} {self.period}: {self.last_number}"


class StockEvent(models.Model):
    """One document in the ledger: a receipt, issue, adjustment, count or reversal. Append-only.

    A mistake is never edited: it is reversed by a new event that points at it (`reverses`).
    """

    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=StockEventKind.choices)
    document_number = models.CharField(_("document number"), max_length=32, unique=True)
    receipt_source = models.CharField(
        _("source"), max_length=24, choices=ReceiptSource.choices, blank=True
    )
    issue_kind = models.CharField(
        _("issue kind"), max_length=16, choices=IssueKind.choices, blank=True
    )
    adjustment_reason = models.CharField(
        _("adjustment reason"), max_length=20, choices=AdjustmentReason.choices, blank=True
    )
    source_document = models.CharField(
        _("source document"),
        max_length=128,
        blank=True,
        help_text=_("Supplier invoice, allocation notice, donation record, dispatch note…"),
    )
    counterparty = models.CharField(
        _("from / to"), max_length=128, blank=True, help_text=_("Supplier, donor or recipient.")
    )
    occurred_at = models.DateTimeField(_("happened at"))
    recorded_at = models.DateTimeField(_("recorded at"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.TextField(_("note"), blank=True)
    reverses = models.OneToOneField(
        "self",
        verbose_name=_("reverses"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_by",
    )
    client_uuid = models.UUIDField(_("client UUID"), null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("stock event")
        verbose_name_plural = _("stock events")
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["warehouse", "occurred_at"])]

    def __str__(self):
        return self.document_number

    @property
    def note_shown(self):
        """The note as the reader reads it: as typed, or the paper-ledger migration's marker
        (PAPER_LEDGER_NOTE) in the reader's language."""
        if self.note == PAPER_LEDGER_NOTE:
            return _("Migrated from the paper ledger")
        return self.note


class StockEventLine(models.Model):
    """One item of an event. `quantity` is signed: + into the warehouse, − out of it.

    For a physical count, `counted` is the figure found and `quantity` the difference from the
    balance before it (so the ledger still sums to the balance).
    """

    event = models.ForeignKey(StockEvent, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.BigIntegerField(_("quantity"))
    counted = models.PositiveBigIntegerField(_("counted"), null=True, blank=True)
    # Denormalised from the event so the stock card and balances read one indexed table.
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField(_("happened at"))
    kind = models.CharField(_("kind"), max_length=12, choices=StockEventKind.choices)

    class Meta:
        verbose_name = _("stock event line")
        verbose_name_plural = _("stock event lines")
        constraints = [
            models.UniqueConstraint(fields=["event", "item"], name="stock_event_line_item_once")
        ]
        indexes = [
            # The stock card and balance sums read this index only (quantity and kind are
            # carried in it): a 100,000-line card sums, pages and filters by kind without
            # touching the table. Kind is carried, not a key: the running balance counts every
            # kind, so the card is read in date order whatever the filter.
            models.Index(
                fields=["warehouse", "item", "occurred_at", "event"],
                include=["quantity", "kind"],
                name="stock_line_card",
            )
        ]

    def __str__(self):
        return f"{self.event_id} {self.item_id} {self.quantity:+d}"


class StockBalance(models.Model):
    """The derived balance of one item in one warehouse: always Σ of its event lines."""

    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="balances"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.BigIntegerField(_("quantity"), default=0)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("stock balance")
        verbose_name_plural = _("stock balances")
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "item"], name="stock_balance_key"),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="stock_never_negative"
            ),
        ]

    def __str__(self):
        return f"{self.warehouse_id}/{self.item_id}: {self.quantity}"
