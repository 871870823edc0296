"""The brain's reply, in bounded time whatever the model does: the model's answer, the offline
responder's without ANTHROPIC_API_KEY, or the polite holding reply when the model fails or
exceeds AI_TIMEOUT_SECONDS (with the offline classifier's intent). It never raises."""

from __future__ import annotations

import logging

import anthropic
from django.conf import settings

from leadhub.pool import connection_idle

from . import client
from .offline import classify_intent, offline_reply
from .values import HOLDING_REPLY, Document, Reply, Turn

logger = logging.getLogger("messaging.ai")  # the name it logged under as messaging/ai.py


def reply(
    *,
    message: str,
    history: list[Turn],
    documents: list[Document],
    system_prompt: str = "",
    model: str = "",
    business: str = "",
    booking_url: str = "",
) -> Reply:
    """The brain's reply to `message` (the lead's latest), given the conversation before it."""
    if not settings.ANTHROPIC_API_KEY:
        return offline_reply(message=message, documents=documents, booking_url=booking_url)
    try:
        # No pooled connection held while the model answers (seconds); a conversation's turn
        # renews its lease first (messaging/turns.py).
        with connection_idle():
            return client.model_reply(
                message=message,
                history=history,
                documents=documents,
                system_prompt=system_prompt,
                model=model,
                business=business,
                booking_url=booking_url,
            )
    except (anthropic.APIError, ValueError, TimeoutError) as exc:
        # Timeouts, connection errors, 4xx/5xx and unusable answers alike: the lead gets a
        # holding reply in time, the intent from the offline classifier (no second call).
        logger.warning("AI reply failed (%s): %s", type(exc).__name__, exc)
        intent, confidence = classify_intent(message)
        return Reply(
            text=HOLDING_REPLY, intent=intent, confidence=confidence, source="holding", error=type(exc).__name__
        )
