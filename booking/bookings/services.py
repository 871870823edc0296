"""Writes of bookings: made and cancelled, each with its events in one transaction and its
e-mails sent after commit."""

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import Workspace
from crm.contacts.services import contact_mark_booked, contact_upsert
from crm.models import Contact
from crm.normalize import Phone
from leadhub.exceptions import Conflict
from webhooks.services import event_emit

from .. import tasks
from ..availability import selectors
from ..models import AvailabilityRules, Booking

logger = logging.getLogger("booking.services")  # the name it logged under as booking/services.py
MAX_LENGTH = dt.timedelta(hours=8)


class SlotUnavailable(Conflict):
    """The time asked for is not a free slot (taken, outside the hours, too soon or too far)."""

    def __init__(self, message: str = "This time is no longer available. Pick another slot."):
        super().__init__(message)


class NoCalendar(Exception):
    """A time was asked for, but the workspace has no availability rules to check it against."""


def booking_payload(booking: Booking) -> dict[str, Any]:
    """The booking as events carry it."""

    def iso(value):
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": str(booking.id),
        "status": booking.status,
        "source": booking.source,
        "start": iso(booking.start),
        "end": iso(booking.end),
        "contact_id": str(booking.contact_id),
        "name": booking.name,
        "email": booking.email,
        "phone": booking.phone or None,
        "message": booking.message,
        "preferred_time": booking.preferred_time or None,
        "scheduling_url": booking.scheduling_url or None,
        "created_at": iso(booking.created_at),
    }


@dataclass(frozen=True)
class Invitee:
    name: str
    email: str
    phone: Phone | None = None


def _notify_after_commit(booking: Booking) -> None:
    booking_id = str(booking.id)

    def enqueue() -> None:
        try:
            tasks.booking_notify.delay(booking_id)
        except Exception:  # the broker is down: the periodic sweep sends it
            logger.warning("Could not enqueue the e-mails of booking %s; the sweep will send them", booking_id)

    transaction.on_commit(enqueue)


def invitee_contact(*, workspace: Workspace, invitee: Invitee, bot_id: str | None, booked: bool = False):
    """The invitee's contact: found, or created (a public call never overwrites an existing
    contact, SPEC §5.2). `booked`: the booking is confirmed in the same transaction, so a new
    contact is created `booked` and its lead.created says the state after the whole request
    (issue #8), rather than `qualified` followed by a lead.updated (contact_mark_booked then
    finds it booked and emits lead.booked alone)."""
    return contact_upsert(
        workspace=workspace,
        phone=invitee.phone,
        email=invitee.email,
        values={"name": invitee.name},
        source="booking",
        update_existing=False,
        bot_id=bot_id,
        submitted=["name", "email", *(["phone"] if invitee.phone else [])],
        on_create={"status": Contact.Status.BOOKED} if booked else None,
    ).contact


def booking_create(
    *,
    workspace: Workspace,
    invitee: Invitee,
    start: dt.datetime | None,
    end: dt.datetime | None = None,
    message: str = "",
    preferred_time: str = "",
    brain_slug: str = "",
    source: str = Booking.Source.WIDGET,
    bot_id: str | None = None,
    contact: Contact | None = None,
) -> Booking:
    """Book `start` (a free slot of the rules; `end` defaults to start + slot length), or,
    without `start`, save a request for the owner to arrange. The booking is the contact's
    that `invitee` is (found or created through contact_upsert), or `contact`'s when the
    caller knows it already (a conversation's lead, who may have no e-mail address).

    No two confirmed bookings of a workspace overlap, buffers included, whatever their lengths:
    the check below answers the common case early, and the database decides the race (the
    exclusion constraint on PostgreSQL; on SQLite the transaction is IMMEDIATE, so the check
    and the insert run under the database's write lock).
    """
    with transaction.atomic():
        if start is None:
            booking = Booking(status=Booking.Status.REQUESTED, preferred_time=preferred_time)
        else:
            # Confirmed bookings of a workspace take its rules row in turn: a second one waits
            # here, before it touches any contact or counter row, then finds the time taken
            # (409). Without this, two racing inserts could deadlock on PostgreSQL: the loser
            # waiting on the winner's booking (exclusion constraint) while holding the daily
            # counter row the winner's lead.booked needs.
            rules = AvailabilityRules.objects.select_for_update().filter(workspace=workspace).first()
            if rules is None:
                raise NoCalendar()
            slot = next((s for s in selectors.native_slots(workspace=workspace, rules=rules) if s.start == start), None)
            if slot is None:
                raise SlotUnavailable()
            end = end or slot.end
            if not start < end <= start + MAX_LENGTH:
                raise SlotUnavailable("The meeting must end after it starts and last at most 8 hours.")
            buffer = dt.timedelta(minutes=rules.buffer_minutes)
            if not selectors.range_is_free(workspace=workspace, start=start, until=end + buffer):
                raise SlotUnavailable()
            booking = Booking(
                status=Booking.Status.CONFIRMED,
                start=start,
                end=end,
                buffer_minutes=rules.buffer_minutes,
                blocked_from=start,
                blocked_until=end + buffer,
            )
        if contact is None:
            contact = invitee_contact(
                workspace=workspace, invitee=invitee, bot_id=bot_id, booked=booking.status == Booking.Status.CONFIRMED
            )
        booking.workspace = workspace
        booking.contact = contact
        booking.source = source
        booking.name = invitee.name
        booking.email = invitee.email
        booking.phone = invitee.phone.e164 if invitee.phone else ""
        booking.message = message
        booking.brain_slug = brain_slug
        try:
            with transaction.atomic():  # a savepoint: the insert may lose the race
                booking.save(force_insert=True)
        except IntegrityError:
            if booking.status == Booking.Status.CONFIRMED:
                raise SlotUnavailable() from None
            raise
        booking_announce(booking, contact=contact, bot_id=bot_id)
    _notify_after_commit(booking)
    return booking


def booking_announce(booking: Booking, *, contact, bot_id: str | None) -> None:
    payload = booking_payload(booking)
    event_emit(workspace=booking.workspace, type="booking.created", data=payload, bot_id=bot_id)
    if booking.status == Booking.Status.CONFIRMED:
        contact_mark_booked(contact=contact, booking=payload, bot_id=bot_id)


def booking_cancel(*, workspace: Workspace, booking: Booking, reason: str = "") -> Booking:
    """Cancel: the time is free again, `booking.cancelled`, and a METHOD:CANCEL for the same
    UID with a higher SEQUENCE goes to both sides. Cancelling twice changes nothing more."""
    with transaction.atomic():
        booking = Booking.objects.select_for_update().get(pk=booking.pk, workspace=workspace)
        if booking.status == Booking.Status.CANCELLED:
            return booking
        booking_mark_cancelled(booking, reason=reason)
    if booking.start is not None:
        _notify_after_commit(booking)
    return booking


def booking_mark_cancelled(booking: Booking, *, reason: str) -> None:
    booking.status = Booking.Status.CANCELLED
    booking.cancel_reason = reason[:500]
    booking.cancelled_at = dt.datetime.now(dt.UTC)
    booking.sequence += 1
    booking.save(update_fields=["status", "cancel_reason", "cancelled_at", "sequence", "updated_at"])
    event_emit(workspace=booking.workspace, type="booking.cancelled", data=booking_payload(booking))
