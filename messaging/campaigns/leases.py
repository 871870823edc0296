"""When campaigns start and who drives them: beat starts the due campaigns and gives each running
campaign with recipients due a driver per free slot; a driver holds its slot (DriverLease,
claimed with SKIP LOCKED) by a lease it renews as it goes (messaging/campaigns/engine.py says how
the slots keep a recipient from going out twice)."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from .models import Campaign, DriverLease, Recipient

LEASE = timedelta(seconds=60)


# --- Beat ------------------------------------------------------------------------------------


def _of(workspace_id) -> Q:
    # None: every workspace, for an operator path only (the tests' fixtures, bench/).
    return Q() if workspace_id is None else Q(workspace_id=workspace_id)


def campaign_workspaces_due(*, now: datetime | None = None) -> list:
    """Beat's find, across workspaces (the operator path `beat_sweep`): the workspaces with a
    scheduled campaign whose time has come or a running one. Each one's work then runs in its
    own scope (campaigns_kick)."""
    now = now or timezone.now()
    due = Q(status=Campaign.Status.SCHEDULED, schedule_at__lte=now) | Q(status=Campaign.Status.RUNNING)
    return list(Campaign.objects.filter(due).order_by().values_list("workspace_id", flat=True).distinct())


def campaigns_start_due(*, workspace_id=None, now: datetime | None = None) -> int:
    """Scheduled campaigns whose time has come become running."""
    now = now or timezone.now()
    return Campaign.objects.filter(_of(workspace_id), status=Campaign.Status.SCHEDULED, schedule_at__lte=now).update(
        status=Campaign.Status.RUNNING, started_at=now
    )


# Beat reserves a slot for the driver it enqueues this long: the driver adopts the lease when
# it starts; a lost message frees the slot for the next beat.
KICK_LEASE = timedelta(seconds=15)


def drivers_per_campaign() -> int:
    return settings.CAMPAIGN_DRIVERS


def campaigns_kick(*, workspace_id=None, now: datetime | None = None) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Beat's work in one workspace (in its scope): start the due campaigns, then reserve each
    free driver slot of each campaign to drive for one driver. Returns (campaign id, lease
    token) pairs, one driver task each."""
    now = now or timezone.now()
    campaigns_start_due(workspace_id=workspace_id, now=now)
    kicks = []
    for campaign_id in campaigns_to_drive(workspace_id=workspace_id, now=now):
        while (token := campaign_lease_take(campaign_id, now=now, duration=KICK_LEASE)) is not None:
            kicks.append((campaign_id, token))
    return kicks


def _free(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__lte=now)


def campaigns_to_drive(*, workspace_id=None, now: datetime | None = None, limit: int = 100) -> list[uuid.UUID]:
    """Running campaigns with a driver slot free that have recipients due (or left `sending`)."""
    now = now or timezone.now()
    held = (
        DriverLease.objects.filter(expires_at__gt=now, slot__lt=drivers_per_campaign())
        .values("campaign_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=drivers_per_campaign())
        .values("campaign_id")
    )
    ids = list(
        Campaign.objects.filter(_of(workspace_id), status=Campaign.Status.RUNNING)
        .exclude(pk__in=held)
        .order_by("started_at")
        .values_list("pk", flat=True)[:limit]
    )
    if not ids:
        return []
    due = set(
        Recipient.objects.filter(
            Q(status=Recipient.Status.QUEUED, due_at__lte=now) | Q(status=Recipient.Status.SENDING),
            campaign_id__in=ids,
        )
        .values_list("campaign_id", flat=True)
        .distinct()
    )
    idle = [pk for pk in ids if pk not in due]
    for pk in idle:
        campaign_complete_if_done(campaign_id=pk, now=now)
    return [pk for pk in ids if pk in due]


def campaign_complete_if_done(*, campaign_id, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    if Recipient.objects.filter(
        campaign_id=campaign_id, status__in=[Recipient.Status.QUEUED, Recipient.Status.SENDING]
    ).exists():
        return False
    return bool(
        Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING).update(
            status=Campaign.Status.COMPLETED, completed_at=now
        )
    )


# --- Leases ----------------------------------------------------------------------------------


def campaign_lease_take(campaign_id, *, now: datetime, duration: timedelta = LEASE) -> uuid.UUID | None:
    """Hold one of the campaign's driver slots until now + duration; None when every slot is
    held (or the campaign is not running). On PostgreSQL the free slot is claimed with SKIP
    LOCKED, so two takers never wait on each other or take the same slot."""
    slots = drivers_per_campaign()
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING).exists():
            return None
        free = DriverLease.objects.filter(_free(now), campaign_id=campaign_id, slot__lt=slots).order_by("slot")
        lease = free.select_for_update(skip_locked=True).first()
        if lease is None:
            taken = set(DriverLease.objects.filter(campaign_id=campaign_id).values_list("slot", flat=True))
            missing = [slot for slot in range(slots) if slot not in taken]
            if missing:
                # The slots are made the first time they are wanted (a concurrent taker may make
                # them too: the unique key keeps one of each).
                DriverLease.objects.bulk_create(
                    [DriverLease(campaign_id=campaign_id, slot=slot) for slot in missing], ignore_conflicts=True
                )
            # Asked again even when none was missing: a concurrent taker may have made them
            # (and committed) between the first look and `taken`, one still free.
            lease = free.select_for_update(skip_locked=True).first()
            if lease is None:
                return None
        token = uuid.uuid4()
        # Conditional: on SQLite (no row locks) a concurrent taker may have won the slot.
        if not DriverLease.objects.filter(_free(now), pk=lease.pk).update(token=token, expires_at=now + duration):
            return None
    return token


def lease_renew(campaign_id, token: uuid.UUID) -> bool:
    running = Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.RUNNING)
    return bool(
        DriverLease.objects.filter(campaign_id=campaign_id, token=token, campaign__in=running).update(
            expires_at=timezone.now() + LEASE
        )
    )


def lease_release(campaign_id, token: uuid.UUID) -> None:
    DriverLease.objects.filter(campaign_id=campaign_id, token=token).update(token=None, expires_at=None)


def campaign_leases_held(campaign_id, *, now: datetime | None = None) -> int:
    """How many drivers hold the campaign now."""
    return DriverLease.objects.filter(campaign_id=campaign_id, expires_at__gt=now or timezone.now()).count()
