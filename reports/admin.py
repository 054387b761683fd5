from django.contrib import admin

from supplycoord.admin import ReadOnlyAdminMixin

from .models import (
    Alert,
    ReconciliationCase,
    ReconciliationNote,
    SnapshotBuild,
    SnapshotRebuild,
    SpotCheckFlag,
    SpotCheckFollowUp,
)


@admin.register(SnapshotBuild)
class SnapshotBuildAdmin(admin.ModelAdmin):
    list_display = (
        "date",
        "built_at",
        "duration_ms",
        "rows",
        "prefectures_active",
        "prefectures_on_time",
        "prefectures_late",
        "prefectures_missing",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SnapshotRebuild)
class SnapshotRebuildAdmin(admin.ModelAdmin):
    """The rebuilds' outbox, to look at: the build and the sweep keep it (reports/services.py)."""

    list_display = ("date", "status", "requested_at", "attempts", "last_attempt_at", "last_error")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReconciliationNoteInline(admin.TabularInline):
    model = ReconciliationNote
    fields = ("created_at", "action", "author", "text", "gap_before", "gap_after")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReconciliationCase)
class ReconciliationCaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: cases change through the snapshot build and the queue page's services."""

    list_display = (
        "date",
        "prefecture",
        "item",
        "previous_stock",
        "received",
        "consumption",
        "stock",
        "gap",
        "status",
        "opened_at",
    )
    list_filter = ("status", "prefecture")
    list_select_related = ("prefecture", "item")
    date_hierarchy = "date"
    inlines = [ReconciliationNoteInline]


class SpotCheckFollowUpInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SpotCheckFollowUp
    extra = 0


@admin.register(SpotCheckFlag)
class SpotCheckFlagAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: flags come from the build; follow-ups are recorded on the spot-check page."""

    list_display = ("date", "prefecture", "item", "figure", "median", "score")
    list_filter = ("item",)
    list_select_related = ("prefecture", "item")
    date_hierarchy = "date"
    inlines = [SpotCheckFollowUpInline]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: alerts open and close with the snapshot builds."""

    list_display = ("kind", "prefecture", "item", "opened_at", "closed_at")
    list_filter = ("kind", "prefecture")
    list_select_related = ("prefecture", "item")
