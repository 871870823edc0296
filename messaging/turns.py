"""One turn of a conversation at a time, in arrival order (transcript.conversation_turn).

Turns are ordered without a transaction held between their steps: a turn stores the lead's
message (one short transaction), waits on the model holding no row lock, then stores the reply
(another). What orders the turns of one conversation spans all three:

- PostgreSQL: a ticket lock on the conversation's row, and no database session held while a
  turn waits or the model answers (with the connection pool, leadhub/pool.py, the
  connection goes back to the pool meanwhile). Two counters, `turn_next` (the next ticket to
  draw) and `turn_serving` (the ticket whose turn it is), and `turn_lease_until`: how long the
  served turn may keep it. A turn draws its ticket with one UPDATE (autocommit: the row is
  locked for that statement only), which also claims the turn when nobody holds or waits for
  it (the usual case: one round trip). Otherwise it polls, sleeping between polls (SLEEPS)
  with no connection held, until `turn_serving` is its ticket, and claims it. Tickets are
  served in the order drawn, so turns run in arrival order. On exit the turn advances
  `turn_serving`, which gives the next ticket CLAIM_SECONDS to be claimed.
  A turn whose process died mid-turn leaves its ticket served with nobody to advance it: once
  its lease has run out, a waiter (a turn, or a redelivery's conversation_turn_wait) skips it.
  The lease (lease_seconds: the model call's deadline, AI_TIMEOUT_SECONDS, plus LEASE_MARGIN)
  is taken when the turn is claimed and renewed before the model is called (the connection's
  idle hook, leadhub.pool.connection_idle), so a live turn never loses it; a dead one holds
  its conversation up for at most that long (for at most CLAIM_SECONDS, a ticket whose waiter
  died). A session-level advisory lock did this before: every waiting turn and every turn
  waiting on the model held a connection of its own for seconds (50 conversations at once:
  50 backends, each new one ~35 ms of connection and catalog work on a 2-core machine).
- SQLite (the embedded default, one web process; see Procfile): a lock in the process. A
  write transaction there locks the whole database, so none is ever held while a model answers.
  A process that dies mid-turn takes its locks with it. Each conversation's lock lives while a
  turn holds it or waits for it, and the last to leave removes it: kept, one per conversation
  ever answered, they grew the process's memory for as long as it ran.
"""

import functools
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection

from leadhub.pool import connection_rest, idle_hook

from .models import Conversation

logger = logging.getLogger("messaging.transcript")

LEASE_MARGIN_SECONDS = 10  # beyond the model call's deadline: the steps around it
CLAIM_SECONDS = 5  # a waiter polls every SLEEPS[-1] s at most: far less
SLEEPS = (0.005, 0.01, 0.02, 0.03, 0.05)  # between polls, then the last one again


def lease_seconds() -> float:
    """How long a turn may hold its conversation without renewing: the model's deadline and more."""
    return settings.AI_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS


# --- waiting, seen from this process (tests and diagnostics) --------------------------------------

_waiting: Counter = Counter()
_waiting_guard = threading.Lock()


def turn_waiters(conversation_id) -> int:
    """How many turns and redeliveries of this process wait for the conversation's turn now."""
    with _waiting_guard:
        return _waiting[str(conversation_id)]


@contextmanager
def _counted_waiting(conversation_id) -> Iterator[None]:
    key = str(conversation_id)
    with _waiting_guard:
        _waiting[key] += 1
    try:
        yield
    finally:
        with _waiting_guard:
            _waiting[key] -= 1
            if not _waiting[key]:
                del _waiting[key]


# --- SQLite: a lock in the process ----------------------------------------------------------------


class _ProcessTurnLock:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0  # turns holding or waiting for it, guarded by _process_locks_guard


_process_locks: dict[Any, _ProcessTurnLock] = {}
_process_locks_guard = threading.Lock()


@contextmanager
def _process_lock(key, *, timeout: float = -1) -> Iterator[bool]:
    """The conversation's lock in this process for the block; yields whether it was acquired
    (within `timeout` seconds; -1: waits as long as it takes)."""
    with _process_locks_guard:
        entry = _process_locks.get(key)
        if entry is None:
            entry = _process_locks[key] = _ProcessTurnLock()
        entry.users += 1
    acquired = False
    try:
        acquired = entry.lock.acquire(blocking=False)
        if not acquired and timeout != 0:
            with _counted_waiting(key):
                acquired = entry.lock.acquire(timeout=timeout)
        yield acquired
    finally:
        if acquired:
            entry.lock.release()
        with _process_locks_guard:
            entry.users -= 1
            if entry.users == 0:
                del _process_locks[key]


# --- PostgreSQL: a ticket lock on the conversation's row -------------------------------------------


@functools.cache
def _statements() -> dict[str, str]:
    """The ticket lock's statements; only the model's table and column names are spliced in."""
    quote = connection.ops.quote_name
    table, pk = quote(Conversation._meta.db_table), quote(Conversation._meta.pk.column)
    nxt, serving, lease = quote("turn_next"), quote("turn_serving"), quote("turn_lease_until")
    now = "statement_timestamp()"
    until = f"{now} + %s::float8 * interval '1 second'"
    return {
        # The ticket drawn, and the turn claimed at once when it is the one served.
        "draw": (
            f"UPDATE {table} SET {nxt} = {nxt} + 1, "  # noqa: S608
            f"{lease} = CASE WHEN {nxt} = {serving} THEN {until} ELSE {lease} END "
            f"WHERE {pk} = %s RETURNING {nxt} - 1, {serving}"
        ),
        # Claimed if its ticket is served; what is served, and whether its lease ran out.
        "poll": (
            f"WITH claimed AS (UPDATE {table} SET {lease} = {until} "  # noqa: S608
            f"WHERE {pk} = %s AND {serving} = %s RETURNING 1) "
            f"SELECT {serving}, {lease} < {now}, EXISTS (SELECT FROM claimed) FROM {table} WHERE {pk} = %s"
        ),
        "renew": f"UPDATE {table} SET {lease} = {until} WHERE {pk} = %s AND {serving} = %s",  # noqa: S608
        # The turn ended (`advance`), or its holder is skipped: its lease ran out (`skip`).
        "advance": (
            f"UPDATE {table} SET {serving} = {serving} + 1, {lease} = {until} "  # noqa: S608
            f"WHERE {pk} = %s AND {serving} = %s"
        ),
        "skip": (
            f"UPDATE {table} SET {serving} = {serving} + 1, {lease} = {until} "  # noqa: S608
            f"WHERE {pk} = %s AND {serving} = %s AND {lease} < {now}"
        ),
        "next": f"SELECT {nxt}, {serving}, {lease} < {now} FROM {table} WHERE {pk} = %s",  # noqa: S608
        "served": f"SELECT {serving}, {lease} < {now} FROM {table} WHERE {pk} = %s",  # noqa: S608
    }


def _run(name: str, params: list) -> tuple[tuple | None, int]:
    """One statement of the ticket lock: (its row or None, rows changed)."""
    with connection.cursor() as cursor:
        cursor.execute(_statements()[name], params)
        row = cursor.fetchone() if cursor.description else None
        return row, cursor.rowcount


def _skip_expired(pk, serving: int) -> None:
    """The served turn's lease ran out (its process died): the next ticket is served."""
    _, changed = _run("skip", [CLAIM_SECONDS, pk, serving])
    if changed:
        logger.warning("Turn %s of conversation %s skipped: its lease ran out (its process died?)", serving, pk)


def _sleeps() -> Iterator[float]:
    yield from SLEEPS
    while True:
        yield SLEEPS[-1]


def _ticket_claimed(pk) -> int | None:
    """Draw a ticket and wait for its turn; the ticket, now served to this turn (None: the
    conversation is not stored, so there is nothing to order)."""
    while True:
        row, _ = _run("draw", [lease_seconds(), pk])
        if row is None:
            return None
        ticket, serving = row
        if ticket == serving:
            return ticket
        with _counted_waiting(pk):
            for pause in _sleeps():
                connection_rest(pause)
                row, _ = _run("poll", [lease_seconds(), pk, ticket, pk])
                if row is None:
                    return None
                serving, expired, claimed = row
                if claimed:
                    return ticket
                if serving > ticket:  # it waited past its claim (CLAIM_SECONDS): in line again
                    logger.warning("Turn %s of conversation %s was not claimed in time; drawn again", ticket, pk)
                    break
                if expired:
                    _skip_expired(pk, serving)


@contextmanager
def _ticket_turn(pk) -> Iterator[None]:
    ticket = _ticket_claimed(pk)
    if ticket is None:  # deleted meanwhile, or outside the caller's workspace (tenancy)
        logger.warning("Conversation %s not found: its turn is not ordered", pk)
        yield
        return

    def renew() -> None:
        _, changed = _run("renew", [lease_seconds(), pk, ticket])
        if not changed:
            logger.warning("Turn %s of conversation %s lost its lease (skipped as dead)", ticket, pk)

    try:
        with idle_hook(renew):
            yield
    finally:
        try:
            _, changed = _run("advance", [CLAIM_SECONDS, pk, ticket])
            if not changed:
                logger.warning("Turn %s of conversation %s ended after its lease (skipped as dead)", ticket, pk)
        except DatabaseError:  # its lease runs out, and the next turn is served then
            logger.warning("Could not end turn %s of conversation %s", ticket, pk, exc_info=True)


def _ticket_wait(pk, seconds: float) -> bool:
    row, _ = _run("next", [pk])
    if row is None:
        return True
    target, serving, expired = row
    deadline = time.monotonic() + seconds
    with _counted_waiting(pk):
        for pause in _sleeps():
            if serving >= target:
                return True
            if expired:
                _skip_expired(pk, serving)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            connection_rest(min(pause, left))
            row, _ = _run("served", [pk])
            if row is None:
                return True
            serving, expired = row
    return False  # not reached: _sleeps() never ends


# --- the interface (transcript re-exports it) -----------------------------------------------------


@contextmanager
def conversation_turn(conversation: Conversation) -> Iterator[None]:
    """One turn of a conversation at a time, in arrival order: the next message of the
    conversation waits until this turn has stored its reply, and then sees it. Inside, each
    write is a transaction of its own that locks the conversation's row (`conversation_lock`)
    for its message's position; the model is called between them with no transaction open
    (and, pooled, no connection held: leadhub.pool.connection_idle).
    Call it outside any transaction (a transaction around it would hold its row locks for the
    whole turn again)."""
    if connection.vendor == "postgresql":
        with _ticket_turn(conversation.pk):
            yield
    else:
        with _process_lock(conversation.pk):
            yield


def conversation_turn_wait(conversation_id, *, seconds: float) -> bool:
    """Wait until the turn under way in the conversation (and any queued before this call) has
    ended, at most `seconds`; True when it had, False when the wait ran out. A redelivered
    message waits so for the delivery that stores its reply. PostgreSQL: it draws no ticket,
    it waits until the ticket served reaches the next one to draw at the call. Call it outside
    any transaction, and never inside a turn of the same conversation."""
    if connection.vendor != "postgresql":
        with _process_lock(conversation_id, timeout=seconds) as acquired:
            return acquired
    return _ticket_wait(conversation_id, seconds)
