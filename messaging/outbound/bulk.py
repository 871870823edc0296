"""Many outbound messages at once (a campaign's chunk): stored in their contacts' conversations
before the provider is called, their outcomes recorded after, in a few statements per chunk.

The rules of `message_send` and `message_handoff` for messages whose sender has checked consent
and the line itself (the campaign engine does, at hand-off): each contact's one open
conversation on the channel and line, found or opened (the unique constraint decides between
concurrent openers); the messages appended at the end of their conversations, which are locked
meanwhile, so positions follow the order of arrival; `message.sent` once the provider accepted
them; its error 21610 opts the contact out. Nothing here calls the brain or takes a
conversation over: a campaign message is the workspace speaking, and the brain answers the
contact's reply as it answers any message.

Messages are stored `sending`, never `queued`: the outbound sweep re-enqueues queued messages,
and these must reach the provider through their campaign only, at most once.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Workspace
from crm.contacts.bulk import contacts_count_messages
from crm.models import Contact, Line
from leadhub import bulk
from webhooks.services import event_emit_many

from .. import twilio
from ..consent import consent_change
from ..models import ConsentChange, Conversation, Message
from ..transcript import message_payload


@dataclass(frozen=True)
class Outgoing:
    contact_id: Any
    body: str
    # An approved WhatsApp template, sent instead of the body (outside the 24-hour window).
    content_sid: str = ""
    content_variables: dict | None = None


@dataclass(frozen=True)
class Result:
    message: Message
    contact_id: Any
    sid: str = ""
    error_code: int | None = None
    error: str = ""


def conversations_open_many(
    *, workspace: Workspace, contact_ids: list, channel: str, line: Line, brain_id: int | None
) -> dict:
    """{contact_id: conversation_id}: each contact's open conversation on the channel and line,
    opened for those that have none."""
    open_ = Conversation.objects.filter(
        workspace=workspace, channel=channel, line=line, status=Conversation.Status.OPEN, session_id__isnull=True
    )
    found = dict(open_.filter(contact_id__in=contact_ids).values_list("contact_id", "pk"))
    missing = [pk for pk in dict.fromkeys(contact_ids) if pk not in found]
    if missing:
        # A conflict: opened meanwhile by an inbound message, and that one is used.
        if bulk.supported():
            now = timezone.now()
            bulk.insert_rows(
                Conversation,
                [{"id": uuid.uuid4(), "contact_id": pk} for pk in missing],
                constants={
                    "workspace_id": workspace.pk,
                    "channel": channel,
                    "line_id": line.pk,
                    "brain_id": brain_id,
                    "created_at": now,
                    "updated_at": now,
                },
                ignore_conflicts=True,
            )
        else:
            Conversation.objects.bulk_create(
                [
                    Conversation(workspace=workspace, contact_id=pk, channel=channel, line=line, brain_id=brain_id)
                    for pk in missing
                ],
                ignore_conflicts=True,
            )
        found.update(open_.filter(contact_id__in=missing).values_list("contact_id", "pk"))
    return found


def messages_store_many(
    *,
    workspace: Workspace,
    line: Line,
    channel: str,
    outgoing: list[Outgoing],
    source: str,
    brain_id: int | None = None,
    callback_base: str = "",
) -> list[Message]:
    """One outbound message per item, `sending`, at the end of its contact's conversation; in
    the order given. The caller hands them to the provider next and records the outcome with
    `messages_record_many`."""
    if not outgoing:
        return []
    with transaction.atomic():
        conversations = conversations_open_many(
            workspace=workspace,
            contact_ids=[item.contact_id for item in outgoing],
            channel=channel,
            line=line,
            brain_id=brain_id,
        )
        ids = sorted(set(conversations.values()))
        # Locked in one order (no deadlock between two chunks), as message_append wants.
        list(Conversation.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))
        last = dict(
            Message.objects.filter(conversation_id__in=ids)
            .values("conversation_id")
            .annotate(last=Max("position"))
            .values_list("conversation_id", "last")
            .order_by()
        )
        now = timezone.now()
        shared = {
            "workspace_id": workspace.pk,
            "role": Message.Role.ASSISTANT,
            "direction": Message.Direction.OUTBOUND,
            "status": Message.Status.SENDING,
            "source": source,
            "channel": channel,
            "line_id": line.pk,
            "attempts": 1,
            "callback_base": callback_base[:300],
            "created_at": now,
            "status_at": now,
        }
        rows = []
        for item in outgoing:
            conversation_id = conversations[item.contact_id]
            position = last.get(conversation_id, -1) + 1
            last[conversation_id] = position
            rows.append(
                {
                    "uid": uuid.uuid4(),
                    "conversation_id": conversation_id,
                    "position": position,
                    "content": item.body,
                    "content_sid": item.content_sid,
                    "content_variables": item.content_variables or {},
                }
            )
        if bulk.supported():
            inserted = bulk.insert_rows(Message, rows, constants=shared, returning=("id", "uid"))
            ids_by_uid = {uid: pk for pk, uid in inserted}
            messages = [Message(id=ids_by_uid[row["uid"]], **row, **shared) for row in rows]
        else:
            messages = Message.objects.bulk_create([Message(**row, **shared) for row in rows])
        Conversation.objects.filter(pk__in=ids).update(last_message_at=now, updated_at=now)
        contacts_count_messages(contact_ids=[item.contact_id for item in outgoing])
    return messages


def messages_record_many(*, workspace: Workspace, results: list[Result], bot_id: str | None = None) -> None:
    """The provider's answers: accepted messages become `sent` with their sid (`message.sent`
    for each), refused ones `failed` with the error; 21610 opts the contact out. Call inside the
    transaction that records the sender's own outcomes."""
    if not results:
        return
    now = timezone.now()
    sent, failed = [], []
    for result in results:
        message = result.message
        message.status_at = now
        if result.sid:
            message.status, message.provider_sid, message.sent_at = Message.Status.SENT, result.sid, now
            message.error_message = ""
            sent.append(message)
        else:
            message.status, message.error_code = Message.Status.FAILED, result.error_code
            message.error_message = result.error[:500]
            failed.append(message)
    bulk.update_rows(Message, failed, ["status", "provider_sid", "sent_at", "status_at", "error_code", "error_message"])
    if sent:
        bulk.update_rows(Message, sent, ["provider_sid", "sent_at", "error_message"])
        # Forward only: a status callback naming the message may have come first.
        Message.objects.filter(pk__in=[m.pk for m in sent], status=Message.Status.SENDING).update(
            status=Message.Status.SENT, status_at=now
        )
    unsubscribed = [r for r in results if not r.sid and r.error_code == twilio.ERROR_UNSUBSCRIBED]
    if unsubscribed:
        contacts = Contact.objects.in_bulk([r.contact_id for r in unsubscribed])
        for result in unsubscribed:
            contact = contacts.get(result.contact_id)
            if contact is not None:
                consent_change(
                    contact=contact,
                    opted_out=True,
                    source=ConsentChange.Source.PROVIDER,
                    keyword=str(twilio.ERROR_UNSUBSCRIBED),
                    message=result.message,
                )
    if sent:
        event_emit_many(
            workspace=workspace,
            type="message.sent",
            datas=[
                message_payload(r.message, Conversation(pk=r.message.conversation_id, contact_id=r.contact_id))
                for r in results
                if r.sid
            ],
            bot_id=bot_id,
        )
