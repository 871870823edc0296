"""Idempotency-Key on the native API's POSTs (SPEC §4), after Stripe's.

The first request with a key claims it by inserting a row; the unique constraint on
(workspace, credential, key) decides between concurrent requests, so two never both execute.
Keys are per credential, as Stripe's are per API key: another key of the workspace that sends
the same Idempotency-Key makes its own request, and never sees the first one's answer. Its
status and body (encrypted: answers may hold secrets) are kept for 24 hours: a repeat of the
same request gets them again with
`Idempotent-Replayed: true`, a different request with the key gets 422, a repeat while the
first still runs gets 409. A 5xx is not kept, so the client can retry.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from .errors import Conflict, IdempotencyKeyReused
from .models import IdempotencyKey

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255
# A claim older than this while still in flight was left by a process that died: gunicorn
# kills a request long before, so the key may be taken over.
ABANDONED_AFTER = timedelta(minutes=2)


def applies(request) -> bool:
    return request.method == "POST" and HEADER in request.META


def ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Replay(Exception):
    """Raised instead of running the view: the stored response answers."""

    def __init__(self, record: IdempotencyKey):
        self.response = HttpResponse(
            record.response_body, status=record.response_status, content_type="application/json"
        )
        self.response["Idempotent-Replayed"] = "true"


@dataclass(frozen=True)
class Claim:
    record: IdempotencyKey


def begin(request, *, workspace, credential: str) -> Claim | None:
    """Claim the request's key for this credential (its rate_key), or raise Replay, Conflict
    (409) or IdempotencyKeyReused (422)."""
    if workspace is None or not applies(request):
        return None
    key = request.META[HEADER].strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValidationError({"Idempotency-Key": [f"Must be 1 to {MAX_KEY_LENGTH} characters."]})
    digest = fingerprint(request)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    workspace=workspace, credential=credential, key=key, fingerprint=digest
                )
            return Claim(record)
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(workspace=workspace, credential=credential, key=key).first()
        if existing is None:
            continue  # purged between our insert and our read
        now = timezone.now()
        expired = existing.created_at < now - ttl()
        abandoned = existing.state == IdempotencyKey.State.IN_FLIGHT and existing.created_at < now - ABANDONED_AFTER
        if expired or abandoned:
            # Delete only the row we looked at; a racing request may have replaced it.
            IdempotencyKey.objects.filter(pk=existing.pk, state=existing.state).delete()
            continue
        if existing.fingerprint != digest:
            raise IdempotencyKeyReused()
        if existing.state == IdempotencyKey.State.IN_FLIGHT:
            raise Conflict()
        raise Replay(existing)
    raise Conflict()


def finish(claim: Claim, response) -> None:
    """Keep the response for replays; release the key after a server error."""
    record = claim.record
    if response.status_code >= 500:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    record.state = IdempotencyKey.State.DONE
    record.response_status = response.status_code
    record.response_body = response.content.decode("utf-8", errors="replace")
    # save(), not update(): the body goes through its field's encryption.
    record.save(update_fields=["state", "response_status", "response_body"])


def expired_workspaces() -> list:
    """The purge's find, across workspaces (the operator path `beat_sweep`)."""
    expired = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - ttl())
    return list(expired.order_by().values_list("workspace_id", flat=True).distinct())


def purge_expired(*, workspace_id) -> int:
    """Delete the workspace's keys past their time to live (in the workspace's scope)."""
    expired = IdempotencyKey.objects.filter(workspace_id=workspace_id, created_at__lt=timezone.now() - ttl())
    deleted, _ = expired.delete()
    return deleted
