"""The transcript of WhatsApp and SMS conversations, shared by inbound, outbound and the
conversations API: the open conversation of a contact on a line, one turn at a time (see
conversation_turn), messages appended in order (the row lock), takeover, and the event payloads."""

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Workspace
from crm.models import Contact, Line
from leadhub.compiled import CompiledQuery
from webhooks.services import events_ctes, events_dispatch, events_emit

from . import turns
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
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    line: Line,
    brain: Brain | None,
    new_contact: bool = False,
) -> Conversation:
    """The contact's open conversation on this channel and line, or a new one (a unique
    constraint makes concurrent first messages meet in one). `new_contact`: the caller has just
    created the contact, so it has no conversation to look for (unless a concurrent first
    message made one: the constraint finds it)."""
    values = (workspace.pk, contact.pk, channel, line.pk, Conversation.Status.OPEN)
    if not new_contact:
        conversation = _OPEN.first(*values)
        if conversation is not None:
            return conversation
    try:
        # Outside a transaction the INSERT commits on its own (no BEGIN and COMMIT around it), and
        # a conflict leaves nothing to roll back; inside one, a savepoint keeps the caller's.
        with transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext():
            return _conversation_insert(
                Conversation(workspace=workspace, contact=contact, channel=channel, line=line, brain=brain)
            )
    except IntegrityError:
        return _OPEN.first(*values)


@functools.cache
def _insert_statement() -> tuple[str, tuple]:
    """The INSERT of _conversation_insert and the fields it takes, in order (every concrete
    field: the id is made in Python, uuid4, as Model.save makes it)."""
    quote = connection.ops.quote_name
    fields = tuple(Conversation._meta.concrete_fields)
    columns = ", ".join(quote(field.column) for field in fields)
    # Only the model's own table and column names are spliced in; values are parameters.
    sql = f"INSERT INTO {quote(Conversation._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    return sql, fields


def _conversation_insert(conversation: Conversation) -> Conversation:
    """A new conversation written by one INSERT compiled once: Model.save built its query anew
    for every new lead's first message (~0.5 ms of CPU; bench/profile_messaging.py). The values
    are the ones save() writes (pre_save: updated_at), prepared by their fields."""
    sql, fields = _insert_statement()
    params = [field.get_db_prep_save(field.pre_save(conversation, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    conversation._state.adding = False
    conversation._state.db = "default"
    return conversation


def _conversation_field(name: str):
    return Conversation._meta.get_field(name)


# Every inbound message and send looks it up: compiled once (leadhub/compiled.py), as the ORM
# spent more CPU compiling it than running it. One open conversation per contact, channel and
# line (a unique constraint); the first by id, as .first() did.
_OPEN = CompiledQuery(
    lambda workspace_id, contact_id, channel, line_id, status: (
        Conversation.objects.filter(workspace_id=workspace_id)
        .filter(contact_id=contact_id)
        .filter(channel=channel)
        .filter(line_id=line_id)
        .filter(status=status)
        .order_by("pk")[:1]
    ),
    *map(_conversation_field, ("workspace", "contact", "channel", "line", "status")),
)


# One turn of a conversation at a time (messaging/turns.py: a ticket lock on the conversation's
# row on PostgreSQL, a lock in the process on SQLite); inbound and its sweep use them from here.
conversation_turn = turns.conversation_turn
conversation_turn_wait = turns.conversation_turn_wait


def message_append(
    *,
    conversation: Conversation,
    events: Callable[[Message], list[tuple[str, dict]]] | None = None,
    bot_id: str | None = None,
    **fields: Any,
) -> Message:
    """A message at the end of the conversation. Call with the conversation locked (in a
    turn, or after select_for_update) so positions follow the order of arrival. Inside the
    caller's transaction it adds no savepoint of its own (a round trip each way, twice a turn):
    an error rolls back to the caller's. `events`, given the new message, answers the events
    to emit with it (webhooks' events_emit contract: call inside the change's transaction); on
    PostgreSQL they are written by the message's own statement."""
    message = Message(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel=fields.pop("channel", conversation.channel),
        line_id=fields.pop("line_id", conversation.line_id),
        **fields,
    )
    now = message.created_at
    updates = {"last_message_at": now, "updated_at": timezone.now()}
    inbound = message.direction == Message.Direction.INBOUND
    if inbound:
        updates["last_inbound_at"] = now
    emitted = events(message) if events is not None else []
    if connection.vendor == "postgresql":
        _append_in_one_statement(message, inbound=inbound, updates=updates, events=emitted, bot_id=bot_id)
    else:
        with transaction.atomic(savepoint=False):
            last = Message.objects.filter(conversation=conversation).aggregate(last=Max("position"))["last"]
            message.position = 0 if last is None else last + 1
            message.save(force_insert=True)
            Conversation.objects.filter(pk=conversation.pk).update(**updates)
            if emitted:
                events_emit(workspace=conversation.workspace, events=emitted, bot_id=bot_id)
    for key, value in updates.items():
        setattr(conversation, key, value)
    return message


@functools.cache
def _append_statement(inbound: bool, events_sql: str) -> tuple[str, tuple]:
    """The statement of _append_in_one_statement, and the message fields it takes as parameters
    (in that order, after the conversation's id twice and the conversation's new times; the
    events' parameters follow). `events_sql`: webhooks' events_ctes gated on the new message."""
    quote = connection.ops.quote_name
    messages, conversations = quote(Message._meta.db_table), quote(Conversation._meta.db_table)
    fields = tuple(field for field in Message._meta.concrete_fields if field.attname not in ("id", "position"))
    columns = ", ".join(quote(field.column) for field in fields)
    values = ", ".join(f"%s::{field.db_type(connection)}" for field in fields)
    times = ["last_message_at", "updated_at", *(["last_inbound_at"] if inbound else [])]
    sets = ", ".join(f"{quote(name)} = %s::timestamptz" for name in times)
    deliveries = "(SELECT array_agg(id) FROM dv)" if events_sql else "NULL"
    # Only the models' own table and column names are spliced in; values are parameters.
    sql = (
        f"WITH pos AS (SELECT COALESCE(MAX({quote('position')}) + 1, 0) AS p FROM {messages} "  # noqa: S608
        f"WHERE {quote('conversation_id')} = %s::uuid), "
        f"moved AS (UPDATE {conversations} SET {sets} WHERE {quote('id')} = %s::uuid), "
        f"{_APPENDED} AS (INSERT INTO {messages} ({columns}, {quote('position')}) SELECT {values}, pos.p FROM pos "
        f"RETURNING {quote('id')}, {quote('position')})"
        f"{', ' if events_sql else ''}{events_sql} "
        f"SELECT {quote('id')}, {quote('position')}, {deliveries} FROM {_APPENDED}"
    )
    return sql, fields


_APPENDED = "appended"  # the CTE of the new message, which gates its events


def _append_in_one_statement(
    message: Message, *, inbound: bool, updates: dict, events: list[tuple[str, dict]], bot_id: str | None
) -> None:
    """PostgreSQL: the message inserted at the next position, the conversation's times moved
    and the message's events written, in one statement (the ORM's three each built anew were a
    fifth of an inbound turn's CPU; the events were a round trip of their own)."""
    events_sql, events_params = (
        events_ctes(workspace_id=message.workspace_id, events=events, bot_id=bot_id, gate=_APPENDED)
        if events
        else ("", [])
    )
    sql, fields = _append_statement(inbound, events_sql)
    conversation_id = message.conversation_id
    params = [conversation_id, *updates.values(), conversation_id]
    params += [field.get_db_prep_save(field.pre_save(message, True), connection) for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *events_params])
        message.pk, message.position, delivery_ids = cursor.fetchone()
    message._state.adding = False
    message._state.db = "default"
    events_dispatch(delivery_ids or [])


def conversation_hold(conversation: Conversation) -> bool:
    """Lock the conversation's row for the caller's transaction (a message's position follows)
    and say whether a person has taken it over, read afresh."""
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('taken_over_at')} FROM {quote(Conversation._meta.db_table)} "  # noqa: S608
            f"WHERE {quote('id')} = %s{lock}",
            [Conversation._meta.pk.get_db_prep_value(conversation.pk, connection)],
        )
        row = cursor.fetchone()
    return row is not None and row[0] is not None


def conversation_lock(conversation: Conversation, *, related: bool = False) -> Conversation:
    """The conversation row locked for the caller's transaction (PostgreSQL; SQLite's
    transactions are IMMEDIATE, so they are serialised anyway), read afresh; `related`: with
    its workspace and contact (read with it, not locked)."""
    if related:
        locked = _LOCKED_WITH_RELATED.first(conversation.pk)
        if locked is None:
            raise Conversation.DoesNotExist(conversation.pk)
        return locked
    return Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)


# Every inbound turn locks it so: compiled once (leadhub/compiled.py; the first run is in a
# transaction, as select_for_update wants).
_LOCKED_WITH_RELATED = CompiledQuery(
    lambda pk: (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("workspace", "contact")
        .filter(pk=pk)
        .order_by()[:1]
    ),
    Conversation._meta.pk,
)


def conversation_takeover(*, conversation: Conversation, user: AbstractBaseUser | None) -> bool:
    """A person takes the conversation over: the brain stays quiet there until handback."""
    return bool(
        Conversation.objects.filter(pk=conversation.pk, taken_over_at__isnull=True).update(
            taken_over_at=timezone.now(), taken_over_by=user, updated_at=timezone.now()
        )
    )
