"""Notifications in the admin, read-only: what was told to whom and how each message went.
Endpoints are kept on the office's page (notifications:webhooks), preferences by each user."""

from django.contrib import admin

from ..admin import ReadOnlyAdminMixin
from .models import NotificationDelivery


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "channel", "endpoint", "status", "attempts", "created_at", "sent_at")
    list_filter = ("channel", "status", "endpoint")
    list_select_related = ("endpoint",)
    readonly_fields = ("last_error",)
