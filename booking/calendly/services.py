"""Calendly for a workspace: connecting it, the widget's slots and links from it, and the
bookings its webhooks report (deduplicated on the invitee's URI).

Bookings made in Calendly are Calendly's to hold: they hold no range of the native calendar
(Calendly keeps its own free of overlaps) and LeadHub sends them no invite (Calendly does).
"""

import datetime as dt
import json
import logging
import time
from contextlib import nullcontext
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.models import Workspace
from crm.normalize import InvalidValue, parse_phone
from leadhub import lookups
from leadhub.tenancy import tenant_scope

from ..bookings.services import Invitee, booking_announce, booking_mark_cancelled, invitee_contact
from ..models import Booking, CalendlyConnection
from . import client as calendly

logger = logging.getLogger("booking.calendly_services")  # the name it logged under as booking/calendly_services.py


class ConnectionInvalid(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class SignatureInvalid(Exception):
    """Missing, wrong or too old: the webhook is not Calendly's (or is a replay)."""


class PayloadInvalid(Exception):
    pass


def calendly_check(*, token: str, event_type_uri: str) -> calendly.EventType:
    """The event type, if the token opens it; ConnectionInvalid naming the field otherwise."""
    try:
        return calendly.event_type_get(token=token, event_type_uri=event_type_uri)
    except calendly.CalendlyError as exc:
        field = "token" if exc.status in (401, 403) else "event_type_uri"
        raise ConnectionInvalid(field, f"Calendly could not open this event type with this token: {exc}") from None


def calendly_connect(
    *, workspace: Workspace, token: str, event_type_uri: str, signing_key: str | None = None
) -> CalendlyConnection:
    """Connect (or reconnect) the workspace's Calendly: the token must open the event type.
    A signing key left out (None) keeps the one stored."""
    event_type = calendly_check(token=token, event_type_uri=event_type_uri)
    with transaction.atomic():
        connection = CalendlyConnection.objects.select_for_update().filter(workspace=workspace).first()
        connection = connection or CalendlyConnection(workspace=workspace)
        connection.token = token
        connection.event_type_uri = event_type_uri
        if signing_key is not None:
            connection.signing_key = signing_key
        connection.event_type_name = event_type.name[:200]
        connection.duration_minutes = max(1, min(event_type.duration_minutes, 1440))
        connection.scheduling_url = event_type.scheduling_url[:500]
        connection.enabled = True
        connection.save()
    return connection


def calendly_disconnect(*, workspace: Workspace) -> None:
    CalendlyConnection.objects.filter(workspace=workspace).delete()


def calendly_get(*, workspace: Workspace) -> CalendlyConnection | None:
    return CalendlyConnection.objects.filter(workspace=workspace, enabled=True).first()


def calendly_slots(*, connection: CalendlyConnection, horizon_days: int) -> list[tuple[dt.datetime, dt.datetime]]:
    """Calendly's free times from now to the horizon. CalendlyError when it cannot answer."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(minutes=1)  # "cannot be in the past"
    starts = calendly.available_times(
        token=connection.token,
        event_type_uri=connection.event_type_uri,
        start=now,
        end=now + dt.timedelta(days=horizon_days),
    )
    length = dt.timedelta(minutes=connection.duration_minutes)
    return [(start, start + length) for start in starts]


def calendly_book(
    *, connection: CalendlyConnection, invitee: Invitee, message: str, preferred_time: str, brain_slug: str, bot_id
) -> Booking:
    """A single-use scheduling link for this visitor, saved with a `requested` booking that the
    webhook confirms when the visitor picks a time. Without an answer from Calendly, the event
    type's public page is given instead."""
    try:
        url = calendly.scheduling_link_create(token=connection.token, event_type_uri=connection.event_type_uri)
    except calendly.CalendlyError as exc:
        logger.warning("Calendly scheduling link for workspace %s failed: %s", connection.workspace_id, exc)
        url = connection.scheduling_url
    workspace = connection.workspace
    with transaction.atomic():
        contact = invitee_contact(workspace=workspace, invitee=invitee, bot_id=bot_id)
        booking = Booking.objects.create(
            workspace=workspace,
            contact=contact,
            status=Booking.Status.REQUESTED,
            source=Booking.Source.CALENDLY,
            name=invitee.name,
            email=invitee.email,
            phone=invitee.phone.e164 if invitee.phone else "",
            message=message,
            preferred_time=preferred_time,
            brain_slug=brain_slug,
            scheduling_url=url,
            notified_sequence=0,  # Calendly sends its own e-mails
        )
        booking_announce(booking, contact=contact, bot_id=bot_id)
    return booking


# --- Webhooks -------------------------------------------------------------------------------


def _text(value, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


def calendly_webhook_receive(*, body: bytes, signature: str | None) -> str:
    """Record what a Calendly webhook reports; returns "recorded", "duplicate" or "ignored".

    The connection is the one whose event type the scheduled event belongs to and whose
    signing key verifies the signature; nothing is read from the payload before that but
    the event type's URI.
    """
    if not signature:
        raise SignatureInvalid()
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested thousands deep
        raise PayloadInvalid("The body is not JSON.") from None
    payload = data.get("payload") if isinstance(data, dict) else None
    scheduled = payload.get("scheduled_event") if isinstance(payload, dict) else None
    event_type_uri = scheduled.get("event_type") if isinstance(scheduled, dict) else None
    if not isinstance(event_type_uri, str) or not event_type_uri or "\x00" in event_type_uri:
        raise SignatureInvalid()  # nothing to find a signing key by
    now = time.time()
    # The named lookup before the workspace is known (row-level security): the workspaces with
    # a connection for the event type, where each candidate and its signing key are then read;
    # what the webhook records is the one that verifies.
    event_type_uri = event_type_uri[:500]
    workspace_ids = lookups.rows("calendly_workspaces", event_type_uri)
    candidates = []
    for workspace_id in [None] if workspace_ids is None else workspace_ids:  # None: SQLite, the ORM is the wall
        with tenant_scope(workspace_id) if workspace_id else nullcontext():
            candidates += CalendlyConnection.objects.select_related("workspace").filter(
                event_type_uri=event_type_uri, enabled=True
            )
    connection = next(
        (
            candidate
            for candidate in candidates
            if calendly.signature_verify(
                body=body,
                header=signature,
                key=candidate.signing_key,
                now=now,
                tolerance=settings.CALENDLY_WEBHOOK_TOLERANCE_SECONDS,
            )
        ),
        None,
    )
    if connection is None:
        raise SignatureInvalid()
    with tenant_scope(connection.workspace_id):
        return _webhook_record(connection, data, payload, scheduled)


def _webhook_record(connection: CalendlyConnection, data: dict, payload: dict, scheduled: dict) -> str:
    event = data.get("event")
    if event not in ("invitee.created", "invitee.canceled"):
        return "ignored"
    invitee_uri = _text(payload.get("uri"), 500)
    if not invitee_uri:
        raise PayloadInvalid("The payload has no invitee uri.")
    try:
        start = calendly._instant(scheduled.get("start_time"))
        end = calendly._instant(scheduled.get("end_time"))
    except calendly.CalendlyError as exc:
        raise PayloadInvalid(str(exc)) from None
    if end <= start:
        raise PayloadInvalid("The scheduled event ends before it starts.")
    details = {
        "invitee_uri": invitee_uri,
        "event_uri": _text(scheduled.get("uri"), 500),
        "start": start,
        "end": end,
        "name": _text(payload.get("name"), 200) or _text(payload.get("email"), 200) or "Calendly invitee",
        "email": _text(payload.get("email"), 254).strip().lower(),
        "phone": _phone(payload.get("text_reminder_number"), connection.workspace),
        "reason": _text(
            (payload.get("cancellation") or {}).get("reason") if isinstance(payload.get("cancellation"), dict) else "",
            500,
        ),
    }
    if event == "invitee.created":
        return _invitee_created(connection, details)
    return _invitee_canceled(connection, details)


def _phone(value, workspace: Workspace):
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_phone(value, default_region=workspace.country)
    except InvalidValue:
        return None


def _invitee(details: dict[str, Any]) -> Invitee:
    return Invitee(name=details["name"], email=details["email"], phone=details["phone"])


def _invitee_created(connection: CalendlyConnection, details: dict[str, Any]) -> str:
    workspace = connection.workspace
    try:
        with transaction.atomic():
            if Booking.objects.filter(workspace=workspace, calendly_invitee_uri=details["invitee_uri"]).exists():
                return "duplicate"
            contact = invitee_contact(workspace=workspace, invitee=_invitee(details), bot_id=None, booked=True)
            # The visitor who was handed a scheduling link: their request becomes this booking.
            booking = (
                Booking.objects.select_for_update()
                .filter(
                    workspace=workspace,
                    source=Booking.Source.CALENDLY,
                    status=Booking.Status.REQUESTED,
                    email=details["email"],
                )
                .order_by("-created_at")
                .first()
            ) or Booking(
                workspace=workspace, source=Booking.Source.CALENDLY, name=details["name"], email=details["email"]
            )
            booking.contact = contact
            booking.status = Booking.Status.CONFIRMED
            booking.start, booking.end = details["start"], details["end"]
            booking.calendly_invitee_uri = details["invitee_uri"]
            booking.calendly_event_uri = details["event_uri"]
            if details["phone"] and not booking.phone:
                booking.phone = details["phone"].e164
            booking.notified_sequence = booking.sequence  # Calendly sends its own invites
            with transaction.atomic():
                booking.save()
            booking_announce(booking, contact=contact, bot_id=None)
    except IntegrityError:  # the same invitee, delivered twice at once
        return "duplicate"
    return "recorded"


def _invitee_canceled(connection: CalendlyConnection, details: dict[str, Any]) -> str:
    workspace = connection.workspace
    try:
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update()
                .filter(workspace=workspace, calendly_invitee_uri=details["invitee_uri"])
                .first()
            )
            if booking is not None and booking.status == Booking.Status.CANCELLED:
                return "duplicate"
            if booking is None:
                # The cancel came first (or its create was never seen): kept, so that a late
                # create of the same invitee is recognised and stays cancelled.
                contact = invitee_contact(workspace=workspace, invitee=_invitee(details), bot_id=None)
                booking = Booking.objects.create(
                    workspace=workspace,
                    contact=contact,
                    source=Booking.Source.CALENDLY,
                    status=Booking.Status.CONFIRMED,
                    start=details["start"],
                    end=details["end"],
                    name=details["name"],
                    email=details["email"],
                    calendly_invitee_uri=details["invitee_uri"],
                    calendly_event_uri=details["event_uri"],
                )
            booking_mark_cancelled(booking, reason=details["reason"])
            Booking.objects.filter(pk=booking.pk).update(notified_sequence=booking.sequence)
    except IntegrityError:
        return "duplicate"
    return "recorded"
