"""Celery jobs of the shared core: background exports (supplycoord/exports.py). Each takes
ids, calls the code that does the work, and is safe to run twice."""

from celery import shared_task

from . import exports


# acks_late (the project default, settings.CELERY_TASK_ACKS_LATE) spelled out: the message
# is acknowledged only when the export is written, so a killed worker's job is redelivered;
# the job row in the database is the truth either way, and the sweep below queues it again.
@shared_task(name="supplycoord.tasks.export_job_run", acks_late=True)
def export_job_run(job_id: int) -> None:
    """Write the file of one background export (an ExportJob)."""
    exports.export_job_run(job_id)


@shared_task(name="supplycoord.tasks.export_jobs_sweep", acks_late=True)
def export_jobs_sweep() -> int:
    """Queue again the exports a dead worker or a lost message left queued or running."""
    return exports.export_jobs_requeue_stale()


@shared_task(name="supplycoord.tasks.export_jobs_expire", acks_late=True)
def export_jobs_expire() -> int:
    """Delete the files of expired exports and mark their rows expired."""
    return exports.export_jobs_expire()


# Notifications' jobs (issue 16) live with their package; importing them here registers them
# with the worker's autodiscovery, which reads each app's `tasks` module.
from .notifications import tasks as notification_tasks  # noqa: E402, F401
