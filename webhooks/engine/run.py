"""The engine's loop: claim due deliveries, send them concurrently, record their outcomes in
bulk, and claim again as slots free up.

One loop runs inside each dispatch or sweep task. It keeps at most `slots` attempts in
flight; each result comes back as soon as its receiver answers (or its deadline passes), its
outcome is written with whatever else finished meanwhile, and the freed slots are claimed
again in the same transaction (a flush), so a slow endpoint holds only its own slots while the
rest keep moving, and a slot is never idle between its outcome and its next claim: with the
per-endpoint cap, one endpoint's rate is at most cap / (time from a claim's commit to its
outcome's), so that time is what the loop keeps short.
"""

import logging
import queue
import sys
import time
from collections.abc import Callable
from contextlib import contextmanager

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, OperationalError, connection, transaction
from django.utils import timezone

from ..models import Delivery, Endpoint
from ..transport import http
from ..transport.signing import secret_decode, signature_headers
from .claim import commit_without_waiting_for_disk, deliveries_claim, deliveries_lease, leased_load
from .outcome import Outcome, attempts_record, attempts_record_once

logger = logging.getLogger("webhooks.engine")

# While attempts are in flight and none finishes, the loop claims again this often (seconds).
POLL_INTERVAL = 0.05
# Once an attempt has finished, the loop waits at most this long (seconds) for the others in
# flight before it flushes: one flush for a whole round of fast answers rather than one per
# answer, whose cost (a transaction of about ten statements) would otherwise be paid again
# for every few attempts and, with the per-endpoint cap, bound an endpoint's rate.
LINGER = 0.005
# The interpreter's thread switch interval while the loop runs (seconds; CPython's default is
# 0.005). The loop's thread waits on the database many times per flush, and each time it
# wants the GIL back from the HTTP thread; at the default, each of those hand-overs could
# take up to 5 ms (profiled: most of a flush's time was spent so, in psycopg's send).
SWITCH_INTERVAL = 0.0002
# A coalesced dispatch with nothing in flight looks for new due deliveries this often while it
# stays awake (seconds): the most it adds to a delivery's wait then.
AWAKE_POLL = 0.005


def _keys_of(endpoint: Endpoint, now) -> list[bytes]:
    keys = [secret_decode(endpoint.secret)]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        keys.append(secret_decode(endpoint.previous_secret))
    return keys


def requests_of(deliveries: list[Delivery]) -> list[http.Request]:
    """The signed POST of each delivery; one body per event, one key set per endpoint."""
    now = timezone.now()
    timestamp = int(time.time())  # the signing time is the wall clock: consumers check it against theirs
    bodies: dict = {}
    keys: dict = {}
    requests = []
    for delivery in deliveries:
        endpoint = delivery.endpoint
        body = bodies.get(delivery.event_id)
        if body is None:
            body = bodies[delivery.event_id] = delivery.event.body()
        if endpoint.pk not in keys:
            keys[endpoint.pk] = _keys_of(endpoint, now)
        headers = signature_headers(
            keys=keys[endpoint.pk], msg_id=str(delivery.event_id), timestamp=timestamp, body=body
        )
        requests.append(http.Request(key=delivery.pk, url=endpoint.url, body=body, headers=headers))
    return requests


def delivery_attempt(*, delivery: Delivery):
    """POST one leased delivery (from deliveries_claim) and record the outcome; returns the
    Attempt, or None when the lease was lost meanwhile."""
    (request,) = requests_of([delivery])
    attempted_at = timezone.now()
    result = http.client().post(request)
    recorded = attempts_record(outcomes=[Outcome(delivery=delivery, result=result, attempted_at=attempted_at)])
    return recorded.get(delivery.pk)


def deliveries_run(
    *,
    max_seconds: float,
    delivery_ids: list | None = None,
    slots: int | None = None,
    on_time_up: Callable[[], None] | None = None,
    awake_seconds: float = 0.0,
) -> int:
    """Deliver until nothing is claimable (or, with `delivery_ids`, those only), claiming
    for at most `max_seconds`; returns the number of attempts recorded. `on_time_up` is
    called once if the window closes while claims still found work (a backlog is left).
    With `awake_seconds` (a coalesced dispatch), the loop stays awake that long once nothing
    is in flight, claiming what new commits make due (see _awake)."""
    with _engine_running():
        return _run(
            max_seconds=max_seconds,
            delivery_ids=delivery_ids,
            slots=slots,
            on_time_up=on_time_up,
            awake_seconds=awake_seconds,
        )


@contextmanager
def _engine_running():
    """While the loop runs: its thread gets the GIL back quickly (SWITCH_INTERVAL), and on
    PostgreSQL its connection commits without waiting for the disk (one SET for the whole
    run instead of one per transaction; see commit_without_waiting_for_disk). Both are put
    back afterwards: the worker's next task commits durably again."""
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, SWITCH_INTERVAL))
    session = connection.vendor == "postgresql" and not connection.in_atomic_block
    try:
        if session:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO OFF")
            connection.webhook_engine_async_commit = True
        yield
    finally:
        sys.setswitchinterval(switch_interval)
        if session:
            connection.webhook_engine_async_commit = False
            try:
                with connection.cursor() as cursor:
                    cursor.execute("RESET synchronous_commit")
            except DatabaseError:  # a broken connection: closed, so the setting cannot outlive it
                connection.close()


def _run(*, max_seconds: float, delivery_ids, slots, on_time_up, awake_seconds: float) -> int:
    slots = slots or settings.WEBHOOK_ENGINE_SLOTS
    client = http.client()
    results: queue.SimpleQueue = queue.SimpleQueue()
    in_flight: dict = {}
    recorded = 0
    stop_claiming = time.monotonic() + max_seconds
    sweeping = delivery_ids is None  # else one claim of those ids, then their outcomes
    awake = _Awake(seconds=awake_seconds if sweeping else 0.0, until=stop_claiming)

    def send(batch: list[Delivery]) -> None:
        if not batch:
            return
        attempted_at = timezone.now()
        for delivery in batch:
            in_flight[delivery.pk] = (delivery, attempted_at)
        client.send(requests_of(batch), results.put)

    batch = []  # claimed, to be sent at the top of the loop
    if max_seconds > 0:
        batch = deliveries_claim(limit=slots, delivery_ids=delivery_ids, wait_for_workspaces=not sweeping)
    found_work = False  # whether the latest claim found work (a backlog may be left)
    try:
        while batch or in_flight or (batch := awake.wait(limit=slots)):
            found_work = found_work or bool(batch)
            send(batch)
            batch = []
            claiming = sweeping and time.monotonic() < stop_claiming
            if not claiming:
                awake.stop()  # the key is let go first, so that on_time_up can queue the next dispatch
            if found_work and not claiming and on_time_up is not None:
                on_time_up()
                on_time_up = None
            done: list = []
            try:
                done.append(results.get(timeout=POLL_INTERVAL))
                lingering = time.monotonic() + LINGER
                while len(done) < len(in_flight) and (left := lingering - time.monotonic()) > 0:
                    done.append(results.get(timeout=left))
            except queue.Empty:
                pass
            if not done:
                # Slow attempts hold their slots; meanwhile new work (another workspace's
                # fresh delivery) is claimed into the free ones.
                if claiming and len(in_flight) < slots:
                    batch = deliveries_claim(limit=slots - len(in_flight))
                    found_work = found_work or bool(batch)
                continue
            while True:
                try:
                    done.append(results.get_nowait())
                except queue.Empty:
                    break
            finished = []
            for result in done:
                delivery, attempted_at = in_flight.pop(result.key)
                finished.append(Outcome(delivery=delivery, result=result, attempted_at=attempted_at))
            if claiming:
                # The outcomes free their leases and the freed slots are claimed again in the
                # same commit: a slot is never idle between the two, and the caps see the room.
                written, lease = _flush(outcomes=finished, limit=slots - len(in_flight))
                batch = leased_load(lease)
                found_work = bool(batch)
            else:
                written = attempts_record(outcomes=finished)
            recorded += len(written)
    finally:
        # Commits did not queue a dispatch while this loop was awake for them: if it ends with
        # the window (not idle), the next one is queued now.
        if awake.release() and on_time_up is not None:
            on_time_up()
    return recorded


class _Awake:
    """A coalesced dispatch's loop, once nothing is in flight, stays awake for new commits
    for up to `seconds` (within its window): it holds the dispatch key, so commits queue no
    task meanwhile (at 200 commits/s, a task each cost more than their deliveries), and
    claims every AWAKE_POLL. Before it gives up it lets the key go and looks once more: a
    commit after that queues a dispatch, one before it is found."""

    def __init__(self, *, seconds: float, until: float) -> None:
        self.seconds, self.until, self.holding = seconds, until, False

    def wait(self, *, limit: int) -> list[Delivery]:
        """The next batch once nothing is in flight, or [] when the loop should end."""
        if self.seconds <= 0:
            return []
        if not self.holding:
            cache.set(DISPATCH_QUEUED_KEY, 1, timeout=DISPATCH_QUEUED_TTL)
            self.holding = True
        idle_until = min(time.monotonic() + self.seconds, self.until)
        while time.monotonic() < idle_until:
            time.sleep(AWAKE_POLL)
            batch = deliveries_claim(limit=limit)
            if batch:
                return batch
        self.stop()
        return deliveries_claim(limit=limit)  # the last look, after letting the key go

    def stop(self) -> None:
        """No more waiting: the key is let go."""
        self.seconds = 0.0
        self.release()

    def release(self) -> bool:
        """Let the dispatch key go; whether it was held."""
        if not self.holding:
            return False
        self.holding = False
        cache.delete(DISPATCH_QUEUED_KEY)
        return True


def _flush(*, outcomes: list[Outcome], limit: int, tries: int = 3) -> tuple[dict, tuple]:
    """Record `outcomes` and lease up to `limit` deliveries in one transaction (tried again
    when PostgreSQL picks it as a deadlock victim, as attempts_record is)."""
    for attempt in range(1, tries + 1):
        try:
            with transaction.atomic():
                commit_without_waiting_for_disk()
                written = attempts_record_once(outcomes=outcomes)
                lease = deliveries_lease(limit=limit)
            return written, lease
        except OperationalError:
            if attempt == tries:
                raise
            logger.info("Recording %d outcomes failed; trying again", len(outcomes), exc_info=True)
            time.sleep(0.02 * attempt)
    return {}, ([], None)


# --- Waking the engine on commit --------------------------------------------------------------

# With a shared cache (Redis), at most one dispatch task waits in the queue at a time: a
# dispatch claims every due delivery fairly, not only those of the commit that queued it, so
# a flood of commits in one workspace cannot queue thousands of tasks in front of another
# workspace's. Without a shared cache (the embedded default's per-process memory), each
# commit queues a dispatch of its own deliveries.
DISPATCH_QUEUED_KEY = "webhooks:dispatch-queued"
DISPATCH_QUEUED_TTL = 10  # seconds: a lost message holds back new ones at most this long


def dispatch_coalesced() -> bool:
    return settings.WEBHOOK_DISPATCH_COALESCE


def dispatch_queue_wanted() -> bool:
    """Whether a commit should queue a dispatch task (False: one is queued already)."""
    return cache.add(DISPATCH_QUEUED_KEY, 1, timeout=DISPATCH_QUEUED_TTL) is not False


def dispatch_started() -> None:
    """A dispatch task starts: commits from now on queue the next one."""
    cache.delete(DISPATCH_QUEUED_KEY)
