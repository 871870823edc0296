"""The Celery application: configured from Django settings (CELERY_*), tasks found in every app."""

import gc
import logging.config
import os
from pathlib import Path

from celery import Celery
from celery.signals import beat_init, setup_logging, task_postrun, task_prerun, worker_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadhub.settings")

app = Celery("leadhub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _django_logging(**kwargs) -> None:
    # Celery's own logging would replace Django's (its --loglevel, its format); with a receiver
    # here it leaves logging alone, so LOG_LEVEL and settings.LOGGING rule the worker and beat
    # as they rule the web.
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def _database_connections_as_for_a_request(**kwargs) -> None:
    # What Django does at the start and end of each request: reuse the connection up to
    # DATABASE_CONN_MAX_AGE, drop a broken or expired one, health-check it before reuse.
    from django.db import close_old_connections

    close_old_connections()


# Each task starts with no tenancy scope (row-level security, leadhub/tenancy.py) and declares
# its own: tenant_scope(workspace_id) for a workspace's work, operator_scope(...) for a sweep.
# The scope found is back when it ends (an eager task inside a request, in tests).
_scopes_found: dict[str, list] = {}


@task_prerun.connect
def _tenancy_cleared(task_id=None, **kwargs) -> None:
    from leadhub import tenancy

    _scopes_found.setdefault(task_id, []).append(tenancy.wanted())
    tenancy.enter_none()


@task_postrun.connect
def _tenancy_restored(task_id=None, **kwargs) -> None:
    from leadhub import tenancy

    found = _scopes_found.get(task_id)
    if found:
        tenancy.restore(found.pop())
        if not found:
            del _scopes_found[task_id]


def _mark_ready(name: str) -> None:
    # `make run`'s banner waits for these files (LEADHUB_RUN_DIR is set by make run only).
    from django.conf import settings

    if settings.RUN_DIR:
        try:
            Path(settings.RUN_DIR).mkdir(parents=True, exist_ok=True)
            Path(settings.RUN_DIR, f"{name}.ready").write_text(str(os.getpid()))
        except OSError:
            pass


@worker_ready.connect
def _worker_ready(**kwargs) -> None:
    # What start-up loaded stays for the life of the process: kept out of the collector, so no
    # collection walks it, and the interpreter's exit (a warm shutdown) is seconds shorter.
    gc.freeze()
    _mark_ready("worker")


@beat_init.connect
def _beat_ready(**kwargs) -> None:
    _mark_ready("beat")


@worker_init.connect
@beat_init.connect
def _unpooled(**kwargs) -> None:
    # Before anything connects (connected before _role_checked, so run first): Celery's
    # processes keep one connection per thread or prefork child, as without the pool
    # (leadhub/pool.py: a task holds its connection throughout, and a pool's threads would
    # not survive a prefork child's fork).
    from leadhub.pool import pool_off

    pool_off()


@worker_init.connect
@beat_init.connect
def _role_checked(**kwargs) -> None:
    # Refuse to run on a database role that would void row-level security (README). Celery
    # logs and swallows an exception from a signal handler, so the refusal is a SystemExit.
    from django.core.exceptions import ImproperlyConfigured

    from leadhub.postgresql import rls

    try:
        rls.role_check_at_start()
    except ImproperlyConfigured as exc:
        logging.getLogger("leadhub.tenancy").critical("%s", exc)
        raise SystemExit(f"{exc}") from None
