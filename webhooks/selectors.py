"""Reads for webhooks: one access gate per model, scoped to the workspace (another workspace's
object answers exactly as a missing one: 404)."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import Workspace

from .models import Attempt, Delivery, Endpoint, Event


def _get(queryset: QuerySet, pk, what: str):
    try:
        return queryset.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, ValidationError):
        raise Http404(f"No such {what}.") from None


def endpoints_list(*, workspace: Workspace) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(workspace=workspace)


def endpoint_get(*, workspace: Workspace, endpoint_id) -> Endpoint:
    return _get(endpoints_list(workspace=workspace), endpoint_id, "webhook endpoint")


def rest_hook_get(*, workspace: Workspace, hook_id) -> Endpoint:
    return _get(endpoints_list(workspace=workspace).filter(is_rest_hook=True), hook_id, "hook")


def deliveries_list(*, workspace: Workspace, endpoint: Endpoint | None = None, status: str | None = None):
    deliveries = Delivery.objects.filter(workspace=workspace).select_related("event")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def delivery_get(*, workspace: Workspace, delivery_id) -> Delivery:
    deliveries = (
        Delivery.objects.filter(workspace=workspace)
        .select_related("event", "endpoint")
        .prefetch_related(Prefetch("attempts", queryset=Attempt.objects.order_by("attempted_at", "pk")))
    )
    return _get(deliveries, delivery_id, "delivery")


def events_list(*, workspace: Workspace, type: str | None = None) -> QuerySet[Event]:
    events = Event.objects.filter(workspace=workspace)
    if type:
        events = events.filter(type=type)
    return events


def event_get(*, workspace: Workspace, event_id) -> Event:
    return _get(events_list(workspace=workspace), event_id, "event")


FIGURES_WINDOW = timedelta(hours=24)
FIGURES_SAMPLE = 1000


def endpoint_figures(*, workspace: Workspace, endpoint: Endpoint) -> dict:
    """What an admin needs before replaying: success rate and latency of the last 24 hours'
    attempts (at most the latest 1,000), what is in flight, pending and next, and why the
    endpoint is disabled or backed off."""
    if endpoint.workspace_id != workspace.pk:
        raise Http404("No such webhook endpoint.")
    now = timezone.now()
    recent = list(
        Attempt.objects.filter(delivery__endpoint=endpoint, attempted_at__gte=now - FIGURES_WINDOW)
        .order_by("-attempted_at")
        .values_list("status_code", "duration_ms")[:FIGURES_SAMPLE]
    )
    durations = sorted(duration for _, duration in recent)
    succeeded = sum(1 for status, _ in recent if status is not None and 200 <= status < 300)
    pending = Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING)
    next_retry = (
        pending.filter(attempt_count__gt=0)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return {
        "window_hours": int(FIGURES_WINDOW.total_seconds() // 3600),
        "attempts": len(recent),
        "success_rate": round(succeeded / len(recent), 4) if recent else None,
        "latency_p50_ms": _percentile(durations, 0.50),
        "latency_p95_ms": _percentile(durations, 0.95),
        "in_flight": pending.filter(lease_token__isnull=False, lease_expires_at__gt=now).count(),
        "pending": pending.count(),
        "failed": Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.FAILED).count(),
        "next_retry_at": next_retry,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "last_success_at": endpoint.last_success_at,
        "backoff_until": endpoint.backoff_until if endpoint.backoff_until and endpoint.backoff_until > now else None,
    }


def _percentile(ordered: list[int], share: float) -> int | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
