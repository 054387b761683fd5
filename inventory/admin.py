from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from supplycoord.admin import ReadOnlyAdminMixin

from .models import (
    CountyDailyFigure,
    DailyFigure,
    StockBalance,
    StockEvent,
    StockEventLine,
    Warehouse,
)


@admin.register(DailyFigure)
class DailyFigureAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: figures change only through daily_figures_submit (with its history and checks)."""

    list_display = (
        "date",
        "prefecture",
        "item",
        "stock",
        "received",
        "consumption",
        "demand",
        "expected_arrivals_3d",
        "on_time",
        "submitted_by",
        "submitted_at",
    )
    list_filter = ("on_time", "prefecture", "item")
    date_hierarchy = "date"
    list_select_related = ("prefecture", "item", "submitted_by")


@admin.register(CountyDailyFigure)
class CountyDailyFigureAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
    """Read-only: figures change only through county_figures_submit, which derives the
    prefecture's rows in the same transaction."""

    list_display = (
        "date",
        "county",
        "item",
        "stock",
        "received",
        "consumption",
        "demand",
        "expected_arrivals_3d",
        "on_time",
        "submitted_by",
        "submitted_at",
    )
    list_filter = ("on_time", "county__prefecture", "item")
    date_hierarchy = "date"
    list_select_related = ("county", "item", "submitted_by")


@admin.register(Warehouse)
class WarehouseAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name_zh", "name_en", "kind", "prefecture", "manager", "active")
    list_filter = ("kind", "active", "prefecture")
    search_fields = ("code", "name_zh", "name_en")
    list_select_related = ("prefecture",)


class StockEventLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = StockEventLine
    fields = ("item", "quantity", "counted")
    readonly_fields = fields
    extra = 0
    # A few hundred lines at most; the item names come with them in one query.
    ordering = ("item__sort_order", "item__code")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("item")


@admin.register(StockEvent)
class StockEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "document_number",
        "warehouse",
        "kind",
        "occurred_at",
        "recorded_by",
        "recorded_at",
        "reverses",
    )
    list_filter = ("kind", "warehouse")
    search_fields = ("document_number", "source_document", "counterparty", "note")
    date_hierarchy = "occurred_at"
    list_select_related = ("warehouse", "recorded_by", "reverses")
    inlines = [StockEventLineInline]


@admin.register(StockBalance)
class StockBalanceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("warehouse", "item", "quantity", "updated_at")
    list_filter = ("warehouse",)
    search_fields = ("item__code", "item__name_zh", "warehouse__code")
    list_select_related = ("warehouse", "item")
