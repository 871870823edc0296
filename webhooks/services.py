"""Writes for webhooks. event_emit is how every domain app records an outcome; the delivery
engine (deliveries_claim, delivery_attempt) is what the Celery tasks run."""

import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import ADMIN_ROLES, AgencyMembership, Membership, Workspace
from leadhub import bulk

from . import delivery as http
from .events import EVENT_TYPES, PING
from .models import Attempt, Delivery, Endpoint, Event

logger = logging.getLogger(__name__)

# The retry schedule of SPEC §6: the waits after the 1st, 2nd, ... failed attempt; 8 in all.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1  # each wait is stretched or shrunk by up to 10 %, so retries of a burst spread out
# A claim holds its deliveries this long plus the timeout of each; a worker that dies
# mid-attempt delays them by at most that much.
LEASE_BASE = timedelta(seconds=30)
DISABLE_AFTER_FAILING = timedelta(days=5)
# last_success_at is refreshed at most this often, so that a busy endpoint's row is not
# written on every delivery.
SUCCESS_MARK_GRANULARITY = timedelta(minutes=1)


def event_emit(*, workspace: Workspace, type: str, data: dict, bot_id: str | None = None) -> Event:
    """Record an event and one delivery per subscribed, enabled endpoint, in the caller's
    transaction; dispatch starts once that transaction commits (the outbox, SPEC §6).

    Call it inside the transaction that made the change, so that the change and its event
    are stored together or not at all.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    event = Event.objects.create(workspace=workspace, type=type, data=data, bot_id=bot_id)
    endpoints = [endpoint for endpoint in _subscribers(workspace) if endpoint.subscribes_to(type, data)]
    if endpoints:
        _deliveries_create(workspace=workspace, event=event, endpoints=endpoints)
    return event


def events_emit(*, workspace: Workspace, events: list[tuple[str, dict]], bot_id: str | None = None) -> list[Event]:
    """event_emit for several events of one change (lead.created and lead.qualified, say): the
    subscribed endpoints are read once, the events inserted in one statement, their deliveries
    in one more. Same contract as event_emit: call it inside the change's transaction."""
    for type_, _data in events:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {type_!r}")
    rows = Event.objects.bulk_create(
        [Event(workspace=workspace, type=type_, data=data, bot_id=bot_id) for type_, data in events]
    )
    subscribers = _subscribers(workspace)
    if subscribers:
        now = timezone.now()
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now)
                for event in rows
                for endpoint in subscribers
                if endpoint.subscribes_to(event.type, event.data)
            ]
        )
        if deliveries:
            delivery_ids = [str(delivery.id) for delivery in deliveries]
            transaction.on_commit(lambda: _enqueue_dispatch(delivery_ids))
    return rows


def event_emit_many(*, workspace: Workspace, type: str, datas: list[dict], bot_id: str | None = None) -> list[Event]:
    """event_emit for many events of one type at once (a campaign's new contacts): the
    subscribers are read once, events and deliveries inserted in bulk, one dispatch per 50
    deliveries. Same transaction rule as event_emit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    if not datas:
        return []
    events = [Event(workspace=workspace, type=type, data=data, bot_id=bot_id) for data in datas]
    if bulk.supported():
        bulk.insert_rows(
            Event,
            [{"id": event.id, "data": event.data} for event in events],
            constants={
                "workspace_id": workspace.pk,
                "type": type,
                "bot_id": bot_id,
                "created_at": events[0].created_at,
            },
        )
    else:
        Event.objects.bulk_create(events, batch_size=2000)
    endpoints = _subscribers(workspace)
    now = timezone.now()
    deliveries = [
        Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now)
        for event in events
        for endpoint in endpoints
        if endpoint.subscribes_to(type, event.data)
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
        ids = [str(delivery.id) for delivery in deliveries]
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            transaction.on_commit(lambda chunk=chunk: _enqueue_dispatch(chunk))
    return events


def _subscribers(workspace: Workspace) -> list[Endpoint]:
    return list(Endpoint.objects.filter(workspace=workspace, enabled=True).only("id", "event_types", "data_filter"))


# --- Endpoints -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: Endpoint
    secret: str  # shown once, on create and on rotation


def _check_url(url: str) -> str:
    try:
        http.url_vet(url)
    except http.UnsafeUrl as exc:
        raise ValidationError({"url": [str(exc)]}) from None
    return url.strip()


def _check_event_types(event_types: list[str] | None) -> list[str]:
    event_types = list(dict.fromkeys(event_types or []))
    unknown = [event_type for event_type in event_types if event_type not in EVENT_TYPES]
    if unknown:
        raise ValidationError({"event_types": [f"Unknown event type: {', '.join(unknown)}."]})
    return event_types


def _check_secret(secret: str) -> str:
    try:
        http.secret_decode(secret)
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
    Without a secret one is generated; a supplied one must be whsec_ + base64 of 24-64 bytes."""
    secret = _check_secret(secret) if secret else http.secret_generate()
    endpoint = Endpoint.objects.create(
        workspace=workspace,
        url=_check_url(url),
        event_types=_check_event_types(event_types),
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
    (the sweep picks them up) and restarts its health clock."""
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
        fields += ["enabled", "disabled_at", "disabled_reason", "failing_since"]
    if fields:
        endpoint.save(update_fields=[*fields, "updated_at"])
    return endpoint


def endpoint_delete(*, workspace: Workspace, endpoint: Endpoint) -> None:
    """Delete the endpoint with its deliveries and their attempts."""
    with transaction.atomic():
        _endpoint_delete(endpoint_id=endpoint.pk, workspace_id=workspace.pk)


def _endpoint_delete(*, endpoint_id, workspace_id) -> None:
    # Lock the deliveries first: a worker recording an attempt holds its delivery's row, so
    # this waits for it to commit and then deletes its attempt too; a worker that records
    # later finds the delivery gone and records nothing.
    list(Delivery.objects.filter(endpoint_id=endpoint_id).select_for_update().values_list("pk", flat=True))
    Endpoint.objects.filter(pk=endpoint_id, workspace_id=workspace_id).delete()


SECRET_OVERLAP = timedelta(hours=24)


def endpoint_rotate_secret(*, workspace: Workspace, endpoint: Endpoint, secret: str | None = None) -> NewEndpoint:
    """A new secret; the old one keeps signing beside it (two signatures in webhook-signature)
    for 24 hours, so consumers can switch without losing a delivery."""
    new = _check_secret(secret) if secret else http.secret_generate()
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
        (delivery,) = _deliveries_create(workspace=workspace, event=event, endpoints=[endpoint])
    return delivery


# --- Replay ----------------------------------------------------------------------------------


def delivery_replay(*, workspace: Workspace, delivery: Delivery, actor: str = "") -> Delivery:
    """A new attempt series of the same event to the same endpoint: the same webhook-id, so
    consumers deduplicate. The original keeps its history."""
    if delivery.workspace_id != workspace.pk:
        raise ValueError("The delivery is not of this workspace.")
    with transaction.atomic():
        (replay,) = _deliveries_create(
            workspace=workspace, event=delivery.event, endpoints=[delivery.endpoint], replay_of=delivery
        )
    logger.info("Delivery %s replayed as %s by %s", delivery.pk, replay.pk, actor or "?")
    return replay


def deliveries_give_up(*, workspace: Workspace, deliveries: list[Delivery], actor: str = "") -> int:
    """Stop retrying pending deliveries: they become failed (and may still be replayed)."""
    given_up = Delivery.objects.filter(
        workspace=workspace, pk__in=[delivery.pk for delivery in deliveries], status=Delivery.Status.PENDING
    ).update(
        status=Delivery.Status.FAILED,
        next_attempt_at=None,
        lease_token=None,
        lease_expires_at=None,
        last_error=f"Given up by {actor or 'an admin'}.",
    )
    logger.info("%d deliveries given up by %s", given_up, actor or "?")
    return given_up


REPLAY_BULK_LIMIT = 10_000


def deliveries_replay_failed(*, workspace: Workspace, endpoint: Endpoint, since, actor: str = "") -> list[Delivery]:
    """Replay every failed delivery of the endpoint created at or after `since` (at most
    REPLAY_BULK_LIMIT, oldest first)."""
    failed = list(
        Delivery.objects.filter(
            workspace=workspace, endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since
        )
        .select_related("event", "endpoint")
        .order_by("created_at")[:REPLAY_BULK_LIMIT]
    )
    return deliveries_replay(workspace=workspace, deliveries=failed, actor=actor)


def deliveries_replay(*, workspace: Workspace, deliveries: list[Delivery], actor: str = "") -> list[Delivery]:
    """Replay several deliveries at once (the admin's bulk action, the API's bulk replay)."""
    if any(delivery.workspace_id != workspace.pk for delivery in deliveries):
        raise ValueError("A delivery is not of this workspace.")
    if not deliveries:
        return []
    now = timezone.now()
    with transaction.atomic():
        replays = Delivery.objects.bulk_create(
            [
                Delivery(
                    workspace=workspace,
                    event_id=delivery.event_id,
                    endpoint_id=delivery.endpoint_id,
                    next_attempt_at=now,
                    replay_of=delivery,
                )
                for delivery in deliveries
            ]
        )
        ids = [str(replay.id) for replay in replays]
        for start in range(0, len(ids), 50):
            chunk = ids[start : start + 50]
            transaction.on_commit(lambda chunk=chunk: _enqueue_dispatch(chunk))
    logger.info("%d deliveries replayed by %s", len(replays), actor or "?")
    return replays


def _deliveries_create(
    *, workspace: Workspace, event: Event, endpoints: list[Endpoint], replay_of=None
) -> list[Delivery]:
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now, replay_of=replay_of)
            for endpoint in endpoints
        ]
    )
    delivery_ids = [str(delivery.id) for delivery in deliveries]
    transaction.on_commit(lambda: _enqueue_dispatch(delivery_ids))
    return deliveries


def _enqueue_dispatch(delivery_ids: list[str]) -> None:
    # Imported here: tasks import this module. A lost message only delays the delivery:
    # the periodic sweep finds every pending delivery that is due.
    from .tasks import deliveries_dispatch

    try:
        deliveries_dispatch.delay(delivery_ids)
    except Exception:  # the broker is down: the sweep will pick them up
        logger.warning("Could not enqueue dispatch of %s; the sweep will", delivery_ids)


# --- The delivery engine ---------------------------------------------------------------------


def _commit_without_waiting_for_disk() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL reaches the disk.

    Only the engine's own bookkeeping (claims, outcomes) is written this way, never an event or
    its deliveries. A database crash can then forget at most the last moments of it: a
    forgotten claim is claimed again, a forgotten outcome makes the attempt again. Either
    way the delivery is sent once more, never lost (delivery is at least once). It saves a
    disk flush per claim and per attempt, most of what a delivery costs the database.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def retry_delay(*, attempt_number: int) -> timedelta:
    """The wait after failed attempt number `attempt_number` (1-based), with jitter."""
    base = RETRY_DELAYS[attempt_number - 1] * settings.WEBHOOK_RETRY_SCALE
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (spreading retries, not secrecy)


def deliveries_claim(*, delivery_ids: list[str] | None = None, limit: int = 10) -> list[Delivery]:
    """Lease up to `limit` pending deliveries that are due, not leased (or whose lease has
    expired) and whose endpoint is enabled; `delivery_ids` narrows them to those.

    On PostgreSQL the rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent
    claimers never take the same row; on SQLite the IMMEDIATE transaction serialises them.
    The leased deliveries come back with their event and endpoint loaded.
    """
    now = timezone.now()
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        due = Delivery.objects.filter(
            Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__enabled=True,
        )
        if delivery_ids is not None:
            # By primary key, unordered: ordering would tempt the planner into walking the
            # due index past every other pending delivery.
            due = due.filter(pk__in=delivery_ids).order_by()
        else:
            due = due.order_by("next_attempt_at")  # the sweep: oldest due first, on delivery_pending_due
        ids = list(due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        token = uuid.uuid4()
        lease = LEASE_BASE + timedelta(seconds=http.TIMEOUT_SECONDS) * len(ids)
        Delivery.objects.filter(pk__in=ids).update(lease_token=token, lease_expires_at=now + lease)
    return list(Delivery.objects.select_related("event", "endpoint").filter(pk__in=ids, lease_token=token))


def _secrets_of(endpoint: Endpoint) -> list[str]:
    keys = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > timezone.now()
    ):
        keys.append(endpoint.previous_secret)
    return keys


def event_body(event: Event) -> bytes:
    return json.dumps(event.envelope(), separators=(",", ":")).encode()


def delivery_attempt(*, delivery: Delivery) -> Attempt | None:
    """POST a leased delivery (from deliveries_claim) once and record the outcome.

    Runs outside any transaction: the HTTP request must not hold a database transaction
    open. The outcome is written only while the lease is still this claim's (a success is
    written whenever the delivery is still pending: the event did arrive). Returns the
    recorded attempt, or None when the lease was lost.
    """
    endpoint = delivery.endpoint
    body = event_body(delivery.event)
    # The signing time is the wall clock: consumers check it against theirs.
    headers = http.signature_headers(
        secrets=_secrets_of(endpoint), msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body
    )
    attempted_at = timezone.now()
    result = http.post(pool_key=str(endpoint.pk), url=endpoint.url, body=body, headers=headers)
    return _attempt_record(delivery=delivery, result=result, attempted_at=attempted_at)


def _attempt_record(*, delivery: Delivery, result: http.Result, attempted_at) -> Attempt | None:
    now = timezone.now()
    endpoint = delivery.endpoint
    number = delivery.attempt_count + 1
    outcome = {
        "attempt_count": number,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "lease_token": None,
        "lease_expires_at": None,
    }
    pending = Delivery.objects.filter(pk=delivery.pk, status=Delivery.Status.PENDING)
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        if result.ok:
            updated = pending.update(
                status=Delivery.Status.SUCCEEDED, succeeded_at=now, next_attempt_at=None, **outcome
            )
        else:
            if number >= MAX_ATTEMPTS:
                outcome |= {"status": Delivery.Status.FAILED, "next_attempt_at": None}
            else:
                outcome["next_attempt_at"] = now + retry_delay(attempt_number=number)
            updated = pending.filter(lease_token=delivery.lease_token).update(**outcome)
        if not updated:
            return None
        attempt = Attempt.objects.create(
            delivery=delivery,
            attempted_at=attempted_at,
            status_code=result.status_code,
            response_excerpt=result.excerpt,
            duration_ms=result.duration_ms,
            error=result.error,
        )
        if result.ok:
            _endpoint_mark_success(endpoint=endpoint, now=now)
        elif result.status_code == 410:
            _endpoint_gone(endpoint=endpoint)
        else:
            _endpoint_mark_failure(endpoint=endpoint, now=now)
    for field, value in outcome.items():
        setattr(delivery, field, value)
    return attempt


def _endpoint_mark_success(*, endpoint: Endpoint, now) -> None:
    recent = endpoint.last_success_at is not None and now - endpoint.last_success_at < SUCCESS_MARK_GRANULARITY
    if endpoint.failing_since is None and recent:
        return
    Endpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, failing_since=None)


def _endpoint_mark_failure(*, endpoint: Endpoint, now) -> None:
    if endpoint.failing_since is None:
        Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    elif endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER_FAILING:
        _endpoint_disable(endpoint=endpoint, reason="Every delivery failed for 5 days.")


def _endpoint_gone(*, endpoint: Endpoint) -> None:
    """The target answered 410 Gone: a REST hook is unsubscribed, an endpoint disabled."""
    if endpoint.is_rest_hook:
        _endpoint_delete(endpoint_id=endpoint.pk, workspace_id=endpoint.workspace_id)
        logger.info("REST hook %s answered 410 Gone: unsubscribed", endpoint.pk)
    else:
        _endpoint_disable(endpoint=endpoint, reason="The endpoint answered 410 Gone.")


def _endpoint_disable(*, endpoint: Endpoint, reason: str) -> None:
    changed = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_at=timezone.now(), disabled_reason=reason
    )
    if changed:
        logger.warning("Webhook endpoint %s disabled: %s", endpoint.pk, reason)
        workspace_id, url = endpoint.workspace_id, endpoint.url
        transaction.on_commit(lambda: _admins_tell_disabled(workspace_id=workspace_id, url=url, reason=reason))


def _admin_emails(*, workspace: Workspace) -> list[str]:
    emails = set(
        Membership.objects.filter(workspace=workspace, role__in=ADMIN_ROLES).values_list("user__email", flat=True)
    )
    if workspace.agency_id:
        emails |= set(
            AgencyMembership.objects.filter(agency_id=workspace.agency_id, role__in=ADMIN_ROLES).values_list(
                "user__email", flat=True
            )
        )
    return sorted(email for email in emails if email)


def _admins_tell_disabled(*, workspace_id, url: str, reason: str) -> None:
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    recipients = _admin_emails(workspace=workspace) if workspace else []
    if not recipients:
        return
    send_mail(
        subject=f"LeadHub: webhook endpoint disabled ({workspace.name})",
        message=(
            f"The webhook endpoint {url} of {workspace.name} has been disabled.\n\n"
            f"Reason: {reason}\n\n"
            "Its undelivered events are kept. Fix the endpoint, then enable it again "
            "(PATCH /api/v1/webhooks/{id} with enabled=true, or in the admin) and delivery resumes."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=True,
    )
