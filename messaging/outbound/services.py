"""Writes for outbound messages.

`message_send` stores the message (`queued`) and, once that commits, enqueues its hand-off
(outbound/handoff.py: batched by a drain task with Redis, else `messaging.tasks.message_handoff`,
which calls `message_handoff` here; retries always take that one): the consent check happens
then (an opt-out between the request and the hand-off still stops the message), the provider
gets it through messaging/twilio.py, retried on 5xx and timeouts. Status callbacks
(`message_status_update`) move a message forward only.
"""

import logging
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from crm.contacts.services import contact_count_messages, contact_upsert
from crm.models import Contact, Line
from crm.normalize import Phone

from .. import twilio
from ..consent import consent_change
from ..lines.selectors import NO_VERIFIED_DEFAULT, NOT_A_VERIFIED_LINE, line_default
from ..models import FINAL_STATUSES, STATUS_RANK, ConsentChange, Conversation, LineProvider, Message
from ..transcript import (
    conversation_lock,
    conversation_open_for,
    conversation_takeover,
    message_append,
)
from .handoff import message_enqueue, messages_handoff
from .handoff import retry_countdown as retry_countdown  # the hand-off task's, and campaigns'

logger = logging.getLogger(__name__)

MAX_BODY = 1600
WHATSAPP_WINDOW = timedelta(hours=24)


class SendRefused(ValidationError):
    """A send that may not happen; `reason` says why (campaigns count `opted_out` as skipped)."""

    def __init__(self, field: str, message: str, *, reason: str):
        super().__init__({field: [message]})
        self.reason = reason


def _verified_provider(line: Line | None) -> LineProvider | None:
    provider = getattr(line, "provider", None) if line is not None else None
    try:
        return provider if provider is not None and provider.verified_at else None
    except LineProvider.DoesNotExist:
        return None


def whatsapp_window_open(*, workspace: Workspace, contact: Contact, now=None) -> bool:
    """Did the contact write on WhatsApp in the last 24 hours (free text allowed)?"""
    since = (now or timezone.now()) - WHATSAPP_WINDOW
    return Conversation.objects.filter(
        workspace=workspace, contact=contact, channel=Conversation.Channel.WHATSAPP, last_inbound_at__gte=since
    ).exists()


def whatsapp_windows_open(*, workspace: Workspace, contact_ids: list, now=None) -> set:
    """whatsapp_window_open for many contacts at once (a campaign's chunk): those whose window is open."""
    since = (now or timezone.now()) - WHATSAPP_WINDOW
    return set(
        Conversation.objects.filter(
            workspace=workspace,
            contact_id__in=contact_ids,
            channel=Conversation.Channel.WHATSAPP,
            last_inbound_at__gte=since,
        ).values_list("contact_id", flat=True)
    )


def message_send(
    *,
    workspace: Workspace,
    contact: Contact,
    channel: str,
    body: str | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, Any] | None = None,
    line: Line | None = None,
    conversation: Conversation | None = None,
    source: str = Message.Source.API,
    author: AbstractBaseUser | None = None,
    callback_base: str = "",
    enqueue: bool = True,
) -> Message:
    """Queue a WhatsApp or SMS message to `contact` from `line` (the workspace's default line
    when None) and hand it to the provider once stored (`enqueue=False`: the caller calls
    `message_handoff` itself, as a sequence's step does). Raises SendRefused (a field error)
    for an opted-out contact, a line that is not a verified line of the workspace, WhatsApp
    free text outside the 24-hour window, or a body over 1600 characters.

    `callback_base`: the public base URL of the request behind the send, for the status
    callback URL when PUBLIC_BASE_URL is unset (see twilio.public_base_url)."""
    if channel not in (Conversation.Channel.WHATSAPP, Conversation.Channel.SMS):
        raise SendRefused("channel", "Use whatsapp or sms.", reason="channel")
    body = body or ""
    if not content_sid and not body.strip():
        raise SendRefused("message", "A message (or a template's content_sid) is required.", reason="empty")
    if len(body) > MAX_BODY:
        raise SendRefused("message", f"At most {MAX_BODY} characters.", reason="too_long")
    if not contact.phone_number:
        raise SendRefused("to", "The contact has no phone number.", reason="no_phone")
    if line is None:
        line = line_default(workspace=workspace)
        if line is None:
            raise SendRefused("from_number", NO_VERIFIED_DEFAULT, reason="no_line")
    if line.workspace_id != workspace.pk or _verified_provider(line) is None:
        raise SendRefused("from_number", NOT_A_VERIFIED_LINE, reason="no_line")
    if contact.sms_opt_out:
        raise SendRefused("to", "The recipient opted out (STOP): nothing is sent to them.", reason="opted_out")
    if (
        channel == Conversation.Channel.WHATSAPP
        and not content_sid
        and not whatsapp_window_open(workspace=workspace, contact=contact)
    ):
        raise SendRefused(
            "message",
            "WhatsApp free text can only go to a contact who wrote in the last 24 hours; send an approved "
            "template (content_sid and content_variables) instead.",
            reason="whatsapp_window",
        )
    with transaction.atomic():
        if conversation is None:
            conversation = conversation_open_for(
                workspace=workspace, contact=contact, channel=channel, line=line, brain=line.provider.brain
            )
        conversation = conversation_lock(conversation)
        message = message_append(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            content=body,
            direction=Message.Direction.OUTBOUND,
            status=Message.Status.QUEUED,
            source=source,
            channel=channel,
            line_id=line.pk,
            content_sid=content_sid or "",
            content_variables=content_variables or {},
            author=author,
            callback_base=callback_base[:300],
        )
        contact_count_messages(contact=contact)
        if enqueue:
            transaction.on_commit(lambda: message_enqueue(message_id=message.pk))
    return message


def message_handoff(*, message_id: int) -> str:
    """Hand one queued message to the provider (the worker's task, a sequence's step), by the
    rules of outbound/handoff.py. Idempotent: a message that is not `queued` any more (sent,
    claimed by another worker, final) is left alone. Answers what happened: "sent",
    "canceled", "failed", "retry" (the caller enqueues the next attempt) or "skipped"."""
    return messages_handoff(message_ids=[message_id], enqueue_retries=False)[message_id]


def messages_requeue_stale(*, older_than: timedelta = timedelta(minutes=2), batch: int = 500) -> int:
    """Re-enqueue messages still `queued` long after they were stored or last tried (their
    task was lost with a broker restart). Hand-off is idempotent, so a late duplicate is harmless."""
    cutoff = timezone.now() - older_than
    stale = Message.objects.filter(status=Message.Status.QUEUED, direction=Message.Direction.OUTBOUND).filter(
        created_at__lt=cutoff
    )
    ids = list(stale.exclude(status_at__gte=cutoff).values_list("pk", flat=True)[:batch])
    for message_id in ids:
        message_enqueue(message_id=message_id)
    return len(ids)


# Provider statuses to ours; "read" (WhatsApp) is delivered; others ("accepted",
# "scheduled", "receiving", "received") say nothing new.
PROVIDER_STATUSES = {
    "queued": Message.Status.QUEUED,
    "sending": Message.Status.SENDING,
    "sent": Message.Status.SENT,
    "delivered": Message.Status.DELIVERED,
    "read": Message.Status.DELIVERED,
    "undelivered": Message.Status.UNDELIVERED,
    "failed": Message.Status.FAILED,
    "canceled": Message.Status.CANCELED,
}


def message_status_update(*, message: Message, provider_status: str, error_code: int | None = None) -> bool:
    """A status callback: move the message forward (never back; final statuses stay) and, for
    the provider's 21610, opt the contact out. True when the status changed."""
    new = PROVIDER_STATUSES.get((provider_status or "").strip().lower())
    with transaction.atomic():
        changed = False
        if new is not None and new != Message.Status.CANCELED:
            lower = [status for status, rank in STATUS_RANK.items() if rank < STATUS_RANK[new]]
            fields: dict[str, Any] = {"status": new, "status_at": timezone.now()}
            if error_code is not None:
                fields["error_code"] = error_code
            changed = bool(
                Message.objects.filter(pk=message.pk, status__in=lower)
                .exclude(status__in=FINAL_STATUSES)
                .update(**fields)
            )
            if changed:
                for key, value in fields.items():
                    setattr(message, key, value)
        if error_code == twilio.ERROR_UNSUBSCRIBED:
            contact = message.conversation.contact
            if contact is not None:
                consent_change(
                    contact=contact,
                    opted_out=True,
                    source=ConsentChange.Source.PROVIDER,
                    keyword=str(error_code),
                    message=message,
                )
    return changed


def number_send(
    *,
    workspace: Workspace,
    to: Phone,
    channel: str,
    body: str | None = None,
    content_sid: str | None = None,
    content_variables: dict[str, Any] | None = None,
    line: Line | None = None,
    source: str = Message.Source.API,
    callback_base: str = "",
) -> Message:
    """send-whatsapp: a message to a number; its contact is found, or created through
    crm's contact_upsert."""
    with transaction.atomic():
        contact = contact_upsert(
            workspace=workspace,
            phone=to,
            email=None,
            values={},
            source=source,
            update_existing=False,
            initial={"source": source},
        ).contact
        return message_send(
            workspace=workspace,
            contact=contact,
            channel=channel,
            body=body,
            content_sid=content_sid,
            content_variables=content_variables,
            line=line,
            source=source,
            callback_base=callback_base,
        )


def conversation_agent_send(
    *, conversation: Conversation, content: str, user: AbstractBaseUser | None, callback_base: str = ""
) -> Message:
    """A person writes in the conversation: the message is sent from the conversation's line,
    and the first such message takes the conversation over (the brain stays quiet there until
    handback)."""
    if (
        conversation.channel not in (Conversation.Channel.WHATSAPP, Conversation.Channel.SMS)
        or not conversation.line_id
    ):
        raise SendRefused("content", "Only WhatsApp and SMS conversations can be written to.", reason="channel")
    if conversation.contact is None:
        raise SendRefused("content", "The conversation has no contact any more.", reason="no_phone")
    with transaction.atomic():
        message = message_send(
            workspace=conversation.workspace,
            contact=conversation.contact,
            channel=conversation.channel,
            body=content,
            line=conversation.line,
            conversation=conversation,
            source=Message.Source.AGENT,
            author=user,
            callback_base=callback_base,
        )
        conversation_takeover(conversation=conversation, user=user)
    return message
