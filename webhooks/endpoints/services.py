"""Writes of webhook endpoints (subscriptions): create (vetted URL, a secret, within the plan's
limit), update, delete, secret rotation, and the test ping."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace

from ..engine.health import endpoint_remove
from ..events import EVENT_TYPES, PING
from ..models import Delivery, Endpoint, Event
from ..outbox.services import deliveries_create
from ..transport.signing import secret_decode, secret_generate
from ..transport.ssrf import UnsafeUrl, url_vet

SECRET_OVERLAP = timedelta(hours=24)


class EndpointLimitReached(Exception):
    """The workspace has as many endpoints as its plan allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"Your plan allows {limit} webhook endpoints per workspace. Delete one, or ask us to lift the limit."
        )
        self.limit = limit


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once, on create and on rotation


def _check_url(url: str) -> str:
    try:
        url_vet(url)
    except UnsafeUrl as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    return url.strip()


def _check_event_types(event_types: list[str] | None) -> list[str]:
    event_types = list(dict.fromkeys(event_types or []))
    unknown = [event_type for event_type in event_types if event_type not in EVENT_TYPES]
    if unknown:
        raise ValidationError(
            {"event_types": [f"Unknown event type: {', '.join(unknown)}. Valid types: {', '.join(EVENT_TYPES)}."]}
        )
    return event_types


def _check_secret(secret: str) -> str:
    try:
        secret_decode(secret)
    except ValueError as exc:
        raise ValidationError({"secret": [str(exc)]}) from None
    return secret


def endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    event_types: list[str] | None = None,
    description: str = "",
    secret: str | None = None,
    enabled: bool = True,
    is_rest_hook: bool = False,
    data_filter: dict | None = None,
) -> NewEndpoint:
    """A subscription; its URL is resolved and vetted now (and again at every delivery).
    Without a secret one is generated; a supplied one must be whsec_ + base64 of 24-64 bytes.
    A workspace has at most its plan's `max_webhook_endpoints` (EndpointLimitReached)."""
    secret = _check_secret(secret) if secret else secret_generate()
    url = _check_url(url)
    event_types = _check_event_types(event_types)
    with transaction.atomic():
        # Counted under the workspace's row lock, so concurrent creates cannot pass the limit.
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        limit = workspace.plan.max_webhook_endpoints
        if Endpoint.objects.filter(workspace=workspace).count() >= limit:
            raise EndpointLimitReached(limit)
        endpoint = Endpoint.objects.create(
            workspace=workspace,
            url=url,
            event_types=event_types,
            description=description,
            secret=secret,
            enabled=enabled,
            disabled_at=None if enabled else timezone.now(),
            is_rest_hook=is_rest_hook,
            data_filter=data_filter or {},
        )
    return NewEndpoint(endpoint=endpoint, secret=secret)


def endpoint_update(
    *,
    workspace: Workspace,
    endpoint: Endpoint,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> Endpoint:
    """Change the given fields. Enabling a disabled endpoint resumes its pending deliveries
    (the sweep picks them up) and restarts its health clock and its backoff."""
    if endpoint.workspace_id != workspace.pk:
        raise ValueError("The endpoint is not of this workspace.")
    fields = []
    if url is not None:
        endpoint.url = _check_url(url)
        fields.append("url")
    if event_types is not None:
        endpoint.event_types = _check_event_types(event_types)
        fields.append("event_types")
    if description is not None:
        endpoint.description = description
        fields.append("description")
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_at = None if enabled else timezone.now()
        endpoint.disabled_reason = "" if enabled else "Disabled by an admin."
        endpoint.failing_since = None
        endpoint.timeouts_in_row = 0
        endpoint.backoff_until = None
        fields += ["enabled", "disabled_at", "disabled_reason", "failing_since", "timeouts_in_row", "backoff_until"]
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def endpoint_delete(*, workspace: Workspace, endpoint: Endpoint) -> None:
    """Delete the endpoint with its deliveries and their attempts."""
    with transaction.atomic():
        endpoint_remove(endpoint_id=endpoint.pk, workspace_id=workspace.pk)


def endpoint_rotate_secret(*, workspace: Workspace, endpoint: Endpoint, secret: str | None = None) -> NewEndpoint:
    """A new secret; the old one keeps signing beside it (two signatures in webhook-signature)
    for 24 hours, so consumers can switch without losing a delivery."""
    new = _check_secret(secret) if secret else secret_generate()
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().get(pk=endpoint.pk, workspace=workspace)
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = timezone.now() + SECRET_OVERLAP
        endpoint.secret = new
        endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return NewEndpoint(endpoint=endpoint, secret=new)


def endpoint_test(*, workspace: Workspace, endpoint: Endpoint) -> Delivery:
    """Send a webhook.ping event to this endpoint only, through the same engine."""
    with transaction.atomic():
        event = Event.objects.create(
            workspace=workspace,
            type=PING,
            data={"endpoint_id": str(endpoint.pk), "message": "A test event from LeadHub."},
        )
        (delivery,) = deliveries_create(workspace=workspace, event=event, endpoints=[endpoint])
    return delivery
