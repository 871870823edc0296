"""The transcript of WhatsApp and SMS conversations, shared by inbound, outbound and the
conversations API: the open conversation of a contact on a line, one turn at a time (see
conversation_turn), messages appended in order (the row lock), takeover, and the event payloads."""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Workspace
from crm.models import Contact, Line

from .models import Brain, Conversation, Message

logger = logging.getLogger(__name__)


def iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def message_payload(message: Message, conversation: Conversation) -> dict[str, Any]:
    """The data of message.received and message.sent."""
    return {
        "id": str(message.uid),
        "conversation_id": str(conversation.id),
        "contact_id": str(conversation.contact_id) if conversation.contact_id else None,
        "channel": message.channel,
        "direction": message.direction,
        "role": message.role,
        "content": message.content,
        "status": message.status,
        "source": message.source,
        "provider_sid": message.provider_sid,
        "line_id": message.line_id,
        "created_at": iso(message.created_at),
    }


def conversation_payload(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": str(conversation.id),
        "contact_id": str(conversation.contact_id) if conversation.contact_id else None,
        "channel": conversation.channel,
        "status": conversation.status,
        "line_id": conversation.line_id,
        "created_at": iso(conversation.created_at),
        "last_message_at": iso(conversation.last_message_at),
        "completed_at": iso(conversation.completed_at),
    }


def conversation_open_for(
    *, workspace: Workspace, contact: Contact, channel: str, line: Line, brain: Brain | None
) -> Conversation:
    """The contact's open conversation on this channel and line, or a new one (a unique
    constraint makes concurrent first messages meet in one)."""
    found = Conversation.objects.filter(
        workspace=workspace, contact=contact, channel=channel, line=line, status=Conversation.Status.OPEN
    )
    conversation = found.first()
    if conversation is not None:
        return conversation
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                workspace=workspace, contact=contact, channel=channel, line=line, brain=brain
            )
    except IntegrityError:
        return found.get()


# Turns are ordered without a transaction held between their steps: a turn stores the lead's
# message (one short transaction), waits on the model holding no row lock, then stores the reply
# (another). What orders the turns of one conversation spans all three:
# - PostgreSQL: a session-level advisory lock keyed by the conversation, (TURN_NAMESPACE,
#   hashtext(id)). Waiters queue in arrival order in PostgreSQL's lock manager; nothing else
#   waits for it (an agent's send, a takeover, beat's completion only lock the row, briefly).
#   It outlives no session: a worker that dies mid-turn releases it with its connection.
# - SQLite (the embedded default, one web process; see Procfile): a lock in the process. A
#   write transaction there locks the whole database, so none is ever held while a model answers.
TURN_NAMESPACE = 612  # pg advisory locks of conversation turns (webhooks' claim uses 611)
_process_locks: dict[Any, threading.Lock] = {}
_process_locks_guard = threading.Lock()


@contextmanager
def _process_lock(key) -> Iterator[None]:
    with _process_locks_guard:
        lock = _process_locks.setdefault(key, threading.Lock())
    with lock:
        yield


@contextmanager
def _advisory_lock(key: str) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, hashtext(%s::text))", [TURN_NAMESPACE, key])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s::text))", [TURN_NAMESPACE, key])
        except DatabaseError:  # the session is gone, and its lock with it
            logger.warning("Could not release the turn lock of conversation %s", key)


@contextmanager
def conversation_turn(conversation: Conversation) -> Iterator[None]:
    """One turn of a conversation at a time, in arrival order: the next message of the
    conversation waits until this turn has stored its reply, and then sees it. Inside, each
    write is a transaction of its own that locks the conversation's row (`conversation_lock`)
    for its message's position; the model is called between them with no transaction open.
    Call it outside any transaction (a transaction around it would hold its row locks for the
    whole turn again)."""
    if connection.vendor == "postgresql":
        with _advisory_lock(str(conversation.pk)):
            yield
    else:
        with _process_lock(conversation.pk):
            yield


def message_append(*, conversation: Conversation, **fields: Any) -> Message:
    """A message at the end of the conversation. Call with the conversation locked (in a
    turn, or after select_for_update) so positions follow the order of arrival. Inside the
    caller's transaction it adds no savepoint of its own (a round trip each way, twice a turn):
    an error rolls back to the caller's."""
    with transaction.atomic(savepoint=False):
        last = Message.objects.filter(conversation=conversation).aggregate(last=Max("position"))["last"]
        message = Message.objects.create(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            position=0 if last is None else last + 1,
            channel=fields.pop("channel", conversation.channel),
            line_id=fields.pop("line_id", conversation.line_id),
            **fields,
        )
        now = message.created_at
        updates = {"last_message_at": now, "updated_at": timezone.now()}
        if message.direction == Message.Direction.INBOUND:
            updates["last_inbound_at"] = now
        Conversation.objects.filter(pk=conversation.pk).update(**updates)
        for key, value in updates.items():
            setattr(conversation, key, value)
    return message


def conversation_lock(conversation: Conversation, *, related: bool = False) -> Conversation:
    """The conversation row locked for the caller's transaction (PostgreSQL; SQLite's
    transactions are IMMEDIATE, so they are serialised anyway), read afresh; `related`: with
    its workspace and contact (read with it, not locked)."""
    rows = Conversation.objects.select_for_update(of=("self",))
    if related:
        rows = rows.select_related("workspace", "contact")
    return rows.get(pk=conversation.pk)


def conversation_takeover(*, conversation: Conversation, user: AbstractBaseUser | None) -> bool:
    """A person takes the conversation over: the brain stays quiet there until handback."""
    return bool(
        Conversation.objects.filter(pk=conversation.pk, taken_over_at__isnull=True).update(
            taken_over_at=timezone.now(), taken_over_by=user, updated_at=timezone.now()
        )
    )
