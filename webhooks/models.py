"""Endpoints (subscriptions), events (the outbox), deliveries (one per event and endpoint) and
attempts (one per try), after Saleor's webhook package."""

import json
import uuid

from django.db import models
from django.utils.timezone import now

from leadhub.crypto import EncryptedTextField


def same_json(a, b) -> bool:
    """Equal as JSON values, as PostgreSQL's jsonb compares them: true is not 1, 1 is 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


class Endpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # Empty: every event type.
    event_types = models.JSONField(default=list, blank=True)
    # Empty: every event of those types. Otherwise only events whose data has each of these
    # keys with exactly this value, e.g. {"campaign_id": "..."}: a campaign's own endpoint.
    data_filter = models.JSONField(default=dict, blank=True)
    # "whsec_" + base64 of 24-64 random bytes, encrypted at rest (leadhub.crypto). During a
    # rotation the previous secret also signs until previous_secret_expires_at (24 hours).
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # A Zapier REST hook (POST /api/v1/hooks): deleted, not disabled, when its target answers 410.
    is_rest_hook = models.BooleanField(default=False)
    # Endpoint health (SPEC §6): failing since the first failed attempt after a success; an
    # endpoint failing for 5 days without a success is disabled and its admins told.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    # An endpoint that keeps timing out is backed off as a whole: no claims until then, and
    # then one probe at a time until it answers again (webhooks.engine.health).
    timeouts_in_row = models.PositiveIntegerField(default=0, editable=False)
    backoff_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The endpoint list of a workspace, newest first; event_emit's subscriber lookup.
            models.Index(fields=["workspace", "-created_at"], name="endpoint_workspace_created"),
        ]

    def __str__(self) -> str:
        return self.url

    def subscribes_to(self, event_type: str, data: dict | None = None) -> bool:
        if self.event_types and event_type not in self.event_types:
            return False
        if self.data_filter:
            return isinstance(data, dict) and all(
                key in data and same_json(data[key], value) for key, value in self.data_filter.items()
            )
        return True


class Event(models.Model):
    """One outcome, durable until every subscribed endpoint has acknowledged it. Its id is the
    `webhook-id` of every delivery, replays included, so consumers deduplicate on it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by event_workspace_created (and _type_created), which start with it.
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="events", db_index=False)
    type = models.CharField(max_length=64)
    # null, not "": the envelope's bot_id is null for events that no brain caused.
    bot_id = models.CharField(max_length=40, null=True, blank=True)  # noqa: DJ001
    data = models.JSONField()
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # GET /api/v1/events, newest first, optionally by type.
            models.Index(fields=["workspace", "-created_at"], name="event_workspace_created"),
            models.Index(fields=["workspace", "type", "-created_at"], name="event_workspace_type_created"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"

    def envelope(self) -> dict:
        """The body of every delivery (SPEC §6)."""
        return {
            "id": str(self.id),
            "type": self.type,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "workspace_id": str(self.workspace_id),
            "bot_id": self.bot_id,
            "data": self.data,
        }

    def body(self) -> bytes:
        """The envelope as the bytes that are signed and sent."""
        return json.dumps(self.envelope(), separators=(",", ":")).encode()


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due (the retry schedule lives here, not in broker ETAs).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker holds the delivery until then; past it, the sweep may claim it again. The token
    # names the holder, so a worker whose lease was taken over cannot record a failure.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    # Set on a replay: the delivery it repeats (same event, so the same webhook-id).
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(default=now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "deliveries"
        indexes = [
            # The engine's claim: a skip scan over the endpoints that have pending deliveries,
            # then each endpoint's due deliveries, oldest first (webhooks.engine.claim).
            models.Index(
                fields=["workspace", "endpoint", "next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_pending_by_endpoint",
            ),
            # Attempts in flight per workspace and endpoint: the leased deliveries, few at any time.
            models.Index(
                fields=["workspace", "endpoint"],
                condition=models.Q(lease_token__isnull=False),
                name="delivery_leased",
            ),
            # An endpoint's delivery log, by status, newest first.
            models.Index(fields=["endpoint", "status", "-created_at"], name="delivery_endpoint_status"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class Attempt(models.Model):
    RESPONSE_EXCERPT_LIMIT = 2048

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    attempted_at = models.DateTimeField(default=now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["attempted_at"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.attempted_at}: {self.status_code or self.error}"
