"""Messaging's Celery tasks: hand outbound messages to the provider, re-enqueue those whose
task was lost, complete idle conversations. All idempotent and acknowledged late."""

import logging

from celery import shared_task
from django.utils import timezone

from leadhub.tenancy import object_scope, operator_scope, tenant_scope

from .conversations import services as conversations
from .inbound import sweep as inbound_sweep
from .models import Message
from .outbound import handoff
from .outbound import services as outbound

logger = logging.getLogger(__name__)


@shared_task(name="messaging.tasks.message_handoff", acks_late=True, ignore_result=True)
def message_handoff(message_id: int) -> str:
    """Hand one queued message to the provider; on a 5xx or a timeout, try again later."""
    with object_scope(Message, message_id):
        return _handoff(message_id)


def _handoff(message_id: int) -> str:
    outcome = outbound.message_handoff(message_id=message_id)
    if outcome == "retry":
        attempts = Message.objects.filter(pk=message_id).values_list("attempts", flat=True).first() or 1
        outbound.message_enqueue(message_id=message_id, countdown=outbound.retry_countdown(attempts))
    return outcome


@shared_task(name="messaging.tasks.messages_handoff_drain", acks_late=True, ignore_result=True)
def messages_handoff_drain() -> int:
    """Hand the messages waiting on the hand-off list to the provider, a batch at a time."""
    return handoff.handoff_drain()


@shared_task(name="messaging.tasks.messages_sweep", acks_late=True, ignore_result=True)
def messages_sweep() -> int:
    # Only a find: each message is handed over by its own task or the drain, in its workspace.
    with operator_scope("beat_sweep"):
        return outbound.messages_requeue_stale()


@shared_task(name="messaging.tasks.conversations_complete_idle", acks_late=True, ignore_result=True)
def conversations_complete_idle() -> int:
    now = timezone.now()
    with operator_scope("beat_sweep"):  # only the find crosses workspaces
        workspaces = conversations.idle_workspaces(now=now)
    completed = 0
    for workspace_id in workspaces:
        try:
            with tenant_scope(workspace_id):
                completed += conversations.conversations_complete_idle(workspace_id=workspace_id, now=now)
        except Exception:  # one workspace's failure must not keep the others' open
            logger.exception("Idle conversations of workspace %s could not be completed", workspace_id)
    return completed


@shared_task(name="messaging.tasks.inbound_unanswered_sweep", acks_late=True, ignore_result=True)
def inbound_unanswered_sweep() -> int:
    """Answer, by REST, the inbound messages whose turn died before answering (each exactly once)."""
    with operator_scope("beat_sweep"):
        return inbound_sweep.inbound_unanswered_sweep()
