"""API token authentication that records when each token was last used.

The admin's token list shows it, so an office can see which integrations still call the API
before revoking a token. The write is throttled to once a minute per token: an import client
sending thousands of calls must not turn every read into a write.
"""

import datetime as dt

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import TokenUsage

RECORD_USE_EVERY = dt.timedelta(minutes=1)


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's `Authorization: Token <key>`, plus `TokenUsage.last_used_at`."""

    def authenticate_credentials(self, key):
        # DRF's own lookup, with the usage row joined in: a recent use costs no extra query.
        model = self.get_model()
        try:
            token = model.objects.select_related("user", "usage").get(key=key)
        except model.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token_record_use(token)
        return token.user, token


def token_record_use(token, *, now=None):
    """Set the token's last use to now, unless it was recorded less than a minute ago."""
    now = now or timezone.now()
    usage = getattr(token, "usage", None)
    if usage is not None and now - usage.last_used_at < RECORD_USE_EVERY:
        return
    try:
        # One statement whether or not a row exists yet (INSERT … ON CONFLICT DO UPDATE). API
        # views authenticate in autocommit, so the statement is its own transaction.
        TokenUsage.objects.bulk_create(
            [TokenUsage(token=token, last_used_at=now)],
            update_conflicts=True,
            unique_fields=["token"],
            update_fields=["last_used_at"],
        )
    except IntegrityError:
        # The token was revoked between the lookup and this write: this call still goes
        # through (it was authenticated a moment ago); the next one gets 401.
        return
    token.usage = TokenUsage(token=token, last_used_at=now)
