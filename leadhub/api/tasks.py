"""Periodic upkeep of the API plumbing."""

from celery import shared_task

from leadhub.tenancy import operator_scope, tenant_scope

from . import idempotency


@shared_task(name="leadhub.api.tasks.idempotency_keys_purge")
def idempotency_keys_purge() -> int:
    with operator_scope("beat_sweep"):  # only the find crosses workspaces
        workspaces = idempotency.expired_workspaces()
    deleted = 0
    for workspace_id in workspaces:
        with tenant_scope(workspace_id):
            deleted += idempotency.purge_expired(workspace_id=workspace_id)
    return deleted
