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
from django.db import OperationalError, connection, transaction
from django.db.models import F
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
    # Each outcome's new state, worked out on a copy (the claimed state stays intact should
    # this transaction fail), and its Attempt; the writes then keep those whose delivery is
    # still pending (and, for a failure, still this claim's).
    changes = []
    for outcome in outcomes:
        delivery = copy.copy(outcome.delivery)
        _apply(delivery=delivery, result=outcome.result, now=now)
        result = outcome.result
        attempt = Attempt(
            delivery=delivery,
            attempted_at=outcome.attempted_at,
            status_code=result.status_code,
            response_excerpt=result.excerpt,
            duration_ms=result.duration_ms,
            error=result.error,
        )
        changes.append((outcome, delivery, attempt))
    with transaction.atomic(savepoint=False):  # its own transaction, or the engine's flush
        commit_without_waiting_for_disk()
        write = _write_postgres if connection.vendor == "postgresql" else _write
        changes = write(changes, now=now)
        if not changes:
            return {}
        observed = defaultdict(list)
        for outcome, delivery, _ in changes:
            observed[delivery.endpoint].append(outcome.result)
        endpoints_observe(outcomes=observed, now=now)
    for _, delivery, _ in changes:
        if delivery.status != Delivery.Status.SUCCEEDED:
            _log_failure(delivery)
    return {attempt.delivery_id: attempt for _, _, attempt in changes}


def _write(changes: list[tuple], *, now) -> list[tuple]:
    held = dict(
        Delivery.objects.filter(pk__in=[delivery.pk for _, delivery, _ in changes], status=Delivery.Status.PENDING)
        .order_by("pk")
        .select_for_update()
        .values_list("pk", "lease_token")
    )
    changes = [
        (outcome, delivery, attempt)
        for outcome, delivery, attempt in changes
        if delivery.pk in held and (outcome.result.ok or held[delivery.pk] == outcome.delivery.lease_token)
    ]
    if changes:
        _deliveries_update([delivery for _, delivery, _ in changes], now=now)
        Attempt.objects.bulk_create([attempt for _, _, attempt in changes], batch_size=500)
    return changes


def _write_postgres(changes: list[tuple], *, now) -> list[tuple]:
    """The same writes as _write in one statement: the rows are locked in key order (as a
    bulk give-up or an endpoint's deletion locks them), the deliveries still held updated, and
    an Attempt inserted for each of those."""
    d, a = Delivery._meta.db_table, Attempt._meta.db_table
    sql = f"""
        WITH v AS (
            SELECT * FROM unnest(
                %(ids)s::uuid[], %(ok)s::bool[], %(tokens)s::uuid[], %(statuses)s::text[],
                %(next_at)s::timestamptz[], %(codes)s::int[], %(errors)s::text[], %(succeeded_at)s::timestamptz[],
                %(attempted_at)s::timestamptz[], %(excerpts)s::text[], %(durations)s::int[]
            ) AS v(id, ok, token, status, next_attempt_at, status_code, error, succeeded_at, attempted_at,
                   excerpt, duration_ms)
        ), locked AS (
            SELECT x.id FROM {d} x JOIN v ON v.id = x.id
             WHERE x.status = 'pending' AND (v.ok OR x.lease_token = v.token)
             ORDER BY x.id
               FOR UPDATE OF x
        ), changed AS (
            UPDATE {d} x SET status = v.status, attempt_count = x.attempt_count + 1,
                   next_attempt_at = v.next_attempt_at, last_status_code = v.status_code, last_error = v.error,
                   succeeded_at = v.succeeded_at, lease_token = NULL, lease_expires_at = NULL, updated_at = %(now)s
              FROM locked JOIN v ON v.id = locked.id
             WHERE x.id = locked.id
            RETURNING x.id
        )
        INSERT INTO {a} (delivery_id, attempted_at, status_code, response_excerpt, duration_ms, error)
        SELECT v.id, v.attempted_at, v.status_code, v.excerpt, v.duration_ms, v.error FROM changed JOIN v USING (id)
        RETURNING id, delivery_id
    """  # noqa: S608 (table names from the models, values as parameters)
    params: dict = {"now": now}
    columns = {
        "ids": lambda outcome, delivery: delivery.pk,
        "ok": lambda outcome, delivery: outcome.result.ok,
        "tokens": lambda outcome, delivery: outcome.delivery.lease_token,
        "statuses": lambda outcome, delivery: delivery.status,
        "next_at": lambda outcome, delivery: delivery.next_attempt_at,
        "codes": lambda outcome, delivery: delivery.last_status_code,
        "errors": lambda outcome, delivery: delivery.last_error,
        "succeeded_at": lambda outcome, delivery: delivery.succeeded_at,
        "attempted_at": lambda outcome, delivery: outcome.attempted_at,
        "excerpts": lambda outcome, delivery: outcome.result.excerpt,
        "durations": lambda outcome, delivery: outcome.result.duration_ms,
    }
    for name, value in columns.items():
        params[name] = [value(outcome, delivery) for outcome, delivery, _ in changes]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        attempt_ids = dict((delivery_id, pk) for pk, delivery_id in cursor.fetchall())
    kept = []
    for outcome, delivery, attempt in changes:
        if delivery.pk in attempt_ids:
            attempt.pk = attempt_ids[delivery.pk]
            attempt._state.adding = False
            kept.append((outcome, delivery, attempt))
    return kept


def _deliveries_update(changed: list[Delivery], *, now) -> None:
    """Write the deliveries' new state: the successes (most of them) share every new value but
    their status code, so one UPDATE per code takes them; the rest (each with its own retry
    time) go through bulk_update, whose CASE per field and row costs more to build."""
    succeeded: dict = defaultdict(list)
    others = []
    for delivery in changed:
        if delivery.status == Delivery.Status.SUCCEEDED:
            succeeded[delivery.last_status_code].append(delivery.pk)
        else:
            others.append(delivery)
    for status_code, pks in succeeded.items():
        Delivery.objects.filter(pk__in=pks).update(
            status=Delivery.Status.SUCCEEDED,
            attempt_count=F("attempt_count") + 1,
            last_status_code=status_code,
            last_error="",
            succeeded_at=now,
            next_attempt_at=None,
            lease_token=None,
            lease_expires_at=None,
            updated_at=now,
        )
    if others:
        Delivery.objects.bulk_update(others, _FIELDS, batch_size=500)


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
