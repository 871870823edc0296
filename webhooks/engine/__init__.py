"""The delivery engine: claim (leases, caps, fairness), attempt (concurrent, signed, within a
deadline), outcome (bulk writes, retries) and endpoint health. The Celery tasks run it."""

from .claim import LEASE, deliveries_claim
from .outcome import MAX_ATTEMPTS, RETRY_DELAYS, retry_delay
from .run import deliveries_run, delivery_attempt

__all__ = [
    "LEASE",
    "MAX_ATTEMPTS",
    "RETRY_DELAYS",
    "deliveries_claim",
    "deliveries_run",
    "delivery_attempt",
    "retry_delay",
]
