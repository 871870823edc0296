"""Free slots from availability rules: pure functions of the rules, the held ranges and now.

Slots are made per calendar day in the rules' zone, in wall-clock time, and only then turned
into UTC instants (zoneinfo). So 09:00 stays 09:00 local on both sides of a DST change; a wall
time that does not exist that day (the spring-forward gap) gives no slot, and a wall time that
happens twice (the fall-back hour) gives one slot, at its first occurrence.
"""

import bisect
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UTC = dt.UTC
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


@dataclass(frozen=True)
class Rules:
    timezone: str
    slot_minutes: int
    buffer_minutes: int
    min_notice_minutes: int
    horizon_days: int
    weekly: dict[str, list[list[str]]]
    overrides: list[dict]


@dataclass(frozen=True)
class Slot:
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC


def parse_time(text: str) -> dt.timedelta:
    """ "09:30" as the time since midnight; "24:00" is the end of the day."""
    match = TIME.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day as HH:MM (00:00 to 24:00).")
    if text == "24:00":
        return dt.timedelta(hours=24)
    return dt.timedelta(hours=int(match.group(1)), minutes=int(match.group(2)))


def _exists(naive: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The instant of a wall-clock time, or None when that time does not exist in the zone
    that day (it falls in a spring-forward gap: the round trip through UTC moves it)."""
    aware = naive.replace(tzinfo=zone, fold=0)
    back = aware.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != naive:
        return None
    return aware.astimezone(UTC)


def day_hours(rules: Rules, day: dt.date) -> list[list[str]]:
    for override in rules.overrides:
        if override.get("date") == day.isoformat():
            return override.get("hours") or []
    return rules.weekly.get(WEEKDAYS[day.weekday()]) or []


def candidate_slots(rules: Rules, *, now: dt.datetime) -> list[Slot]:
    """Every slot the rules offer from now + minimum notice to now + horizon, busy or not."""
    zone = zoneinfo.ZoneInfo(rules.timezone)
    length = dt.timedelta(minutes=rules.slot_minutes)
    earliest = now + dt.timedelta(minutes=rules.min_notice_minutes)
    latest = now + dt.timedelta(days=rules.horizon_days)
    first_day = now.astimezone(zone).date()
    last_day = latest.astimezone(zone).date()
    slots: list[Slot] = []
    day = first_day
    while day <= last_day:
        midnight = dt.datetime.combine(day, dt.time())
        for start_text, end_text in day_hours(rules, day):
            wall = midnight + parse_time(start_text)
            range_end = midnight + parse_time(end_text)
            while wall + length <= range_end:
                start = _exists(wall, zone)
                if start is not None and start >= earliest and start + length <= latest:
                    slots.append(Slot(start=start, end=start + length))
                wall += length
        day += dt.timedelta(days=1)
    return slots


def free_slots(rules: Rules, *, now: dt.datetime, held: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[Slot]:
    """The candidate slots whose range with the buffer, [start, end + buffer), meets none of
    the held ranges (each booking's [start, end + its buffer))."""
    ranges = sorted(held)
    starts = [start for start, _ in ranges]
    # Ranges do not overlap each other (the database sees to it), so their ends are sorted too.
    ends = [end for _, end in ranges]
    buffer = dt.timedelta(minutes=rules.buffer_minutes)
    return [slot for slot in candidate_slots(rules, now=now) if not _meets(slot.start, slot.end + buffer, starts, ends)]


def _meets(start: dt.datetime, end: dt.datetime, starts: Sequence[dt.datetime], ends: Sequence[dt.datetime]) -> bool:
    # The first held range that ends after `start`; it meets [start, end) if it starts before `end`.
    index = bisect.bisect_right(ends, start)
    return index < len(starts) and starts[index] < end
