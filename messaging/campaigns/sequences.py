"""Sending sequences (SPEC §7): beat sends each active enrollment's due step, inside the
contact's allowed hours; the first step is due its delay after enrollment, each next one its
delay after the step before. A reply or an opt-out stops the enrollment (crm.catalog.enrollments).

crm owns sequences and enrollments and never imports messaging; the progress of each
enrollment (next step, when) is kept here in SequenceProgress, started by beat for every new
active enrollment. A step goes out at most once: its SequenceSend row (unique per enrollment
and step) is committed before the provider is called.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from crm.catalog.enrollments import enrollment_complete, enrollments_stop
from crm.models import Contact, Enrollment, Line, SequenceStep

from . import engine, quiet, rendering
from .engine import line_mps, line_slots_reserve
from .models import DEFAULT_QUIET_END, DEFAULT_QUIET_START, SequenceProgress, SequenceSend
from .sender import Outcome

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
BATCH = 50

# (contact, line, body) -> the outcome of sending that SMS (sending.sequence_step_send).
StepSender = Callable[[Contact, Line, str], Outcome]
# (enrollment, since) -> whether the contact wrote in since then.
ReplyCheck = Callable[[Enrollment, datetime], bool]


@dataclass
class TickResult:
    started: int = 0
    sent: int = 0
    failed: int = 0
    held: int = 0
    stopped: int = 0
    completed: int = 0
    claimed: int = 0


def _of(workspace_id) -> Q:
    # None: every workspace, for an operator path only (the tests' fixtures, bench/).
    return Q() if workspace_id is None else Q(workspace_id=workspace_id)


def workspaces_due(*, now: datetime) -> list:
    """Beat's find, across workspaces (the operator path `beat_sweep`): the workspaces with an
    active enrollment yet to start or a step due, the longest waiting first. Each one's work
    then runs in its own scope (sequences_tick)."""
    fresh = set(
        Enrollment.objects.filter(status=Enrollment.Status.ACTIVE)
        .exclude(pk__in=SequenceProgress.objects.values("enrollment_id"))
        .order_by()
        .values_list("workspace_id", flat=True)
        .distinct()
    )
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    due = list(
        SequenceProgress.objects.filter(free, due_at__lte=now)
        .values("workspace_id")
        .annotate(oldest=Min("due_at"))
        .order_by("oldest")
        .values_list("workspace_id", flat=True)
    )
    return due + sorted(fresh.difference(due), key=str)


def progress_start(*, now: datetime, workspace_id=None) -> int:
    """Give every active enrollment that has none a progress row: its first step is due its
    delay after enrollment."""
    fresh = list(
        Enrollment.objects.filter(_of(workspace_id), status=Enrollment.Status.ACTIVE)
        .exclude(pk__in=SequenceProgress.objects.values("enrollment_id"))
        .select_related("sequence")[:1000]
    )
    if not fresh:
        return 0
    first_delays = dict(
        SequenceStep.objects.filter(sequence_id__in={e.sequence_id for e in fresh}, position=1).values_list(
            "sequence_id", "delay_minutes"
        )
    )
    rows = []
    for enrollment in fresh:
        delay = first_delays.get(enrollment.sequence_id)
        due = None if delay is None else enrollment.enrolled_at + timedelta(minutes=delay)
        rows.append(
            SequenceProgress(enrollment=enrollment, workspace_id=enrollment.workspace_id, next_position=1, due_at=due)
        )
        if due is None:  # a sequence without steps: nothing to send
            enrollment_complete(enrollment=enrollment)
    SequenceProgress.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _claim(*, now: datetime, workspace_id=None, batch: int = BATCH) -> tuple[list[SequenceProgress], uuid.UUID]:
    token = uuid.uuid4()
    free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    if batch <= 0:
        return [], token
    with transaction.atomic():
        ids = list(
            SequenceProgress.objects.filter(free, _of(workspace_id), due_at__lte=now)
            .order_by("due_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:batch]
        )
        SequenceProgress.objects.filter(pk__in=ids).update(lease_token=token, lease_expires_at=now + LEASE)
    progress = list(
        SequenceProgress.objects.filter(pk__in=ids, lease_token=token).select_related(
            "enrollment__contact", "enrollment__sequence", "workspace"
        )
    )
    return progress, token


def _release(progress: SequenceProgress, **fields) -> None:
    SequenceProgress.objects.filter(pk=progress.pk, lease_token=progress.lease_token).update(
        lease_token=None, lease_expires_at=None, **fields
    )


def sequences_tick(
    *,
    send: StepSender,
    replied_since: ReplyCheck,
    now: datetime | None = None,
    workspace_id=None,
    batch: int = BATCH,
) -> TickResult:
    """One beat in one workspace (in its scope): start new enrollments, then send up to `batch`
    steps that are due."""
    now = now or timezone.now()
    result = TickResult(started=progress_start(now=now, workspace_id=workspace_id))
    progress_rows, _token = _claim(now=now, workspace_id=workspace_id, batch=batch)
    result.claimed = len(progress_rows)
    for position, progress in enumerate(progress_rows):
        if engine.DRIVERS_STOP.is_set():
            # The worker shuts down: the steps not begun are left to the next tick (each may
            # wait its line's pace, so a whole batch could hold a warm shutdown for minutes).
            for rest in progress_rows[position:]:
                _release(rest)
            break
        try:
            _step(progress, now=now, send=send, replied_since=replied_since, result=result)
        except Exception:  # one enrollment's failure must not stop the others; its lease expires
            logger.exception("Sequence step of enrollment %s failed unexpectedly", progress.pk)
    return result


def _line_of(enrollment: Enrollment) -> Line | None:
    """The verified line a step goes from: the contact's line, else the workspace's default
    line, else its first. Only verified lines count (SPEC §7: nothing is routed to an unverified
    number): a contact's line from the intake's catalog may have no provider account behind it,
    and the send would refuse it; the step then goes from the workspace's verified line."""
    verified = Line.objects.filter(workspace_id=enrollment.workspace_id, provider__verified_at__isnull=False)
    contact = enrollment.contact
    if contact.line_id:
        line = verified.filter(pk=contact.line_id).first()
        if line is not None:
            return line
    return verified.order_by(F("provider__is_default").desc(), "created_at", "pk").first()


def _step(progress, *, now, send: StepSender, replied_since: ReplyCheck, result: TickResult) -> None:
    enrollment = progress.enrollment
    contact = enrollment.contact
    if enrollment.status != Enrollment.Status.ACTIVE:
        _release(progress, due_at=None)
        return
    if contact.sms_opt_out or replied_since(enrollment, enrollment.enrolled_at):
        result.stopped += enrollments_stop(contact=contact, reason="opt_out" if contact.sms_opt_out else "reply")
        _release(progress, due_at=None)
        return
    step = SequenceStep.objects.filter(sequence_id=enrollment.sequence_id, position=progress.next_position).first()
    if step is None:
        result.completed += enrollment_complete(enrollment=enrollment)
        _release(progress, due_at=None)
        return
    zones = quiet.zones_for(
        contact_timezone=contact.timezone,
        e164=contact.phone_number or "",
        fallback=progress.workspace.timezone,
    )
    moment = quiet.next_allowed(now, zones, DEFAULT_QUIET_START, DEFAULT_QUIET_END)
    if moment != now:
        result.held += 1
        _release(progress, due_at=moment)  # None: never allowed, so never sent
        return
    line = _line_of(enrollment)
    if line is None or not contact.phone_number:
        _record_skip(progress, step, reason="no_line" if line is None else "no_phone")
        _advance(progress, step=step, now=now, result=result)
        return
    body = _render(step.message, contact)
    try:
        with transaction.atomic():
            # The claim read the enrollment before this step began: an unenroll (or a reply)
            # since then must keep the step back. Read again and locked (PostgreSQL; SQLite's
            # transactions are IMMEDIATE) until the step's row is in: an unenroll after that
            # waits for it, and the step is ordered before the unenroll.
            row = None
            if _still_active(enrollment):
                row = SequenceSend.objects.create(
                    workspace_id=enrollment.workspace_id, enrollment=enrollment, position=step.position, body=body
                )
    except IntegrityError:  # this step went out (or was being sent) already: never twice
        _advance(progress, step=step, now=now, result=result)
        return
    if row is None:
        _release(progress, due_at=None)
        return
    start = line_slots_reserve(line_id=line.pk, count=1, mps=line_mps(line), now=timezone.now())
    wait = (start - timezone.now()).total_seconds()
    if wait > 0:
        time.sleep(min(wait, 5))
    outcome = send(contact, line, body)
    row.status = SequenceSend.Status.SENT if outcome.ok else SequenceSend.Status.FAILED
    row.provider_sid, row.error, row.reason = outcome.sid, outcome.error[:500], outcome.error_code[:30]
    row.save(update_fields=["status", "provider_sid", "error", "reason"])
    if outcome.ok:
        result.sent += 1
    else:
        result.failed += 1
    _advance(progress, step=step, now=now, result=result)


def _still_active(enrollment: Enrollment) -> bool:
    """The enrollment, locked for the caller's transaction, is still active."""
    status = (
        Enrollment.objects.select_for_update()
        .filter(pk=enrollment.pk)
        .order_by()
        .values_list("status", flat=True)
        .first()
    )
    return status == Enrollment.Status.ACTIVE


def _record_skip(progress, step, *, reason: str) -> None:
    SequenceSend.objects.get_or_create(
        enrollment_id=progress.enrollment_id,
        position=step.position,
        defaults={"workspace_id": progress.workspace_id, "status": SequenceSend.Status.SKIPPED, "reason": reason},
    )


def _advance(progress, *, step, now, result: TickResult) -> None:
    later = SequenceStep.objects.filter(sequence_id=step.sequence_id, position__gt=step.position)
    following = later.order_by("position").first()
    if following is None:
        result.completed += enrollment_complete(enrollment=progress.enrollment)
        _release(progress, due_at=None, next_position=step.position + 1)
        return
    _release(progress, due_at=now + timedelta(minutes=following.delay_minutes), next_position=following.position)


def _render(message: str, contact) -> str:
    try:
        template = rendering.template_compile(message)
    except rendering.InvalidTemplate:
        return message
    return rendering.render(template, context={}, contact_fields=rendering.contact_values(contact))
