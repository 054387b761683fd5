"""Notifications' writes: telling people of an event, their read marks and preferences, the
office's webhook endpoints, and sending what is due (deliveries and the daily digests).

An app raises an event with `notify(event=..., recipients=[...], params=..., url=...,
prefecture_id=..., county_id=...)`, from inside its service. In the app's transaction (a
savepoint: a rolled-back change tells nobody, a change that commits has its notifications
committed with it, and a notification that cannot be written never undoes the change), the
recipients are resolved, narrowed to the event's scope (permissions.scope_recipients) and to
those whose preferences keep some channel for the kind, and one Notification per recipient is
written with its e-mail and webhook deliveries. The deliveries are queued after the commit;
one lost with a dying worker is sent by the sweeping beat task.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import operator
from collections.abc import Iterable

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from ..lib.locks import advisory_xact_lock
from ..models import User
from ..permissions import can_manage_webhooks, scope_recipients
from . import channels
from .kinds import KINDS
from .models import (
    CHANNELS,
    Channel,
    DeliveryStatus,
    Digest,
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationProfile,
    WebhookEndpoint,
)

logger = logging.getLogger(__name__)

# How long a claimed delivery is left to the worker sending it before the sweep may take it
# again (the worker died mid-send), beyond the webhook timeout.
LEASE_SECONDS = 60
# The most deliveries one sweep queues (the next sweep takes the rest).
SWEEP_BATCH = 500


def _setting(name):
    return settings.SUPPLYCOORD[name]


def default_channels() -> frozenset:
    return frozenset(_setting("NOTIFY_DEFAULT_CHANNELS"))


# --- Telling people ---------------------------------------------------------------------------


def notify(
    *,
    event: str,
    recipients: Iterable[Q],
    params: dict | None = None,
    url: str = "",
    prefecture_id: int | None = None,
    county_id: int | None = None,
    dedupe_key: str = "",
    rule=None,
) -> None:
    """Tell `recipients` (conditions from .recipients) of `event`, recorded with the change:
    inside the caller's transaction (a savepoint), so the notifications commit or roll back with
    what they tell of, and a process dying after the commit loses none of them (their e-mails and
    webhook sends are rows too, queued after commit and swept up by the beat task). A failure
    here is logged and rolls back the savepoint only, never the caller's change.
    `params`: what the kind's wording needs (kinds.py). `prefecture_id`/`county_id`: what the
    event is about; no officer of another place is told. `dedupe_key`: a recipient told of this
    key before is not told again. `rule`: a further test of each user (e.g.
    `lambda user: can_approve_batch(user, batch)`)."""
    if event not in KINDS:
        raise ValueError(f"unknown notification kind {event!r}")
    try:
        with transaction.atomic():
            notify_now(
                event=event,
                recipients=list(recipients),
                params=dict(params or {}),
                url=url,
                prefecture_id=prefecture_id,
                county_id=county_id,
                dedupe_key=dedupe_key,
                rule=rule,
            )
    except DatabaseError:
        logger.exception("notification %s not recorded", event)


@transaction.atomic
def notify_now(
    *,
    event: str,
    recipients: Iterable[Q],
    params: dict,
    url: str = "",
    prefecture_id: int | None = None,
    county_id: int | None = None,
    dedupe_key: str = "",
    rule=None,
    now: dt.datetime | None = None,
) -> list[Notification]:
    """`notify`, now, in one transaction; the notifications written. Five queries (users,
    preferences, endpoints, notifications, deliveries) plus one with a dedupe key."""
    conditions = list(recipients)
    if not conditions:
        return []
    now = now or timezone.now()
    users = User.objects.filter(functools.reduce(operator.or_, conditions), is_active=True)
    users = scope_recipients(users, prefecture_id=prefecture_id, county_id=county_id)
    if dedupe_key:
        # Two jobs finding the same event at once: the second waits, then sees the first's rows.
        advisory_xact_lock(f"notify:{dedupe_key}")
        users = users.exclude(notifications__dedupe_key=dedupe_key)
    people = [user for user in users.order_by("pk") if rule is None or rule(user)]
    if not people:
        return []
    chosen = {
        pref.user_id: pref.channels()
        for pref in NotificationPreference.objects.filter(
            user__in=[user.pk for user in people], kind=event
        )
    }
    defaults = default_channels()
    wanted = []
    for user in people:
        user_channels = chosen.get(user.pk, defaults)
        if user_channels:
            wanted.append((user, user_channels))
    if not wanted:
        return []
    endpoints = []
    if any(Channel.WEBHOOK in user_channels for _, user_channels in wanted):
        endpoints = [e for e in WebhookEndpoint.objects.filter(active=True) if e.sends(event)]
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=user,
            kind=event,
            params=params,
            url=url,
            prefecture_id=prefecture_id,
            dedupe_key=dedupe_key,
            created_at=now,
            in_app=Channel.IN_APP in user_channels,
            in_digest=Channel.DIGEST in user_channels,
        )
        for user, user_channels in wanted
    )
    deliveries = []
    for notification, (user, user_channels) in zip(notifications, wanted, strict=True):
        if Channel.EMAIL in user_channels and user.email:
            deliveries.append(_delivery(notification=notification, channel=Channel.EMAIL, now=now))
        if Channel.WEBHOOK in user_channels:
            deliveries += [
                _delivery(notification=notification, channel=Channel.WEBHOOK, endpoint=e, now=now)
                for e in endpoints
            ]
    _queue(NotificationDelivery.objects.bulk_create(deliveries))
    return notifications


def _delivery(*, channel, now, notification=None, digest=None, endpoint=None):
    return NotificationDelivery(
        notification=notification,
        digest=digest,
        channel=channel,
        endpoint=endpoint,
        created_at=now,
        next_attempt_at=now,
    )


def _queue(deliveries) -> None:
    ids = [delivery.pk for delivery in deliveries]
    if not ids:
        return
    from .tasks import notification_delivery_send  # the tasks call these services

    def send():
        for pk in ids:
            notification_delivery_send.delay(pk)

    transaction.on_commit(send)


# --- The reader's marks -----------------------------------------------------------------------


def notification_mark_read(*, user, notification_id: int, now=None) -> bool:
    """Mark one of `user`'s notifications read; False when it is not theirs (or not there)."""
    found = Notification.objects.filter(pk=notification_id, recipient=user)
    if not found.exists():
        return False
    found.filter(read_at__isnull=True).update(read_at=now or timezone.now())
    return True


def notifications_mark_all_read(*, user, now=None) -> int:
    """Mark every unread notification of `user` read; how many were."""
    return Notification.objects.filter(recipient=user, in_app=True, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


# --- Preferences ------------------------------------------------------------------------------


@transaction.atomic
def preferences_save(
    *, user, choices: dict[str, Iterable[str]], digest_hour: int | None, language: str
) -> None:
    """Save `user`'s channels per kind ({kind: channels}; a kind left out keeps its row or
    the defaults), the digest hour (None: the default hour) and the language of what is sent.
    Rows and the profile keep their history (simple_history)."""
    unknown = set(choices) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown notification kinds {sorted(unknown)}")
    existing = {pref.kind: pref for pref in NotificationPreference.objects.filter(user=user)}
    for kind, picked in choices.items():
        picked = set(picked)
        if picked - set(CHANNELS):
            raise ValueError(f"unknown channels {sorted(picked - set(CHANNELS))}")
        values = {channel.value: channel in picked for channel in CHANNELS}
        pref = existing.get(kind)
        if pref is None:
            NotificationPreference.objects.create(user=user, kind=kind, **values)
        elif any(getattr(pref, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(pref, name, value)
            pref.save()
    profile = NotificationProfile.objects.filter(user=user).first()
    if digest_hour is None:
        if profile is not None:
            profile.delete()
    elif profile is None:
        NotificationProfile.objects.create(user=user, digest_hour=digest_hour)
    elif profile.digest_hour != digest_hour:
        profile.digest_hour = digest_hour
        profile.save()
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


def digest_hour_of(user_or_profile_hour) -> int:
    if user_or_profile_hour is not None:
        return user_or_profile_hour
    return _setting("NOTIFY_DIGEST_DEFAULT_HOUR")


# --- The office's webhook endpoints -----------------------------------------------------------


@transaction.atomic
def webhook_endpoint_save(
    *,
    user,
    endpoint: WebhookEndpoint | None = None,
    name: str,
    url: str,
    secret: str = "",
    kinds: list[str],
    active: bool,
) -> WebhookEndpoint:
    """Create (`endpoint` None) or change an endpoint; a blank `secret` keeps the old one.
    The form has validated the fields; the history records who changed what."""
    from django.core.exceptions import PermissionDenied

    if not can_manage_webhooks(user):
        raise PermissionDenied
    if set(kinds) - set(KINDS):
        raise ValueError(f"unknown notification kinds {sorted(set(kinds) - set(KINDS))}")
    if endpoint is None:
        if not secret:
            raise ValueError("a new endpoint needs a secret")
        endpoint = WebhookEndpoint(created_by=user)
    endpoint.name = name
    endpoint.url = url
    if secret:
        endpoint.secret = secret
    endpoint.kinds = sorted(kinds, key=list(KINDS).index)
    endpoint._history_user = user
    endpoint.active = active
    endpoint.save()
    return endpoint


# --- Sending ----------------------------------------------------------------------------------


def backoff_seconds(attempts: int) -> int:
    """Wait after the `attempts`-th failed attempt: BASE × 2^(attempts−1) (60, 120, 240 s…)."""
    return _setting("NOTIFY_RETRY_BASE_SECONDS") * 2 ** max(0, attempts - 1)


def delivery_attempt(*, delivery_id: int) -> int | None:
    """Send delivery `delivery_id` if it is pending and due. Returns the seconds until its next
    attempt when this one failed and it will be retried, else None (sent, failed for good, or
    not due: another worker holds it, or it is waiting for its back-off).

    The claim is short: the row is locked (SKIP LOCKED), its attempt counted and its next
    attempt moved a lease ahead, and committed before anything is sent, so no transaction
    stays open across the network and a worker dying mid-send leaves a row the sweep takes
    once the lease is over."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            NotificationDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("notification__recipient", "endpoint", "digest__user")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        if delivery.endpoint_id is not None and not delivery.endpoint.active:
            # The office switched the gateway off: what was waiting for it is not posted.
            NotificationDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, last_error="endpoint switched off"
            )
            return None
        delivery.attempts += 1
        delivery.last_attempt_at = now
        lease = _setting("WEBHOOK_TIMEOUT_SECONDS") + LEASE_SECONDS
        delivery.next_attempt_at = now + dt.timedelta(seconds=lease)
        delivery.save(update_fields=["attempts", "last_attempt_at", "next_attempt_at"])
    try:
        status = _send(delivery)
    except channels.DeliveryError as exc:
        return _failed(delivery, error=str(exc), status=exc.status)
    except Exception as exc:  # a bug must not leave the row leased forever: count it
        logger.exception("notification delivery %s failed", delivery.pk)
        return _failed(delivery, error=f"{type(exc).__name__}: {exc}"[: channels.ERROR_MAX])
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), response_status=status, last_error=""
    )
    return None


def _send(delivery) -> int | None:
    if delivery.digest_id is not None:
        notifications = list(delivery.digest.notifications.order_by("created_at", "pk"))
        channels.digest_email_send(delivery.digest, notifications)
        return None
    notification = delivery.notification
    if delivery.channel == Channel.EMAIL:
        channels.notification_email_send(notification)
        return None
    body = channels.webhook_body(delivery, notification)
    return channels.webhook_post(
        delivery.endpoint, body=body, event=notification.kind, delivery_id=delivery.pk
    )


def _failed(delivery, *, error: str, status: int | None = None) -> int | None:
    fields = {"last_error": error, "response_status": status}
    if delivery.attempts >= _setting("NOTIFY_MAX_ATTEMPTS"):
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, **fields
        )
        return None
    delay = backoff_seconds(delivery.attempts)
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay), **fields
    )
    return delay


@transaction.atomic
def deliveries_claim_due(*, now=None) -> list[int]:
    """Pending deliveries due for longer than the grace (their queued message was lost, or
    their back-off was longer than a countdown may be): their ids, to queue after commit."""
    now = now or timezone.now()
    due = now - dt.timedelta(seconds=_setting("NOTIFY_SWEEP_GRACE_SECONDS"))
    return list(
        NotificationDelivery.objects.select_for_update(skip_locked=True)
        .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=due)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )


# --- The daily digest -------------------------------------------------------------------------


@transaction.atomic
def digests_send_due(*, now=None) -> int:
    """Make today's digest of every user whose digest hour is the current local hour and who
    has notifications waiting for it; how many digests were made. Once per user and day
    (Digest's key): the beat may run this every 15 minutes. A user with no e-mail address
    gets the digest row (the notifications are marked carried) and no message."""
    advisory_xact_lock("notifications:digests")
    now = now or timezone.now()
    local = timezone.localtime(now)
    today, hour = local.date(), local.hour
    waiting = (
        Notification.objects.filter(in_digest=True, digest__isnull=True)
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    users = list(
        User.objects.filter(pk__in=waiting, is_active=True)
        .exclude(notification_digests__date=today)
        .select_related("notification_profile")
        .order_by("pk")
    )
    made = []
    for user in users:
        profile = getattr(user, "notification_profile", None)
        if digest_hour_of(profile.digest_hour if profile else None) != hour:
            continue
        made.append(Digest(user=user, date=today, created_at=now))
    if not made:
        return 0
    made = Digest.objects.bulk_create(made)
    for digest in made:
        digest.count = Notification.objects.filter(
            recipient=digest.user, in_digest=True, digest__isnull=True
        ).update(digest=digest)
    Digest.objects.bulk_update(made, ["count"])
    _queue(
        NotificationDelivery.objects.bulk_create(
            _delivery(digest=digest, channel=Channel.EMAIL, now=now)
            for digest in made
            if digest.user.email and digest.count
        )
    )
    return len(made)
