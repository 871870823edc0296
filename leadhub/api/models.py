"""Stored results of POSTs made with an Idempotency-Key."""

from django.db import models
from django.utils import timezone

from leadhub.crypto import EncryptedTextField


class IdempotencyKey(models.Model):
    class State(models.TextChoices):
        IN_FLIGHT = "in_flight"
        DONE = "done"

    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    # The credential that made the request (its rate_key: "api_key:<id>" or "oauth:<client_id>"):
    # a stored answer is replayed to it only, never to another key of the workspace.
    credential = models.CharField(max_length=120, default="")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=10, choices=State.choices, default=State.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True)
    # Encrypted (leadhub/crypto.py): answers may carry secrets (a new key, an endpoint's signing
    # secret) that must not sit in the database in plain text for 24 hours.
    response_body = EncryptedTextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # The claim: of two concurrent requests with one key, one insert wins.
            models.UniqueConstraint(
                fields=["workspace", "credential", "key"], name="idempotency_key_unique_per_credential"
            ),
        ]
        indexes = [
            # The hourly purge: DELETE ... WHERE created_at < now - 24 h.
            models.Index(fields=["created_at"], name="idempotency_key_created"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"
