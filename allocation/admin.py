from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from supplycoord.admin import ReadOnlyAdminMixin

from .models import (
    BatchReceipt,
    BatchTransition,
    Destination,
    DispatchBatch,
    DispatchBatchLine,
    Donation,
    DonationLine,
    Proposal,
    ProposalItem,
    ProposalLine,
    RequestAttachment,
    RequestEvent,
    ReserveFloor,
    SupplyRequest,
    SupplyRequestLine,
)


@admin.register(Destination)
class DestinationAdmin(SimpleHistoryAdmin):
    list_display = (
        "code",
        "name_zh",
        "name_en",
        "kind",
        "prefecture",
        "contact",
        "phone",
        "active",
    )
    list_filter = ("kind", "active", "prefecture")
    search_fields = ("code", "name_zh", "name_en", "contact")
    list_select_related = ("prefecture",)
    raw_id_fields = ("confirming_officer", "county")
    filter_horizontal = ("requesters",)


class SupplyRequestLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SupplyRequestLine
    fields = ("item", "quantity", "decision", "accepted_quantity", "decision_reason")
    readonly_fields = fields
    extra = 0


class RequestEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RequestEvent
    fields = ("at", "action", "line", "decision", "quantity", "batch", "by", "note")
    readonly_fields = fields
    extra = 0


class RequestAttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RequestAttachment
    fields = ("original_name", "description", "uploaded_by", "uploaded_at")
    readonly_fields = fields
    extra = 0


@admin.register(SupplyRequest)
class SupplyRequestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: requests change only through allocation/requests.py (audited events)."""

    list_display = ("number", "claimant", "urgency", "needed_by", "submitted_by", "submitted_at")
    list_filter = ("urgency", "claimant__kind")
    search_fields = ("number", "claimant__name_zh", "claimant__code")
    list_select_related = ("claimant", "submitted_by")
    inlines = [SupplyRequestLineInline, RequestEventInline, RequestAttachmentInline]


class DonationLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DonationLine
    fields = ("item", "quantity")
    readonly_fields = fields
    extra = 0


@admin.register(Donation)
class DonationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: a donation is recorded with its receipt event (allocation.services)."""

    list_display = ("donor_name", "donor_kind", "foreign", "received_on", "restriction", "public")
    list_filter = ("donor_kind", "foreign", "restriction", "public")
    search_fields = ("donor_name",)
    inlines = [DonationLineInline]


class DispatchBatchLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DispatchBatchLine
    fields = ("item", "quantity", "channel", "donation", "received_quantity", "discrepancy_note")
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item", "donation")


class BatchTransitionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = BatchTransition
    fields = ("at", "from_status", "to_status", "by", "note")
    readonly_fields = fields
    extra = 0


@admin.register(DispatchBatch)
class DispatchBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: batches move only through the services (versions, stock, audit)."""

    list_display = (
        "number",
        "status",
        "source_warehouse",
        "destination",
        "planned_dispatch_date",
        "dispatched_at",
        "expected_arrival",
    )
    list_filter = ("status", "destination__kind", "year")
    search_fields = ("number", "destination__name_zh", "carrier", "vehicle")
    list_select_related = ("source_warehouse", "destination")
    inlines = [DispatchBatchLineInline, BatchTransitionInline]


@admin.register(BatchReceipt)
class BatchReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("batch", "line", "quantity", "received_at", "received_by")
    list_select_related = ("batch", "line", "received_by")


@admin.register(BatchTransition)
class BatchTransitionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("batch", "from_status", "to_status", "by", "at")
    list_filter = ("to_status",)
    list_select_related = ("batch", "by")


class ProposalLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ProposalLine
    fields = (
        "destination",
        "stock",
        "arriving_3d",
        "rate",
        "rate_source",
        "rate_adjustment",
        "weight",
        "proposed",
        "quantity",
    )
    readonly_fields = fields
    extra = 0


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: proposals are kept with their inputs, as the office decided on them."""

    list_display = ("name", "date", "status", "created_by", "created_at", "accepted_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)


@admin.register(ProposalItem)
class ProposalItemAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("proposal", "item", "on_hand", "committed", "reserve_floor", "quantity")
    list_select_related = ("proposal", "item")
    inlines = [ProposalLineInline]


@admin.register(ReserveFloor)
class ReserveFloorAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Set on the proposals page (reserve_floor_set), with who and when."""

    list_display = ("item", "quantity", "set_by", "set_at")
    list_select_related = ("item", "set_by")
