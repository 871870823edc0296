"""AI replies (SPEC §7): the Anthropic Messages API through the `anthropic` SDK, or, without
ANTHROPIC_API_KEY, a deterministic offline responder that answers from the knowledge documents.

Contract: it touches no database and knows no model class. `reply()` takes the brain's prompt,
the relevant documents and the conversation, and always answers a `Reply` in bounded time:
the model's answer, or a polite holding reply when the model fails or exceeds
AI_TIMEOUT_SECONDS. The intent of the lead's message comes from the same model call (a forced
`reply` tool whose input carries both), never a second call; offline (and when the call
fails) a small deterministic classifier decides it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import anthropic
from django.conf import settings

logger = logging.getLogger(__name__)

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


# --- Intent: the offline classifier ---------------------------------------------------------

_INTENT_PATTERNS: dict[str, re.Pattern] = {
    "opt_out": re.compile(
        r"\b(stop (texting|messaging|contacting)|unsubscribe|don'?t (text|message|contact) me|"
        r"leave me alone|remove me|opt(-| )?out|no more (texts|messages))\b",
        re.I,
    ),
    "callback_request": re.compile(
        r"\b(call me( back)?|give me a call|ring me|callback|call back|phone me|can (you|someone) call)\b", re.I
    ),
    "book_meeting": re.compile(
        r"\b(book|schedule|appointment|meeting|reserve|set up a (call|time)|available (on|at|tomorrow)|"
        r"availability|slot|consultation|visit)\b",
        re.I,
    ),
    "pricing": re.compile(
        r"\b(price|prices|pricing|cost|costs|how much|quote|fee|fees|rate|rates|\$\d|cheap|expensive|budget)\b", re.I
    ),
}


def classify_intent(text: str) -> tuple[str, float]:
    """(intent, confidence) by keyword rules, in order of precedence; ("", 0.0) for none."""
    for intent in ("opt_out", "callback_request", "book_meeting", "pricing"):
        if _INTENT_PATTERNS[intent].search(text or ""):
            return intent, 0.7
    return "", 0.0


# --- The offline responder ------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOP_WORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "hi",
        "hello",
        "hey",
        "how",
        "i",
        "i'm",
        "if",
        "in",
        "is",
        "it",
        "it's",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "that",
        "the",
        "their",
        "there",
        "they",
        "this",
        "to",
        "us",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
    }
)


def terms(text: str) -> list[str]:
    """The words of a text that carry meaning: lower-cased, stop words out, a plural 's' off."""
    words = []
    for word in _WORD.findall((text or "").lower()):
        if word in STOP_WORDS or len(word) < 2:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.append(word)
    return words


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def offline_reply(*, message: str, documents: list[Document], booking_url: str = "") -> Reply:
    """Answer from the knowledge: the sentences of the documents that share the most words
    with the message (at most two, in document order), else a polite fallback. Deterministic:
    the same message and documents give the same reply."""
    intent, confidence = classify_intent(message)
    wanted = set(terms(message))
    best: list[tuple[int, int, int, str]] = []  # (-score, doc index, sentence index, sentence)
    for d, document in enumerate(documents):
        title_terms = set(terms(document.title))
        for s, sentence in enumerate(part.strip() for part in _SENTENCE.split(document.content)):
            if not sentence:
                continue
            shared = wanted & set(terms(sentence))
            score = 2 * len(shared) + len(wanted & title_terms) if shared else 0
            if score:
                best.append((-score, d, s, sentence))
    best.sort()
    if best:
        top = -best[0][0]
        # The best sentence, and the runner-up when it is at least half as good.
        chosen = sorted((d, s, sentence) for score, d, s, sentence in best[:2] if -score * 2 >= top)
        text = " ".join(sentence for _, _, sentence in chosen)
    else:
        text = FALLBACK_REPLY
    if intent == "book_meeting" and booking_url and booking_url not in text:
        text = f"{text} You can book a time here: {booking_url}"
    return Reply(text=text[:1600], intent=intent, confidence=confidence, source="offline")


# --- The model ------------------------------------------------------------------------------

REPLY_TOOL = {
    "name": "reply",
    "description": "Send your reply to the lead, and say what the lead's last message asks for.",
    "input_schema": {
        "type": "object",
        "properties": {
            "reply": {"type": "string", "description": "The message to send to the lead (plain text, short)."},
            "intent": {
                "type": "string",
                "enum": [*INTENTS, "none"],
                "description": "What the lead's last message asks for.",
            },
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["reply", "intent", "confidence"],
    },
}

_client_lock = threading.Lock()
_clients: dict[tuple, anthropic.Anthropic] = {}


def _client() -> anthropic.Anthropic:
    """One client per process and configuration (its connection pool is shared by threads). A
    forked process builds its own: sockets and locks are not to be shared across a fork."""
    key = (os.getpid(), settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL, settings.AI_TIMEOUT_SECONDS)
    with _client_lock:
        client = _clients.get(key)
        if client is None:
            client = anthropic.Anthropic(
                api_key=settings.ANTHROPIC_API_KEY,
                base_url=settings.ANTHROPIC_BASE_URL or None,
                # Each read's limit (the whole call's is _create's deadline); no SDK retries,
                # which would multiply it.
                timeout=float(settings.AI_TIMEOUT_SECONDS),
                max_retries=0,
            )
            _clients.clear()  # a client of the parent process or of an older configuration
            _clients[key] = client
        return client


def client_warm() -> None:
    """Build the process's client now, as it boots, not on its first model call (leadhub.wsgi,
    gunicorn.conf.py): the first client costs ~110 ms (httpx imports its transport's
    dependencies on first use) and every client ~25 ms (an SSL context loading certifi's
    bundle), while the process's other threads wait on the lock for it."""
    if settings.ANTHROPIC_API_KEY:
        _client()


def system_text(*, system_prompt: str, documents: list[Document], business: str, booking_url: str) -> str:
    parts = [system_prompt.strip() or f"You are the friendly assistant of {business}, answering leads by text."]
    parts.append(
        "Answer in a few short sentences suitable for SMS or WhatsApp. Use only the knowledge below for facts "
        "about the business; when it does not say, offer to have someone get back to them."
    )
    if booking_url:
        parts.append(f"To book a meeting, the lead can use: {booking_url}")
    if documents:
        knowledge = "\n\n".join(f"<document title={d.title!r}>\n{d.content}\n</document>" for d in documents)
        parts.append(f"<knowledge>\n{knowledge}\n</knowledge>")
    parts.append("Always answer by calling the `reply` tool.")
    return "\n\n".join(parts)


def _messages(history: list[Turn], message: str) -> list[dict]:
    """The conversation as the API wants it: starting with the user, roles alternating
    (consecutive messages of one role joined), ending with the lead's message."""
    turns = [*history, Turn("user", message)]
    merged: list[dict] = []
    for turn in turns:
        role = "assistant" if turn.role == "assistant" else "user"
        if not turn.content:
            continue
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n" + turn.content
        else:
            merged.append({"role": role, "content": turn.content})
    while merged and merged[0]["role"] != "user":
        merged.pop(0)
    return merged or [{"role": "user", "content": message or "(empty message)"}]


def _parse(response) -> Reply:
    for block in response.content:
        if getattr(block, "type", "") == "tool_use" and block.name == "reply":
            data = block.input if isinstance(block.input, dict) else {}
            intent = data.get("intent") if data.get("intent") in INTENTS else ""
            try:
                confidence = min(1.0, max(0.0, float(data.get("confidence") or 0)))
            except (TypeError, ValueError):
                confidence = 0.0
            text = str(data.get("reply") or "").strip()
            if text:
                return Reply(text=text[:1600], intent=intent, confidence=confidence if intent else 0.0, source="model")
    text = " ".join(getattr(block, "text", "") for block in response.content if getattr(block, "type", "") == "text")
    if text.strip():
        return Reply(text=text.strip()[:1600], source="model")
    raise ValueError("The model's answer held no reply.")


def _create(client: anthropic.Anthropic, *, deadline: float, **request) -> anthropic.types.Message:
    """messages.create, answered by `deadline` (a time.monotonic()) or TimeoutError.

    The SDK's timeout bounds each read, not the call: a model that sends its headers and then
    trickles the body would outlive it. So the call runs in a thread of its own and the caller
    waits for it until the deadline only; a call given up on stops at the next piece of its
    body (or when its next read times out) and closes its connection, its answer unused."""
    outcome: Future[anthropic.types.Message] = Future()
    given_up = threading.Event()

    def call() -> None:
        try:
            with client.messages.with_streaming_response.create(**request) as response:
                body = bytearray()
                for piece in response.iter_bytes():
                    if given_up.is_set():
                        return
                    body += piece
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("The model's answer is not a message.")
            outcome.set_result(anthropic.types.Message.model_construct(**data))
        except BaseException as exc:  # raised to the caller, as if the call were its own
            outcome.set_exception(exc)

    threading.Thread(target=call, name="model-call", daemon=True).start()
    try:
        return outcome.result(timeout=max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        given_up.set()
        raise TimeoutError(f"No answer within AI_TIMEOUT_SECONDS ({settings.AI_TIMEOUT_SECONDS} s).") from None


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
    deadline = time.monotonic() + settings.AI_TIMEOUT_SECONDS
    try:
        response = _create(
            _client(),
            deadline=deadline,
            model=model or settings.AI_DEFAULT_MODEL,
            max_tokens=settings.AI_MAX_TOKENS,
            system=system_text(
                system_prompt=system_prompt, documents=documents, business=business, booking_url=booking_url
            ),
            messages=_messages(history, message),
            tools=[REPLY_TOOL],
            tool_choice={"type": "tool", "name": "reply"},
        )
        result = _parse(response)
        usage = getattr(response, "usage", None)
        if usage is not None:
            result.usage = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
        return result
    except (anthropic.APIError, ValueError, TimeoutError) as exc:
        # Timeouts, connection errors, 4xx/5xx and unusable answers alike: the lead gets a
        # holding reply in time, the intent from the offline classifier (no second call).
        logger.warning("AI reply failed (%s): %s", type(exc).__name__, exc)
        intent, confidence = classify_intent(message)
        return Reply(
            text=HOLDING_REPLY, intent=intent, confidence=confidence, source="holding", error=type(exc).__name__
        )
