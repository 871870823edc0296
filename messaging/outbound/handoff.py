"""Queued messages handed to the provider many at a time (send-whatsapp, agents' replies, the sweep).

With a shared cache (REDIS_URL), a stored message's id goes onto one list in Redis and at most
one drain task waits in the broker, as webhooks' dispatch is coalesced: a drain takes the ids a
batch at a time, claims the batch, reads it in one query, hands it to the provider from a few
threads (a provider answers in 100-300 ms: one message after another, a worker process would
send a handful a second) and records the outcomes in a few statements. Per message that saves a
Celery task and its broker round trips, and the ORM statements of `message_handoff`. A drain
that finds more waiting queues the next one, so every worker process helps with a backlog.
Without a shared cache (the embedded default) each message has its own task, as before.

The rules are `services.message_handoff`'s: only `queued` messages are claimed (a message is
handed over at most once), consent is checked at hand-off, the line must still be verified,
`message.sent` once the provider accepted it, status forward only (a status callback may come
before the outcome is written), 21610 opts the contact out. A provider 5xx or timeout puts the
message back to `queued` with its own task and backoff (`retry_countdown`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadhub import bulk
from leadhub.tenancy import operator_scope, tenant_scope
from webhooks.services import event_emit_many

from .. import twilio
from ..consent import consent_change
from ..lines.selectors import account_of
from ..models import ConsentChange, LineProvider, Message
from ..transcript import message_payload

logger = logging.getLogger(__name__)

HANDOFF_TASK = "messaging.tasks.message_handoff"  # one message, with a countdown for retries
DRAIN_TASK = "messaging.tasks.messages_handoff_drain"
PENDING_KEY = "leadhub:messaging:handoff:pending"  # the Redis list of ids waiting
DRAIN_QUEUED_KEY = "messaging:handoff:drain-queued"  # a cache key: a drain task waits in the broker
DRAIN_QUEUED_TTL = 10  # seconds: a lost task holds back the next one at most this long
BATCH = 100
DRAIN_SECONDS = 20  # a drain then hands over to the next task, so a steady flow never pins one
PROVIDER_THREADS = 8


def coalesced() -> bool:
    """Are hand-offs batched (a shared cache, Redis)? Otherwise each message has its task."""
    return bool(settings.REDIS_URL)


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def message_enqueue(*, message_id: int, countdown: float | None = None) -> None:
    """Hand the message to a worker: onto the hand-off list (batched), or its own task (no
    shared cache, or a retry after `countdown` seconds). A lost broker message only delays it:
    beat's sweep re-enqueues messages left queued."""
    try:
        if countdown is None and coalesced():
            _redis().rpush(PENDING_KEY, message_id)
            _drain_wanted()
        else:
            current_app.send_task(HANDOFF_TASK, args=[message_id], countdown=countdown)
    except Exception:  # Redis or the broker is down: the sweep will find the message queued
        logger.exception("Could not enqueue the hand-off of message %s", message_id)


def retry_countdown(attempts: int) -> float:
    """Seconds before hand-off attempt `attempts + 1`: 2, 4, 8, ... up to 5 minutes."""
    return float(min(300, 2 ** max(1, attempts)))


def _drain_wanted() -> None:
    if cache.add(DRAIN_QUEUED_KEY, 1, timeout=DRAIN_QUEUED_TTL) is not False:
        current_app.send_task(DRAIN_TASK)


def handoff_drain(*, seconds: float = DRAIN_SECONDS) -> int:
    """The drain task: hand over the waiting messages a batch at a time; answers how many ids
    it took. Ids taken but not handed over (a crash) are found queued by the sweep."""
    cache.delete(DRAIN_QUEUED_KEY)  # from now on a new id queues the next drain
    redis = _redis()
    deadline = time.monotonic() + seconds
    taken = 0
    while True:
        raw = redis.lpop(PENDING_KEY, BATCH)
        if not raw:
            return taken
        ids = [int(value) for value in raw]
        taken += len(ids)
        if len(ids) == BATCH or time.monotonic() > deadline:
            _drain_wanted()  # more may wait: another worker process takes them meanwhile
        # Each workspace's messages in its own scope (row-level security), as a task's object is.
        with operator_scope("task_object"):
            owners = list(Message.objects.filter(pk__in=ids).order_by().values_list("workspace_id", "pk"))
        by_workspace: dict = defaultdict(list)
        for workspace_id, pk in owners:
            by_workspace[workspace_id].append(pk)
        for workspace_id, pks in by_workspace.items():
            with tenant_scope(workspace_id):
                messages_handoff(message_ids=sorted(pks))
        if time.monotonic() > deadline:
            return taken


@dataclass
class _Handed:
    message: Message
    sent: twilio.Sent | None = None
    error: twilio.ProviderError | None = None


def _verified(message: Message) -> LineProvider | None:
    provider = getattr(message.line, "provider", None) if message.line_id else None
    return provider if provider is not None and provider.verified_at else None


def _send(message: Message, provider: LineProvider) -> _Handed:
    """One provider call (in a pool thread: no database)."""
    contact = message.conversation.contact
    try:
        sent = twilio.send_message(
            account_of(provider),
            to=twilio.address(contact.phone_number, message.channel),
            from_=twilio.address(message.line.phone_number, message.channel),
            body=message.content,
            content_sid=message.content_sid or None,
            content_variables=message.content_variables or None,
            messaging_service_sid=provider.messaging_service_sid or None,
            status_callback=twilio.status_callback_url(stored=message.callback_base, message_uid=message.uid),
        )
    except twilio.ProviderError as exc:
        return _Handed(message, error=exc)
    return _Handed(message, sent=sent)


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _provider_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:  # made in the worker process, after the fork
        if _pool is None:
            _pool = ThreadPoolExecutor(PROVIDER_THREADS, thread_name_prefix="handoff")
        return _pool


def _send_in_order(jobs: list[tuple[Message, LineProvider]]) -> list[_Handed]:
    return [_send(message, provider) for message, provider in jobs]


def messages_handoff(*, message_ids: list[int], enqueue_retries: bool = True) -> dict[int, str]:
    """Hand these queued messages to the provider; {id: outcome}: "sent", "canceled" (opted
    out), "failed", "retry" (queued again, and its task enqueued with its backoff unless the
    caller does that itself) or "skipped" (not queued: handed over already, or being).
    Messages of one conversation are sent one after another, in the order of their ids."""
    outcomes: dict[int, str] = dict.fromkeys(message_ids, "skipped")
    now = timezone.now()
    with transaction.atomic():
        claimed = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(pk__in=message_ids, status=Message.Status.QUEUED)
            .order_by("pk")  # not Message's ordering, which joins (and would lock) the conversation
            .values_list("pk", flat=True)
        )
        if not claimed:
            return outcomes
        Message.objects.filter(pk__in=claimed).update(
            status=Message.Status.SENDING, attempts=F("attempts") + 1, status_at=now
        )
    messages = list(
        Message.objects.filter(pk__in=claimed)
        .select_related(
            "conversation", "conversation__contact", "conversation__workspace", "conversation__brain", "line__provider"
        )
        .order_by("pk")
    )
    canceled, unverified, by_conversation = [], [], defaultdict(list)
    for message in messages:
        contact = message.conversation.contact
        provider = _verified(message)
        if contact is None or contact.sms_opt_out:
            canceled.append(message)
        elif provider is None:
            unverified.append(message)
        else:
            by_conversation[message.conversation_id].append((message, provider))
    handed: list[_Handed] = []
    if by_conversation:
        jobs = list(by_conversation.values())
        if len(jobs) == 1:
            handed = _send_in_order(jobs[0])
        else:
            for results in _provider_pool().map(_send_in_order, jobs):
                handed.extend(results)
    retry = _record(canceled=canceled, unverified=unverified, handed=handed, outcomes=outcomes)
    for message in retry if enqueue_retries else []:
        message_enqueue(message_id=message.pk, countdown=retry_countdown(message.attempts))
    return outcomes


def _record(
    *, canceled: list[Message], unverified: list[Message], handed: list[_Handed], outcomes: dict[int, str]
) -> list[Message]:
    """Write the outcomes in one transaction; answers the messages to try again."""
    now = timezone.now()
    sent, retry, failed = [], [], []
    for item in handed:
        message = item.message
        if item.sent is not None:
            message.provider_sid, message.sent_at, message.error_message = item.sent.sid, now, ""
            message.status, message.status_at = Message.Status.SENT, now
            sent.append(message)
        elif item.error.retryable and message.attempts < settings.MESSAGE_SEND_MAX_ATTEMPTS:
            message.status, message.error_message, message.status_at = (
                Message.Status.QUEUED,
                item.error.message[:500],
                now,
            )
            retry.append(message)
        else:
            message.status, message.status_at = Message.Status.FAILED, now
            message.error_code, message.error_message = item.error.code, item.error.message[:500]
            failed.append(message)
    with transaction.atomic():
        # A send that failed here (a timeout, say) may have reached the provider after all: its
        # status callback, naming the message, has then stored its SID. Such a message is sent,
        # neither retried (a second copy to the lead) nor marked failed.
        heard = _sids_heard([m.pk for m in retry + failed])
        if heard:
            taken = [m for m in retry + failed if m.pk in heard]
            retry = [m for m in retry if m.pk not in heard]
            failed = [m for m in failed if m.pk not in heard]
            for message in taken:
                message.provider_sid, message.sent_at, message.error_message = heard[message.pk], now, ""
                message.status, message.status_at = Message.Status.SENT, now
            sent += taken
        if canceled:
            Message.objects.filter(pk__in=[m.pk for m in canceled]).update(
                status=Message.Status.CANCELED, error_message="The recipient opted out before hand-off.", status_at=now
            )
        if unverified:
            Message.objects.filter(pk__in=[m.pk for m in unverified]).update(
                status=Message.Status.FAILED, error_message="The line is not verified any more.", status_at=now
            )
        if retry:
            bulk.update_rows(Message, retry, ["status", "error_message", "status_at"])
        if failed:
            bulk.update_rows(Message, failed, ["status", "error_code", "error_message", "status_at"])
            for message in failed:
                if message.error_code == twilio.ERROR_UNSUBSCRIBED:
                    consent_change(
                        contact=message.conversation.contact,
                        opted_out=True,
                        source=ConsentChange.Source.PROVIDER,
                        keyword=str(message.error_code),
                        message=message,
                    )
        if sent:
            bulk.update_rows(Message, sent, ["provider_sid", "sent_at", "error_message"])
            # Forward only: a status callback may have come first.
            Message.objects.filter(pk__in=[m.pk for m in sent], status=Message.Status.SENDING).update(
                status=Message.Status.SENT, status_at=now
            )
            _emit_sent(sent)
    for messages, outcome in ((canceled, "canceled"), (unverified, "failed"), (failed, "failed")):
        for message in messages:
            outcomes[message.pk] = outcome
    for message in retry:
        outcomes[message.pk] = "retry"
    for message in sent:
        outcomes[message.pk] = "sent"
    return retry


def _sids_heard(message_ids: list[int]) -> dict[int, str]:
    """Of these messages claimed by this hand-off, the SIDs a status callback stored (its URL
    names the message); every one of them locked until the caller's transaction ends, so a
    callback that comes meanwhile waits and then moves forward from what the caller wrote."""
    if not message_ids:
        return {}
    locked = Message.objects.select_for_update().filter(pk__in=message_ids).order_by("pk")
    return {pk: sid for pk, sid in locked.values_list("pk", "provider_sid") if sid}


def _emit_sent(sent: list[Message]) -> None:
    """message.sent for each, one bulk emit per workspace and brain."""
    groups: dict[tuple, list[Message]] = defaultdict(list)
    for message in sent:
        conversation = message.conversation
        groups[(conversation.workspace_id, conversation.brain.bot_id if conversation.brain_id else None)].append(
            message
        )
    for (_workspace_id, bot_id), messages in groups.items():
        event_emit_many(
            workspace=messages[0].conversation.workspace,
            type="message.sent",
            datas=[message_payload(message, message.conversation) for message in messages],
            bot_id=bot_id,
        )
