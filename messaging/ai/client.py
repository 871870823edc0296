"""The model's client: the Anthropic Messages API through the `anthropic` SDK, one client per
process, the request (the system text with the knowledge, the conversation, a forced `reply`
tool that carries the reply and the intent in one call), its answer parsed into a Reply, and a
call bounded by a deadline however the model sends its answer."""

from __future__ import annotations

import json
import os
import threading
import time
from concurrent.futures import Future

import anthropic
from django.conf import settings

from .values import INTENTS, Document, Reply, Turn

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


def model_reply(
    *,
    message: str,
    history: list[Turn],
    documents: list[Document],
    system_prompt: str,
    model: str,
    business: str,
    booking_url: str,
) -> Reply:
    """The model's reply to `message`, within AI_TIMEOUT_SECONDS. Raises anthropic.APIError,
    ValueError (an answer without a usable reply) or TimeoutError: the responder's to handle."""
    deadline = time.monotonic() + settings.AI_TIMEOUT_SECONDS
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
