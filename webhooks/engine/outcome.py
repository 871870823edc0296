"""Recording attempts: the retry schedule, and each flush of outcomes written in bulk (the
deliveries' new state, one Attempt row per try, the endpoints' health) in one transaction."""

import copy
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from ..models import Attempt, Delivery
from ..transport.http import Result
from .claim import commit_without_waiting_for_disk
from .health import endpoints_observe

logger = logging.getLogger("webhooks.engine")

# The retry schedule of SPEC §6: the waits after the 1st, 2nd, ... failed attempt; 8 in all.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1  # each wait is stretched or shrunk by up to 10 %, so retries of a burst spread out


def retry_delay(*, attempt_number: int) -> timedelta:
    """The wait after failed attempt number `attempt_number` (1-based), with jitter."""
    base = RETRY_DELAYS[attempt_number - 1] * settings.WEBHOOK_RETRY_SCALE
    return base * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311 (spreading retries, not secrecy)


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery  # as claimed: its lease token and attempt count at the claim
    result: Result
    attempted_at: datetime


_FIELDS = [
    "status",
    "attempt_count",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "succeeded_at",
    "lease_token",
    "lease_expires_at",
    "updated_at",
]


def attempts_record(*, outcomes: list[Outcome], tries: int = 3) -> dict:
    """attempts_record_once, tried again when PostgreSQL picks this transaction as a deadlock
    victim (a bulk give-up or an endpoint's deletion locking the same rows)."""
    for attempt in range(1, tries + 1):
        try:
            return attempts_record_once(outcomes=outcomes)
        except OperationalError:
            if attempt == tries:
                raise
            logger.info("Recording %d outcomes failed; trying again", len(outcomes), exc_info=True)
            time.sleep(0.02 * attempt)
    return {}


def attempts_record_once(*, outcomes: list[Outcome]) -> dict:
    """Write the outcomes of attempts; returns {delivery id: Attempt} for those recorded.

    A failure is recorded only while the delivery's lease is still this claim's (a worker
    whose lease expired and was taken over records nothing); a success whenever the delivery
    is still pending (the event did arrive)."""
    if not outcomes:
        return {}
    now = timezone.now()
    recorded: dict = {}
    with transaction.atomic():
        commit_without_waiting_for_disk()
        held = dict(
            Delivery.objects.filter(
                pk__in=[outcome.delivery.pk for outcome in outcomes], status=Delivery.Status.PENDING
            )
            .order_by("pk")
            .select_for_update()
            .values_list("pk", "lease_token")
        )
        changed, attempts, observed = [], [], defaultdict(list)
        for outcome in outcomes:
            delivery, result = outcome.delivery, outcome.result
            if delivery.pk not in held or (not result.ok and held[delivery.pk] != delivery.lease_token):
                continue
            delivery = copy.copy(delivery)  # the claimed state stays intact should this transaction fail
            _apply(delivery=delivery, result=result, now=now)
            changed.append(delivery)
            attempts.append(
                Attempt(
                    delivery=delivery,
                    attempted_at=outcome.attempted_at,
                    status_code=result.status_code,
                    response_excerpt=result.excerpt,
                    duration_ms=result.duration_ms,
                    error=result.error,
                )
            )
            observed[delivery.endpoint].append(result)
        if not changed:
            return {}
        Delivery.objects.bulk_update(changed, _FIELDS, batch_size=500)
        for attempt in Attempt.objects.bulk_create(attempts, batch_size=500):
            recorded[attempt.delivery_id] = attempt
        endpoints_observe(outcomes=observed, now=now)
    for delivery in changed:
        if delivery.status != Delivery.Status.SUCCEEDED:
            _log_failure(delivery)
    return recorded


def _apply(*, delivery: Delivery, result: Result, now) -> None:
    number = delivery.attempt_count + 1
    delivery.attempt_count = number
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    delivery.lease_token = None
    delivery.lease_expires_at = None
    delivery.updated_at = now
    if result.ok:
        delivery.status = Delivery.Status.SUCCEEDED
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
    elif number >= MAX_ATTEMPTS:
        delivery.status = Delivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + retry_delay(attempt_number=number)


def _log_failure(delivery: Delivery) -> None:
    """One WARNING per failed attempt: which endpoint, what it answered, what happens next."""
    what = f"answered {delivery.last_status_code}" if delivery.last_status_code else delivery.last_error
    if delivery.status == Delivery.Status.FAILED:
        then = "no retries left: the delivery is failed (replay it when the endpoint is fixed)"
    else:
        then = f"next retry at {delivery.next_attempt_at.isoformat().replace('+00:00', 'Z')}"
    logger.warning(
        "Webhook attempt %d/%d of delivery %s to endpoint %s (%s) failed: %s; %s",
        delivery.attempt_count,
        MAX_ATTEMPTS,
        delivery.pk,
        delivery.endpoint_id,
        delivery.endpoint.url,
        what,
        then,
    )
