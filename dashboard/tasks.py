"""The dashboard's long work: CSV imports of contacts."""

from celery import shared_task

from .imports import contact_import_run as run


@shared_task(name="dashboard.tasks.contact_import_run", acks_late=True, ignore_result=True)
def contact_import_run(import_id: str) -> None:
    """Idempotent: a redelivered task goes on after the last committed batch."""
    run(import_id=import_id)
