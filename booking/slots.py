"""Free slots from availability rules: pure functions of the rules, the held ranges and now (the
rules' slots of a window of days are kept per process: `_SlotsCache` says why that cannot go stale).

Slots are made per calendar day in the rules' zone, in wall-clock time, and only then turned
into UTC instants (zoneinfo). So 09:00 stays 09:00 local on both sides of a DST change; a wall
time that does not exist that day (the spring-forward gap) gives no slot, and a wall time that
happens twice (the fall-back hour) gives one slot, at its first occurrence.
"""

import datetime as dt
import json
import re
import threading
import zoneinfo
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

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


class Slot(NamedTuple):  # a tuple: hundreds are made per request, a dataclass costs 4x
    start: dt.datetime  # UTC
    end: dt.datetime  # UTC
    # The two as answers write them (`iso`), made once with the slot: formatting them was a
    # tenth of an availability call.
    start_text: str
    end_text: str


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


def _fixed_offset(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.timedelta | None:
    """The zone's UTC offset all through the local day `day`, or None when the offset changes
    that day (a DST transition, or midnight itself ambiguous or skipped): such days take the
    per-slot path of `_exists`. Zones change their offset at most once a day."""
    midnight = dt.datetime.combine(day, dt.time())
    following = midnight + dt.timedelta(days=1)
    offsets = {
        zone.utcoffset(midnight.replace(fold=0)),
        zone.utcoffset(midnight.replace(fold=1)),
        zone.utcoffset(following.replace(fold=0)),
        zone.utcoffset(following.replace(fold=1)),
    }
    return offsets.pop() if len(offsets) == 1 else None


def day_hours(rules: Rules, day: dt.date) -> list[list[str]]:
    for override in rules.overrides:
        if override.get("date") == day.isoformat():
            return override.get("hours") or []
    return rules.weekly.get(WEEKDAYS[day.weekday()]) or []


def iso(value: dt.datetime) -> str:
    """ISO 8601 in UTC with `Z`. A UTC value's isoformat ends in "+00:00": cutting it off is
    the cheap way (an answer writes two per slot, hundreds a call)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"


def _day_slots(rules: Rules, first_day: dt.date, last_day: dt.date) -> tuple[Slot, ...]:
    """Every slot of the local days first_day..last_day, in the rules' order."""
    zone = zoneinfo.ZoneInfo(rules.timezone)
    length = dt.timedelta(minutes=rules.slot_minutes)
    slots: list[Slot] = []
    day = first_day
    one_day = dt.timedelta(days=1)
    while day <= last_day:
        hours = day_hours(rules, day)
        if not hours:
            day += one_day
            continue
        midnight = dt.datetime.combine(day, dt.time())
        offset = _fixed_offset(day, zone)
        # On a day of one offset, a wall time's instant is plain arithmetic (midnight in UTC +
        # the time since midnight); only a transition day converts each slot through the zone.
        midnight_utc = (midnight - offset).replace(tzinfo=UTC) if offset is not None else None
        for start_text, end_text in hours:
            since = parse_time(start_text)
            until = parse_time(end_text)
            while since + length <= until:
                start = midnight_utc + since if midnight_utc is not None else _exists(midnight + since, zone)
                if start is not None:
                    end = start + length
                    slots.append(Slot(start, end, iso(start), iso(end)))
                since += length
        day += one_day
    return tuple(slots)


class _SlotsCache:
    """The slots of a window of days by the rules that make them, kept per process, least
    recently used first out, at most `budget` slots in all (a 90-day horizon of 5-minute slots
    is 26,000; a week of half hours, a few hundred).

    What it keeps is a pure function of its key: the rules' timezone, slot length and hours
    (weekly and overrides) and the first local day. Bookings, notice and the clock are applied
    on every call, after it, so nothing here goes stale; a change of the rules is another key."""

    def __init__(self, budget: int):
        self._budget = budget
        self._size = 0
        self._entries: OrderedDict[tuple, tuple[Slot, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, rules: Rules, first_day: dt.date) -> tuple[Slot, ...]:
        key = (
            rules.timezone,
            rules.slot_minutes,
            rules.horizon_days,
            json.dumps(rules.weekly, sort_keys=True),
            json.dumps(rules.overrides, sort_keys=True),
            first_day,
        )
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        # A zone's local day and the same span of real time differ by at most a day (a DST
        # change, or a zone that skipped a date): one more day covers now + horizon.
        made = _day_slots(rules, first_day, first_day + dt.timedelta(days=rules.horizon_days + 1))
        with self._lock:
            if key not in self._entries and len(made) < self._budget:
                self._entries[key] = made
                self._size += len(made) + 1
                while self._size > self._budget:
                    _, dropped = self._entries.popitem(last=False)
                    self._size -= len(dropped) + 1
        return made

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0


day_slots_cache = _SlotsCache(budget=100_000)


def candidate_slots(rules: Rules, *, now: dt.datetime) -> list[Slot]:
    """Every slot the rules offer from now + minimum notice to now + horizon, busy or not."""
    earliest = now + dt.timedelta(minutes=rules.min_notice_minutes)
    latest = now + dt.timedelta(days=rules.horizon_days)
    first_day = now.astimezone(zoneinfo.ZoneInfo(rules.timezone)).date()
    return [slot for slot in day_slots_cache.get(rules, first_day) if slot.start >= earliest and slot.end <= latest]


def free_slots(rules: Rules, *, now: dt.datetime, held: Iterable[tuple[dt.datetime, dt.datetime]]) -> list[Slot]:
    """The candidate slots whose range with the buffer, [start, end + buffer), meets none of
    the held ranges (each booking's [start, end + its buffer)).

    One sweep over both sorted lists: the candidates come in time order and held ranges do not
    overlap each other (the database sees to it), so their ends are sorted too and a range
    that ends at or before a slot's start can be passed for good."""
    ranges = sorted(held)
    buffer = dt.timedelta(minutes=rules.buffer_minutes)
    free: list[Slot] = []
    index, count = 0, len(ranges)
    previous = None
    for slot in candidate_slots(rules, now=now):
        start = slot.start
        if previous is not None and start < previous:  # out of order (hours not sorted): sweep again
            index = 0
        previous = start
        while index < count and ranges[index][1] <= start:
            index += 1
        # The first held range that ends after `start` meets the slot if it starts before its end.
        if index == count or ranges[index][0] >= (slot.end + buffer if buffer else slot.end):
            free.append(slot)
    return free
