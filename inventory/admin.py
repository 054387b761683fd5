from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import DailyFigure


@admin.register(DailyFigure)
class DailyFigureAdmin(SimpleHistoryAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
