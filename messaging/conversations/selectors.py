"""Reads for conversations: the access gate and the filtered list."""

import uuid

from django.db.models import QuerySet
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
