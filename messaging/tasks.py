"""Messaging's Celery tasks: hand outbound messages to the provider, re-enqueue those whose
task was lost, complete idle conversations. All idempotent and acknowledged late."""

from celery import shared_task

from leadhub.tenancy import object_scope, operator_scope

from .conversations.services import conversations_complete_idle as _complete_idle
from .inbound import sweep as inbound_sweep
from .models import Message
from .outbound import handoff
from .outbound import services as outbound


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
    with operator_scope("beat_sweep"):
        return outbound.messages_requeue_stale()


@shared_task(name="messaging.tasks.conversations_complete_idle", acks_late=True, ignore_result=True)
def conversations_complete_idle() -> int:
    with operator_scope("beat_sweep"):
        return _complete_idle()


@shared_task(name="messaging.tasks.inbound_unanswered_sweep", acks_late=True, ignore_result=True)
def inbound_unanswered_sweep() -> int:
    """Answer, by REST, the inbound messages whose turn died before answering (each exactly once)."""
    with operator_scope("beat_sweep"):
        return inbound_sweep.inbound_unanswered_sweep()
