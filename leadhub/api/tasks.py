"""Periodic upkeep of the API plumbing."""

from celery import shared_task

from leadhub.tenancy import operator_scope

from . import idempotency


@shared_task(name="leadhub.api.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    with operator_scope("beat_sweep"):
        return idempotency.purge_expired()
