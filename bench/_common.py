"""What every benchmark here needs: a throwaway PostgreSQL database, a timer, and fast loading
of an empty table. Shared by bench/snapshot.py, bench/ledger.py, bench/ledger_export.py,
bench/proposal.py, bench/national.py and bench/pages.py."""

import contextlib
import os
import sys
import time
from urllib.parse import urlsplit, urlunsplit


def usage_error(message):
    print(f"bench/{os.path.basename(sys.argv[0])}: {message}", file=sys.stderr)
    sys.exit(2)


def prepare_database(default_db, *, keep_existing=False):
    """Return (DATABASE_URL, created): a PostgreSQL URL, and whether we created the database.

    With DATABASE_URL set it must be PostgreSQL and is used as it is; without it a throwaway
    database `default_db` is (re)created on 127.0.0.1 as user postgres. With `keep_existing`
    an existing `default_db` is kept as it is (created is then False), for a benchmark that
    reuses the data an earlier run left.
    """
    import psycopg2

    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        if urlsplit(url).scheme not in ("postgres", "postgresql", "pgsql", "postgis"):
            usage_error("DATABASE_URL must be a PostgreSQL URL (postgres://...)")
        return url, False
    url = f"postgres://postgres@127.0.0.1:5432/{default_db}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    created = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [default_db])
        if keep_existing and cursor.fetchone():
            created = False
        else:
            cursor.execute(f"DROP DATABASE IF EXISTS {default_db} WITH (FORCE)")
            cursor.execute(f"CREATE DATABASE {default_db}")
    admin.close()
    return url, created


def drop_database(url):
    import psycopg2

    name = urlsplit(url).path.lstrip("/")
    admin = psycopg2.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def timed(label):
    class Timer:
        def __enter__(self):
            self.started = time.perf_counter()
            return self

        def __exit__(self, *exc):
            self.seconds = time.perf_counter() - self.started
            if label:
                print(f"  {label}: {self.seconds:.2f} s", flush=True)

    return Timer()


@contextlib.contextmanager
def without_indexes(cursor, table):
    """Load an empty table 4x faster: drop its secondary indexes and unique constraints, skip
    the foreign-key triggers (superuser only; the generated rows are valid by construction),
    then put every index and constraint back exactly as its definition was."""
    from django.db import transaction

    cursor.execute("SELECT count(*) FROM (SELECT 1 FROM " + table + " LIMIT 1) AS t")
    if cursor.fetchone()[0]:
        yield  # not empty: load it as it is
        return
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u'",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    superuser = cursor.fetchone()[0]
    with transaction.atomic():
        for name, _definition in constraints:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary",
            [table],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = replica")
        yield
        if superuser:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cursor.execute(definition)
