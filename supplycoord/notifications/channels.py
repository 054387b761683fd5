"""The ways out: e-mail through Django's mail backend (EMAIL_BACKEND), and outbound webhooks,
a JSON POST signed with HMAC-SHA256, for an office's own SMS or messaging gateway.

Each sender words its message in the recipient's language (`User.language`, else the
site's) when it sends, and raises DeliveryError when the message did not get through; the
delivery service records the attempt and decides on the retry.

The webhook's body (UTF-8 JSON):
  {"delivery": 12, "attempt": 1, "sent_at": "2026-03-10T15:00:00+08:00",
   "event": "batch_awaiting_approval",
   "notification": {"id": 34, "created_at": "...", "title": "...", "body": "...",
                    "url": "https://…/allocation/batches/2026-058/", "params": {...}},
   "recipient": {"username": "...", "name": "...", "email": "...", "language": "zh-hans",
                 "role": "leadership"}}
with the headers X-SupplyCoord-Event, X-SupplyCoord-Delivery (the same id on every retry:
the gateway can drop a message it already has) and X-SupplyCoord-Signature:
"sha256=" + hex(HMAC-SHA256(secret, the exact body bytes)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..lib.numbers import grouped
from .kinds import render

SIGNATURE_HEADER = "X-SupplyCoord-Signature"
EVENT_HEADER = "X-SupplyCoord-Event"
DELIVERY_HEADER = "X-SupplyCoord-Delivery"
# Kept in last_error: enough to see what the gateway said.
ERROR_MAX = 500


class DeliveryError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


def language_of(user) -> str:
    return user.language or settings.LANGUAGE_CODE


def absolute(path: str) -> str:
    """A link of this site as the outside world reaches it (SUPPLYCOORD["SITE_URL"]); the
    bare path when no site address is set."""
    if not path:
        return ""
    return settings.SUPPLYCOORD["SITE_URL"].rstrip("/") + path


def signature(secret: str, body: bytes) -> str:
    """The value of X-SupplyCoord-Signature for `body`: how a gateway checks a message."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _footer() -> str:
    return _("Choose which notifications reach you, and how: %(url)s") % {
        "url": absolute(reverse("notifications:preferences"))
    }


def notification_email_send(notification) -> None:
    user = notification.recipient
    with translation.override(language_of(user)):
        title, body = render(notification.kind, notification.params)
        parts = [body]
        if notification.url:
            parts.append(absolute(notification.url))
        parts += ["", "—", _footer()]
        subject = _("SupplyCoord: %(title)s") % {"title": title}
        _send_mail(subject, "\n".join(parts), user.email)


def digest_email_send(digest, notifications) -> None:
    user = digest.user
    with translation.override(language_of(user)):
        lines = []
        for notification in notifications:
            title, body = render(notification.kind, notification.params)
            lines.append(f"• {title}")
            lines.append(f"  {body}")
            if notification.url:
                lines.append(f"  {absolute(notification.url)}")
        subject = _("SupplyCoord daily digest of %(date)s: %(count)s notifications") % {
            "date": digest.date.isoformat(),
            "count": grouped(len(notifications)),
        }
        _send_mail(subject, "\n".join([*lines, "", "—", _footer()]), user.email)


def _send_mail(subject, body, address) -> None:
    # A header is one line: a name from the data with a line break in it would make Django
    # refuse the message (BadHeaderError) at every attempt.
    subject = " ".join(subject.split())
    try:
        sent = send_mail(subject, body, None, [address])
    except Exception as exc:  # SMTP refusals, timeouts, a wrong host: all worth a retry
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:ERROR_MAX]) from exc
    if not sent:
        raise DeliveryError("the mail backend sent nothing")


def webhook_body(delivery, notification, *, now=None) -> bytes:
    user = notification.recipient
    with translation.override(language_of(user)):
        title, body = render(notification.kind, notification.params)
    payload = {
        "delivery": delivery.pk,
        "attempt": delivery.attempts,
        "sent_at": timezone.localtime(now or timezone.now()).isoformat(),
        "event": notification.kind,
        "notification": {
            "id": notification.pk,
            "created_at": timezone.localtime(notification.created_at).isoformat(),
            "title": title,
            "body": body,
            "url": absolute(notification.url),
            "params": notification.params,
        },
        "recipient": {
            "username": user.username,
            "name": user.get_full_name(),
            "email": user.email,
            "language": language_of(user),
            "role": user.effective_role,
        },
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A gateway answers; it does not send the signed body elsewhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def webhook_post(endpoint, *, body: bytes, event: str, delivery_id: int) -> int:
    """POST `body` to the endpoint, signed; its HTTP status when 2xx, else DeliveryError."""
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "SupplyCoord-Webhook/1",
            EVENT_HEADER: event,
            DELIVERY_HEADER: str(delivery_id),
            SIGNATURE_HEADER: signature(endpoint.secret, body),
        },
    )
    timeout = settings.SUPPLYCOORD["WEBHOOK_TIMEOUT_SECONDS"]
    try:
        with _opener.open(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        detail = exc.read(ERROR_MAX).decode("utf-8", "replace") if exc.fp else ""
        raise DeliveryError(
            f"HTTP {exc.code} {detail}".strip()[:ERROR_MAX], status=exc.code
        ) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{type(exc).__name__}: {reason}"[:ERROR_MAX]) from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}", status=status)
    return status
