"""The one way a page keeps a costly, derived value between requests: `cached(key, compute)`.

Keys are made from everything the value depends on, read from the database on each request
(a build's `version`, the names on the register), never invalidated by hand: with several web
processes and machines there is no process that could tell all the others. A changed input
makes a new key; the old entry expires.

The cache is Django's (Redis with REDIS_URL, else each process's memory). A cache that does
not answer (Redis restarting) costs time, never the page: the value is computed and the error
logged.
"""

import datetime as dt
import hashlib
import logging
import uuid
from decimal import Decimal

from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

logger = logging.getLogger(__name__)

# A day: a date's values are read all day and rebuilt about once a day.
DEFAULT_TIMEOUT = 24 * 3600


def cache_key(prefix: str, *parts) -> str:
    """`prefix` and a SHA-256 of the parts' repr: any length of parts, a key of fixed size."""
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"{prefix}:{digest}"


def cached(key: str, compute, timeout: int = DEFAULT_TIMEOUT):
    """The value stored under `key`, or `compute()` stored there and returned."""
    try:
        value = cache.get(key)
    except Exception:  # noqa: BLE001 - the page goes on without its cache
        logger.warning("cache unavailable, computing %s", key.split(":")[0], exc_info=True)
        return compute()
    if value is not None:
        return value
    value = compute()
    try:
        cache.set(key, value, timeout)
    except Exception:  # noqa: BLE001
        logger.warning("cache unavailable, not storing %s", key.split(":")[0], exc_info=True)
    return value


# What a cached_render context may hold: values whose repr says all a template can read of
# them. Not str subclasses (a SafeString renders unescaped, with the repr of a str), not lazy
# translations (their repr is an address), not model instances (their repr is a name).
_PLAIN = (str, int, float, bool, type(None), Decimal, dt.date, dt.datetime, dt.time, uuid.UUID)


def _check_plain(value, where="context"):
    kind = type(value)
    if kind in _PLAIN:
        return
    if kind in (list, tuple):
        for n, part in enumerate(value):
            _check_plain(part, f"{where}[{n}]")
        return
    if kind is dict:
        for name, part in value.items():
            if type(name) is not str:
                raise TypeError(f"{where}: key {name!r} is not a str")
            _check_plain(part, f"{where}[{name!r}]")
        return
    raise TypeError(f"{where} is a {kind.__name__}: a cached rendering needs plain values")


# A live fragment's rendering: its rows change during the day and each change is a new key;
# one not asked for in an hour is left to expire.
RENDER_TIMEOUT = 3600


def cached_render(template_name: str, context: dict, timeout: int = RENDER_TIMEOUT) -> SafeString:
    """`template_name` rendered with `context`, kept under a key made of the context itself
    (with the template, the active language and the URL prefix): the same values are rendered
    once, any other value is another key, so a fragment is never older than what it shows.

    For fragments a page renders on every request from a few live rows (the overview's lists):
    the rows are read each time, the template runs only when they change. The context must
    hold plain values only (_PLAIN, in lists, tuples and dicts; TypeError otherwise), and the
    template may read nothing else: no request, no CSRF token, no user, no clock.
    """
    _check_plain(context)
    key = cache_key(f"render:{template_name}", get_language(), get_script_prefix(), context)
    html = cached(key, lambda: render_to_string(template_name, context), timeout)
    # Rendered by our own template (escaped there): safe, also after a trip through the cache.
    return mark_safe(html)  # noqa: S308
