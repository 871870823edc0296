"""AI replies (SPEC §7): the model's client or the offline responder, behind `reply()`."""

from .client import (
    FALLBACK_REPLY,
    HOLDING_REPLY,
    INTENTS,
    Document,
    Reply,
    Turn,
    classify_intent,
    client_warm,
    offline_reply,
    reply,
    terms,
)

__all__ = [
    "FALLBACK_REPLY",
    "HOLDING_REPLY",
    "INTENTS",
    "Document",
    "Reply",
    "Turn",
    "classify_intent",
    "client_warm",
    "offline_reply",
    "reply",
    "terms",
]
