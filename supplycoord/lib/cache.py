"""The one way a page keeps a costly, derived value between requests: `cached(key, compute)`.

Keys are made from everything the value depends on, read from the database on each request
(a build's `version`, the names on the register), never invalidated by hand: with several web
processes and machines there is no process that could tell all the others. A changed input
makes a new key; the old entry expires.

The cache is Django's (Redis with REDIS_URL, else each process's memory). A cache that does
not answer (Redis restarting) costs time, never the page: the value is computed and the error
logged.
"""

import hashlib
import logging

from django.core.cache import cache

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
