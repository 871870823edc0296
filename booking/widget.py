"""What the chat widget's booking calls do: which calendar answers (Calendly, the native rules,
or the brain's booking link), and the answers in the widget's shape."""

import datetime as dt
import zoneinfo
from typing import Any

from accounts.models import Workspace
from messaging.selectors import origin_allowed_by_any_brain

from . import selectors, services
from .models import Booking


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def booking_url_of(brain) -> str | None:
    # The brain's own booking link (SPEC §7), where messaging keeps one.
    return getattr(brain, "booking_url", None) or None


def availability(*, brain) -> dict[str, Any]:
    workspace: Workspace = brain.workspace
    rules = selectors.rules_get(workspace=workspace)
    if rules is not None:
        slots = selectors.native_slots(workspace=workspace, rules=rules)
        return {
            "ok": True,
            "method": "native",
            "timezone": rules.timezone,
            "slots": [{"start": iso(s.start), "end": iso(s.end), "status": "available"} for s in slots],
        }
    return {"ok": True, "method": "link", "booking_url": booking_url_of(brain)}


def _local(value: dt.datetime, zone: str) -> str:
    return f"{value.astimezone(zoneinfo.ZoneInfo(zone)):%A %d %B %Y, %H:%M} ({zone})"


def book(
    *,
    brain,
    invitee: services.Invitee,
    start: dt.datetime | None,
    message: str,
    preferred_time: str,
    brain_slug: str,
) -> dict[str, Any]:
    workspace: Workspace = brain.workspace
    booking = services.booking_create(
        workspace=workspace,
        invitee=invitee,
        start=start,
        message=message,
        preferred_time=preferred_time,
        brain_slug=brain_slug or brain.slug,
        source=Booking.Source.WIDGET,
        bot_id=brain.bot_id,
    )
    if booking.status == Booking.Status.CONFIRMED:
        rules = selectors.rules_get(workspace=workspace)
        zone = rules.timezone if rules else "UTC"
        return {
            "ok": True,
            "booking_id": str(booking.id),
            "status": booking.status,
            "start": iso(booking.start),
            "end": iso(booking.end),
            "message": f"You're booked for {_local(booking.start, zone)}. An invite is on its way to {booking.email}.",
        }
    return {
        "ok": True,
        "booking_id": str(booking.id),
        "status": booking.status,
        "message": "Thanks! We have your request and will be in touch to arrange a time.",
    }


def origin_allowed_anywhere(*, origin: str | None) -> bool:
    return origin_allowed_by_any_brain(origin=origin)
