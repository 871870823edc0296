"""The reads of every inbound turn, as statements written once: the ORM built each anew for
every inbound message, and compiling them cost more CPU than PostgreSQL spent running them
(bench/profile_messaging.py). Only the models' own table and column names are spliced in;
values are parameters. The same SQL runs on SQLite."""

from datetime import datetime

from django.db import connection

from ..models import Message

_MESSAGES = Message._meta.db_table


def _conversation_id(conversation_id):
    return Message._meta.get_field("conversation").get_db_prep_value(conversation_id, connection)


def stored_id(*, line_id: int, sid: str) -> int | None:
    """The message stored for this (line, MessageSid), if any (a unique key allows one)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('id')} FROM {q(_MESSAGES)} WHERE {q('line_id')} = %s AND {q('provider_sid')} = %s",  # noqa: S608
            [line_id, sid],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def ai_replies_since(*, conversation_id, since: datetime) -> int:
    """The brain's replies in the conversation since `since` (the hourly cap; the index
    message_conversation_source)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {q(_MESSAGES)} WHERE {q('conversation_id')} = %s "  # noqa: S608
            f"AND {q('source')} = %s AND {q('created_at')} >= %s",
            [
                _conversation_id(conversation_id),
                Message.Source.AI.value,
                Message._meta.get_field("created_at").get_db_prep_value(since, connection),
            ],
        )
        return cursor.fetchone()[0]


def history(*, conversation_id, before_position: int, limit: int) -> list[tuple[str, str]]:
    """(role, content) of the last `limit` messages before `before_position`, system messages
    left out, oldest first (the unique key on conversation and position)."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {q('role')}, {q('content')} FROM {q(_MESSAGES)} "  # noqa: S608
            f"WHERE {q('conversation_id')} = %s AND {q('position')} < %s AND {q('role')} <> %s "
            f"ORDER BY {q('position')} DESC LIMIT {int(limit)}",
            [_conversation_id(conversation_id), before_position, Message.Role.SYSTEM.value],
        )
        rows = cursor.fetchall()
    rows.reverse()
    return rows


def twiml_answer(message: Message) -> str | None:
    """What a redelivery of `message` answers as TwiML: its reply when that reply was given as
    TwiML (the provider sends it from the webhook's answer, and redelivers a webhook whose answer
    it did not get), else nothing. A reply that went, or is going, by the REST API (beat's late
    answer, inbound/sweep.py) reaches the lead that way: answered again as TwiML it would be sent
    twice. A TwiML reply is stored `sent` and never handed off (no attempt, no provider sid); a
    REST one is stored `queued`, and the hand-off counts its attempts. `reply` is loaded."""
    reply = message.reply
    if reply is None or reply.status != Message.Status.SENT or reply.attempts or reply.provider_sid:
        return None
    return reply.content
