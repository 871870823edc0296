"""The e-mails of a booking and their calendar invites (RFC 5545, made with icalendar).

The invite is a `METHOD:REQUEST` with a UID that never changes for the booking and a
SEQUENCE that grows with each change; a cancellation is a `METHOD:CANCEL` of the same UID with
a higher SEQUENCE and `STATUS:CANCELLED`, so a calendar that accepted the invite removes the
event. Each e-mail carries the calendar as the `text/calendar; method=…` alternative (what
Gmail and Outlook act on) and as an `invite.ics` attachment (what Apple Mail opens).
"""

import datetime as dt
import logging
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from icalendar import Calendar, Event, vCalAddress, vText

from accounts.models import Membership, Role, Workspace

from .models import Booking

logger = logging.getLogger(__name__)
PRODID = "-//LeadHub//Booking//EN"


def _address(email: str, name: str = "", *, attendee: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = vText(name)
    if attendee:
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText("NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def owner_emails(*, workspace: Workspace) -> list[str]:
    """Who hears of a workspace's bookings: its owners with an e-mail address."""
    emails = Membership.objects.filter(workspace=workspace, role=Role.OWNER).values_list("user__email", flat=True)
    return sorted({email for email in emails if email})


def organizer_email(booking: Booking) -> str:
    owners = owner_emails(workspace=booking.workspace)
    return owners[0] if owners else parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def ics(booking: Booking, *, method: str, organizer: str, now: dt.datetime | None = None) -> bytes:
    """The booking as an iCalendar object for `method` REQUEST or CANCEL; times in UTC (Z)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", booking.uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    event.add("dtstart", booking.start.astimezone(dt.UTC))
    event.add("dtend", booking.end.astimezone(dt.UTC))
    event.add("summary", f"Meeting with {booking.name} ({booking.workspace.name})")
    if booking.message:
        event.add("description", booking.message)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("organizer", _address(organizer, booking.workspace.name))
    if booking.email:  # a lead booked in a conversation may have given no e-mail address
        event.add("attendee", _address(booking.email, booking.name, attendee=True))
    calendar.add_component(event)
    return calendar.to_ical()


def _when(booking: Booking) -> str:
    return f"{booking.start:%A %d %B %Y, %H:%M} to {booking.end:%H:%M} UTC"


def messages(booking: Booking) -> list[EmailMultiAlternatives]:
    """The e-mails the booking's current state calls for: the invite (confirmed), the
    cancellation (cancelled after having a time), or the owner's notice of a request."""
    owners = owner_emails(workspace=booking.workspace)
    sender = settings.DEFAULT_FROM_EMAIL
    workspace = booking.workspace.name
    if booking.status == Booking.Status.REQUESTED:
        if not owners:
            return []
        body = (
            f"{booking.name} <{booking.email}> asked for a meeting with {workspace}.\n"
            f"Preferred time: {booking.preferred_time or 'not given'}\n"
            f"Phone: {booking.phone or 'not given'}\n\n{booking.message}\n"
        )
        return [EmailMultiAlternatives(f"Meeting request from {booking.name}", body, sender, owners)]
    if booking.start is None:
        return []
    cancelled = booking.status == Booking.Status.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    calendar = ics(booking, method=method, organizer=organizer_email(booking))
    if cancelled:
        subject = f"Cancelled: meeting with {workspace}, {booking.start:%d %b %Y %H:%M} UTC"
        body = f"The meeting of {_when(booking)} between {booking.name} and {workspace} is cancelled.\n"
    else:
        subject = f"Invitation: meeting with {workspace}, {booking.start:%d %b %Y %H:%M} UTC"
        body = f"{booking.name} and {workspace} meet on {_when(booking)}.\n\n{booking.message}\n"
    out = []
    invitee = [booking.email] if booking.email else []
    for recipient in [*invitee, *[owner for owner in owners if owner != booking.email]]:
        email = EmailMultiAlternatives(subject, body, sender, [recipient])
        email.attach_alternative(calendar.decode(), f"text/calendar; method={method}")
        email.attach("invite.ics", calendar, "application/ics")
        out.append(email)
    return out


def booking_notify_send(*, booking_id: str) -> int:
    """Send what the booking's state calls for unless that SEQUENCE was sent already; returns
    how many e-mails went out. SMTP errors propagate, so the task retries."""
    booking = Booking.objects.select_related("workspace").filter(pk=booking_id).first()
    if booking is None or booking.notified_sequence >= booking.sequence:
        return 0
    outgoing = messages(booking)
    if outgoing:
        with get_connection() as connection:
            connection.send_messages(outgoing)
    Booking.objects.filter(pk=booking.pk, notified_sequence__lt=booking.sequence).update(
        notified_sequence=booking.sequence
    )
    return len(outgoing)


def unsent_booking_ids(*, since: dt.datetime, settle: dt.timedelta, limit: int = 100) -> list[str]:
    """Bookings whose current e-mails have not gone out (a lost task message, a dead worker),
    changed between `since` and `settle` ago (younger ones still have their task coming)."""
    now = dt.datetime.now(dt.UTC)
    rows = Booking.objects.filter(
        notified_sequence__lt=F("sequence"), updated_at__gte=since, updated_at__lt=now - settle
    ).values_list("pk", flat=True)[:limit]
    return [str(pk) for pk in rows]
