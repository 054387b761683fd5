"""Notifications (issue 16): what a user is told, how each user wants to be told, and every
message sent out, as rows.

A `Notification` is one event for one recipient: its kind and params (names in both
languages, numbers, codes), worded when shown or sent, in the reader's language
(`kinds.render`). It shows in the user's list (the bell) when the user keeps the in-app
channel for its kind, and waits for the daily digest when the user chose the digest.
E-mail and the messaging gateway (outbound webhooks) are `NotificationDelivery` rows written
with the notification, in the same transaction: a delivery is queued after commit, retried
with back-off, and a beat sweep queues any a dead worker or a lost message left pending, so
nothing is lost between the event and the outside world.

The models belong to the core app (`supplycoord`); supplycoord/models.py imports them.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class Channel(models.TextChoices):
    IN_APP = "in_app", _("In the app (the bell)")
    EMAIL = "email", _("E-mail")
    WEBHOOK = "webhook", _("Messaging gateway (SMS, chat)")
    DIGEST = "digest", _("Daily digest e-mail")


# The channels a preference row switches on or off, in the order of the preferences page.
CHANNELS = (Channel.IN_APP, Channel.EMAIL, Channel.WEBHOOK, Channel.DIGEST)


class WebhookEndpoint(models.Model):
    """An office's gateway (SMS, a messaging app) that receives the notifications of the users
    who chose the gateway channel: a JSON POST signed with HMAC-SHA256 over the body with
    `secret` (header X-SupplyCoord-Signature: sha256=<hex>)."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # Never shown again once saved, never in the history.
    secret = models.CharField(_("signing secret"), max_length=128)
    # Kinds of notification sent to this endpoint; empty: every kind.
    kinds = models.JSONField(_("kinds of notification"), default=list, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def sends(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds


class Digest(models.Model):
    """One user's daily digest of one day: at most one (the key), whatever the beat does."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_digests",
    )
    date = models.DateField(_("date"))
    count = models.PositiveIntegerField(_("notifications"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("notification digest")
        verbose_name_plural = _("notification digests")
        ordering = ["-date", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="notification_digest_once_a_day")
        ]

    def __str__(self):
        return f"{self.user_id} {self.date}"


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=40)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    # A path of this site (the batch, the request, the entry page).
    url = models.CharField(_("link"), max_length=300, blank=True)
    # The prefecture the event is about, if any: the scope its recipients were checked against.
    prefecture = models.ForeignKey(
        "supplycoord.Prefecture",
        verbose_name=_("prefecture"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Events a job may find twice (a reminder, an overdue order) name themselves: one
    # notification per recipient and key.
    dedupe_key = models.CharField(_("key"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"))
    # Shown in the list and counted by the bell (the user keeps the in-app channel).
    in_app = models.BooleanField(_("in the app"), default=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Waits for the user's daily digest (the user chose the digest channel) until `digest`.
    in_digest = models.BooleanField(_("in the daily digest"), default=False)
    digest = models.ForeignKey(
        Digest,
        verbose_name=_("digest"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
    )

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedupe_key"],
                condition=~models.Q(dedupe_key=""),
                name="notification_once_per_key",
            )
        ]
        indexes = [
            # A user's list, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notification_list"),
            # The bell: a user's unread count is an index-only count of a few rows.
            models.Index(
                fields=["recipient"],
                condition=models.Q(in_app=True, read_at__isnull=True),
                name="notification_unread",
            ),
            # What the next digests carry.
            models.Index(
                fields=["recipient"],
                condition=models.Q(in_digest=True, digest__isnull=True),
                name="notification_digest_pending",
            ),
        ]

    def __str__(self):
        return f"{self.kind} → {self.recipient_id}"

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationPreference(models.Model):
    """How one user wants to hear of one kind of event. No row: the defaults
    (settings SUPPLYCOORD["NOTIFY_DEFAULT_CHANNELS"])."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preferences",
    )
    kind = models.CharField(_("kind"), max_length=40)
    in_app = models.BooleanField(Channel.IN_APP.label, default=True)
    email = models.BooleanField(Channel.EMAIL.label, default=False)
    webhook = models.BooleanField(Channel.WEBHOOK.label, default=False)
    digest = models.BooleanField(Channel.DIGEST.label, default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_once")
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}"

    def channels(self) -> frozenset:
        return frozenset(channel for channel in CHANNELS if getattr(self, channel))


class NotificationProfile(models.Model):
    """A user's choices beside the per-kind ones: the hour of the daily digest."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_profile",
    )
    # Local hour (Asia/Shanghai) at which the day's digest goes out.
    digest_hour = models.PositiveSmallIntegerField(
        _("digest hour"), validators=[MaxValueValidator(23)]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(digest_hour__lte=23), name="notification_digest_hour_0_23"
            )
        ]

    def __str__(self):
        return f"{self.user_id} {self.digest_hour}:00"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery status", "pending")
    SENT = "sent", pgettext_lazy("delivery status", "sent")
    FAILED = "failed", pgettext_lazy("delivery status", "failed")


class NotificationDelivery(models.Model):
    """One message to send: a notification by e-mail or to one webhook endpoint, or a day's
    digest by e-mail. Written with what it carries; sent by a Celery task queued after commit,
    retried with exponential back-off (`next_attempt_at`) until SUPPLYCOORD["NOTIFY_MAX_ATTEMPTS"]
    attempts have failed; a beat sweep queues what is due and was not picked up."""

    notification = models.ForeignKey(
        Notification,
        verbose_name=_("notification"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    digest = models.ForeignKey(
        Digest,
        verbose_name=_("digest"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    channel = models.CharField(
        pgettext_lazy("notification", "channel"), max_length=16, choices=Channel.choices
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("webhook endpoint"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"))
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    last_attempt_at = models.DateTimeField(_("last attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(notification__isnull=False, digest__isnull=True)
                | models.Q(notification__isnull=True, digest__isnull=False),
                name="delivery_of_a_notification_or_a_digest",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel="webhook") | models.Q(endpoint__isnull=False),
                name="delivery_webhook_has_endpoint",
            ),
        ]
        indexes = [
            # The sweep's claim: pending deliveries by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_due",
            )
        ]

    def __str__(self):
        return f"{self.channel} {self.pk} ({self.status})"
