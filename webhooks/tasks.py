"""Delivery tasks: dispatch right after an event commits, and the periodic sweep (Celery beat).

Both run the engine's loop and are idempotent and acknowledged late: a task run twice, or
redelivered after its worker died, finds its deliveries leased or done and does nothing more.
The retry schedule lives in the database (Delivery.next_attempt_at), so the sweep, not a
broker ETA, makes every retry; a lost dispatch message only means the sweep sends the
delivery a few seconds later. Each attempt ends within its own deadline; the time limits
below are the backstop should anything else hang.
"""

import logging

from celery import shared_task

from leadhub.tenancy import operator_scope

from .engine import deliveries_run
from .engine.run import dispatch_coalesced, dispatch_queue_wanted, dispatch_started

logger = logging.getLogger("webhooks.engine")

# A dispatch claims for at most this long, a sweep (every 5 s) for at most this long; what is
# left is the next one's.
DISPATCH_SECONDS = 5.0
SWEEP_SECONDS = 20.0
# A coalesced dispatch with nothing left in flight waits this long for new commits before it
# ends (within DISPATCH_SECONDS).
AWAKE_SECONDS = 1.0
# Claiming stops at the limit above; the attempts in flight then end within their deadline.
BACKSTOP = {"soft_time_limit": 60, "time_limit": 90}


@shared_task(name="webhooks.tasks.deliveries_dispatch", acks_late=True, ignore_result=True, **BACKSTOP)
def deliveries_dispatch(delivery_ids: list[str] | None = None) -> int:
    """First attempts of just-committed deliveries: those named, or (coalesced, with a shared
    cache) every due delivery, claimed fairly across workspaces."""
    with operator_scope("webhook_engine"):
        return _dispatch(delivery_ids)


def _dispatch(delivery_ids: list[str] | None) -> int:
    if delivery_ids is None:
        dispatch_started()
        # Coalesced, it stays awake a while for the next commits (they then queue no task).
        awake = AWAKE_SECONDS if dispatch_coalesced() else 0.0
        return deliveries_run(max_seconds=DISPATCH_SECONDS, on_time_up=_dispatch_next, awake_seconds=awake)
    return deliveries_run(max_seconds=DISPATCH_SECONDS, delivery_ids=delivery_ids)


@shared_task(name="webhooks.tasks.deliveries_sweep", acks_late=True, ignore_result=True, **BACKSTOP)
def deliveries_sweep(max_seconds: float = SWEEP_SECONDS) -> int:
    """Attempt every due delivery: retries, and first attempts whose dispatch was lost or whose
    worker died (once their lease has expired)."""
    with operator_scope("webhook_engine"):
        return deliveries_run(max_seconds=max_seconds, on_time_up=_dispatch_next)


def _dispatch_next() -> None:
    """A loop's claiming window closed while there was still work to claim: the next loop
    starts now (a dispatch of every due delivery), not at the next sweep, so a backlog drains
    without pauses. At most one is queued at a time with a shared cache."""
    try:
        if not dispatch_coalesced() or dispatch_queue_wanted():
            deliveries_dispatch.delay()
    except Exception:  # the broker is down: the next sweep goes on
        logger.warning("Could not enqueue the next dispatch; the sweep will go on", exc_info=True)
