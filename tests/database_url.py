"""The URL of the test database, for a worker or interpreter a test starts in a subprocess."""

from urllib.parse import quote


def database_url(settings_dict) -> str:
    """`DATABASE_URL` for Django's connection settings. The embedded server listens on a Unix
    socket: its folder goes in the host part percent-encoded, as dj-database-url reads it."""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    if host.startswith("/"):
        host, port = quote(host, safe=""), ""
    user = quote(settings_dict["USER"] or "", safe="")
    password = quote(settings_dict["PASSWORD"] or "", safe="")
    return f"postgres://{user}:{password}@{host}{port}/{settings_dict['NAME']}"
