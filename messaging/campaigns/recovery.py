"""Hand-offs a dead driver left unanswered: recipients it marked `sending` and then died before
it recorded the provider's answer. They may or may not have reached the provider, so instead
of guessing the provider is asked (Sender.look_up: the Messages or Calls list, by To, From and
the day of the hand-off):

- found: the recipient is `sent` with the provider's sid, and its message too (`message.sent`,
  as a send emits it);
- not found: the recipient is queued again, due now, and goes out with the next chunk (its
  stored message is reused);
- the provider could not be asked: failed with reason `interrupted`, the error saying so
  (never sent again: a second message is worse than a missed one).

So a killed worker delays a campaign and never sends a recipient twice. A recovery in progress
takes its rows over (their `handed_off_at` moves to now, so no other driver finds them stale);
should it die too, they are stale again two minutes later and the next driver asks again
(asking twice does no harm).
"""

from concurrent.futures import Executor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from leadhub import bulk

from ..models import Message
from .heard import heard, keep_ahead
from .models import Campaign, Recipient
from .sender import Found, Lookup, Outcome, Sender

# A `sending` recipient older than this belongs to a dead driver (HTTP calls time out long before).
STALE_SENDING = timedelta(minutes=2)
NOT_ASKED = (
    "The worker stopped while handing this message to the provider, and the provider could not be asked "
    "whether it arrived ({reason}); not sent again, to never send twice."
)


@dataclass
class Recovered:
    sent: int = 0  # the provider had them
    requeued: int = 0  # it did not: they go out again
    failed: int = 0  # it could not be asked

    @property
    def total(self) -> int:
        return self.sent + self.requeued + self.failed


def _take_stale(*, campaign: Campaign, now: datetime) -> dict[int, datetime]:
    """The stale `sending` recipients nobody else is recovering (SKIP LOCKED), each with when
    its hand-off began; they are this recovery's until STALE_SENDING from now."""
    with transaction.atomic():
        stale = dict(
            Recipient.objects.filter(
                campaign=campaign, status=Recipient.Status.SENDING, handed_off_at__lte=now - STALE_SENDING
            )
            .select_for_update(skip_locked=True)
            .values_list("pk", "handed_off_at")
        )
        if stale:
            Recipient.objects.filter(pk__in=list(stale)).update(handed_off_at=now)
    return stale


def recipients_interrupted(*, campaign: Campaign, now: datetime, sender: Sender, pool: Executor) -> Recovered:
    """Reconcile the recipients a dead driver left `sending` with what the provider holds."""
    recovered = Recovered()
    since = _take_stale(campaign=campaign, now=now)
    if not since:
        return recovered
    rows = list(Recipient.objects.filter(pk__in=list(since)).select_related("message", "contact").order_by("id"))
    lookups = [
        Lookup(
            recipient_id=row.pk,
            phone=row.phone,
            body=row.message.content if row.message is not None and not row.message.content_sid else "",
            since=since[row.pk],
        )
        for row in rows
    ]
    futures = [pool.submit(copy_context().run, sender.look_up, lookup) for lookup in lookups]  # the task's scope
    answers = []
    for row, future in zip(rows, futures, strict=True):
        try:
            answers.append((row, future.result()))
        except Exception as exc:  # a sender bug is a provider that could not be asked
            answers.append((row, Found(error=f"Unexpected error: {type(exc).__name__}")))
    handed, unasked = [], []
    with transaction.atomic():
        # A status callback may have found one meanwhile (its URL names it; heard.py): its SID
        # is the provider's answer, and what it wrote is kept. Locked until the rows are written.
        said = heard(rows)
        for row, found in answers:
            sid = (said[row.pk].sid if row.pk in said else "") or found.sid
            if sid:
                row.status, row.provider_sid, row.error_code, row.error = Recipient.Status.SENT, sid, "", ""
                keep_ahead(row, said.get(row.pk))
                row.attempts += 1
                handed.append((row, Outcome(sid=sid)))
                recovered.sent += 1
            elif not found.error:
                row.status, row.due_at = Recipient.Status.QUEUED, now  # its stored message is reused
                recovered.requeued += 1
            else:
                row.status, row.reason = Recipient.Status.FAILED, Recipient.INTERRUPTED
                row.error = NOT_ASKED.format(reason=found.error.rstrip("."))[:500]
                unasked.append(row)
                recovered.failed += 1
        bulk.update_rows(
            Recipient, rows, ["status", "provider_sid", "reason", "error_code", "error", "attempts", "due_at"]
        )
        sender.record(handed)
        for row in unasked:
            if row.message_id:
                Message.objects.filter(pk=row.message_id, status=Message.Status.SENDING).update(
                    status=Message.Status.FAILED, error_message=row.error, status_at=now
                )
    return recovered
