"""Celery jobs of the reports app. Each takes plain values, calls a service, owns its retries."""

import datetime as dt
import logging

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.db import DatabaseError, OperationalError

from supplycoord.lib.dates import local_today

from . import alerts, services, spotchecks

logger = logging.getLogger(__name__)

# A national build takes about a second (bench/README.md); minutes mean it is stuck (waiting
# on a lock, say). The soft limit raises in the task, which records the failure; the hard one
# kills the process, and the outbox row left pending is the sweep's. Both stay far below the
# broker's visibility timeout (settings.py), so a running build is never delivered twice.
BUILD_SOFT_TIME_LIMIT = 4 * 60
BUILD_TIME_LIMIT = 5 * 60
BUILD_MAX_RETRIES = 5


def _retry_countdown(retries: int) -> int:
    # 2, 4, 8 … s with full jitter, at most 10 minutes: the database back after a restart.
    return get_exponential_backoff_interval(
        factor=2, retries=retries, maximum=600, full_jitter=True
    )


def _build(date: str, *, if_requested: bool = False, task=None) -> dict:
    """Build `date`, then clear its outbox row unless it was requested again meanwhile.

    An OperationalError (the database restarting, a dropped connection) is retried by `task`
    with back-off; once retries run out, or on any other error, the row is marked failed with
    the error, for the overview to show and the sweep to retry later.
    """
    day = dt.date.fromisoformat(date)
    seen = services.snapshot_rebuild_seen(date=day)
    if if_requested and seen is None:
        # Queued for a request an earlier build has already covered (and cleared).
        return {"date": date, "skipped": True}
    try:
        build = services.snapshot_build_for_date(date=day)
    except OperationalError as exc:
        if task is not None and task.request.retries < task.max_retries:
            raise task.retry(exc=exc, countdown=_retry_countdown(task.request.retries)) from exc
        _record_failure(day, seen, exc)
        raise
    except Exception as exc:
        _record_failure(day, seen, exc)
        raise
    services.snapshot_rebuild_clear(date=day, seen=seen)
    return {"date": date, "rows": build.rows, "duration_ms": build.duration_ms}


def _record_failure(day: dt.date, seen, exc: BaseException) -> None:
    try:
        services.snapshot_rebuild_fail(date=day, seen=seen, error=f"{type(exc).__name__}: {exc}")
    except DatabaseError:
        # The database is what failed: the row stays pending, and the sweep will find it.
        logger.exception("Could not record the failed snapshot build of %s", day)


@shared_task(
    bind=True,
    max_retries=BUILD_MAX_RETRIES,
    soft_time_limit=BUILD_SOFT_TIME_LIMIT,
    time_limit=BUILD_TIME_LIMIT,
    name="reports.tasks.snapshot_build_for_date",
)
def snapshot_build_for_date(self, date: str, if_requested: bool = False) -> dict:
    """Build one date. `if_requested`: only if its outbox row is still there (queued by the
    outbox, which a build may have cleared since)."""
    return _build(date, if_requested=if_requested, task=self)


@shared_task(
    soft_time_limit=BUILD_SOFT_TIME_LIMIT,
    time_limit=BUILD_TIME_LIMIT,
    name="reports.tasks.snapshot_build_today",
)
def snapshot_build_today() -> dict:
    """The daily scheduled build, run by beat after the reporting cut-off.

    The request is recorded (and committed) first: if this worker dies mid-build, the sweep
    builds the date within minutes instead of the broker redelivering it after its visibility
    timeout. A failure is recorded and retried by the sweep, not here.
    """
    today = local_today()
    services.snapshot_rebuilds_request(dates=[today], queue=False)
    return _build(today.isoformat())


@shared_task(
    soft_time_limit=50,
    time_limit=60,
    name="reports.tasks.snapshot_rebuilds_sweep",
)
def snapshot_rebuilds_sweep() -> dict:
    """Every few minutes (beat): queue again the rebuilds that lost or failed jobs left."""
    return {"queued": [day.isoformat() for day in services.snapshot_rebuilds_claim()]}


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    soft_time_limit=BUILD_SOFT_TIME_LIMIT,
    time_limit=BUILD_TIME_LIMIT,
    name="reports.tasks.decisions_refresh_for_date",
)
def decisions_refresh_for_date(self, date: str) -> dict:
    """After a snapshot build: the date's spot-check flags, then the shortage alerts."""
    day = dt.date.fromisoformat(date)
    flags = spotchecks.spot_checks_compute_for_date(date=day)
    return {"date": date, "flags": len(flags), **alerts.alerts_refresh(date=day)}
