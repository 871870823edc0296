"""Skills: what an app above messaging adds to a brain's turn in a WhatsApp or SMS conversation,
without messaging importing that app (booking offers free slots and books the one the lead
picks; booking imports messaging, never the reverse: SPEC §2, issue #10 item 6).

An app registers a `Skill` in its AppConfig.ready(). On an inbound message the brain may answer
(no consent keyword, contact not opted out, no takeover, under the hourly cap), inbound asks:

1. `answer(turn)` of each skill in order, before the model: a skill that recognises the
   message as its own (the lead picking an offered slot) answers it, and the model is not
   called;
2. otherwise the brain replies, and `follow(turn, reply)` of each skill may replace the text
   of that reply, knowing the intent detected in the same call (book_meeting → the offer).

Both run inside the conversation's turn (transcript.conversation_turn), so what a skill writes
is ordered with the conversation's messages; a skill that writes more than one row wraps them in
a transaction of its own. A skill that fails is logged and skipped: the inbound message and the
brain's own reply are never lost over it.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Protocol

from django.db import connection, transaction

from accounts.models import Workspace
from crm.models import Contact

from ..ai import Reply
from ..models import Brain, Conversation, Message

logger = logging.getLogger("messaging.skills")  # the name it logged under as messaging/skills.py


@dataclass(frozen=True)
class Turn:
    """The lead's message being answered, with what it belongs to."""

    workspace: Workspace
    conversation: Conversation
    contact: Contact
    message: Message
    brain: Brain | None


@dataclass(frozen=True)
class SkillReply:
    """A skill's own answer to a message; its intent is emitted as `intent.detected`."""

    text: str
    intent: str = ""
    confidence: float = 0.0


class Skill(Protocol):
    name: str

    def answer(self, turn: Turn) -> SkillReply | None: ...

    def follow(self, turn: Turn, reply: Reply) -> str | None: ...


_registry: list[Skill] = []


def skill_register(skill: Skill) -> None:
    """Add a skill (once per name: ready() may run more than once in tests)."""
    if all(existing.name != skill.name for existing in _registry):
        _registry.append(skill)


def skills_answer(turn: Turn) -> SkillReply | None:
    for skill in _registry:
        try:
            # Inside a transaction, a savepoint: a failing skill leaves the turn usable. A turn
            # asks between its transactions, where a failed statement leaves nothing to roll
            # back, and a skill that writes makes its writes atomic itself: no transaction of
            # its own (two round trips) around the lookup that nearly always finds nothing.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                answer = skill.answer(turn)
        except Exception:
            logger.exception("Skill %s failed to answer message %s", skill.name, turn.message.pk)
            continue
        if answer is not None and answer.text:
            return answer
    return None


def skills_follow(turn: Turn, reply: Reply) -> str:
    """The reply's text once every skill has followed it."""
    text = reply.text
    for skill in _registry:
        try:
            with transaction.atomic():
                followed = skill.follow(turn, Reply(text=text, intent=reply.intent, source=reply.source))
        except Exception:
            logger.exception("Skill %s failed to follow the reply to message %s", skill.name, turn.message.pk)
            continue
        if followed:
            text = followed
    return text
