"""The campaign engine: beat starts due campaigns and drives running ones; a driver hands the
due recipients to the provider at the line's pace, outside quiet hours, never twice.

How a recipient goes out at most once, through worker kills and broker restarts:

- Up to CAMPAIGN_DRIVERS drivers per campaign at a time, each holding one of its driver slots
  (DriverLease, claimed with SKIP LOCKED), renewed as it goes. A lost drive message or a dead
  worker only delays the campaign: beat finds the running campaign with a free slot and
  starts another driver. A worker shutting down stops its drivers after their current chunk
  (DRIVERS_STOP): they release their slots, and the campaign resumes with the next worker.
- Recipients are claimed in small chunks with SELECT ... FOR UPDATE SKIP LOCKED and marked
  `sending` (committed) before the provider is called; the provider's answer is recorded
  right after. A recipient left `sending` by a driver that died between the two (at most a
  chunk, a tenth of a second of sending, per kill) may or may not have reached the provider:
  the next driver asks the provider (recovery.py) and marks it sent, or queues it again, or,
  when the provider cannot be asked, fails it (`interrupted`) rather than risk a second send.
- A provider 5xx, 429 or timeout at hand-off queues the recipient again, due after a backoff
  (messaging's outbound retry policy: MESSAGE_SEND_MAX_ATTEMPTS, 2, 4, 8 s ...); it is claimed
  and marked `sending` again like any other, so a kill during a retry is no different.

Pace: every sender reserves its slots on the line's LinePace row (`mps` a second), so two
campaigns on one line, or two drivers, share the line's rate. Quiet hours: a recipient due in
its quiet hours gets a new `due_at` (the first allowed moment in all its zones) and waits in
the database.
"""

import logging
import math
import multiprocessing
import multiprocessing.synchronize
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.models import Contact
from leadhub import bulk

from ..outbound.services import retry_countdown
from . import quiet, recovery, rendering
from .heard import heard, keep_ahead, settled
from .leases import campaign_complete_if_done, campaign_lease_take, lease_release, lease_renew
from .models import Campaign, LinePace, Recipient
from .sender import HandOff, Item, Outcome, Sender, SenderFactory

logger = logging.getLogger(__name__)

# A chunk is about this much sending at the line's pace (at most CHUNK_MAX recipients): what a
# killed driver can leave interrupted.
CHUNK_SECONDS = 0.1
CHUNK_MAX = 50
# Quiet hours are re-applied to the due recipients this often while a driver runs.
HOLD_EVERY = timedelta(seconds=30)
# Set when the worker shuts down (tasks.py): every driver stops after its chunk. A Celery
# worker replaces it before its pool forks (drivers_stop_shared): only the pool's parent gets
# the shutdown signal, and its children, which run the drivers, must see it set.
DRIVERS_STOP: threading.Event | multiprocessing.synchronize.Event = threading.Event()


def drivers_stop_shared() -> None:
    """A new, clear DRIVERS_STOP that processes forked after this call share with this one."""
    global DRIVERS_STOP
    DRIVERS_STOP = multiprocessing.get_context("fork").Event()


@dataclass
class DriveResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    held: int = 0
    interrupted: int = 0  # left `sending` by a dead driver, and reconciled (recovery.py)
    retried: int = 0
    completed: bool = False
    more: bool = False  # stopped at its time limit with recipients still due


def line_mps(line) -> float:
    """The line's messages per second (its provider's `mps`), else CAMPAIGN_DEFAULT_MPS."""
    provider = getattr(line, "provider", None)  # a line without a provider has no `provider`
    value = getattr(provider, "mps", None)
    return float(value) if value else float(settings.CAMPAIGN_DEFAULT_MPS)


# --- Driving ---------------------------------------------------------------------------------


def recipients_hold(*, campaign: Campaign, now: datetime) -> tuple[int, int]:
    """Move the due recipients that are in their quiet hours to their next allowed moment,
    one UPDATE per group of zones. Returns (held, skipped for lack of any allowed hour)."""
    due = Recipient.objects.filter(campaign=campaign, status=Recipient.Status.QUEUED, due_at__lte=now)
    groups = {tuple(zones) for zones in due.values_list("time_zones", flat=True).distinct()}
    held = skipped = 0
    for zones in groups:
        moment = quiet.next_allowed(now, zones, campaign.quiet_start, campaign.quiet_end)
        if moment == now:
            continue
        rows = due.filter(time_zones=list(zones))
        if moment is None:
            skipped += rows.update(status=Recipient.Status.SKIPPED, reason=Recipient.NO_ALLOWED_HOURS)
        else:
            held += rows.update(due_at=moment)
    return held, skipped


@dataclass
class _Claimed:
    send: list[Recipient]
    skipped: int
    held: int


def _claim(*, campaign: Campaign, now: datetime, limit: int) -> _Claimed:
    """Take up to `limit` due recipients (SKIP LOCKED): the opted out are skipped, those in
    quiet hours pushed to their morning, the rest marked `sending` and returned."""
    with transaction.atomic():
        ids = list(
            Recipient.objects.filter(campaign=campaign, status=Recipient.Status.QUEUED, due_at__lte=now)
            .order_by("due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return _Claimed([], 0, 0)
        rows = list(Recipient.objects.filter(pk__in=ids).select_related("contact").order_by("due_at", "id"))
        opted_out, later, send = [], defaultdict(list), []
        for row in rows:
            if row.contact is not None and row.contact.sms_opt_out:
                opted_out.append(row.pk)
                continue
            moment = quiet.next_allowed(now, row.time_zones, campaign.quiet_start, campaign.quiet_end)
            if moment != now:
                later[moment].append(row.pk)
                continue
            send.append(row)
        if opted_out:
            Recipient.objects.filter(pk__in=opted_out).update(
                status=Recipient.Status.SKIPPED, reason=Recipient.OPTED_OUT
            )
        held = 0
        for moment, pks in later.items():
            if moment is None:
                opted_out += pks  # counted with the skipped
                Recipient.objects.filter(pk__in=pks).update(
                    status=Recipient.Status.SKIPPED, reason=Recipient.NO_ALLOWED_HOURS
                )
            else:
                held += len(pks)
                Recipient.objects.filter(pk__in=pks).update(due_at=moment)
        if send:
            Recipient.objects.filter(pk__in=[row.pk for row in send]).update(
                status=Recipient.Status.SENDING, handed_off_at=now
            )
    return _Claimed(send, len(opted_out), held)


def line_slots_reserve(*, line_id: int, count: int, mps: float, now: datetime) -> datetime:
    """Reserve `count` send slots on the line; returns when the first one is (the others follow
    every 1/mps seconds)."""
    with transaction.atomic():
        LinePace.objects.get_or_create(line_id=line_id)
        pace = LinePace.objects.select_for_update().get(line_id=line_id)
        start = max(now, pace.next_slot_at)
        pace.next_slot_at = start + timedelta(seconds=count / mps)
        pace.save(update_fields=["next_slot_at"])
    return start


def _opted_out_now(contact_ids: list) -> set:
    """Consent at hand-off time: who opted out since the chunk was claimed."""
    if not contact_ids:
        return set()
    return set(Contact.objects.filter(pk__in=contact_ids, sms_opt_out=True).values_list("pk", flat=True))


def campaign_drive(
    *,
    campaign_id,
    sender_for: SenderFactory,
    token: uuid.UUID | None = None,
    max_seconds: float = 20.0,
) -> DriveResult | None:
    """Drive one running campaign for up to `max_seconds`: None when another driver holds it.
    `token` is a lease taken for this driver by beat (campaigns_kick); without one the driver
    takes a lease itself. It stops early (`more`) when the worker shuts down (DRIVERS_STOP)."""
    result = DriveResult()
    now = timezone.now()
    if token is None:
        token = campaign_lease_take(campaign_id, now=now)
    elif not lease_renew(campaign_id, token):
        token = None
    if token is None:
        return None
    try:
        campaign = Campaign.objects.select_related("line", "workspace").get(pk=campaign_id)
        template = rendering.template_compile(campaign.message_template)
        sender = sender_for(campaign)
        mps = line_mps(campaign.line)
        chunk = max(1, min(CHUNK_MAX, math.ceil(mps * CHUNK_SECONDS)))
        deadline = time.monotonic() + max_seconds
        next_hold = now
        threads = max(1, min(settings.CAMPAIGN_SEND_THREADS, chunk))
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="campaign-send") as pool:
            recovered = recovery.recipients_interrupted(campaign=campaign, now=now, sender=sender, pool=pool)
            result.interrupted = recovered.total
            result.sent += recovered.sent
            result.failed += recovered.failed
            while True:
                if time.monotonic() >= deadline or DRIVERS_STOP.is_set():
                    result.more = True
                    break
                now = timezone.now()
                if now >= next_hold:
                    held, skipped = recipients_hold(campaign=campaign, now=now)
                    result.held += held
                    result.skipped += skipped
                    next_hold = now + HOLD_EVERY
                claimed = _claim(campaign=campaign, now=now, limit=chunk)
                result.skipped += claimed.skipped
                result.held += claimed.held
                if not claimed.send:
                    if not (claimed.skipped or claimed.held):
                        break
                    continue
                _send_chunk(
                    campaign=campaign,
                    rows=claimed.send,
                    template=template,
                    sender=sender,
                    pool=pool,
                    mps=mps,
                    result=result,
                )
                if not lease_renew(campaign_id, token):
                    break
        result.completed = campaign_complete_if_done(campaign_id=campaign_id)
    finally:
        lease_release(campaign_id, token)
    return result


def _send_chunk(*, campaign, rows, template, sender: Sender, pool, mps: float, result: DriveResult):
    stopped = _opted_out_now([row.contact_id for row in rows if row.contact_id])
    items, done = [], []
    for row in rows:
        if row.contact_id in stopped:
            row.status, row.reason = Recipient.Status.SKIPPED, Recipient.OPTED_OUT
            result.skipped += 1
            done.append(row)
            continue
        row.body = rendering.render(
            template, context=row.context or {}, contact_fields=rendering.contact_values(row.contact)
        )
        if len(row.body) > rendering.MAX_BODY:
            row.status, row.reason = Recipient.Status.FAILED, "body_too_long"
            row.error = f"The rendered message has {len(row.body)} characters; at most {rendering.MAX_BODY}."
            result.failed += 1
            done.append(row)
            continue
        items.append((row, Item(recipient_id=row.pk, phone=row.phone, body=row.body)))
    refused = sender.prepare([row for row, _ in items]) if items else {}
    if refused:
        for row, _ in items:
            outcome = refused.get(row.pk)
            if outcome is not None:
                row.status, row.reason, row.error = Recipient.Status.FAILED, outcome.error_code, outcome.error[:500]
                result.failed += 1
                done.append(row)
        items = [(row, item) for row, item in items if row.pk not in refused]
    if items:
        # The messages and the recipients' link to them commit together, before any hand-off:
        # a driver that dies mid-chunk leaves messages that recovery.py can find and reconcile.
        with transaction.atomic():
            sender.store([row for row, _ in items])
            bulk.update_rows(Recipient, [row for row, _ in items if row.message_id], ["message"])
    start = (
        line_slots_reserve(line_id=campaign.line_id, count=len(items), mps=mps, now=timezone.now()) if items else None
    )
    futures = []
    for position, (row, item) in enumerate(items):
        slot = start + timedelta(seconds=position / mps)
        futures.append(
            (row, pool.submit(copy_context().run, _at_slot, sender.hand_off, item, slot))
        )  # the task's scope
    answers = []
    for row, future in futures:
        try:
            outcome = future.result()
        except Exception as exc:  # a sender bug must not leave the chunk `sending`
            logger.exception("Hand-off of recipient %s failed unexpectedly", row.pk)
            outcome = Outcome(error=f"Unexpected error: {type(exc).__name__}")
        answers.append((row, outcome))
    handed = []
    with transaction.atomic():
        # What status callbacks said meanwhile (heard.py), locked until the chunk is written.
        said = heard([row for row, _ in answers])
        for row, answer in answers:
            outcome = settled(answer, said.get(row.pk))
            row.attempts += 1
            if not outcome.ok and outcome.retryable and row.attempts < settings.MESSAGE_SEND_MAX_ATTEMPTS:
                # Not final: queued again for later; its message stays `sending` and is reused.
                row.status, row.error_code, row.error = Recipient.Status.QUEUED, outcome.error_code, outcome.error[:500]
                row.due_at = timezone.now() + timedelta(seconds=retry_countdown(row.attempts))
                result.retried += 1
                done.append(row)
                continue
            if outcome.ok:
                row.status, row.provider_sid = Recipient.Status.SENT, outcome.sid
                row.error_code = row.error = ""  # an earlier attempt's
                keep_ahead(row, said.get(row.pk))
            else:
                row.status, row.error_code, row.error = Recipient.Status.FAILED, outcome.error_code, outcome.error[:500]
            if row.status == Recipient.Status.FAILED:
                result.failed += 1
            else:
                result.sent += 1
            handed.append((row, outcome))
            done.append(row)
        bulk.update_rows(
            Recipient,
            done,
            ["status", "provider_sid", "body", "reason", "error_code", "error", "message", "attempts", "due_at"],
        )
        sender.record(handed)


def _at_slot(hand_off: HandOff, item: Item, slot: datetime) -> Outcome:
    wait = (slot - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(wait)
    return hand_off(item)
