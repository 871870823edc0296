"""Booking in a WhatsApp or SMS conversation (issue #10 item 6), a messaging skill
(messaging/inbound/skills.py) registered by BookingConfig.ready().

- When the brain detects `book_meeting` in the lead's message, its reply offers the next free
  slots of the workspace's availability rules, numbered, written in the lead's zone (the
  contact's `timezone`, else the rules'). The offer is kept (SlotOffer) for OFFER_HOURS.
- A later message that picks one, by its number ("2", "#2", "option 2") or by its time ("9:30",
  "2pm", "Tuesday 9:30am" when the time alone matches several), books it through
  `booking_create` with the public endpoint's rules: a slot taken meanwhile (its 409) is
  answered with the slots still free, offered afresh. Anything else goes to the brain as usual.

Only the native calendar is offered here: a workspace with Calendly connected, or without
rules, keeps the brain's reply as it is (it carries the brain's booking link).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.db import transaction
from django.utils import timezone

from leadhub.compiled import CompiledQuery
from messaging.ai import Reply
from messaging.inbound.skills import SkillReply, Turn, skill_register

from ..availability import selectors
from ..bookings import services
from ..models import Booking, SlotOffer

OFFERED = 5
OFFER_HOURS = 24
BOOK_MEETING = "book_meeting"

_NUMBER = re.compile(r"^\W*(?:#|no\.?|number|option|slot)?\s*(\d{1,2})\W*(?:please|pls|thanks|thank you)?\W*$", re.I)
_TIME = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?(?!\w)", re.I)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def _when(start: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    local = start.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def offer_make(turn: Turn, *, lead_in: str = "") -> str | None:
    """Offer the next free slots in the conversation (replacing an earlier offer): the text of
    the offer, or None when the workspace's native calendar cannot offer any."""
    rules, calendly = selectors.calendars_get(workspace=turn.workspace)
    if rules is None or calendly is not None:
        return None
    slots = selectors.native_slots(workspace=turn.workspace, rules=rules)[:OFFERED]
    if not slots:
        return None
    zone_name = turn.contact.timezone if _zone(turn.contact.timezone) else rules.timezone
    zone = _zone(zone_name) or dt.UTC
    SlotOffer.objects.update_or_create(
        conversation=turn.conversation,
        defaults={
            "workspace": turn.workspace,
            "starts": [slot.start.isoformat() for slot in slots],
            "time_zone": zone_name,
            "expires_at": timezone.now() + dt.timedelta(hours=OFFER_HOURS),
        },
    )
    lines = [f"{n}. {_when(slot.start, zone)}" for n, slot in enumerate(slots, start=1)]
    return "\n".join(
        [
            f"{lead_in}Here are the next free times ({zone_name}):",
            *lines,
            "Reply with the number of the time you'd like.",
        ]
    )


def pick(text: str, starts: list[dt.datetime], zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The offered start the message picks: its number alone, or a time of day (with a weekday
    when the time alone is not enough) that matches exactly one of them."""
    number = _NUMBER.match(text or "")
    if number:
        index = int(number.group(1))
        return starts[index - 1] if 1 <= index <= len(starts) else None
    times = []
    for hour, minute, half in _TIME.findall(text or ""):
        if not minute and not half:
            continue  # a bare number inside a sentence is not a time
        hour_value, minute_value = int(hour), int(minute or 0)
        if half:
            if not 1 <= hour_value <= 12:
                continue
            hour_value = hour_value % 12 + (12 if half.lower().startswith("p") else 0)
        if hour_value < 24 and minute_value < 60:
            times.append((hour_value, minute_value))
    if not times:
        return None
    weekdays = {_WEEKDAYS.index(match.lower()[:3]) for match in _WEEKDAY.findall(text)}
    matching = [
        start
        for start in starts
        if (start.astimezone(zone).hour, start.astimezone(zone).minute) in times
        and (not weekdays or start.astimezone(zone).weekday() in weekdays)
    ]
    return matching[0] if len(matching) == 1 else None


def _book(turn: Turn, offer: SlotOffer, start: dt.datetime, zone: zoneinfo.ZoneInfo) -> SkillReply:
    contact = turn.contact
    brain = turn.brain
    try:
        booking = services.booking_create(
            workspace=turn.workspace,
            invitee=services.Invitee(name=contact.name or contact.phone_number or "Lead", email=contact.email or ""),
            contact=contact,
            start=start,
            message=f"Booked in a {turn.conversation.channel} conversation.",
            brain_slug=brain.slug if brain else "",
            source=Booking.Source.CONVERSATION,
            bot_id=brain.bot_id if brain else None,
        )
    except services.SlotUnavailable:
        again = offer_make(turn, lead_in="Sorry, that time was just taken. ")
        text = again or "Sorry, that time was just taken, and no other time is free soon. We'll get back to you."
        if again is None:
            offer.delete()
        return SkillReply(text=text, intent=BOOK_MEETING, confidence=1.0)
    except services.NoCalendar:
        offer.delete()
        return SkillReply(text="Sorry, we can't book that time any more. We'll get back to you.", intent=BOOK_MEETING)
    offer.delete()
    invite = f" An invite is on its way to {booking.email}." if booking.email else ""
    return SkillReply(
        text=f"You're booked for {_when(booking.start, zone)} ({offer.time_zone}). See you then!{invite}",
        intent=BOOK_MEETING,
        confidence=1.0,
    )


class BookingSkill:
    name = "booking"

    def answer(self, turn: Turn) -> SkillReply | None:
        if turn.message.position == 0:
            return None  # the conversation's first message: no reply before it made an offer
        offer = _PENDING.first(turn.conversation.pk, timezone.now())
        if offer is None:
            return None
        zone = _zone(offer.time_zone) or dt.UTC
        start = pick(turn.message.content, [_parse(text) for text in offer.starts], zone)
        if start is None:
            return None
        with transaction.atomic():  # the booking and the end of its offer, together
            return _book(turn, offer, start, zone)

    def follow(self, turn: Turn, reply: Reply) -> str | None:
        if reply.intent != BOOK_MEETING:
            return None
        offer = offer_make(turn)
        if offer is None:
            return None
        # The model's own words first (it may have answered more than the wish to meet); the
        # offline responder's and the holding reply say nothing the offer does not.
        return f"{reply.text}\n\n{offer}" if reply.source == "model" else offer


# Every inbound message the brain may answer asks it, nearly always to find none: compiled once
# (leadhub/compiled.py), as the ORM spent more CPU compiling it than running it.
_PENDING = CompiledQuery(
    lambda conversation_id, now: (
        SlotOffer.objects.filter(conversation_id=conversation_id).filter(expires_at__gt=now).order_by("pk")[:1]
    ),
    SlotOffer._meta.get_field("conversation"),
    SlotOffer._meta.get_field("expires_at"),
)


def register() -> None:
    skill_register(BookingSkill())
