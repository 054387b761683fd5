from django.contrib import admin

from .models import SnapshotBuild


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
