"""Dispatch batches (调拨批次), their destinations and lines, donations and receipts.

Batches change only through allocation/services.py: every transition bumps `version`
(optimistic concurrency) and writes a BatchTransition row. Receipts and transitions are
append-only.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from inventory.models import StockEvent, Warehouse
from supplycoord.models import County, Item, Prefecture


class DestinationKind(models.TextChoices):
    PREFECTURE = "prefecture", _("Prefecture")
    COUNTY = "county", _("County")
    PROVINCIAL_INSTITUTION = "provincial_institution", _("Provincial medical institution")
    AID_TEAM = "aid_team", _("Aid team")
    KEY_UNIT = "key_unit", _("Key unit")
    OTHER_PROVINCE = "other_province", _("Other province or city")


# Destinations whose deliveries count in a prefecture's in-transit figure (reports.md).
PREFECTURE_KINDS = (DestinationKind.PREFECTURE, DestinationKind.COUNTY)
# Claimants (issue 15) outside the prefectures' own figures: their requesters are users with
# the role unit_requester named on the destination, and the office may include them in a
# proposal.
UNIT_KINDS = (
    DestinationKind.PROVINCIAL_INSTITUTION,
    DestinationKind.AID_TEAM,
    DestinationKind.KEY_UNIT,
)


class Destination(models.Model):
    """Where batches go, and (issue 15) the claimant unit that asks for supplies: a prefecture,
    a county, a provincial institution, an aid team, a key unit, another province."""

    kind = models.CharField(_("kind"), max_length=24, choices=DestinationKind.choices)
    # The claimant's code in imports and the API: a prefecture's or county's GB/T 2260 code,
    # a code the office gives any other unit.
    code = models.CharField(
        _("code"),
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        help_text=_("Used in request imports and the API; a prefecture or county uses its code."),
    )
    name_zh = models.CharField(_("Chinese name"), max_length=128)
    name_en = models.CharField(_("English name"), max_length=128, blank=True)
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="destinations",
        help_text=_("Required for a prefecture or a county destination."),
    )
    county = models.ForeignKey(
        County,
        verbose_name=_("county"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="destinations",
    )
    contact = models.CharField(_("contact"), max_length=64, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    confirming_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer who confirms receipt"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    active = models.BooleanField(_("active"), default=True)
    # Users (role unit_requester) who may submit requests for this unit and follow them.
    requesters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requesters"),
        blank=True,
        related_name="requester_units",
    )
    history = HistoricalRecords(m2m_fields=[requesters])

    class Meta:
        verbose_name = _("destination")
        verbose_name_plural = _("destinations")
        ordering = ["kind", "name_zh"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind__in=["prefecture", "county"])
                | models.Q(prefecture__isnull=False),
                name="destination_prefecture_kinds_have_prefecture",
                violation_error_message=_("A prefecture or county destination needs a prefecture."),
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # In-transit figures are keyed by prefecture: a county destination must name the
        # prefecture it belongs to.
        if self.kind == DestinationKind.COUNTY:
            if self.county_id is None:
                raise ValidationError({"county": _("Choose the county.")})
            if self.prefecture_id != self.county.prefecture_id:
                raise ValidationError(
                    {"prefecture": _("Choose the prefecture the county belongs to.")}
                )
        elif self.county_id is not None:
            raise ValidationError({"county": _("Only a county destination names a county.")})

    @property
    def name(self):
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class DonorKind(models.TextChoices):
    ORGANISATION = "organisation", _("Organisation")
    PERSON = "person", _("Person")


class DonationRestriction(models.TextChoices):
    NONE = "none", _("No restriction")
    FRONT_LINE_STAFF = "front_line_staff", _("For front-line medical staff")
    NAMED_PREFECTURE = "named_prefecture", _("For a named prefecture")
    NAMED_DESTINATION = "named_destination", _("For a named hospital or destination")


class Donation(models.Model):
    """多方捐: goods given to the province, received into a warehouse with one receipt event."""

    donor_name = models.CharField(_("donor"), max_length=200)
    donor_kind = models.CharField(_("donor kind"), max_length=16, choices=DonorKind.choices)
    foreign = models.BooleanField(_("from abroad"), default=False)
    received_on = models.DateField(_("received on"))
    declared_value = models.DecimalField(
        _("declared value (yuan)"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    restriction = models.CharField(
        _("restriction"),
        max_length=20,
        choices=DonationRestriction.choices,
        default=DonationRestriction.NONE,
    )
    restricted_prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("restricted to prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    restricted_destination = models.ForeignKey(
        Destination,
        verbose_name=_("restricted to destination"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    public = models.BooleanField(
        _("shown on the public page"),
        default=False,
        help_text=_("The donor agreed to be listed publicly."),
    )
    warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("received into"), on_delete=models.PROTECT, related_name="+"
    )
    receipt_event = models.OneToOneField(
        StockEvent,
        verbose_name=_("receipt"),
        on_delete=models.PROTECT,
        related_name="donation",
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT
    )
    created_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-received_on", "-id"]

    def __str__(self):
        return f"{self.donor_name} {self.received_on}"


class DonationLine(models.Model):
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))

    class Meta:
        verbose_name = _("donation line")
        verbose_name_plural = _("donation lines")
        constraints = [
            models.UniqueConstraint(fields=["donation", "item"], name="donation_line_item_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="donation_line_qty"),
        ]

    def __str__(self):
        return f"{self.donation_id} {self.item_id} {self.quantity}"


class BatchYearSequence(models.Model):
    """The last batch number used in a year; locked to hand out the next (no gaps)."""

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class PrefectureBatchSequence(models.Model):
    """The last number a prefecture gave its own batches in a year (620100-2020-001): each
    prefecture numbers the batches from its warehouses in its own series (issue 15)."""

    prefecture = models.ForeignKey(Prefecture, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prefecture", "year"], name="prefecture_batch_sequence_key"
            )
        ]

    def __str__(self):
        return f"{self.prefecture_id} {self.year}: {self.last_number}"


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")
    DISPATCHED = "dispatched", _("Dispatched")
    PARTLY_RECEIVED = "partly_received", _("Partly received")
    RECEIVED = "received", _("Received")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


# Statuses of a batch that left the warehouse: they count in allocation totals.
SHIPPED_STATUSES = (
    BatchStatus.DISPATCHED,
    BatchStatus.PARTLY_RECEIVED,
    BatchStatus.RECEIVED,
    BatchStatus.CLOSED,
)


class BatchPriority(models.TextChoices):
    HARD_HIT_AREA = "hard_hit_area", _("Hard-hit area")
    KEY_UNIT = "key_unit", _("Key unit")
    FRONT_LINE_STAFF = "front_line_staff", _("Front-line medical staff")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    OWN_PRODUCTION = "own_production", _("Own production")
    PURCHASE = "purchase", _("Purchase")
    NATIONAL_ALLOCATION = "national_allocation", _("National allocation")
    DONATION = "donation", _("Donation")
    RESERVE = "reserve", _("Reserve")


class ProposalBasis(models.TextChoices):
    """What a proposal hands out (issue 14): the reserve's stock on hand (the default), or that
    plus what arrives in the provincial reserve within 3 days (procurement.inbound); batches
    made from the latter are marked so, as they may wait for the goods to arrive."""

    ON_HAND = "on_hand", _("On hand")
    ON_HAND_PLUS_ARRIVING_3D = "on_hand_plus_arriving_3d", _("On hand + arriving within 3 days")


class DispatchBatch(models.Model):
    number = models.CharField(_("batch number"), max_length=16, unique=True)
    year = models.PositiveIntegerField(_("year"))
    source_warehouse = models.ForeignKey(
        Warehouse, verbose_name=_("source warehouse"), on_delete=models.PROTECT, related_name="+"
    )
    # Three-level dispatch (issue 15): the prefecture that issues the batch from its own
    # warehouse (it numbers, approves and dispatches it); empty for the province's batches.
    # Always the source warehouse's prefecture when that is a prefecture warehouse.
    issuing_prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("issued by prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="issued_batches",
    )
    destination = models.ForeignKey(
        Destination,
        verbose_name=_("destination"),
        on_delete=models.PROTECT,
        related_name="batches",
    )
    priority = models.CharField(
        _("priority"), max_length=20, choices=BatchPriority.choices, default=BatchPriority.OTHER
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    planned_dispatch_date = models.DateField(_("planned dispatch date"), null=True, blank=True)
    expected_arrival = models.DateField(_("expected arrival"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=128, blank=True)
    vehicle = models.CharField(_("vehicle"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=BatchStatus.choices, default=BatchStatus.DRAFT
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("receipt completed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    received_at = models.DateTimeField(_("receipt completed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    issue_event = models.OneToOneField(
        StockEvent,
        verbose_name=_("issue document"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dispatch_batch",
    )
    # The allocation proposal this draft was created from, if any.
    proposal = models.ForeignKey(
        "Proposal",
        verbose_name=_("allocation proposal"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batches",
    )
    # The basis of that proposal: blank for a batch not made from one.
    proposal_basis = models.CharField(
        _("proposal basis"),
        max_length=32,
        choices=ProposalBasis.choices,
        blank=True,
        default="",
        # Also the column's default: a batch written by SQL (imports, the benchmarks' data)
        # is "not from a proposal" without naming the column.
        db_default="",
    )

    class Meta:
        verbose_name = _("dispatch batch")
        verbose_name_plural = _("dispatch batches")
        ordering = ["-year", "-number"]
        indexes = [
            models.Index(fields=["status", "dispatched_at"]),
            # The batch list's order: its first page reads 50 entries of this index instead of
            # sorting every batch (issue 13: 40,000 batches, 1 M lines).
            models.Index(fields=["-year", "-number"], name="batch_list_order"),
            # Batches on the road by expected arrival: the overview's 20 most overdue are the
            # first 20 entries, and their count an index-only scan (6,800 overdue batches at
            # national scale were sorted on every overview request). The statuses are
            # allocation.selectors.ON_THE_ROAD.
            models.Index(
                fields=["expected_arrival", "number"],
                condition=models.Q(status__in=["dispatched", "partly_received"]),
                name="batch_on_the_road",
            ),
        ]

    def __str__(self):
        return self.number


class DispatchBatchLine(models.Model):
    batch = models.ForeignKey(DispatchBatch, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity"))
    channel = models.CharField(_("channel"), max_length=24, choices=Channel.choices)
    donation = models.ForeignKey(
        Donation,
        verbose_name=_("donation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batch_lines",
    )
    # Σ of the line's BatchReceipt rows, kept with them in the same transaction.
    received_quantity = models.PositiveBigIntegerField(_("received quantity"), default=0)
    # The accepted request line this line answers (issue 15), if any: what fills a request.
    request_line = models.ForeignKey(
        "SupplyRequestLine",
        verbose_name=_("request line"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="batch_lines",
    )
    discrepancy_note = models.TextField(_("discrepancy note"), blank=True)

    class Meta:
        verbose_name = _("dispatch batch line")
        verbose_name_plural = _("dispatch batch lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="batch_line_qty"),
            models.CheckConstraint(
                condition=(models.Q(channel="donation") & models.Q(donation__isnull=False))
                | (~models.Q(channel="donation") & models.Q(donation__isnull=True)),
                name="batch_line_donation_iff_channel",
            ),
        ]

    def __str__(self):
        return f"{self.batch_id} {self.item_id} {self.quantity}"

    @property
    def discrepancy(self) -> int:
        """Received − shipped: negative when less arrived than was sent."""
        return self.received_quantity - self.quantity

    @property
    def outstanding(self) -> int:
        """Shipped but not (yet) confirmed received: in transit until the receipt is complete."""
        return max(0, self.quantity - self.received_quantity)


class BatchReceipt(models.Model):
    """One confirmation of goods arriving on a line. Append-only."""

    batch = models.ForeignKey(DispatchBatch, on_delete=models.PROTECT, related_name="receipts")
    line = models.ForeignKey(DispatchBatchLine, on_delete=models.PROTECT, related_name="receipts")
    quantity = models.PositiveBigIntegerField(_("quantity received"))
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("batch receipt")
        verbose_name_plural = _("batch receipts")
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["line", "received_at"])]

    def __str__(self):
        return f"{self.batch_id}/{self.line_id}: {self.quantity}"


class BatchTransition(models.Model):
    """The audit trail of a batch: who moved it from which state to which, when. Append-only."""

    batch = models.ForeignKey(DispatchBatch, on_delete=models.PROTECT, related_name="transitions")
    from_status = models.CharField(
        _("from status"), max_length=16, choices=BatchStatus.choices, blank=True
    )
    to_status = models.CharField(_("to status"), max_length=16, choices=BatchStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acting user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("happened at"))
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("batch transition")
        verbose_name_plural = _("batch transitions")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.batch_id}: {self.from_status} → {self.to_status}"


class BatchAttachment(models.Model):
    """A paper filed with a batch (the approval document, a signed receipt…). Kept, never
    replaced: a wrong file is superseded by uploading the right one with a description."""

    batch = models.ForeignKey(DispatchBatch, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("file"), upload_to="batch-attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("batch attachment")
        verbose_name_plural = _("batch attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"{self.batch_id}: {self.original_name}"


# --- The allocation proposal (reports.md, "Allocation proposal") ---------------------------


class ReserveFloor(models.Model):
    """What the office keeps in the reserve of an item whatever a proposal hands out."""

    item = models.OneToOneField(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="reserve_floor"
    )
    quantity = models.PositiveBigIntegerField(_("reserve floor"))
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("set by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    set_at = models.DateTimeField(_("set at"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("reserve floor")
        verbose_name_plural = _("reserve floors")

    def __str__(self):
        return f"{self.item} ≥ {self.quantity}"


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("proposal", "Draft")
    ACCEPTED = "accepted", pgettext_lazy("proposal", "Accepted")
    DISCARDED = "discarded", pgettext_lazy("proposal", "Discarded")


class Proposal(models.Model):
    """调拨建议: a water-filling split of reserve stock over prefectures, kept with its inputs.

    Every input the arithmetic used (each prefecture's stock, arriving, rate, weight; what was
    available) is stored on its rows, so one can see later what the office knew when it
    decided. Accepting it creates draft dispatch batches, linked from its lines.
    """

    name = models.CharField(_("name"), max_length=128)
    date = models.DateField(_("snapshot date"))
    warehouses = models.ManyToManyField(
        Warehouse, verbose_name=_("reserve warehouses"), related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.DRAFT
    )
    note = models.TextField(_("note"), blank=True)
    # Made for a date whose province figures were partial (reports.md "Coverage"): the
    # office's reason for going on all the same, and which items were partial.
    coverage_reason = models.TextField(_("reason for proceeding on partial figures"), blank=True)
    coverage_partial_items = models.CharField(
        _("items with partial figures"), max_length=500, blank=True
    )
    basis = models.CharField(
        _("basis"), max_length=32, choices=ProposalBasis.choices, default=ProposalBasis.ON_HAND
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("accepted by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    # Issue 15: the claimants other than prefectures (institutions, aid teams, key units) the
    # office included; the active prefectures always are.
    units = models.ManyToManyField(
        Destination, verbose_name=_("other claimants included"), blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("allocation proposal")
        verbose_name_plural = _("allocation proposals")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name


class ProposalItem(models.Model):
    """One item of a proposal: what was available, what was kept, the level reached."""

    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="items")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    on_hand = models.BigIntegerField(_("on hand in the reserve warehouses"))
    committed = models.BigIntegerField(_("already in batches not yet dispatched"))
    reserve_floor = models.BigIntegerField(_("reserve floor"))
    # What arrives in the provincial reserve warehouses within 3 days of the proposal's date
    # (procurement.inbound.provincial_reserve_arriving_3d), shown whatever the basis, and the
    # part of it counted as available (all of it on the basis "on hand + arriving", else 0).
    arriving_3d = models.BigIntegerField(_("arriving in the reserve within 3 days"), default=0)
    arriving_counted = models.BigIntegerField(_("arriving counted as available"), default=0)
    quantity = models.BigIntegerField(_("quantity to hand out"))
    pack_size = models.PositiveIntegerField(_("pack size"))
    level = models.DecimalField(
        _("level (weighted days of cover)"), max_digits=12, decimal_places=2, null=True
    )

    class Meta:
        verbose_name = _("proposal item")
        verbose_name_plural = _("proposal items")
        ordering = ["item__sort_order", "item__code"]
        constraints = [
            models.UniqueConstraint(fields=["proposal", "item"], name="proposal_item_once")
        ]

    def __str__(self):
        return f"{self.proposal} · {self.item}"

    @property
    def available(self) -> int:
        """What may be handed out at most: on hand (+ the arriving counted) − committed −
        floor, never negative."""
        return max(0, self.on_hand + self.arriving_counted - self.committed - self.reserve_floor)


class ProposalLine(models.Model):
    """A claimant's row: the inputs as they were, the computed share and the edited one.

    Issue 15: the claimant is `destination` (a prefecture's destination of kind prefecture, or
    an institution, aid team or key unit); `prefecture` is set on prefecture lines only. The
    rate used is kept with where it came from and, when it is not the claimant's own figure,
    the figure it replaced and why (capped at the norm estimate, or a spot-check flag)."""

    proposal_item = models.ForeignKey(ProposalItem, on_delete=models.CASCADE, related_name="lines")
    destination = models.ForeignKey(
        Destination, verbose_name=_("claimant"), on_delete=models.PROTECT, related_name="+"
    )
    prefecture = models.ForeignKey(
        Prefecture,
        verbose_name=_("prefecture"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    stock = models.BigIntegerField(_("stock"), null=True)
    # "does_not_report": a claimant other than a prefecture reports no stock; counted as 0.
    stock_note = models.CharField(_("stock note"), max_length=20, blank=True)
    arriving_3d = models.BigIntegerField(_("arriving within 3 days"))
    rate = models.DecimalField(_("daily rate"), max_digits=16, decimal_places=2, null=True)
    # consumption, demand, requests, norm or spot_check_median (RateSource).
    rate_source = models.CharField(_("rate from"), max_length=24, blank=True)
    # The claimant's own rate (from rate_source's first choice) when the rate used differs:
    # capped at PROPOSAL_RATE_CAP × the norm estimate, or replaced after a spot-check flag.
    rate_uncapped = models.DecimalField(
        _("rate before the cap"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    # "", "capped" or "spot_check" (allocation.proposals.RateAdjustment).
    rate_adjustment = models.CharField(_("rate adjusted"), max_length=16, blank=True)
    rate_cap = models.DecimalField(
        _("cap (× norm estimate)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    norm_estimate = models.DecimalField(
        _("norm estimate"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    staff = models.PositiveIntegerField(_("protected staff"), null=True, blank=True)
    spot_check_date = models.DateField(_("spot-check date"), null=True, blank=True)
    spot_check_score = models.DecimalField(
        _("spot-check robust z-score"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    spot_check_median = models.DecimalField(
        _("median per person per day"), max_digits=24, decimal_places=6, null=True, blank=True
    )
    weight = models.DecimalField(_("priority weight"), max_digits=6, decimal_places=2, default=1)
    weight_reason = models.CharField(_("reason for the weight"), max_length=200, blank=True)
    proposed = models.BigIntegerField(_("proposed"))
    quantity = models.BigIntegerField(_("quantity"))
    no_share = models.CharField(_("why nothing"), max_length=20, blank=True)
    # Every edit of `quantity` is kept, with who and when.
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("proposal line")
        verbose_name_plural = _("proposal lines")
        ordering = ["prefecture__code", "destination__code", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["proposal_item", "destination"], name="proposal_line_once"
            ),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="proposal_qty"),
        ]

    def __str__(self):
        return f"{self.proposal_item} · {self.prefecture or self.destination}"

    @property
    def claimant_name(self) -> str:
        """The prefecture's name on a prefecture line, else the claimant unit's."""
        return self.prefecture.name if self.prefecture_id else self.destination.name

    def days(self, quantity: int = 0):
        """Days of cover of stock + `quantity` at the rate; None without stock or rate."""
        if self.stock is None or not self.rate:
            return None
        return (self.stock + quantity) / self.rate


# --- Requests from below (需求申请, issue 15; reports.md "Requests") ---------------------------


class ClaimantStaff(models.Model):
    """Protected staff of a claimant unit other than a prefecture (a hospital's isolation-ward
    staff, an aid team's members), by category: its norm estimate, as ProtectedStaff is a
    prefecture's."""

    destination = models.ForeignKey(
        Destination, verbose_name=_("claimant"), on_delete=models.CASCADE, related_name="staff"
    )
    category = models.ForeignKey(
        "supplycoord.StaffCategory",
        verbose_name=_("staff category"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    count = models.PositiveIntegerField(_("number of people"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("claimant's protected staff")
        verbose_name_plural = _("claimants' protected staff")
        constraints = [
            models.UniqueConstraint(fields=["destination", "category"], name="claimant_staff_once")
        ]

    def __str__(self):
        return f"{self.destination_id} {self.category_id}: {self.count}"


class RequestYearSequence(models.Model):
    """The last request number of a year (XQ-2026-001), bumped under lock."""

    year = models.PositiveIntegerField(unique=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last_number}"


class RequestUrgency(models.TextChoices):
    ROUTINE = "routine", _("Routine")
    URGENT = "urgent", _("Urgent")
    EMERGENCY = "emergency", _("Emergency")


class LineDecision(models.TextChoices):
    PENDING = "pending", _("Awaiting triage")
    ACCEPTED = "accepted", _("Accepted")
    ACCEPTED_PART = "accepted_part", _("Accepted in part")
    REFUSED = "refused", _("Refused")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# A line whose accepted quantity may still be filled by batches.
ACCEPTED_DECISIONS = (LineDecision.ACCEPTED, LineDecision.ACCEPTED_PART)


class SupplyRequest(models.Model):
    """A claimant's request (需求申请): lines of items and quantities, its urgency, the date
    the goods are needed by and why. Submitted once; the office triages each line
    (allocation/requests.py); every step is a RequestEvent row."""

    number = models.CharField(_("request number"), max_length=16, unique=True)
    claimant = models.ForeignKey(
        Destination, verbose_name=_("claimant"), on_delete=models.PROTECT, related_name="requests"
    )
    urgency = models.CharField(_("urgency"), max_length=12, choices=RequestUrgency.choices)
    needed_by = models.DateField(_("needed by"))
    justification = models.TextField(_("justification"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"))
    # The caller's idempotency key (API, import): a resend returns the request it made.
    client_uuid = models.UUIDField(_("client request id"), null=True, blank=True, unique=True)
    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        verbose_name = _("supply request")
        verbose_name_plural = _("supply requests")
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["claimant", "submitted_at"])]

    def __str__(self):
        return self.number


class SupplyRequestLine(models.Model):
    """One item of a request: asked, then decided by the office (accepted in whole or in part,
    or refused, with a reason), then filled by batch lines (DispatchBatchLine.request_line)."""

    request = models.ForeignKey(SupplyRequest, on_delete=models.PROTECT, related_name="lines")
    item = models.ForeignKey(
        Item, verbose_name=_("item"), on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveBigIntegerField(_("quantity asked"))
    decision = models.CharField(
        _("decision"), max_length=16, choices=LineDecision.choices, default=LineDecision.PENDING
    )
    accepted_quantity = models.PositiveBigIntegerField(_("quantity accepted"), default=0)
    decision_reason = models.CharField(_("reason"), max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        verbose_name = _("request line")
        verbose_name_plural = _("request lines")
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "item"], name="request_line_item_once"),
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="request_line_qty"),
            models.CheckConstraint(
                condition=models.Q(accepted_quantity__lte=models.F("quantity")),
                name="request_line_accepted_le_asked",
            ),
        ]
        indexes = [models.Index(fields=["item", "decision"])]

    def __str__(self):
        return f"{self.request_id} {self.item_id} {self.quantity}"


class RequestAction(models.TextChoices):
    SUBMITTED = "submitted", pgettext_lazy("request event", "Submitted")
    TRIAGED = "triaged", _("Triaged")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    BATCHED = "batched", _("Put into a draft batch")


class RequestEvent(models.Model):
    """The audit trail of a request: who did what to it (or to one of its lines), when, with
    the decision and quantity as they were then. Append-only."""

    request = models.ForeignKey(SupplyRequest, on_delete=models.PROTECT, related_name="events")
    line = models.ForeignKey(
        SupplyRequestLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="events",
    )
    action = models.CharField(_("action"), max_length=12, choices=RequestAction.choices)
    decision = models.CharField(
        _("decision"), max_length=16, choices=LineDecision.choices, blank=True
    )
    quantity = models.PositiveBigIntegerField(_("quantity"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    batch = models.ForeignKey(
        DispatchBatch,
        verbose_name=_("dispatch batch"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acting user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("happened at"))

    class Meta:
        verbose_name = _("request event")
        verbose_name_plural = _("request events")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.request_id}: {self.action}"


class RequestAttachment(models.Model):
    """A paper filed with a request (the hospital's signed list…). Kept, never replaced."""

    request = models.ForeignKey(SupplyRequest, on_delete=models.PROTECT, related_name="attachments")
    file = models.FileField(_("file"), upload_to="request-attachments/%Y/%m/")
    original_name = models.CharField(_("file name"), max_length=255)
    description = models.CharField(_("description"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"))

    class Meta:
        verbose_name = _("request attachment")
        verbose_name_plural = _("request attachments")
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return f"{self.request_id}: {self.original_name}"
