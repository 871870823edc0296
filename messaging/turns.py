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
  `turn_serving`, which gives the next ticket claim_seconds() to be claimed (longer than a
  poll's wait for a pooled connection, so a live waiter keeps its place).
  A turn whose process died mid-turn leaves its ticket served with nobody to advance it: once
  its lease has run out, a waiter (a turn, or a redelivery's conversation_turn_wait) skips it.
  The lease (lease_seconds: the model call's deadline, AI_TIMEOUT_SECONDS, plus a wait for a
  pooled connection and the reply's steps) is taken when the turn is claimed and renewed
  before and after the model call (the connection's idle hook, leadhub.pool.connection_idle).
  Should a live turn lose it all the same (a stall longer than the lease), the reply's
  transaction sees so (turn_keep, under the row lock) and stores nothing: the lead's message,
  stored in order, stays unanswered until beat's sweep answers it in a turn of its own
  (inbound/sweep.py). A dead turn holds its conversation up for a lease, then each ticket
  drawn behind it by a waiter that died too for claim_seconds() more. A statement that fails
  on a connection whose backend died is run once more on a new one (_run_again), and a
  waiter whose poll finds no connection (the pool exhausted) polls again, for a lease at most.
  A session-level advisory lock did this before: every waiting turn and every turn waiting
  on the model held a connection of its own for seconds (50 conversations at once: 50 backends,
  each new one ~35 ms of connection and catalog work on a 2-core machine).
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
from django.db import DatabaseError, InterfaceError, OperationalError, connection

from leadhub.pool import connection_rest, connection_wait_seconds, idle_hook

from .models import Conversation

logger = logging.getLogger("messaging.transcript")

REPLY_SECONDS = 10  # a turn's steps after it has a connection again: skills, the reply's transaction
STALL_SECONDS = 5  # a live process's pause between two statements (CPU, garbage collection)
SLEEPS = (0.005, 0.01, 0.02, 0.03, 0.05)  # between polls, then the last one again


def lease_seconds() -> float:
    """How long a turn may hold its conversation without renewing. It renews before and after the
    model call (connection_idle): between the two the model's deadline, then a wait for a pooled
    connection (DATABASE_POOL_TIMEOUT), then the reply's steps."""
    return settings.AI_TIMEOUT_SECONDS + connection_wait_seconds() + REPLY_SECONDS


def claim_seconds() -> float:
    """How long a served ticket waits for its waiter to claim it: a live waiter polls at least
    every SLEEPS[-1] s, but each poll may wait DATABASE_POOL_TIMEOUT for a connection first."""
    return STALL_SECONDS + connection_wait_seconds() + SLEEPS[-1]


class TurnLost(Exception):
    """The turn's lease ran out and a waiter skipped it: another turn of the conversation may
    be under way, so this one must store nothing more (turn_keep)."""


_held = threading.local()  # this thread's turns: conversation key -> its ticket


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


_CONNECTION_ERRORS = (OperationalError, InterfaceError)


def _run_again(name: str, params: list) -> tuple[tuple | None, int]:
    """_run, once more if it failed on a connection that was open (its backend died or the
    network dropped it): closed, a pooled one is dropped by the pool, and the next is new."""
    opened = connection.connection is not None
    try:
        return _run(name, params)
    except _CONNECTION_ERRORS:
        if not opened or connection.in_atomic_block:
            raise
        logger.warning("Turn statement %s failed on its connection; once more on a new one", name, exc_info=True)
        connection.close()
        return _run(name, params)


def _polled(name: str, params: list, failing: list[float]) -> tuple[tuple | None, int] | None:
    """A waiter's poll, or None when no connection answered (the pool exhausted, DATABASE_POOL_TIMEOUT
    spent, or the server away): the waiter polls again rather than fail its request before its
    message is stored and leave its ticket drawn. `failing` holds when the polls began to fail;
    failing for longer than a lease, the database is down for the message too: the error is raised."""
    try:
        result = _run_again(name, params)
    except _CONNECTION_ERRORS:
        now = time.monotonic()
        failing[:] = failing or [now]
        if now - failing[0] > lease_seconds():
            raise
        logger.warning("A turn's poll found no connection; it waits on", exc_info=True)
        connection.close()
        return None
    failing.clear()
    return result


def _skip_expired(pk, serving: int) -> None:
    """The served turn's lease ran out (its process died): the next ticket is served."""
    _, changed = _run_again("skip", [claim_seconds(), pk, serving])
    if changed:
        logger.warning("Turn %s of conversation %s skipped: its lease ran out (its process died?)", serving, pk)


def _sleeps() -> Iterator[float]:
    yield from SLEEPS
    while True:
        yield SLEEPS[-1]


def _ticket_claimed(pk) -> int | None:
    """Draw a ticket and wait for its turn; the ticket, now served to this turn (None: the
    conversation is not stored, so there is nothing to order)."""
    failing: list[float] = []
    while True:
        row, _ = _run_again("draw", [lease_seconds(), pk])
        if row is None:
            return None
        ticket, serving = row
        if ticket == serving:
            return ticket
        with _counted_waiting(pk):
            for pause in _sleeps():
                connection_rest(pause)
                polled = _polled("poll", [lease_seconds(), pk, ticket, pk], failing)
                if polled is None:
                    continue
                row, _ = polled
                if row is None:
                    return None
                serving, expired, claimed = row
                if claimed:
                    return ticket
                if serving > ticket:  # it waited past its claim (claim_seconds): in line again
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

    held = _held.__dict__.setdefault("tickets", {})
    held[str(pk)] = ticket
    try:
        with idle_hook(renew):
            yield
    finally:
        held.pop(str(pk), None)
        try:
            _, changed = _run_again("advance", [claim_seconds(), pk, ticket])
            if not changed:
                logger.warning("Turn %s of conversation %s ended after its lease (skipped as dead)", ticket, pk)
        except DatabaseError:  # its lease runs out, and the next turn is served then
            logger.warning("Could not end turn %s of conversation %s", ticket, pk, exc_info=True)


def turn_keep(conversation_id) -> None:
    """In the transaction that stores a turn's reply: the turn is still this thread's, its lease
    renewed and the conversation's row locked until the transaction ends (no waiter can skip it
    meanwhile); raises TurnLost when a waiter has skipped it (its lease ran out: the next turn
    may be storing its own message), so the reply is not stored out of order. Nothing to check
    outside a PostgreSQL turn."""
    ticket = getattr(_held, "tickets", {}).get(str(conversation_id))
    if ticket is None or connection.vendor != "postgresql":
        return
    _, changed = _run("renew", [lease_seconds(), conversation_id, ticket])
    if not changed:
        logger.warning("Turn %s of conversation %s lost its lease: its reply is not stored", ticket, conversation_id)
        raise TurnLost(conversation_id)


def _ticket_wait(pk, seconds: float) -> bool:
    row, _ = _run("next", [pk])
    if row is None:
        return True
    target, serving, expired = row
    failing: list[float] = []
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
            polled = _polled("served", [pk], failing)
            if polled is None:
                expired = False  # nothing known: skip nothing
                continue
            row, _ = polled
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
