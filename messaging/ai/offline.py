"""The offline responder (no ANTHROPIC_API_KEY): a deterministic answer from the knowledge
documents, and the keyword classifier of intents that also decides the intent when the model
fails or is not asked (no second model call)."""

import re

from .values import FALLBACK_REPLY, Document, Reply

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
    # A sentence said once: two documents (or one, twice) may hold the same text; its best
    # placed copy stands for it, and the runner-up is the next different sentence.
    said: set[str] = set()
    distinct = []
    for candidate in best:
        key = " ".join(candidate[3].split()).casefold()
        if key not in said:
            said.add(key)
            distinct.append(candidate)
    if distinct:
        top = -distinct[0][0]
        # The best sentence, and the runner-up when it is at least half as good.
        chosen = sorted((d, s, sentence) for score, d, s, sentence in distinct[:2] if -score * 2 >= top)
        text = " ".join(sentence for _, _, sentence in chosen)
    else:
        text = FALLBACK_REPLY
    if intent == "book_meeting" and booking_url and booking_url not in text:
        text = f"{text} You can book a time here: {booking_url}"
    return Reply(text=text[:1600], intent=intent, confidence=confidence, source="offline")
