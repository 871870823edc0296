"""Quiet hours in the recipient's time zones (SPEC §7): nothing goes out between the quiet
start and end (21:00-08:00 by default) in any of the zones; a message due then waits for the
first moment that is allowed in all of them."""

import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zones_for(*, contact_timezone: str, e164: str, fallback: str, number_zone: str = "") -> list[str]:
    """The contact's zone when it names one; else every zone of the number (a US number
    without a known area gives several; `number_zone` is the number's only one when the
    caller knows it); else the workspace's."""
    if contact_timezone and _zone(contact_timezone):
        return [contact_timezone]
    if number_zone and _zone(number_zone):
        return [number_zone]
    zones = _number_zones(e164)
    if zones:
        return list(zones)
    return [fallback if _zone(fallback) else "UTC"]


@lru_cache(maxsize=65536)
def _number_zones(e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ()
    return tuple(z for z in phone_timezone.time_zones_for_number(number) if z != "Etc/Unknown" and _zone(z))


def _quiet_local(local: datetime.time, start: datetime.time, end: datetime.time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # over midnight


def allowed(
    at: datetime.datetime, zones: list[str] | tuple[str, ...], start: datetime.time, end: datetime.time
) -> bool:
    for name in zones:
        zone = _zone(name)
        if zone is not None and _quiet_local(at.astimezone(zone).time(), start, end):
            return False
    return True


def next_allowed(
    at: datetime.datetime, zones: list[str] | tuple[str, ...], start: datetime.time, end: datetime.time
) -> datetime.datetime | None:
    """`at` if allowed, else the first later moment allowed in every zone; None when the
    zones' allowed hours never meet (zones far apart with long quiet hours)."""
    if allowed(at, zones, start, end):
        return at
    # Allowed-ness changes only where some zone's quiet hours end: try those, in order.
    candidates = []
    for name in zones:
        zone = _zone(name)
        if zone is None:
            continue
        local_day = at.astimezone(zone).date()
        for offset in range(-1, 3):
            day = local_day + datetime.timedelta(days=offset)
            moment = datetime.datetime.combine(day, end, tzinfo=zone).astimezone(datetime.UTC)
            if moment > at:
                candidates.append(moment)
    for moment in sorted(candidates):
        if allowed(moment, zones, start, end):
            return moment
    return None
