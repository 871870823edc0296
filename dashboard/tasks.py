"""The dashboard's long work: CSV imports of contacts."""

from celery import shared_task

from leadhub.tenancy import object_scope

from .imports import contact_import_run as run
from .models import ContactImport


@shared_task(name="dashboard.tasks.contact_import_run", acks_late=True, ignore_result=True)
def contact_import_run(import_id: str) -> None:
    """Idempotent: a redelivered task goes on after the last committed batch."""
    with object_scope(ContactImport, import_id):
        run(import_id=import_id)
