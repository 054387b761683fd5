"""Celery jobs of allocation. Each takes plain values and calls the code that does the work."""

from celery import shared_task

from . import exports


@shared_task(name="allocation.tasks.ledger_export_xlsx")
def ledger_export_xlsx(job_id: str) -> None:
    """A large allocation ledger as .xlsx, written for the user who asked (see exports.py)."""
    exports.job_run(job_id)


@shared_task(name="allocation.tasks.exports_cleanup")
def exports_cleanup() -> int:
    """Remove ledger export files older than SUPPLYCOORD["EXPORT_KEEP_HOURS"]."""
    return exports.exports_cleanup()
