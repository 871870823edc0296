"""Endpoint health (SPEC §6), from the outcomes of a flush of attempts: successes restart the
clock, an endpoint failing for 5 days is disabled and its admins told, 410 Gone disables an
endpoint or unsubscribes a REST hook, and an endpoint that keeps timing out is backed off as a
whole (no claims until `backoff_until`, then one probe at a time), so that it cannot hold its
workspace's share of the engine with attempts that each take the full deadline."""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import Delivery, Endpoint
from ..notifications import admins_tell_endpoint_disabled
from ..transport.http import Result

logger = logging.getLogger("webhooks.engine")

DISABLE_AFTER_FAILING = timedelta(days=5)
# last_success_at is refreshed at most this often, so that a busy endpoint's row is not
# written on every delivery.
SUCCESS_MARK_GRANULARITY = timedelta(minutes=1)
# Timeouts in a row after which the endpoint is backed off, and the backoff: doubling from
# the first to the last.
BACKOFF_AFTER_TIMEOUTS = 3
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=10)


def backoff_for(timeouts_in_row: int) -> timedelta:
    doublings = max(0, timeouts_in_row - BACKOFF_AFTER_TIMEOUTS)
    return min(BACKOFF_FIRST * (2 ** min(doublings, 10)), BACKOFF_MAX)


def endpoint_remove(*, endpoint_id, workspace_id) -> None:
    """Delete an endpoint with its deliveries and attempts, inside the caller's transaction."""
    # Lock the deliveries first (in key order, as the engine's flush does): a worker recording
    # an attempt holds its deliveries' rows, so this waits for it to commit and then deletes
    # its attempt too; a worker that records later finds the delivery gone and records nothing.
    list(
        Delivery.objects.filter(endpoint_id=endpoint_id).order_by("pk").select_for_update().values_list("pk", flat=True)
    )
    Endpoint.objects.filter(pk=endpoint_id, workspace_id=workspace_id).delete()


def endpoints_observe(*, outcomes: dict[Endpoint, list[Result]], now) -> None:
    """Update each endpoint's health from this flush's results (in the flush's transaction)."""
    for endpoint, results in outcomes.items():
        if any(result.status_code == 410 for result in results):
            _endpoint_gone(endpoint=endpoint)
            continue
        if any(result.ok for result in results):
            _mark_success(endpoint=endpoint, now=now)
        else:
            _mark_failure(endpoint=endpoint, now=now)
        _observe_timeouts(endpoint=endpoint, results=results, now=now)


def _mark_success(*, endpoint: Endpoint, now) -> None:
    recent = endpoint.last_success_at is not None and now - endpoint.last_success_at < SUCCESS_MARK_GRANULARITY
    if endpoint.failing_since is None and recent:
        return
    Endpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, failing_since=None)


def _mark_failure(*, endpoint: Endpoint, now) -> None:
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER_FAILING:
        endpoint_disable(endpoint=endpoint, reason="Every delivery failed for 5 days.")


def _observe_timeouts(*, endpoint: Endpoint, results: list[Result], now) -> None:
    # Only what came after the last answer counts: an answer (any status) ends the run.
    trailing = 0
    for result in results:
        trailing = trailing + 1 if result.timed_out else 0
    answered = any(not result.timed_out for result in results)
    if answered and trailing == 0:
        if endpoint.timeouts_in_row or endpoint.backoff_until:
            Endpoint.objects.filter(pk=endpoint.pk).update(timeouts_in_row=0, backoff_until=None)
        return
    in_row = trailing if answered else endpoint.timeouts_in_row + trailing
    fields = {"timeouts_in_row": in_row}
    if in_row >= BACKOFF_AFTER_TIMEOUTS:
        fields["backoff_until"] = now + backoff_for(in_row)
        logger.warning(
            "Webhook endpoint %s (%s) timed out %d times in a row: no attempts until %s",
            endpoint.pk,
            endpoint.url,
            in_row,
            fields["backoff_until"].isoformat(),
        )
    Endpoint.objects.filter(pk=endpoint.pk).update(**fields)


def _endpoint_gone(*, endpoint: Endpoint) -> None:
    """The target answered 410 Gone: a REST hook is unsubscribed, an endpoint disabled."""
    if endpoint.is_rest_hook:
        endpoint_remove(endpoint_id=endpoint.pk, workspace_id=endpoint.workspace_id)
        logger.info("REST hook %s answered 410 Gone: unsubscribed", endpoint.pk)
    else:
        endpoint_disable(endpoint=endpoint, reason="The endpoint answered 410 Gone.")


def endpoint_disable(*, endpoint: Endpoint, reason: str) -> None:
    changed = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    if changed:
        logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
        workspace_id, url = endpoint.workspace_id, endpoint.url
        transaction.on_commit(lambda: admins_tell_endpoint_disabled(workspace_id=workspace_id, url=url, reason=reason))
