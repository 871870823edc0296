"""Inbound messages whose turn died before answering, answered late by beat (SPEC §7: the inbound
message is never lost, and it gets its answer).

A turn stores the lead's message in one transaction and its answer in another (see
services.inbound_receive); a process that dies between them leaves the message stored with no
answer (`answered_at` null) and the webhook's TwiML answer gone with the connection. Beat's
sweep finds those older than INBOUND_ANSWER_AFTER_SECONDS (past any live turn: the model's
time limit and more) and younger than the WhatsApp window, and answers each by the provider's
REST API: the reply is queued like any send and handed over by the worker (consent checked
then). A redelivery of the message, when one comes, answers it first, as TwiML, by the same
services.inbound_answer_unanswered. Exactly once: each runs in the conversation's turn,
re-reads the message there, and marks it answered in the reply's transaction only if it was
not (services._answer_record), so two sweeps, a sweep and a redelivery, or a sweep and a late
turn, never both answer.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from leadhub.tenancy import tenant_scope

from ..models import Message
from .services import inbound_answer_unanswered

logger = logging.getLogger(__name__)

# Older than this, a free-text answer could not go out on WhatsApp any more (and a lead no
# longer waits for it): such a message is left unanswered.
MAX_AGE = timedelta(hours=24)


def inbound_unanswered(*, batch: int = 200) -> list[tuple]:
    """(workspace id, message id) of inbound messages left unanswered past the grace period,
    oldest first (the partial index message_unanswered). Needs a scope that sees every workspace."""
    now = timezone.now()
    return list(
        Message.objects.filter(
            direction=Message.Direction.INBOUND,
            answered_at__isnull=True,
            created_at__lt=now - timedelta(seconds=settings.INBOUND_ANSWER_AFTER_SECONDS),
            created_at__gte=now - MAX_AGE,
        )
        .order_by("created_at")
        .values_list("workspace_id", "pk")[:batch]
    )


def inbound_answer_late(*, message_id: int) -> bool:
    """Answer one inbound message left unanswered, by REST, in its conversation's turn. True
    when this call answered it (False: answered meanwhile, or not an unanswered inbound message)."""
    result = inbound_answer_unanswered(message_id=message_id, by_rest=True)
    return result is not None and not result.duplicate


def inbound_unanswered_sweep(*, batch: int = 200) -> int:
    """Beat's sweep: answer the inbound messages left unanswered; how many it answered."""
    answered = 0
    for workspace_id, message_id in inbound_unanswered(batch=batch):
        try:
            with tenant_scope(workspace_id):
                answered += inbound_answer_late(message_id=message_id)
        except Exception:  # one message's failure must not stop the others; the next sweep retries it
            logger.exception("Answering inbound message %s late failed", message_id)
    return answered
