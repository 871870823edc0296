"""What the chat widget's booking calls do: which calendar answers (Calendly, the native rules,
or the brain's booking link), and the answers in the widget's shape."""

import datetime as dt
import logging
import zoneinfo
from typing import Any

from accounts.models import Workspace

from ..availability import selectors
from ..bookings import services
from ..calendly import client as calendly
from ..calendly import services as calendly_services
from ..models import Booking
from ..slots import Slot, iso

DEFAULT_HORIZON_DAYS = 7
logger = logging.getLogger("booking.widget")  # the name it logged under as booking/widget.py


def booking_url_of(brain) -> str | None:
    # The brain's own booking link (SPEC §7), where messaging keeps one.
    return getattr(brain, "booking_url", None) or None


def _slots(pairs) -> list[dict[str, str]]:
    return [{"start": iso(start), "end": iso(end), "status": "available"} for start, end in pairs]


def _native(slots: list[Slot]) -> list[dict[str, str]]:
    return [{"start": slot.start_text, "end": slot.end_text, "status": "available"} for slot in slots]


def availability(*, brain) -> dict[str, Any]:
    """Calendly's slots when connected; else the native rules'; else the booking link. A
    Calendly that does not answer falls back the same way, so the widget always gets one."""
    workspace: Workspace = brain.workspace
    rules, connection = selectors.calendars_get(workspace=workspace)
    if connection is not None:
        horizon = rules.horizon_days if rules else DEFAULT_HORIZON_DAYS
        try:
            slots = calendly_services.calendly_slots(connection=connection, horizon_days=horizon)
        except calendly.CalendlyError as exc:
            logger.warning("Calendly availability for workspace %s failed: %s", workspace.pk, exc)
        else:
            return {"ok": True, "method": "calendly", "slots": _slots(slots)}
    if rules is not None:
        slots = selectors.native_slots(workspace=workspace, rules=rules)
        return {
            "ok": True,
            "method": "native",
            "timezone": rules.timezone,
            "slots": _native(slots),
        }
    url = booking_url_of(brain) or (connection.scheduling_url if connection else None)
    return {"ok": True, "method": "link", "booking_url": url}


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
    connection = calendly_services.calendly_get(workspace=workspace)
    if connection is not None:
        booking = calendly_services.calendly_book(
            connection=connection,
            invitee=invitee,
            message=message,
            preferred_time=preferred_time,
            brain_slug=brain_slug or brain.slug,
            bot_id=brain.bot_id,
        )
        return {
            "ok": True,
            "booking_id": str(booking.id),
            "status": booking.status,
            "method": "calendly",
            "booking_url": booking.scheduling_url,
            "message": f"Pick your time here: {booking.scheduling_url}",
        }
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
