"""Writes for messaging: brains, and the widget's capture of a conversation and its lead."""

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from accounts.models import Workspace
from crm.contacts.services import contact_upsert
from crm.models import Contact
from crm.normalize import Phone

from .models import Brain, Conversation, Message


def brain_create(*, workspace: Workspace, name: str, slug: str | None = None, is_default: bool = False) -> Brain:
    return Brain.objects.create(
        workspace=workspace, name=name, slug=slug or slugify(name)[:80] or "brain", is_default=is_default
    )


@dataclass
class CaptureResult:
    conversation: Conversation
    contact: Contact
    created: bool  # the conversation is new
    messages_added: int
    messages_removed: int


def _conversation_for_session(*, brain: Brain, session_id: str, page_url: str) -> tuple[Conversation, bool]:
    """The session's conversation, locked for this transaction, or a new one. The unique
    constraint on (workspace, session_id) makes concurrent first posts of a session meet."""
    sessions = Conversation.objects.select_for_update().filter(workspace_id=brain.workspace_id, session_id=session_id)
    conversation = sessions.first()
    if conversation is not None:
        return conversation, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                workspace_id=brain.workspace_id,
                brain=brain,
                channel=Conversation.Channel.WIDGET,
                session_id=session_id,
                page_url=page_url,
            )
        return conversation, True
    except IntegrityError:
        return sessions.get(), False


def _transcript_sync(conversation: Conversation, messages: list[dict[str, str]]) -> tuple[int, int]:
    """Make the stored transcript the posted one, touching only what differs.

    The widget posts the whole transcript each time. Stored messages that match the posted
    ones position by position stay as they are (same rows, same times); posted messages past
    the stored ones are appended. Where a posted message differs from the stored one at its
    position (the visitor restarted or edited the chat), the stored tail from there on is
    replaced. A shorter transcript that matches what is stored (an older post arriving late)
    removes nothing. Returns (added, removed).
    """
    stored = list(Message.objects.filter(conversation=conversation).order_by("position").values_list("role", "content"))
    same = 0
    for (role, content), posted in zip(stored, messages, strict=False):
        if (role, content) != (posted["role"], posted["content"]):
            break
        same += 1
    removed = 0
    if same < min(len(stored), len(messages)):
        removed, _ = Message.objects.filter(conversation=conversation, position__gte=same).delete()
        start = same
    else:
        start = len(stored)
    new = messages[start:]
    Message.objects.bulk_create(
        Message(
            workspace_id=conversation.workspace_id,
            conversation=conversation,
            position=position,
            role=message["role"],
            content=message["content"],
        )
        for position, message in enumerate(new, start=start)
    )
    return len(new), removed


def widget_capture(
    *,
    brain: Brain,
    session_id: str,
    page_url: str = "",
    messages: list[dict[str, str]] | tuple = (),
    name: str = "",
    email: str | None = None,
    business: str = "",
    phone: Phone | None = None,
    message_count: int | None = None,
) -> CaptureResult:
    """Record the widget's conversation (keyed by workspace and session_id) and its lead
    (SPEC §5.2), in one transaction with the lead's events.

    The lead is found by phone, else e-mail, else session (contact_upsert), so a session
    whose visitor gives the phone or e-mail of an existing contact joins that contact. Its
    message_count is the widget's count when given, else the transcript's length.
    """
    workspace = brain.workspace
    messages = list(messages)
    with transaction.atomic():
        conversation, created = _conversation_for_session(brain=brain, session_id=session_id, page_url=page_url)
        added, removed = _transcript_sync(conversation, messages)
        total = Message.objects.filter(conversation=conversation).count() if (added or removed) else None
        values: dict[str, Any] = {
            "name": name or "",
            "company_name": business or "",
            "session_id": session_id,
        }
        if message_count is not None:
            values["message_count"] = message_count
        elif total is not None or created:
            values["message_count"] = total if total is not None else len(messages)
        result = contact_upsert(
            workspace=workspace,
            phone=phone,
            email=email or None,
            values=values,
            initial={"source": "widget", "lead_source": "chat widget"},
            attribution={"page_url": page_url} if page_url else None,
            source="widget",
            update_existing=True,
            bot_id=brain.bot_id,
        )
        changed = []
        if conversation.contact_id != result.contact.pk:
            conversation.contact = result.contact
            changed.append("contact")
        if page_url and conversation.page_url != page_url:
            conversation.page_url = page_url
            changed.append("page_url")
        if changed or added or removed:
            conversation.save(update_fields=[*changed, "updated_at"])
    return CaptureResult(
        conversation=conversation,
        contact=result.contact,
        created=created,
        messages_added=added,
        messages_removed=removed,
    )
