"""Campaign and sequence tasks (Celery): beat's tick starts due campaigns and gives each free
driver slot of each campaign one driver task; the sequences' tick sends the due steps.

Schedules live in the database (a campaign's `schedule_at`, each recipient's `due_at`, each
enrollment's next step), never in broker ETAs: a lost message or a restarted broker only
delays the work until the next tick. Acknowledged late and idempotent: a driver task run twice
finds its lease taken or renewed by itself, and a recipient claimed once is never claimed again.
"""

import logging
import uuid

from celery import shared_task
from celery.signals import worker_init, worker_shutting_down
from django.utils import timezone

from leadhub.tenancy import object_scope, operator_scope, tenant_scope

from . import engine, leases, sending, sequences
from .models import Campaign

logger = logging.getLogger(__name__)

# A driver hands messages over for this long, then passes the campaign on to a new task (so
# a worker's other work is never starved by one long campaign); the time limits are the
# backstop should a provider call hang past its own timeout.
DRIVE_SECONDS = 20.0
DRIVE_LIMITS = {"soft_time_limit": 90, "time_limit": 120}
# A sequence tick sends at most sequences.BATCH steps, each at its line's pace.
TICK_LIMITS = {"soft_time_limit": 300, "time_limit": 330}


def _enqueue_drive(campaign_id, token) -> None:
    try:
        campaign_drive.delay(str(campaign_id), str(token))
    except Exception:  # the broker is down: the lease expires and the next tick kicks again
        logger.exception("Could not enqueue the driver of campaign %s", campaign_id)


@worker_shutting_down.connect
def _stop_drivers(**kwargs) -> None:
    # Warm shutdown waits for running tasks: a driver would hold Ctrl-C (or a deploy) for up to
    # DRIVE_SECONDS. It stops after its chunk instead and frees its slot; beat kicks a driver
    # again once a worker runs. Under prefork this runs in the parent only (the one process
    # the signal reaches): the flag is shared with the pool's children (worker_init below).
    engine.DRIVERS_STOP.set()


@worker_init.connect
def _drivers_may_run(**kwargs) -> None:
    # Before the pool forks: its children inherit the flag the parent sets at shutdown.
    engine.drivers_stop_shared()


@shared_task(name="campaigns.tasks.campaigns_tick", acks_late=True, ignore_result=True)
def campaigns_tick() -> int:
    """Beat: start the campaigns whose time has come; one driver task per campaign with due
    recipients that nobody drives."""
    now = timezone.now()
    with operator_scope("beat_sweep"):  # only the find crosses workspaces
        workspaces = leases.campaign_workspaces_due(now=now)
    kicks = []
    for workspace_id in workspaces:
        if engine.DRIVERS_STOP.is_set():  # the worker shuts down: the next tick goes on
            break
        try:
            with tenant_scope(workspace_id):
                kicks.extend(leases.campaigns_kick(workspace_id=workspace_id, now=now))
        except Exception:  # one workspace's failure must not stop the others' campaigns
            logger.exception("Campaign tick of workspace %s failed", workspace_id)
    for campaign_id, token in kicks:
        _enqueue_drive(campaign_id, token)
    return len(kicks)


@shared_task(name="campaigns.tasks.campaign_drive", acks_late=True, ignore_result=True, **DRIVE_LIMITS)
def campaign_drive(campaign_id: str, token: str | None = None) -> int:
    """Drive one campaign for DRIVE_SECONDS; when recipients are still due, the next driver is
    enqueued at once rather than at the next tick. Answers how many were handed over."""
    campaign_uuid = uuid.UUID(campaign_id)
    with object_scope(Campaign, campaign_uuid):
        return _drive(campaign_uuid, token)


def _drive(campaign_uuid: uuid.UUID, token: str | None) -> int:
    result = engine.campaign_drive(
        campaign_id=campaign_uuid,
        sender_for=sending.sender_for,
        token=uuid.UUID(token) if token else None,
        max_seconds=DRIVE_SECONDS,
    )
    if result is None:
        return 0
    if result.more and not engine.DRIVERS_STOP.is_set():
        following = leases.campaign_lease_take(campaign_uuid, now=timezone.now(), duration=leases.KICK_LEASE)
        if following is not None:
            _enqueue_drive(campaign_uuid, following)
    return result.sent + result.failed


@shared_task(name="campaigns.tasks.sequences_tick", acks_late=True, ignore_result=True, **TICK_LIMITS)
def sequences_tick() -> int:
    """Beat: send the sequence steps that are due, inside allowed hours."""
    now = timezone.now()
    with operator_scope("beat_sweep"):  # only the find crosses workspaces
        workspaces = sequences.workspaces_due(now=now)
    sent, budget = 0, sequences.BATCH  # the tick's steps, shared by the workspaces in turn
    for workspace_id in workspaces:
        if engine.DRIVERS_STOP.is_set():  # the worker shuts down: the next tick goes on
            break
        try:
            with tenant_scope(workspace_id):
                result = sequences.sequences_tick(
                    send=sending.sequence_step_send,
                    replied_since=sending.replied_since,
                    now=now,
                    workspace_id=workspace_id,
                    batch=budget,
                )
        except Exception:  # one workspace's failure must not stop the others' steps
            logger.exception("Sequence tick of workspace %s failed", workspace_id)
            continue
        sent += result.sent
        budget -= result.claimed
    return sent
