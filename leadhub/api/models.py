"""Stored results of POSTs made with an Idempotency-Key."""

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The claim: of two concurrent requests with one key, one insert wins.
            models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique"),
        ]
        indexes = [
            # The hourly purge: DELETE ... WHERE created_at < now - 24 h.
            models.Index(fields=["created_at"], name="idempotency_key_created"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
