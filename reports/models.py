"""The daily snapshot of reports.md: derived rows, rebuilt by a Celery job, never edited."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from supplycoord.models import Item, Prefecture, ReportingState


class Status(models.TextChoices):
    RED = "red", _("red")
    AMBER = "amber", _("amber")
    GREEN = "green", _("green")
    GREY = "grey", _("no data")


def _qty(verbose):
    return models.BigIntegerField(verbose, null=True, blank=True)


def _days(verbose):
    return models.DecimalField(verbose, max_digits=14, decimal_places=2, null=True, blank=True)


class SnapshotRow(models.Model):
    """One prefecture, key item and date; every column as defined in reports.md."""

    date = models.DateField(_("date"))
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+"
    )
    stock = _qty(_("stock"))
    stock_is_stale = models.BooleanField(_("stock is stale"), default=False)
    stock_date = models.DateField(_("stock reported for"), null=True, blank=True)
    consumption = _qty(_("consumption"))
    avg_consumption_7d = models.DecimalField(
        _("average consumption, 7 days"), max_digits=20, decimal_places=4, null=True, blank=True
    )
    demand = _qty(_("demand"))
    in_transit = models.BigIntegerField(_("in transit"), default=0)
    arriving_3d = _qty(_("arriving within 3 days"))
    days_of_cover = _days(_("days of cover"))
    projected_days_of_cover = _days(_("projected days of cover"))
    shortfall_3d = _qty(_("shortfall within 3 days"))
    reconciliation_gap = _qty(_("reconciliation gap"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("snapshot row")
        verbose_name_plural = _("snapshot rows")
        constraints = [
            models.UniqueConstraint(fields=["date", "prefecture", "item"], name="snapshot_row_key")
        ]
        indexes = [
            models.Index(fields=["prefecture", "item", "date"]),
            models.Index(fields=["item", "date"]),
        ]

    def __str__(self):
        return f"{self.date} {self.prefecture_id}/{self.item_id}"


class ProvinceRollup(models.Model):
    """Province totals per item and date; reserve stock beside the prefecture sums, not in them."""

    date = models.DateField(_("date"))
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+"
    )
    stock = models.BigIntegerField(_("stock"), default=0)
    consumption = models.BigIntegerField(_("consumption"), default=0)
    demand = models.BigIntegerField(_("demand"), default=0)
    in_transit = models.BigIntegerField(_("in transit"), default=0)
    arriving_3d = models.BigIntegerField(_("arriving within 3 days"), default=0)
    shortfall_3d = models.BigIntegerField(_("shortfall within 3 days"), default=0)
    avg_consumption_7d = models.DecimalField(
        _("average consumption, 7 days"), max_digits=22, decimal_places=4, default=0
    )
    reserve_stock = models.BigIntegerField(_("reserve stock"), default=0)
    # reports.md "Inbound": what is coming into the province (procurement.inbound), beside the
    # reserve, not in it; and the province's cover counting the inbound of 3 days.
    inbound_3d = models.BigIntegerField(_("inbound within 3 days"), default=0)
    inbound_14d = models.BigIntegerField(_("inbound within 14 days"), default=0)
    days_of_cover = _days(_("days of cover"))
    projected_province_days_of_cover = _days(_("projected province days of cover"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices)
    prefectures_red = models.PositiveIntegerField(_("prefectures in red"), default=0)
    # Coverage (reports.md): what the province figures rest on. Reported, stale and missing
    # add up to the active prefectures; the share is of the province's 7-day consumption.
    prefectures_reported = models.PositiveIntegerField(_("prefectures reported"), default=0)
    prefectures_stale = models.PositiveIntegerField(_("prefectures stale"), default=0)
    prefectures_missing = models.PositiveIntegerField(_("prefectures missing"), default=0)
    coverage_share = models.DecimalField(
        _("coverage share"), max_digits=5, decimal_places=4, null=True, blank=True
    )
    partial = models.BooleanField(_("partial"), default=False)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("province rollup")
        verbose_name_plural = _("province rollups")
        constraints = [models.UniqueConstraint(fields=["date", "item"], name="province_rollup_key")]
        indexes = [models.Index(fields=["item", "date"])]

    def __str__(self):
        return f"{self.date} item {self.item_id}"

    @property
    def prefectures_with_stock(self) -> int:
        return self.prefectures_reported + self.prefectures_stale

    @property
    def prefectures_active(self) -> int:
        return self.prefectures_reported + self.prefectures_stale + self.prefectures_missing


class ReportingStatus(models.Model):
    """报送情况: whether a prefecture reported every key item for a date by the cut-off."""

    date = models.DateField(_("date"))
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(_("state"), max_length=8, choices=ReportingState.choices)
    items_reported = models.PositiveIntegerField(_("items reported"))
    items_expected = models.PositiveIntegerField(_("items expected"))
    last_submitted_at = models.DateTimeField(_("last submitted at"), null=True, blank=True)
    built_at = models.DateTimeField(_("built at"))

    class Meta:
        verbose_name = _("reporting status")
        verbose_name_plural = _("reporting statuses")
        constraints = [
            models.UniqueConstraint(fields=["date", "prefecture"], name="reporting_status_key")
        ]

    def __str__(self):
        return f"{self.date} {self.prefecture_id}: {self.state}"


class SnapshotBuild(models.Model):
    """When the snapshot of a date was last built, and what it found."""

    date = models.DateField(_("date"), unique=True)
    built_at = models.DateTimeField(_("built at"))
    # New with every build of the date: what values derived from its rows are cached under
    # (supplycoord.lib.cache), so a rebuild is seen at once by every web process.
    version = models.UUIDField(_("version"), default=uuid.uuid4, editable=False)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"))
    rows = models.PositiveIntegerField(_("rows"))
    prefectures_active = models.PositiveIntegerField(_("active prefectures"))
    prefectures_on_time = models.PositiveIntegerField(_("prefectures on time"))
    prefectures_late = models.PositiveIntegerField(_("prefectures late"))
    prefectures_missing = models.PositiveIntegerField(_("prefectures missing"))

    class Meta:
        verbose_name = _("snapshot build")
        verbose_name_plural = _("snapshot builds")
        ordering = ["-date"]

    def __str__(self):
        return f"{self.date} built {self.built_at:%Y-%m-%d %H:%M}"

    @property
    def completeness(self):
        if not self.prefectures_active:
            return None
        return self.prefectures_on_time / self.prefectures_active


class SnapshotRebuildStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("snapshot rebuild", "pending")
    FAILED = "failed", pgettext_lazy("snapshot rebuild", "failed")


class SnapshotRebuild(models.Model):
    """A date whose snapshot is out of date and must be built again: the rebuilds' outbox.

    Written in the transaction of the change that makes the snapshot stale, so a change is
    never committed without it; deleted by a build that began after the request. A job queued
    at commit builds it at once; a periodic sweep queues again whatever a lost or failed job
    left behind (reports/services.py, "The rebuilds' outbox").
    """

    date = models.DateField(_("date"), unique=True)
    # Strictly increasing per date (each request moves it forward at least 1 µs): a build
    # clears the row only if it is still the request it saw when it began.
    requested_at = models.DateTimeField(_("requested at"))
    status = models.CharField(
        _("status"),
        max_length=8,
        choices=SnapshotRebuildStatus.choices,
        default=SnapshotRebuildStatus.PENDING,
    )
    # Builds that failed since the last request; the sweep retries with back-off up to a limit.
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    # When a build last failed, or the sweep last queued the date again.
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")

    class Meta:
        verbose_name = _("pending snapshot rebuild")
        verbose_name_plural = _("pending snapshot rebuilds")
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.status} since {self.requested_at:%Y-%m-%d %H:%M}"


# --- The reconciliation queue ---------------------------------------------------------------


# Short words ("open", "accepted") mean other things elsewhere in the UI: a context keeps their
# translations apart.
class ReconciliationStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("reconciliation", "open")
    EXPLAINED = "explained", pgettext_lazy("reconciliation", "explained")
    ACCEPTED = "accepted", pgettext_lazy("reconciliation", "accepted")
    CORRECTED = "corrected", pgettext_lazy("reconciliation", "corrected")


class ReconciliationAction(models.TextChoices):
    EXPLAIN = "explain", pgettext_lazy("reconciliation", "explained")
    ACCEPT = "accept", pgettext_lazy("reconciliation", "accepted")
    REOPEN = "reopen", pgettext_lazy("reconciliation", "reopened")
    CHANGED = "changed", pgettext_lazy("reconciliation", "figures changed")
    CORRECTED = "corrected", pgettext_lazy("reconciliation", "corrected")


class ReconciliationCase(models.Model):
    """A non-zero reconciliation gap of one prefecture, key item and date, under review.

    Opened by the snapshot build; it holds the figures that make the gap as the build saw
    them, so the office reviews what was reported. When a rebuild finds other figures they
    are replaced and the note log keeps the change; when the gap is gone the case is closed as
    corrected. People only add notes (explain, accept, reopen); nobody edits a case by hand.
    """

    date = models.DateField(_("date"))
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+"
    )
    previous_stock = models.BigIntegerField(_("previous day's stock"))
    received = models.BigIntegerField(_("received"))
    consumption = models.BigIntegerField(_("consumption"))
    stock = models.BigIntegerField(_("reported stock"))
    gap = models.BigIntegerField(_("reconciliation gap"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ReconciliationStatus.choices,
        default=ReconciliationStatus.OPEN,
    )
    opened_at = models.DateTimeField(_("opened at"))
    status_changed_at = models.DateTimeField(_("status changed at"))

    class Meta:
        verbose_name = _("reconciliation case")
        verbose_name_plural = _("reconciliation cases")
        constraints = [
            models.UniqueConstraint(
                fields=["prefecture", "item", "date"], name="reconciliation_case_key"
            )
        ]
        indexes = [
            models.Index(fields=["date"]),
            models.Index(fields=["status", "prefecture"]),
        ]

    def __str__(self):
        return f"{self.date} {self.prefecture_id}/{self.item_id}: {self.gap:+d}"

    @property
    def expected_stock(self) -> int:
        """Previous stock + received − consumption: what the stock should have been."""
        return self.previous_stock + self.received - self.consumption


class ReconciliationPending(models.Model):
    """How many of a prefecture's reconciliation cases wait for someone: open (for the
    prefecture) and explained (for the office), over every date.

    The overview lists the prefectures with the most; counting 500,000 cases on every request
    took 190 ms at national scale. PostgreSQL keeps these counts itself: a statement-level
    trigger on the cases table (migration reports/0010) adds, per prefecture, what each
    INSERT, UPDATE or DELETE of cases changed, in the same transaction, whichever code wrote
    them (the build's bulk sync, a person's action, a cascade). Nobody writes this table.
    """

    prefecture = models.OneToOneField(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    open = models.BigIntegerField(_("open"), default=0)
    explained = models.BigIntegerField(_("explained"), default=0)

    class Meta:
        verbose_name = _("pending reconciliation cases")
        verbose_name_plural = _("pending reconciliation cases")

    def __str__(self):
        return f"{self.prefecture_id}: {self.open} open, {self.explained} explained"


class ReconciliationNote(models.Model):
    """One entry of a case's log, append-only: who did what, when, and why.

    Notes written by the snapshot build (the figures changed, the gap was corrected) have no
    author; they keep the gap before and after, and are worded when shown, in the reader's
    language.
    """

    case = models.ForeignKey(
        ReconciliationCase,
        verbose_name=_("reconciliation case"),
        on_delete=models.CASCADE,
        related_name="notes",
    )
    action = models.CharField(_("action"), max_length=12, choices=ReconciliationAction.choices)
    text = models.TextField(_("note"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    gap_before = models.BigIntegerField(_("gap before"), null=True, blank=True)
    gap_after = models.BigIntegerField(_("gap after"), null=True, blank=True)
    created_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("reconciliation note")
        verbose_name_plural = _("reconciliation notes")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.case_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_automatic(self) -> bool:
        return self.author_id is None


# --- Spot checks (比对抽查) -------------------------------------------------------------------


class SpotCheckStatus(models.TextChoices):
    NONE = "none", pgettext_lazy("spot check", "no follow-up yet")
    CONTACTED = "contacted", pgettext_lazy("spot check", "contacted")
    EXPLAINED = "explained", pgettext_lazy("spot check", "explained")
    CORRECTED = "corrected", pgettext_lazy("spot check", "corrected")
    NOTICE_ISSUED = "notice_issued", pgettext_lazy("spot check", "notice issued")


class SpotCheckFlag(models.Model):
    """One prefecture whose consumption per protected person of a key item over [d-6, d]
    stands out from the other prefectures' (reports.md "Spot checks": robust z-score).

    Computed by `reports.spotchecks.spot_checks_compute_for_date`; a rerun of the date
    rewrites the figures. A flag the rerun no longer finds is deleted, unless people have
    written follow-ups on it: then it is kept with `cleared_at` set, so nothing they wrote is lost.
    """

    date = models.DateField(_("date"))
    prefecture = models.ForeignKey(
        Prefecture, verbose_name=_("prefecture"), on_delete=models.CASCADE, related_name="+"
    )
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+"
    )
    figure = models.DecimalField(
        _("consumption per protected person, 7 days"), max_digits=24, decimal_places=6
    )
    median = models.DecimalField(_("median"), max_digits=24, decimal_places=6)
    mad = models.DecimalField(_("median absolute deviation"), max_digits=24, decimal_places=6)
    score = models.DecimalField(_("robust z-score"), max_digits=14, decimal_places=2)
    prefectures_compared = models.PositiveIntegerField(_("prefectures compared"))
    status = models.CharField(
        _("follow-up"),
        max_length=16,
        choices=SpotCheckStatus.choices,
        default=SpotCheckStatus.NONE,
    )
    status_changed_at = models.DateTimeField(_("follow-up changed at"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed at"))
    cleared_at = models.DateTimeField(
        _("no longer flagged since"),
        null=True,
        blank=True,
        help_text=_("Set when a rerun with changed figures no longer flags this prefecture."),
    )

    class Meta:
        verbose_name = _("spot-check flag")
        verbose_name_plural = _("spot-check flags")
        constraints = [
            models.UniqueConstraint(
                fields=["date", "prefecture", "item"], name="spot_check_flag_key"
            )
        ]
        indexes = [models.Index(fields=["date", "item"])]

    def __str__(self):
        return f"{self.date} {self.prefecture_id}/{self.item_id}: {self.score}"

    # Per-person figures of equipment are tiny (0.0012 ventilators a person): show them with
    # three significant digits rather than a fixed number of decimals that would read 0.000.
    @property
    def figure_shown(self) -> str:
        return significant(self.figure)

    @property
    def median_shown(self) -> str:
        return significant(self.median)

    @property
    def mad_shown(self) -> str:
        return significant(self.mad)


class SpotCheckComparison(models.Model):
    """One key item's comparison across prefectures on one date, as the spot-check job of the
    build found it (reports.md "Spot checks"): what the page reads instead of recomputing the
    robust z-scores. Rewritten with the date's flags by `spot_checks_compute_for_date`."""

    date = models.DateField(_("date"))
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.CASCADE, related_name="+"
    )
    prefectures_compared = models.PositiveIntegerField(_("prefectures compared"))
    median = models.DecimalField(
        _("median"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    mad = models.DecimalField(
        _("median absolute deviation"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    # Why the item was not compared: "too_few" or "mad_zero" (reports/spotchecks.py); "" if it was.
    skipped = models.CharField(_("not compared because"), max_length=16, blank=True)
    outliers_count = models.PositiveIntegerField(_("flags"), default=0)
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("spot-check comparison")
        verbose_name_plural = _("spot-check comparisons")
        constraints = [
            models.UniqueConstraint(fields=["date", "item"], name="spot_check_comparison_key")
        ]

    def __str__(self):
        return f"{self.date} {self.item_id}: {self.prefectures_compared}"

    @property
    def median_shown(self) -> str:
        return significant(self.median)

    @property
    def mad_shown(self) -> str:
        return significant(self.mad)

    # The prefectures' figures, read on demand (one query, kept): a page of 60 items reads
    # only the counts above, the chart of one item reads its figures.
    @cached_property
    def stored_figures(self) -> list["SpotCheckFigure"]:
        return list(
            SpotCheckFigure.objects.filter(date=self.date, item_id=self.item_id)
            .select_related("prefecture")
            .order_by("prefecture__code")
        )

    @property
    def figures(self) -> dict:
        """{Prefecture: figure}, in prefecture code order (as ItemComparison.figures)."""
        return {f.prefecture: f.figure for f in self.stored_figures}

    @property
    def outliers(self) -> list:
        """The flagged prefectures, largest |score| first (as ItemComparison.outliers)."""
        flagged = [f for f in self.stored_figures if f.flagged]
        flagged.sort(key=lambda f: (-abs(f.score), f.prefecture.code))
        return [f.prefecture for f in flagged]


class SpotCheckFigure(models.Model):
    """One prefecture's figure in an item's comparison of a date (the bars of the page's chart):
    consumption per protected person over [d-6, d], its robust z-score (none when the item was
    not compared) and whether it is flagged."""

    # Derived rows, 20,400 a day at national scale, written only by the comparison statement
    # (reports/spotchecks.py, `_COMPARE_SQL`), which takes the item and prefecture ids from
    # those tables in the same transaction. No database constraint or index on the two keys:
    # their deferred checks (two lookups per new row at commit) and index upkeep were a third
    # of a new day's spot checks. Django still cascades a deletion through the ORM (the
    # unique key, date first, serves the date's reads).
    date = models.DateField(_("date"))
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    figure = models.DecimalField(
        _("consumption per protected person, 7 days"), max_digits=24, decimal_places=6
    )
    score = models.DecimalField(
        _("robust z-score"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    flagged = models.BooleanField(_("flagged"), default=False)

    class Meta:
        verbose_name = _("spot-check figure")
        verbose_name_plural = _("spot-check figures")
        constraints = [
            models.UniqueConstraint(
                fields=["date", "item", "prefecture"], name="spot_check_figure_key"
            )
        ]

    def __str__(self):
        return f"{self.date} {self.prefecture_id}/{self.item_id}: {self.figure}"


def significant(value, digits: int = 3) -> str:
    """`value` with `digits` significant digits and at least 2 decimals: 1.107 → 1.11,
    0.001234 → 0.00123, 11.029 → 11.03; a dash for None."""
    if value is None:
        return "—"
    value = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if value == 0:
        return "0"
    places = max(2, digits - 1 - value.adjusted())
    return f"{value:,.{places}f}"


class SpotCheckFollowUp(models.Model):
    """One follow-up on a flag, append-only: who did what, when, and a note."""

    flag = models.ForeignKey(
        SpotCheckFlag,
        verbose_name=_("spot-check flag"),
        # A flag with follow-ups is never deleted by a rerun; PROTECT makes sure of it.
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    action = models.CharField(
        _("action"),
        max_length=16,
        choices=[c for c in SpotCheckStatus.choices if c[0] != SpotCheckStatus.NONE],
    )
    note = models.TextField(_("note"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("written by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("written at"))

    class Meta:
        verbose_name = _("spot-check follow-up")
        verbose_name_plural = _("spot-check follow-ups")
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.flag_id} {self.action} {self.created_at:%Y-%m-%d %H:%M}"


# --- Shortage alerts ------------------------------------------------------------------------


class AlertKind(models.TextChoices):
    ITEM_RED = "item_red", _("Item in red")
    PROJECTED_RED_3D = "projected_red_3d", _("Red within 3 days")
    BATCH_OVERDUE = "batch_overdue", _("Batch overdue")
    REPORT_MISSING = "report_missing", _("Report missing")
    # Issue 15: an emergency request still open EMERGENCY_REQUEST_ALERT_HOURS after submission.
    REQUEST_EMERGENCY_OPEN = "request_emergency_open", _("Emergency request open")


class Alert(models.Model):
    """A condition found by a snapshot build, from the build that first found it (opened) to
    the later build that no longer finds it (closed). Never deleted: the list is the history.

    `key` names the condition (kind and what it is about); at most one alert per key is open.
    """

    kind = models.CharField(_("kind"), max_length=24, choices=AlertKind.choices)
    key = models.CharField(_("key"), max_length=100)
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    item = models.ForeignKey(
        Item,
        verbose_name=_("item"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    batch = models.ForeignKey(
        "allocation.DispatchBatch",
        verbose_name=_("dispatch batch"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_on = models.DateField(_("opened by the build of"))
    opened_at = models.DateTimeField(_("opened at"))
    last_seen_on = models.DateField(_("last found by the build of"))
    closed_on = models.DateField(_("closed by the build of"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(closed_at__isnull=True),
                name="alert_one_open_per_key",
            )
        ]
        indexes = [
            models.Index(fields=["closed_at", "kind"]),
            models.Index(fields=["prefecture", "closed_at"]),
            # The overview's panel (issue 13): the latest open alerts and the open counts by
            # kind read only the open ones, however long the closed history grows.
            models.Index(
                fields=["-opened_at", "kind", "key"],
                condition=models.Q(closed_at__isnull=True),
                name="alert_open_latest",
            ),
            models.Index(
                fields=["kind"], condition=models.Q(closed_at__isnull=True), name="alert_open_kind"
            ),
        ]

    def __str__(self):
        return f"{self.key} {'open' if self.closed_at is None else 'closed'}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
