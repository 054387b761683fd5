"""The one settings module is driven by the environment: with nothing set it is the embedded
PostgreSQL + eager-Celery app, with DATABASE_URL and REDIS_URL the PostgreSQL + Redis deployment.

Environment-driven behaviour is read in a fresh interpreter (settings are evaluated once per
process), with a clean environment holding only what each test sets.
"""

import ast
import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from supplycoord.lib.dates import cutoff_time

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT_TASK = "reports.tasks.snapshot_build_today"

PRODUCTION_DATABASE_URL = "postgres://supplycoord:db-password@postgres:5432/supplycoord"
PRODUCTION_REDIS_URL = "redis://redis:6379/0"

PROBE = """
import json
from django.conf import settings
from supplycoord.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": settings.DATABASES["default"]["NAME"],
    "db_host": settings.DATABASES["default"]["HOST"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_eager": app.conf.task_always_eager,
    "broker": app.conf.broker_url,
    "cache": settings.CACHES["default"]["BACKEND"],
}))
"""


def run_in_clean_env(args: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run `python <args>` in the project with only PATH, HOME and the given variables set."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "supplycoord.settings",
        **env,
    }
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def probe_settings(**env: str) -> dict:
    proc = run_in_clean_env(["-c", PROBE], **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def production_env() -> dict:
    """What an HTTPS production deployment sets (the same as .env.example's HTTPS block)."""
    return {
        "DEBUG": "False",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "supplycoord.example.gov.cn",
        "DATABASE_URL": PRODUCTION_DATABASE_URL,
        "REDIS_URL": PRODUCTION_REDIS_URL,
        "SESSION_COOKIE_SECURE": "True",
        "CSRF_COOKIE_SECURE": "True",
        "SECURE_SSL_REDIRECT": "True",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "SECURE_HSTS_PRELOAD": "True",
        "BEHIND_TLS_PROXY": "True",
    }


EMBEDDED_PROBE = """
import json
from django.conf import settings
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT current_setting('server_version_num')::int, current_database()")
    version, database = cursor.fetchone()
print(json.dumps({"version": version, "database": database}))
"""


@pytest.fixture(scope="module")
def embedded_pgdata(tmp_path_factory):
    """A data folder of its own, so the probes start (and then stop) a server of their own."""
    from supplycoord import embedded_db

    folder = tmp_path_factory.mktemp("embedded") / "pgdata"
    yield folder
    os.environ["EMBEDDED_PGDATA"] = str(folder)
    try:
        embedded_db.stop(ROOT)
    finally:
        del os.environ["EMBEDDED_PGDATA"]


@pytest.fixture(scope="module")
def embedded(embedded_pgdata):
    return probe_settings(EMBEDDED_PGDATA=str(embedded_pgdata))


@pytest.fixture(scope="module")
def deployed():
    return probe_settings(DATABASE_URL=PRODUCTION_DATABASE_URL, REDIS_URL=PRODUCTION_REDIS_URL)


def test_it_starts_its_own_postgresql_when_no_database_url_is_set(embedded, embedded_pgdata):
    """With no environment the app runs on the embedded PostgreSQL server, on a Unix socket in
    its data folder (no TCP port), and a second process reuses the running server."""
    assert embedded["engine"] == "django.db.backends.postgresql"
    assert embedded["db_name"] == "supplycoord"
    assert embedded["db_host"] == str(embedded_pgdata)
    assert (embedded_pgdata / "PG_VERSION").exists()
    pid = (embedded_pgdata / "postmaster.pid").read_text().splitlines()[0]

    proc = run_in_clean_env(["-c", EMBEDDED_PROBE], EMBEDDED_PGDATA=str(embedded_pgdata))

    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    assert answer["database"] == "supplycoord"
    assert answer["version"] >= 150000
    # The same server answered: it was reused, not started again.
    assert (embedded_pgdata / "postmaster.pid").read_text().splitlines()[0] == pid


def test_it_refuses_a_database_url_that_is_not_postgresql():
    """One engine: a DATABASE_URL of any other engine is a configuration error at start."""
    proc = run_in_clean_env(["-c", PROBE], DATABASE_URL="mysql://root@127.0.0.1:3306/supplycoord")

    assert proc.returncode != 0
    assert "DATABASE_URL must point at PostgreSQL" in proc.stderr


def test_it_runs_celery_eagerly_in_memory_when_no_redis_url_is_set(embedded):
    """Without Redis, tasks run in-process at once: no broker, no worker needed."""
    assert embedded["eager"] is True
    assert embedded["celery_eager"] is True
    assert embedded["broker"] == "memory://localhost/"
    assert embedded["cache"] == "django.core.cache.backends.locmem.LocMemCache"


def test_it_uses_postgresql_from_database_url(deployed):
    """DATABASE_URL=postgres://... selects the PostgreSQL backend and that database."""
    assert deployed["engine"] == "django.db.backends.postgresql"
    assert deployed["db_name"] == "supplycoord"


def test_it_queues_celery_tasks_on_redis_from_redis_url(deployed):
    """REDIS_URL makes Redis the broker and the cache, and tasks go to a real worker."""
    assert deployed["broker"] == PRODUCTION_REDIS_URL
    assert deployed["eager"] is False
    assert deployed["celery_eager"] is False
    assert deployed["cache"] == "django.core.cache.backends.redis.RedisCache"


def test_it_keeps_office_time_in_asia_shanghai_with_aware_datetimes():
    """Cut-offs and report dates are Beijing time; datetimes are stored time-zone aware."""
    assert settings.TIME_ZONE == "Asia/Shanghai"
    assert settings.USE_TZ is True
    assert settings.CELERY_TIMEZONE == "Asia/Shanghai"


def test_it_speaks_simplified_chinese_by_default_with_english_available():
    """The UI defaults to zh-hans, with English one switch away."""
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert {code for code, _name in settings.LANGUAGES} == {"zh-hans", "en"}
    assert settings.USE_I18N is True
    assert Path(settings.LOCALE_PATHS[0]) == ROOT / "locale"


def test_it_schedules_the_daily_snapshot_with_a_registered_task():
    """The beat schedule names the snapshot task, and a worker's autodiscovery registers it."""
    from supplycoord.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert SNAPSHOT_TASK in tasks
    assert tasks <= set(app.tasks)


def test_it_builds_the_daily_snapshot_every_day_after_the_cutoff():
    """Every scheduled snapshot build runs daily, and not before the reporting cut-off."""
    cutoff = cutoff_time()
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == SNAPSHOT_TASK]

    assert entries
    for entry in entries:
        schedule = entry["schedule"]
        assert schedule.day_of_week == set(range(7))
        assert schedule.day_of_month == set(range(1, 32))
        assert schedule.month_of_year == set(range(1, 13))
        assert (min(schedule.hour), min(schedule.minute)) > (cutoff.hour, cutoff.minute)


def test_it_passes_check_deploy_with_the_production_env():
    """`manage.py check --deploy --fail-level WARNING` is clean with the production settings."""
    proc = run_in_clean_env(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production_env()
    )

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no issues" in proc.stdout


def test_it_fails_check_deploy_with_the_development_defaults(embedded_pgdata):
    """With nothing set, check --deploy flags the dev secret key and the missing HTTPS settings,
    so forgetting the production env cannot pass unnoticed."""
    proc = run_in_clean_env(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        EMBEDDED_PGDATA=str(embedded_pgdata),
    )
    reported = set(re.findall(r"security\.W\d+", proc.stdout + proc.stderr))

    assert proc.returncode != 0
    assert {
        "security.W004",  # no HSTS
        "security.W008",  # no HTTPS redirect
        "security.W009",  # the development SECRET_KEY
        "security.W012",  # session cookie not secure
        "security.W016",  # CSRF cookie not secure
    } <= reported


def settings_env_vars() -> set[str]:
    """Names of the environment variables supplycoord/settings.py reads."""
    tree = ast.parse((ROOT / "supplycoord" / "settings.py").read_text(encoding="utf-8"))
    names = {"DATABASE_URL"}  # read by dj_database_url.config()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = ast.unparse(node.func)
        first = node.args[0]
        is_env_helper = isinstance(node.func, ast.Name) and func.startswith("env")
        if (is_env_helper or func in {"os.environ.get", "os.getenv"}) and isinstance(
            first, ast.Constant
        ):
            names.add(first.value)
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(ast.literal_eval(node.slice))
    return names


def test_it_documents_every_env_var_settings_reads_in_env_example():
    """Each variable settings.py reads has a line (set or commented out) in .env.example."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))

    assert settings_env_vars() - documented == set()
