"""Celery jobs of the reports app. Each takes plain values, calls a service, owns its retries."""

import datetime as dt

from celery import shared_task
from django.db import OperationalError

from supplycoord.lib.dates import local_today

from . import alerts, services, spotchecks


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    name="reports.tasks.snapshot_build_for_date",
)
def snapshot_build_for_date(self, date: str) -> dict:
    build = services.snapshot_build_for_date(date=dt.date.fromisoformat(date))
    return {"date": date, "rows": build.rows, "duration_ms": build.duration_ms}


@shared_task(name="reports.tasks.snapshot_build_today")
def snapshot_build_today() -> dict:
    """The daily scheduled build, run by beat after the reporting cut-off."""
    return snapshot_build_for_date.run(local_today().isoformat())


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    name="reports.tasks.decisions_refresh_for_date",
)
def decisions_refresh_for_date(self, date: str) -> dict:
    """After a snapshot build: the date's spot-check flags, then the shortage alerts."""
    day = dt.date.fromisoformat(date)
    flags = spotchecks.spot_checks_compute_for_date(date=day)
    return {"date": date, "flags": len(flags), **alerts.alerts_refresh(date=day)}
