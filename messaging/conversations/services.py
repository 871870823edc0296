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


def _idle(now) -> Q:
    cutoff = now - timedelta(minutes=settings.CONVERSATION_IDLE_MINUTES)
    # Widget conversations (written by the widget's capture) have no last_message_at: their
    # last change counts.
    quiet = Q(last_message_at__lt=cutoff) | Q(last_message_at__isnull=True, updated_at__lt=cutoff)
    return quiet & Q(status=Conversation.Status.OPEN)


def idle_workspaces(*, now=None) -> list:
    """Beat's find, across workspaces (the operator path `beat_sweep`): the workspaces with an
    idle open conversation. Each one's completions then run in its own scope."""
    now = now or timezone.now()
    return list(Conversation.objects.filter(_idle(now)).order_by().values_list("workspace_id", flat=True).distinct())


def conversations_complete_idle(*, workspace_id, now=None, batch: int = 500) -> int:
    """Complete the workspace's open conversations idle for CONVERSATION_IDLE_MINUTES (beat,
    every minute, in the workspace's scope)."""
    now = now or timezone.now()
    idle = list(
        Conversation.objects.filter(_idle(now), workspace_id=workspace_id)
        .select_related("workspace", "brain")
        .order_by("last_message_at")[:batch]
    )
    return sum(conversation_complete(conversation=conversation) for conversation in idle)
