"""Campaign and sequence tasks. Beat ticks; drivers are idempotent and acknowledged late: a
driver run twice finds its campaign held (or done) and does nothing, and a lost message only
delays the campaign until the next tick (every schedule is in the database)."""

import uuid

from celery import shared_task

from . import engine, sender, sequences


@shared_task(name="campaigns.tasks.campaigns_tick", ignore_result=True)
def campaigns_tick() -> int:
    kicks = engine.campaigns_kick()
    for campaign_id, token in kicks:
        campaign_drive.delay(str(campaign_id), str(token))
    return len(kicks)


@shared_task(name="campaigns.tasks.campaign_drive", acks_late=True, ignore_result=True)
def campaign_drive(campaign_id: str, token: str | None = None) -> int:
    result = engine.campaign_drive(
        campaign_id=campaign_id,
        token=uuid.UUID(token) if token else None,
        sender_for=sender.sender_for,
        on_opt_out=sender.recipient_opted_out,
    )
    return result.sent if result else 0


@shared_task(name="campaigns.tasks.sequences_tick", ignore_result=True)
def sequences_tick() -> int:
    result = sequences.sequences_tick(sender_for_line=sender.sender_for_line, replied_since=sender.replied_since)
    return result.sent
