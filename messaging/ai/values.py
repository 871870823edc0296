"""The plain values that cross the model's boundary: the documents and the conversation given to
it, the reply it answers, the intents it may detect, and the replies given without it."""

from dataclasses import dataclass, field

INTENTS = ("book_meeting", "pricing", "callback_request", "opt_out")
HOLDING_REPLY = "Thanks for your message! We're looking into it and will get back to you shortly."
FALLBACK_REPLY = "Thanks for your message! A member of our team will get back to you shortly."


@dataclass(frozen=True)
class Document:
    title: str
    content: str


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str


@dataclass
class Reply:
    text: str
    intent: str = ""  # one of INTENTS, or "" for none
    confidence: float = 0.0
    source: str = "offline"  # "model", "offline" or "holding"
    error: str = ""
    usage: dict = field(default_factory=dict)
