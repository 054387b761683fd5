"""Transaction-scoped advisory locks: serialise work on one key without a row to lock."""

import zlib

from django.db import connection


def advisory_xact_lock(name: str) -> None:
    """Wait for, then hold until the end of the current transaction, the lock named `name`.

    Two builds of one date, or two alert refreshes, at once would interleave their upserts;
    taking the same named lock first makes the second wait for the first to commit.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
