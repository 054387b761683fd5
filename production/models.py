"""Producers, their production lines, licences and raw materials."""

import datetime as dt
import math

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from inventory.models import Warehouse, WarehouseKind
from supplycoord.lib.credit_code import validate_credit_code
from supplycoord.lib.dates import local_date
from supplycoord.models import County, Item, ItemCategory, Prefecture


def validate_item_categories(value):
    if not isinstance(value, list) or any(v not in ItemCategory.values for v in value):
        raise ValidationError(
            _("Choose product categories from: %(choices)s."),
            code="invalid_categories",
            params={"choices": ", ".join(ItemCategory.values)},
        )


class ProducerStatus(models.TextChoices):
    PRODUCING = "producing", _("Producing")
    CONVERTING = "converting", _("Converting to new products")
    BUILDING_LINES = "building_lines", _("Building lines")
    RESUMED = "resumed", _("Resumed after the holiday")
    STOPPED = "stopped", _("Stopped")


class Producer(models.Model):
    """An enterprise making supplies in the province, with the commissioners assigned to it."""

    name = models.CharField(pgettext_lazy("producer", "name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        unique=True,
        validators=[validate_credit_code],
    )
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.PROTECT, related_name="producers"
    )
    county = models.ForeignKey(
        County,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="producers",
    )
    address = models.CharField(_("address"), max_length=255, blank=True)
    contact = models.CharField(_("contact person"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    # Item categories, not items: a producer's lines say which items it actually makes.
    product_categories = models.JSONField(
        _("product categories"),
        default=list,
        blank=True,
        validators=[validate_item_categories],
        help_text=_('A list of item categories, e.g. ["protective", "disinfection"].'),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=ProducerStatus.choices, default=ProducerStatus.PRODUCING
    )
    resumption_date = models.DateField(_("resumption date"), null=True, blank=True)
    national_whitelist_since = models.DateField(
        _("on the national key enterprise list since"), null=True, blank=True
    )
    provincial_whitelist_since = models.DateField(
        _("on the provincial key enterprise list since"), null=True, blank=True
    )
    reporters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reporters and commissioners"),
        blank=True,
        related_name="producers",
        limit_choices_to={"role": "producer_reporter"},
    )
    held_reserve_warehouse = models.OneToOneField(
        Warehouse,
        verbose_name=_("held-reserve warehouse"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="producer",
        limit_choices_to={"kind": WarehouseKind.PRODUCER_HELD},
        help_text=_("Where the reserve this producer holds for the province is booked."),
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(m2m_fields=[reporters])

    class Meta:
        verbose_name = _("producer")
        verbose_name_plural = _("producers")
        ordering = ["prefecture__code", "name"]

    def __str__(self):
        return self.name


class LineStatus(models.TextChoices):
    PLANNED = "planned", _("Planned")
    BUILDING = "building", _("Building")
    COMMISSIONED = "commissioned", _("Commissioned")
    STOPPED = "stopped", _("Stopped")


class ProductionLine(models.Model):
    producer = models.ForeignKey(
        Producer, verbose_name=_("producer"), on_delete=models.CASCADE, related_name="lines"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="production_lines"
    )
    daily_capacity = models.PositiveBigIntegerField(_("daily capacity"))
    status = models.CharField(
        _("status"), max_length=16, choices=LineStatus.choices, default=LineStatus.PLANNED
    )
    planned_commissioning = models.DateField(_("planned commissioning date"), null=True, blank=True)
    actual_commissioning = models.DateField(_("actual commissioning date"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("production line")
        verbose_name_plural = _("production lines")
        ordering = ["producer_id", "item__sort_order", "pk"]

    def __str__(self):
        return f"{self.producer} · {self.item}"


class LicenceKind(models.TextChoices):
    MEDICAL_DEVICE_REGISTRATION = "medical_device_registration", _("Medical device registration")
    PRODUCTION_LICENCE = "production_licence", _("Production licence")
    TEMPORARY_HYGIENE_PERMIT = "temporary_hygiene_permit", _("Temporary hygiene permit")
    EMERGENCY_APPROVAL = "emergency_approval", _("Emergency approval")
    OTHER = "other", _("Other")


class Licence(models.Model):
    producer = models.ForeignKey(
        Producer, verbose_name=_("producer"), on_delete=models.CASCADE, related_name="licences"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=LicenceKind.choices)
    number = models.CharField(_("number"), max_length=64)
    issuer = models.CharField(_("issuer"), max_length=128, blank=True)
    issued = models.DateField(_("issued"))
    expires = models.DateField(_("expires"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("licence")
        verbose_name_plural = _("licences")
        ordering = ["producer_id", "expires", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires__isnull=True)
                | models.Q(expires__gte=models.F("issued")),
                name="licence_expires_after_issued",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"


class RawMaterialKind(models.TextChoices):
    NON_WOVEN = "non_woven", _("Non-woven fabric")
    MELT_BLOWN = "melt_blown", _("Melt-blown fabric")
    NOSE_WIRE = "nose_wire", _("Nose-wire aluminium strip")
    EAR_LOOP = "ear_loop", _("Ear loops")
    PACKAGING = "packaging", _("Packaging")
    OTHER = "other", _("Other")


class RawMaterial(models.Model):
    producer = models.ForeignKey(
        Producer, verbose_name=_("producer"), on_delete=models.CASCADE, related_name="raw_materials"
    )
    material = models.CharField(_("material"), max_length=16, choices=RawMaterialKind.choices)
    name = models.CharField(pgettext_lazy("raw material", "name"), max_length=128, blank=True)
    stock = models.DecimalField(
        _("stock"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)]
    )
    daily_use = models.DecimalField(
        _("daily use"), max_digits=14, decimal_places=3, validators=[MinValueValidator(0)]
    )
    unit = models.CharField(_("unit"), max_length=16)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("raw material")
        verbose_name_plural = _("raw materials")
        ordering = ["producer_id", "material", "name"]

    def __str__(self):
        return self.name or self.get_material_display()

    @property
    def days_left(self) -> int | None:
        """Whole days the stock lasts at the daily use; None when nothing is used."""
        if not self.daily_use:
            return None
        return math.floor(self.stock / self.daily_use)


# --- Daily production reports -------------------------------------------------------------

# Whole-number figures of a report, in the order of the form, the Excel template and the API.
REPORT_FIELDS = (
    "output",
    "to_reserve",
    "to_prefectures",
    "to_market",
    "factory_stock",
    "held_for_province",
)


class ProductionReport(models.Model):
    """生产日报: one producer's output of one item on one day, and where it went.

    One row per (producer, item, date). A later submission for the same key is a correction:
    it replaces the figures and django-simple-history keeps the old ones with who, when and
    why. `to_reserve` (delivered into the province's held reserve at the factory) is booked as
    a receipt in the producer's held-reserve warehouse; `reserve_receipt` is that ledger event,
    and a correction of `to_reserve` reverses it and books the new quantity.
    """

    producer = models.ForeignKey(
        Producer, verbose_name=_("producer"), on_delete=models.PROTECT, related_name="reports"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="production_reports"
    )
    date = models.DateField(_("date"))
    output = models.PositiveBigIntegerField(_("output"))
    to_reserve = models.PositiveBigIntegerField(
        _("delivered into the province's held reserve"), default=0
    )
    to_prefectures = models.PositiveBigIntegerField(_("shipped to prefectures"), default=0)
    to_market = models.PositiveBigIntegerField(_("sold on the market"), default=0)
    factory_stock = models.PositiveBigIntegerField(_("stock at the factory"))
    held_for_province = models.PositiveBigIntegerField(
        _("of which held for the province (代储)"), default=0
    )
    raw_material_days = models.PositiveIntegerField(
        _("raw materials on hand (days of production)"), null=True, blank=True
    )
    reserve_receipt = models.ForeignKey(
        "inventory.StockEvent",
        verbose_name=_("held-reserve receipt"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("submitted by"),
    )
    first_submitted_at = models.DateTimeField(_("first submitted at"))
    submitted_at = models.DateTimeField(_("last submitted at"))
    correction_reason = models.CharField(_("reason for correction"), max_length=500, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("production report")
        verbose_name_plural = _("production reports")
        ordering = ["date", "producer_id", "item__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["producer", "item", "date"], name="production_report_key"
            ),
            models.CheckConstraint(
                condition=models.Q(held_for_province__lte=models.F("factory_stock")),
                name="production_report_held_within_stock",
            ),
        ]
        indexes = [models.Index(fields=["date", "item"])]

    def __str__(self):
        return f"{self.producer} {self.item.code} {self.date}"

    def figures(self) -> dict:
        return {f: getattr(self, f) for f in (*REPORT_FIELDS, "raw_material_days")}

    @property
    def shipped(self) -> int:
        return self.to_reserve + self.to_prefectures + self.to_market


# --- Problems the commissioners clear ----------------------------------------------------


class ProblemCategory(models.TextChoices):
    RAW_MATERIALS = "raw_materials", _("Raw materials")
    LABOUR = "labour", _("Labour")
    LOGISTICS = "logistics", _("Logistics")
    LICENCE = "licence", pgettext_lazy("problem category", "Licence")
    FUNDING = "funding", _("Funding")
    EQUIPMENT = "equipment", _("Equipment")
    UTILITIES = "utilities", _("Power and utilities")
    OTHER = "other", _("Other")


class ProblemStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("problem", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("problem", "In progress")
    RESOLVED = "resolved", pgettext_lazy("problem", "Resolved")


class Problem(models.Model):
    """A difficulty of a producer (raw materials, labour, …) and how it was cleared.

    open → in progress (someone owns it) → resolved (with the resolution). A resolved problem
    stays, with its whole history; a problem that comes back is reported again.
    """

    producer = models.ForeignKey(
        Producer, verbose_name=_("producer"), on_delete=models.PROTECT, related_name="problems"
    )
    category = models.CharField(_("category"), max_length=16, choices=ProblemCategory.choices)
    description = models.TextField(_("description"), max_length=2000)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reported by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reported_at = models.DateTimeField(_("reported at"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_problems",
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ProblemStatus.choices, default=ProblemStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), max_length=2000, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = pgettext_lazy("producer's difficulty", "problem")
        verbose_name_plural = pgettext_lazy("producer's difficulty", "problems")
        ordering = ["reported_at", "pk"]
        indexes = [models.Index(fields=["status", "category"])]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="resolved") | models.Q(resolved_at__isnull=False),
                name="problem_resolved_has_time",
            )
        ]

    def __str__(self):
        return f"{self.producer} · {self.get_category_display()}"

    def age_days(self, today: dt.date) -> int:
        """Whole days from the report to its resolution, or to `today` while it is open.

        As of `today` (a page's date): a problem resolved after it was still open then."""
        end = today
        if self.resolved_at is not None:
            end = min(local_date(self.resolved_at), today)
        return max(0, (end - local_date(self.reported_at)).days)
