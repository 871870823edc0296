"""AI replies (SPEC §7): the Anthropic Messages API through the `anthropic` SDK (client.py), or,
without ANTHROPIC_API_KEY, a deterministic offline responder that answers from the knowledge
documents (offline.py); responder.py's `reply()` chooses and bounds them.

Contract: it touches no database and knows no model class. `reply()` takes the brain's prompt,
the relevant documents and the conversation, and always answers a `Reply` in bounded time:
the model's answer, or a polite holding reply when the model fails or exceeds
AI_TIMEOUT_SECONDS. The intent of the lead's message comes from the same model call (a forced
`reply` tool whose input carries both), never a second call; offline (and when the call
fails) a small deterministic classifier decides it. This module is that interface.
"""

from .client import client_warm
from .offline import classify_intent, offline_reply, terms
from .responder import reply
from .values import FALLBACK_REPLY, HOLDING_REPLY, INTENTS, Document, Reply, Turn

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
