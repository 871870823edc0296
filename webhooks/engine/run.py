"""The engine's loop: claim due deliveries, send them concurrently, record their outcomes in
bulk, and claim again as slots free up.

One loop runs inside each dispatch or sweep task. It keeps at most `slots` attempts in
flight; each result comes back as soon as its receiver answers (or its deadline passes), its
outcome is written with whatever else finished meanwhile, and the freed slots are claimed
again at once, so a slow endpoint holds only its own slots while the rest keep moving.
"""

import queue
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from ..models import Delivery, Endpoint
from ..transport import http
from ..transport.signing import secret_decode, signature_headers
from .claim import deliveries_claim
from .outcome import Outcome, attempts_record

# While attempts are in flight and none finishes, the loop claims again this often (seconds).
POLL_INTERVAL = 0.05


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


def deliveries_run(*, max_seconds: float, delivery_ids: list | None = None, slots: int | None = None) -> int:
    """Deliver until nothing is claimable (or, with `delivery_ids`, those only), claiming
    for at most `max_seconds`; returns the number of attempts recorded."""
    slots = slots or settings.WEBHOOK_ENGINE_SLOTS
    client = http.client()
    results: queue.SimpleQueue = queue.SimpleQueue()
    in_flight: dict = {}
    recorded = 0
    stop_claiming = time.monotonic() + max_seconds
    claimable = True
    while True:
        free = slots - len(in_flight)
        if claimable and free > 0 and time.monotonic() < stop_claiming:
            batch = deliveries_claim(
                limit=free, delivery_ids=delivery_ids, wait_for_workspaces=delivery_ids is not None
            )
            if batch:
                attempted_at = timezone.now()
                for delivery in batch:
                    in_flight[delivery.pk] = (delivery, attempted_at)
                client.send(requests_of(batch), results.put)
            # With ids there is one claim; else claim again once an attempt has freed a slot.
            claimable = bool(batch) and delivery_ids is None
        if not in_flight:
            break
        try:
            done = [results.get(timeout=POLL_INTERVAL)]
        except queue.Empty:
            # Slow attempts hold their slots; meanwhile new work (another workspace's fresh
            # delivery) is claimed into the free ones.
            claimable = delivery_ids is None
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
        # Written before the next claim: the outcomes free their leases, so the endpoints'
        # and workspaces' caps see the room.
        recorded += len(attempts_record(outcomes=finished))
        finished = []
        claimable = delivery_ids is None
    return recorded


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
