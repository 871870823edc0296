"""What the provider's status callbacks said of recipients before their hand-offs were recorded.

A message's callback URL names the message, a call's names its recipient (messaging/twilio.py
status_callback_url, sending.py), so a callback that comes before the chunk (or recovery) has
stored the SID still finds them: it stores the SID and moves the recipient forward. The record
that follows must then neither undo what the callback wrote (a `sent` over a `delivered`) nor
send again what the provider already has (a hand-off that timed out here but reached it).

`heard()` reads, and locks until the caller's transaction ends, what the callbacks wrote; a
callback that comes meanwhile waits for that transaction and then moves forward from what it
wrote (status only moves forward). The callback's own transactions lock the message, commit,
then lock the recipient, so it never holds one while waiting for the other.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Message
from .models import Recipient
from .sender import Outcome

AHEAD = (Recipient.Status.DELIVERED, Recipient.Status.FAILED)


@dataclass(frozen=True)
class Heard:
    status: str  # the recipient's status now: `sending` unless a callback moved it
    error_code: str
    sid: str  # the SID a callback stored (the call's on the recipient, the message's on it), or ""


def heard(rows: list[Recipient]) -> dict[int, Heard]:
    """For each of these recipients (being handed off: `sending`), what callbacks wrote; the
    recipients and their messages locked for the caller's transaction."""
    if not rows:
        return {}
    found = list(
        Recipient.objects.select_for_update()
        .filter(pk__in=[row.pk for row in rows])
        .order_by("pk")
        .values_list("pk", "status", "error_code", "provider_sid", "message_id")
    )
    message_ids = [message_id for *_, message_id in found if message_id is not None]
    message_sids = (
        dict(
            Message.objects.select_for_update()
            .filter(pk__in=message_ids)
            .order_by("pk")
            .values_list("pk", "provider_sid")
        )
        if message_ids
        else {}
    )
    return {
        pk: Heard(status=status, error_code=code, sid=sid or message_sids.get(message_id) or "")
        for pk, status, code, sid, message_id in found
    }


def settled(outcome: Outcome, heard: Heard | None) -> Outcome:
    """The hand-off's outcome in the light of the callbacks: a failure here (a timeout) whose
    message or call the provider has after all, as a callback told us, is a success with its SID."""
    if heard is not None and heard.sid and not outcome.ok:
        return Outcome(sid=heard.sid)
    return outcome


def keep_ahead(row: Recipient, heard: Heard | None) -> None:
    """A recipient recorded `sent` keeps the `delivered` or `failed` a callback already wrote."""
    if heard is not None and row.status == Recipient.Status.SENT and heard.status in AHEAD:
        row.status, row.error_code = heard.status, heard.error_code
