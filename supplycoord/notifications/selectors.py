"""Notifications' reads: the bell's count, a user's list, their preferences, the office's
endpoints with how their deliveries went. Every read is a user's own rows (or the office's
endpoints, which the views gate with permissions.can_manage_webhooks)."""

from __future__ import annotations

import dataclasses

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from .kinds import Kind, kinds_for, label, render
from .models import (
    DeliveryStatus,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationProfile,
    WebhookEndpoint,
)
from .services import default_channels, digest_hour_of

PAGE_SIZE = 30


def unread_count(user) -> int:
    """The bell: one index-only count (the partial index notification_unread)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).count()


@dataclasses.dataclass
class Shown:
    notification: Notification
    title: str
    body: str


def notifications_page(user, *, page=1, unread_only: bool = False) -> tuple[Page, list[Shown]]:
    """A page of `user`'s in-app notifications, newest first, worded in the active language.
    Two queries (the count and the page), however many there are."""
    rows = Notification.objects.filter(recipient=user, in_app=True).only(
        "pk", "kind", "params", "url", "created_at", "read_at"
    )
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    current = Paginator(rows.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(page)
    shown = []
    for notification in current.object_list:
        title, body = render(notification.kind, notification.params)
        shown.append(Shown(notification=notification, title=title, body=body))
    return current, shown


@dataclasses.dataclass
class PreferenceRow:
    kind: Kind
    channels: frozenset


def preference_rows(user) -> list[PreferenceRow]:
    """The kinds `user`'s role may receive, each with the channels it goes by (the user's
    row, else the defaults). One query."""
    saved = {
        pref.kind: pref.channels() for pref in NotificationPreference.objects.filter(user=user)
    }
    defaults = default_channels()
    return [
        PreferenceRow(kind=kind, channels=saved.get(kind.code, defaults))
        for kind in kinds_for(user)
    ]


def digest_hour(user) -> tuple[int, bool]:
    """(the hour of `user`'s digest, whether they chose it) - the default hour otherwise."""
    profile = NotificationProfile.objects.filter(user=user).first()
    chosen = profile.digest_hour if profile else None
    return digest_hour_of(chosen), chosen is not None


def endpoints_with_counts() -> list[WebhookEndpoint]:
    """Every endpoint with its deliveries counted by status and the labels of its kinds, in
    the active language. One query."""
    endpoints = list(
        WebhookEndpoint.objects.annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.SENT)),
            pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        ).order_by("name", "pk")
    )
    for endpoint in endpoints:
        endpoint.kind_labels = [label(code) for code in endpoint.kinds]
    return endpoints


def recent_webhook_deliveries(limit: int = 20):
    """The latest webhook deliveries (their endpoint, kind and recipient), for the office to
    see what a gateway answered. One query."""
    deliveries = list(
        NotificationDelivery.objects.filter(channel="webhook")
        .select_related("endpoint", "notification__recipient")
        .order_by("-created_at", "-pk")[:limit]
    )
    for delivery in deliveries:
        delivery.kind_label = label(delivery.notification.kind)
    return deliveries
