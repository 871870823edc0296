"""The Celery application: configured from Django settings (CELERY_*), tasks found in every app."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

app = Celery("leadhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_for_a_request(**kwargs) -> None:
    # What Django does at the start and end of each request: reuse the connection up to
    # DATABASE_CONN_MAX_AGE, drop a broken or expired one, health-check it before reuse.
    from django.db import close_old_connections

    close_old_connections()
