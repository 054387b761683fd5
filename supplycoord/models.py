"""The shared core: regions, the item catalogue, protected staff, users and roles."""

import re
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import SuspiciousFileOperation
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.text import get_valid_filename
from django.utils.translation import get_language, gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy
from simple_history.models import HistoricalRecords


class BilingualNameMixin:
    """Reference rows carry a Chinese and an English name; show the one of the UI language."""

    @property
    def name(self):
        lang = (get_language() or settings.LANGUAGE_CODE).lower()
        if lang.startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh

    def __str__(self):
        return self.name


class Province(BilingualNameMixin, models.Model):
    code = models.CharField(_("code"), max_length=12, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("province")
        verbose_name_plural = _("provinces")
        ordering = ["code"]


class Prefecture(BilingualNameMixin, models.Model):
    """A prefecture-level division (市州). The GB/T 2260 code is the natural key."""

    province = models.ForeignKey(
        Province, verbose_name=_("province"), on_delete=models.PROTECT, related_name="prefectures"
    )
    code = models.CharField(
        _("code"),
        max_length=12,
        unique=True,
        help_text=_(
            "GB/T 2260 division code; special zones without one get an explicit non-GB code."
        ),
    )
    is_gb_code = models.BooleanField(_("GB/T 2260 code"), default=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    priority_weight = models.DecimalField(
        _("priority weight"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("1"))],
    )
    # Three-level dispatch (issue 15): where set, the counties enter the daily figures and the
    # prefecture's rows are derived as their sums (inventory.county_figures).
    reports_as_sum_of_counties = models.BooleanField(
        _("reports as the sum of its counties"),
        default=False,
        # Also the column's default: prefectures written by SQL (the benchmarks' data) report
        # their own figures without naming the column.
        db_default=False,
        help_text=_(
            "When set, county officers enter the daily figures and the prefecture's figures "
            "are their sums; the prefecture's officers no longer enter them."
        ),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("prefecture")
        verbose_name_plural = _("prefectures")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority_weight__gte=1), name="prefecture_weight_at_least_1"
            )
        ]


class County(BilingualNameMixin, models.Model):
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.PROTECT, related_name="counties"
    )
    code = models.CharField(_("code"), max_length=12, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        ordering = ["code"]


class ItemCategory(models.TextChoices):
    PROTECTIVE = "protective", _("Protective equipment")
    DISINFECTION = "disinfection", _("Disinfection")
    DEVICES = "devices", _("Medical devices")
    DRUGS_TESTS = "drugs_tests", _("Drugs and tests")


class Unit(models.TextChoices):
    PIECE = "piece", _("piece")
    ITEM = "item", pgettext_lazy("unit of measure", "item")
    SET = "set", _("set")
    TABLET = "tablet", _("tablet")
    TEST = "test", _("test")
    BOTTLE = "bottle", _("bottle")
    BOX = "box", _("box")
    DEVICE = "device", _("device")
    KILOGRAM = "kg", _("kg")
    LITRE = "litre", _("litre")
    PAIR = "pair", _("pair")


class Item(BilingualNameMixin, models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=128)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    # Column heads of wide grids (the overview's prefecture × item grid): the full name
    # shows on hover. Blank: the full name is used.
    short_name_zh = models.CharField(_("Chinese short name"), max_length=24, blank=True)
    short_name_en = models.CharField(_("English short name"), max_length=24, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=ItemCategory.choices)
    unit = models.CharField(_("unit"), max_length=12, choices=Unit.choices)
    specification = models.CharField(_("specification"), max_length=200, blank=True)
    pack_size = models.PositiveIntegerField(
        _("pack size"), default=1, validators=[MinValueValidator(1)]
    )
    is_key = models.BooleanField(
        _("key item"),
        default=False,
        help_text=_("Key items are reported daily by every prefecture."),
    )
    active = models.BooleanField(_("active"), default=True)
    # 紧缺物资: marked by the office; the supplier directory (procurement) lists who can supply it.
    scarce = models.BooleanField(
        _("scarce item"),
        default=False,
        # Also a database default: rows written by SQL (bench/national.py) leave it out.
        db_default=False,
        help_text=_("Flagged in the catalogue and the supplier directory."),
    )
    # Blank thresholds fall back to the province-wide settings (reports.md: defaults 3 and 7).
    red_days = models.DecimalField(
        _("red threshold (days of cover)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    amber_days = models.DecimalField(
        _("amber threshold (days of cover)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("item")
        verbose_name_plural = _("items")
        ordering = ["sort_order", "code"]
        indexes = [models.Index(fields=["is_key", "active"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pack_size__gte=1), name="item_pack_size_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(red_days__isnull=True)
                | models.Q(amber_days__isnull=True)
                | models.Q(red_days__lt=models.F("amber_days")),
                name="item_red_below_amber",
                violation_error_message=_("The red threshold must be below the amber threshold."),
            ),
        ]

    @property
    def short_name(self) -> str:
        """The short name of the UI language, else the full name (`name`)."""
        lang = (get_language() or settings.LANGUAGE_CODE).lower()
        if lang.startswith("en"):
            return self.short_name_en or self.name
        return self.short_name_zh or self.name

    @property
    def red_threshold(self) -> Decimal:
        if self.red_days is not None:
            return self.red_days
        return Decimal(settings.SUPPLYCOORD["RED_DAYS"])

    @property
    def amber_threshold(self) -> Decimal:
        if self.amber_days is not None:
            return self.amber_days
        return Decimal(settings.SUPPLYCOORD["AMBER_DAYS"])


class StaffCategory(BilingualNameMixin, models.Model):
    """A category of people to protect (fever clinic, isolation ward, community, port…)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("staff category")
        verbose_name_plural = _("staff categories")
        ordering = ["sort_order", "code"]


class ProtectedStaff(models.Model):
    """保障人员数: how many people of a category a prefecture must protect."""

    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        related_name="protected_staff",
    )
    category = models.ForeignKey(
        StaffCategory, verbose_name=_("staff category"), on_delete=models.PROTECT, related_name="+"
    )
    count = models.PositiveIntegerField(_("number of people"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("protected staff")
        verbose_name_plural = _("protected staff")
        ordering = ["prefecture__code", "category__sort_order"]
        constraints = [
            models.UniqueConstraint(
                fields=["prefecture", "category"], name="protected_staff_unique"
            )
        ]

    def __str__(self):
        return f"{self.prefecture} · {self.category}: {self.count}"


class ReportingState(models.TextChoices):
    """A reporter's state for a date against the cut-off: prefectures (reports.md, "Province
    rollups") and distribution enterprises ("Inbound") alike."""

    ON_TIME = "on_time", _("on time")
    LATE = "late", _("late")
    MISSING = "missing", _("missing")


class Role(models.TextChoices):
    PREFECTURE_OFFICER = "prefecture_officer", _("Prefecture logistics officer")
    PRODUCER_REPORTER = "producer_reporter", _("Producer reporter / resident commissioner")
    DISTRIBUTION_REPORTER = "distribution_reporter", _("Distribution enterprise reporter")
    PREFECTURE_LEAD = "prefecture_lead", _("Prefecture lead (approves the prefecture's batches)")
    COUNTY_OFFICER = "county_officer", _("County logistics officer")
    UNIT_REQUESTER = "unit_requester", _("Requester of an institution or unit")
    OFFICE_STAFF = "office_staff", _("Office staff")
    LEADERSHIP = "leadership", _("Leadership")
    ADMIN = "admin", _("Administrator")


class User(AbstractUser):
    # No default: a user added without a role sees nothing until an admin chooses one.
    role = models.CharField(_("role"), max_length=24, choices=Role.choices)
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="officers",
        help_text=_(
            "Required for prefecture officers and leads: the only prefecture they see (and "
            "officers change). For a county officer, the county's prefecture."
        ),
    )
    county = models.ForeignKey(
        County,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="officers",
        help_text=_("Required for county officers: the only county they see and change."),
    )
    # Notifications (issue 16) sent by e-mail or the messaging gateway are worded in this
    # language; blank: the site's (LANGUAGE_CODE). The pages follow the language switch.
    language = models.CharField(
        _("language of notifications"),
        max_length=16,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
    )
    history = HistoricalRecords(excluded_fields=["last_login", "password"])

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["prefecture_officer", "prefecture_lead"])
                | models.Q(prefecture__isnull=False),
                name="officer_has_prefecture",
            ),
            models.CheckConstraint(
                condition=~models.Q(role="county_officer")
                | models.Q(county__isnull=False, prefecture__isnull=False),
                name="county_officer_has_county",
            ),
        ]

    def clean(self):
        super().clean()
        # The county's prefecture is the officer's: one place decides it.
        if self.county_id and self.role == Role.COUNTY_OFFICER:
            self.prefecture_id = self.county.prefecture_id

    @property
    def effective_role(self) -> str:
        return Role.ADMIN if self.is_superuser else self.role

    @property
    def is_admin_role(self) -> bool:
        return self.effective_role == Role.ADMIN

    @property
    def is_office(self) -> bool:
        return self.effective_role in (Role.OFFICE_STAFF, Role.ADMIN)

    @property
    def is_leadership(self) -> bool:
        return self.effective_role == Role.LEADERSHIP

    @property
    def is_prefecture_officer(self) -> bool:
        return self.effective_role == Role.PREFECTURE_OFFICER

    @property
    def is_prefecture_lead(self) -> bool:
        """市州领导: reads its prefecture and approves the batches the prefecture issues."""
        return self.effective_role == Role.PREFECTURE_LEAD

    @property
    def is_county_officer(self) -> bool:
        """区县联络员: receives its county's batches, asks for supplies, enters county figures."""
        return self.effective_role == Role.COUNTY_OFFICER

    @property
    def is_producer_reporter(self) -> bool:
        """A producer's reporter or resident commissioner (驻企特派员)."""
        return self.effective_role == Role.PRODUCER_REPORTER

    @property
    def is_distribution_reporter(self) -> bool:
        """A reporter of a distribution enterprise (医药流通企业), scoped to its enterprises."""
        return self.effective_role == Role.DISTRIBUTION_REPORTER

    @property
    def is_unit_requester(self) -> bool:
        """A requester of a provincial institution, aid team or key unit (issue 15), scoped to
        the units that name it (Destination.requesters)."""
        return self.effective_role == Role.UNIT_REQUESTER

    @property
    def sees_whole_province(self) -> bool:
        return self.effective_role in (Role.OFFICE_STAFF, Role.LEADERSHIP, Role.ADMIN)


class ApiToken(TokenProxy):
    """DRF's API token as the admin shows it: named by its user, never by its key (DRF's
    `str()` of a token is the key, which would end up in pages, messages and the admin log)."""

    class Meta:
        proxy = True
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return gettext("API token of %(user)s") % {"user": self.user}


class TokenUsage(models.Model):
    """When an API token was last used: a row beside DRF's own Token model (which has no such
    field and is not swappable), deleted with the token. Written by
    `supplycoord.authentication.TokenAuthentication` at most once a minute per token."""

    token = models.OneToOneField(
        "authtoken.Token",
        verbose_name=_("API token"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="usage",
    )
    last_used_at = models.DateTimeField(_("last used at"))

    class Meta:
        verbose_name = _("API token use")
        verbose_name_plural = _("API token uses")

    def __str__(self):
        # Never the key (the primary key): str() ends up in logs and admin messages.
        return f"{self.last_used_at:%Y-%m-%d %H:%M:%S}"


class Norm(models.Model):
    """A demand norm: units of an item one person of a staff category uses per day.

    Norms are versioned by `effective_from`: the norm in force on day d for a (category, item)
    is the version with the latest `effective_from` ≤ d, so changing a norm never rewrites the
    estimates of earlier days. A version may be written as per shift × shifts per day (the way
    hospitals state them, e.g. isolation-ward staff: 1 N95 per shift × 3 shifts); then
    `units_per_person_per_day` is their product. Written through `supplycoord.norms.norm_set`.
    """

    staff_category = models.ForeignKey(
        StaffCategory,
        verbose_name=_("staff category"),
        on_delete=models.PROTECT,
        related_name="norms",
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="norms"
    )
    units_per_person_per_day = models.DecimalField(
        _("units per person per day"),
        max_digits=12,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
    )
    per_shift = models.DecimalField(
        _("units per person per shift"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    shifts_per_day = models.DecimalField(
        _("shifts per day"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    effective_from = models.DateField(_("effective from"))
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("demand norm")
        verbose_name_plural = _("demand norms")
        ordering = ["staff_category__sort_order", "item__sort_order", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff_category", "item", "effective_from"], name="norm_version_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(units_per_person_per_day__gte=0),
                name="norm_units_not_negative",
            ),
            # Either both parts of "per shift × shifts per day" or neither.
            models.CheckConstraint(
                condition=models.Q(per_shift__isnull=True, shifts_per_day__isnull=True)
                | models.Q(per_shift__gte=0, shifts_per_day__gt=0),
                name="norm_shift_parts_together",
            ),
        ]

    def __str__(self):
        return (
            f"{self.staff_category} · {self.item}: {self.units_display} "
            f"({self.effective_from:%Y-%m-%d})"
        )

    # Figures as people write them: 3, 1.5, 0.25 (not 3.0000, and never 1E+1).
    @property
    def units_display(self) -> str:
        return _plain_decimal(self.units_per_person_per_day)

    @property
    def per_shift_display(self) -> str:
        return _plain_decimal(self.per_shift)

    @property
    def shifts_display(self) -> str:
        return _plain_decimal(self.shifts_per_day)


def _plain_decimal(value) -> str:
    if value is None:
        return ""
    return format(Decimal(value).normalize(), "f")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", pgettext_lazy("export status", "queued")
    RUNNING = "running", pgettext_lazy("export status", "running")
    DONE = "done", pgettext_lazy("export status", "done")
    FAILED = "failed", pgettext_lazy("export status", "failed")
    EXPIRED = "expired", pgettext_lazy("export status", "expired")


# The stem of an export's stored file name, in characters: a Chinese character is three bytes
# and a file system allows 255 bytes in one name.
EXPORT_STORED_STEM = 60


def export_stored_name(job, filename) -> str:
    """Where the file of `job` is stored: one flat name under exports/YYYY/MM/, the job's id
    and `filename` made safe (get_valid_filename; a "/" or ".." of an item or warehouse code
    never makes a folder or leaves MEDIA_ROOT). The download is still named `job.filename`,
    in the UI language; a job run again gets the same name (its old file is deleted first)."""
    stem, dot, ext = re.sub(r"[/\\]", "_", str(filename)).rpartition(".")
    if not dot:
        stem, ext = ext, ""
    ext = re.sub(r"[^0-9A-Za-z]", "", ext)[:8]
    try:
        stem = get_valid_filename(re.sub(r"\.{2,}", "_", stem))
    except SuspiciousFileOperation:  # nothing of it was left
        stem = ""
    stem = stem[:EXPORT_STORED_STEM].strip("._") or "export"
    return f"exports/{job.created_at:%Y/%m}/{job.pk}-{stem}" + (f".{ext}" if ext else "")


def _export_upload_to(job, filename):
    return export_stored_name(job, filename)


class ExportJob(models.Model):
    """One export written in the background (supplycoord/exports.py): who asked for what, how
    far it got, and its file until it expires. A row, not a cache entry: a Redis eviction or a
    worker's death loses nothing, and the office can see who exported what and when."""

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.PROTECT,
        related_name="export_jobs",
    )
    # The exporter's dotted path, e.g. "allocation.exports.AllocationLedgerExport".
    exporter = models.CharField(_("exporter"), max_length=200)
    title = models.CharField(_("title"), max_length=200)
    params = models.JSONField(_("filters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16)
    file_format = models.CharField(_("format"), max_length=8, default="xlsx")
    # The download's name, in the UI language; the stored file's is export_stored_name().
    filename = models.CharField(_("file name"), max_length=255)
    # The asker's access when the job was made (permissions.access_scope): the file holds
    # the rows of that scope, so it is served only while theirs is still the same.
    scope = models.TextField(_("scope"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    done = models.PositiveIntegerField(_("rows written"), default=0)
    total = models.PositiveIntegerField(_("rows in all"), default=0)
    row_count = models.PositiveIntegerField(_("row count"), null=True, blank=True)
    file = models.FileField(_("file"), upload_to=_export_upload_to, max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    # Queued again by the sweep after a worker's death; a job is given up after a few tries.
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="export_job_status_created")]

    def __str__(self):
        return f"{self.title} ({self.requested_by}, {self.created_at:%Y-%m-%d %H:%M})"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else 100


# Notifications (issue 16) live in their own package of the core; their models are this app's.
from .notifications.models import (  # noqa: E402, F401
    Digest,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationProfile,
    WebhookEndpoint,
)
