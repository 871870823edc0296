"""Delivery tasks: dispatch right after an event commits, and the periodic sweep (Celery beat).

Both are idempotent and acknowledged late: a task run twice, or redelivered after its worker
died, finds its deliveries leased or done and does nothing more. The retry schedule lives in
the database (Delivery.next_attempt_at), so the sweep, not a broker ETA, makes every retry;
a lost dispatch message only means the sweep sends the delivery a few seconds later.
"""

import logging
import time

from celery import shared_task

from .services import deliveries_claim, delivery_attempt

logger = logging.getLogger(__name__)
SWEEP_BATCH = 10
# A sweep stops claiming after this long; the next one (every 5 s) carries on.
SWEEP_SECONDS = 20.0


@shared_task(name="webhooks.tasks.deliveries_dispatch", acks_late=True, ignore_result=True)
def deliveries_dispatch(delivery_ids: list[str]) -> int:
    """First attempt of the deliveries of a just-committed event."""
    sent = 0
    for delivery in deliveries_claim(delivery_ids=delivery_ids, limit=len(delivery_ids)):
        sent += _attempt(delivery)
    return sent


@shared_task(name="webhooks.tasks.deliveries_sweep", acks_late=True, ignore_result=True)
def deliveries_sweep(max_seconds: float = SWEEP_SECONDS) -> int:
    """Attempt every due delivery: retries, and first attempts whose dispatch was lost or whose
    worker died (once their lease has expired)."""
    deadline = time.monotonic() + max_seconds
    sent = 0
    while time.monotonic() < deadline:
        batch = deliveries_claim(limit=SWEEP_BATCH)
        if not batch:
            break
        for delivery in batch:
            sent += _attempt(delivery)
    return sent


def _attempt(delivery) -> int:
    """One attempt; an unexpected failure is logged and leaves the delivery to its lease
    (it is tried again when the lease expires) instead of stopping the other deliveries."""
    try:
        delivery_attempt(delivery=delivery)
    except Exception:
        logger.exception("Attempt of delivery %s failed unexpectedly", delivery.pk)
        return 0
    return 1
