"""Login throttling with django-axes: the client's address, and two limits.

Axes counts failed logins per parameter set (AXES_LOCKOUT_PARAMETERS) but compares the
largest count with a single AXES_FAILURE_LIMIT. An address's count is never below the count of
one username at that address, so with stock axes "username at an address" and "an address"
would share one limit, and a prefecture office behind one NAT address would be locked out as
soon as its staff together mistyped AXES_FAILURE_LIMIT passwords. `LoginThrottleHandler` gives
the address alone its own, higher limit (LOGIN_FAILURE_LIMIT_PER_IP), which is what stops
password spraying: many usernames, a few common passwords each, from one address.

Behind a reverse proxy REMOTE_ADDR is the proxy's address, so the client's address is read
from the header the proxy sets (TRUSTED_PROXY_HEADER), counting TRUSTED_PROXY_COUNT entries
from its right end: each proxy appends the address it was reached from, so everything to the
left of that is whatever the client chose to send. Without that setting the header is never
read, and a forged X-Forwarded-For changes nothing.
"""

import ipaddress

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from django.conf import settings
from django.db.models import Sum


def client_ip_address(request) -> str | None:
    """The client's address for axes (AXES_CLIENT_IP_CALLABLE)."""
    remote_addr = request.META.get("REMOTE_ADDR")
    header = settings.TRUSTED_PROXY_HEADER
    if not header:
        return remote_addr
    meta_key = header.upper().replace("-", "_")
    if not meta_key.startswith("HTTP_"):
        meta_key = f"HTTP_{meta_key}"
    hops = [hop.strip() for hop in request.META.get(meta_key, "").split(",") if hop.strip()]
    if len(hops) < settings.TRUSTED_PROXY_COUNT:
        # Fewer entries than trusted proxies: the request did not come through all of them
        # (or the header was forged on the way in). The peer is the only address known.
        return remote_addr
    candidate = hops[-settings.TRUSTED_PROXY_COUNT]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


class LoginThrottleHandler(AxesDatabaseHandler):
    """Locks a username at an address after AXES_FAILURE_LIMIT failures, and an address
    (whatever usernames it tries) after LOGIN_FAILURE_LIMIT_PER_IP failures.

    Needs AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"], in that order.
    """

    def get_failures(self, request, credentials=None) -> int:
        pair, address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        # Axes compares this number with the pair's limit. The address's count is scaled to it:
        # address * pair_limit // address_limit reaches pair_limit exactly when address reaches
        # address_limit, so the comparison axes makes is "pair ≥ its limit or address ≥ its".
        pair_limit = get_failure_limit(request, credentials)
        address_limit = max(settings.LOGIN_FAILURE_LIMIT_PER_IP, 1)
        return max(pair, address * pair_limit // address_limit)

    def reset_user_attempts(self, request, credentials=None) -> int:
        # A successful login clears that user's failures at that address only. Clearing the
        # whole address (axes' default with "ip_address" among the parameters) would let anyone
        # with one valid account wipe the count of a spraying run from the same address.
        pair_attempts = self.filter_user_attempts(request, credentials)[0]
        count, _ = pair_attempts.delete()
        return count
