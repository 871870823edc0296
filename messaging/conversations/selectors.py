"""Reads for conversations: the access gate and the filtered list."""

import uuid

from django.db.models import OuterRef, QuerySet, Subquery
from rest_framework.exceptions import NotFound

from accounts.models import Workspace

from ..models import Conversation, Message

MAX_MESSAGES = 1000


def conversations_list(
    *, workspace: Workspace, contact=None, channel: str | None = None, status: str | None = None
) -> QuerySet[Conversation]:
    conversations = Conversation.objects.filter(workspace=workspace).select_related("brain")
    if contact is not None:
        conversations = conversations.filter(contact_id=contact)
    if channel:
        conversations = conversations.filter(channel=channel)
    if status:
        conversations = conversations.filter(status=status)
    return conversations.order_by("-created_at", "-pk")


def conversation_get(*, workspace: Workspace, conversation_id) -> Conversation:
    try:
        pk = uuid.UUID(str(conversation_id))
    except ValueError:
        raise NotFound("No such conversation.") from None
    conversation = (
        Conversation.objects.filter(workspace=workspace, pk=pk)
        .select_related("workspace", "brain", "contact", "line", "line__provider")
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def conversation_messages(*, conversation: Conversation) -> list[Message]:
    """The transcript in order (the last MAX_MESSAGES of a very long one)."""
    latest = Message.objects.filter(workspace_id=conversation.workspace_id, conversation=conversation).order_by(
        "-position"
    )[:MAX_MESSAGES]
    return list(reversed(latest))


def conversations_with_last_message(conversations: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """Each conversation with its contact, the person who took it over, and its last message
    (`last_content`, `last_direction`): one query for a page, whatever its length (the last
    message is found through the unique (conversation, position) index)."""
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-position")
    return conversations.select_related("contact", "taken_over_by").annotate(
        last_content=Subquery(last.values("content")[:1]),
        last_direction=Subquery(last.values("direction")[:1]),
    )


def contact_conversations(*, workspace: Workspace, contact, limit: int = 10) -> list[Conversation]:
    """A lead's newest conversations (its page shows them)."""
    return list(conversations_list(workspace=workspace, contact=contact.pk)[:limit])


def conversation_writable(conversation: Conversation | None) -> bool:
    """Can a person write in this conversation (an open WhatsApp or SMS one on a line)? Which
    sends are then allowed (consent, the 24-hour window) is outbound's decision when sending."""
    return bool(
        conversation is not None
        and conversation.status == Conversation.Status.OPEN
        and conversation.channel in (Conversation.Channel.WHATSAPP, Conversation.Channel.SMS)
        and conversation.line_id
    )
