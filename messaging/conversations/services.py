"""Writes for conversations: handback, and completion (idle ones by beat)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webhooks.services import event_emit

from ..models import Conversation
from ..transcript import conversation_payload


def conversation_handback(*, conversation: Conversation) -> Conversation:
    Conversation.objects.filter(pk=conversation.pk).update(
        taken_over_at=None, taken_over_by=None, updated_at=timezone.now()
    )
    conversation.refresh_from_db()
    return conversation


def conversation_complete(*, conversation: Conversation) -> bool:
    """Complete an open conversation (conversation.completed, once)."""
    with transaction.atomic():
        now = timezone.now()
        if not Conversation.objects.filter(pk=conversation.pk, status=Conversation.Status.OPEN).update(
            status=Conversation.Status.COMPLETED, completed_at=now, updated_at=now
        ):
            return False
        conversation.status = Conversation.Status.COMPLETED
        conversation.completed_at = now
        event_emit(
            workspace=conversation.workspace,
            type="conversation.completed",
            data=conversation_payload(conversation),
            bot_id=conversation.brain.bot_id if conversation.brain_id else None,
        )
    return True


def conversations_complete_idle(*, now=None, batch: int = 500) -> int:
    """Complete the open conversations idle for CONVERSATION_IDLE_MINUTES (beat, every minute)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.CONVERSATION_IDLE_MINUTES)
    # Widget conversations (written by the widget's capture) have no last_message_at: their
    # last change counts.
    quiet = Q(last_message_at__lt=cutoff) | Q(last_message_at__isnull=True, updated_at__lt=cutoff)
    idle = list(
        Conversation.objects.filter(quiet, status=Conversation.Status.OPEN)
        .select_related("workspace", "brain")
        .order_by("last_message_at")[:batch]
    )
    return sum(conversation_complete(conversation=conversation) for conversation in idle)
