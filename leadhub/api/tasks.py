"""Periodic upkeep of the API plumbing."""

from celery import shared_task

from . import idempotency


@shared_task(name="leadhub.api.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    return idempotency.purge_expired()
