"""Reads for webhooks: one access gate per model, scoped to the workspace (another workspace's
object answers exactly as a missing one: 404)."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404

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
