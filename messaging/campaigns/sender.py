"""What a campaign sends through: the Sender the engine drives (sending.py binds it to
messaging's provider boundary) and the plain values that cross it, so the engine, the recovery
of interrupted hand-offs and the sequences share one contract without importing each other."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .models import Campaign, Recipient


@dataclass(frozen=True)
class Item:
    """What a sender needs of one recipient: plain values, no database."""

    recipient_id: int
    phone: str
    body: str


@dataclass(frozen=True)
class Outcome:
    sid: str = ""
    error_code: str = ""
    error: str = ""
    opted_out: bool = False  # the provider said the person unsubscribed (21610)
    pending: bool = False  # left to messaging's hand-off task, which retries it (sequences)
    retryable: bool = False  # a provider 5xx, 429 or timeout: worth trying again later

    @property
    def ok(self) -> bool:
        return bool(self.sid) or self.pending


@dataclass(frozen=True)
class Lookup:
    """A hand-off a dead driver left unanswered: did the provider accept it?"""

    recipient_id: int
    phone: str
    body: str  # the stored message's text; "" when the provider's copy is not ours (a call, a template)
    since: datetime  # when the hand-off began


@dataclass(frozen=True)
class Found:
    """The provider's answer to a Lookup: `sid` when it accepted the message (or call), neither
    when it did not, `error` when it could not be asked."""

    sid: str = ""
    error: str = ""


HandOff = Callable[[Item], Outcome]


class Sender(Protocol):
    """What a campaign sends through. `prepare`, `store` and `record` run in the driver's
    thread; `hand_off` and `look_up` in the pool's, so they touch no database."""

    def prepare(self, rows: list[Recipient]) -> dict[int, Outcome]:
        """Before the hand-off, rendered: the rows that may not go out (by recipient id, with
        why: `error_code` is the reason); the sender may note how the others go."""

    def store(self, rows: list[Recipient]) -> None:
        """Before the hand-off: keep what is about to go out (sets each row's `message`)."""

    def hand_off(self, item: Item) -> Outcome:
        """Give one message (or call) to the provider."""

    def record(self, handed: list[tuple[Recipient, Outcome]]) -> None:
        """After: the provider's answers, inside the transaction that records the rows'."""

    def look_up(self, lookup: Lookup) -> Found:
        """Ask the provider whether it accepted a hand-off nobody heard the answer of."""


# Builds the sender of a campaign (provider account, numbers, callback URLs).
SenderFactory = Callable[[Campaign], Sender]
