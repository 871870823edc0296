"""Slots from rules: DST days in New York and Sydney, buffers, notice, horizon, overrides."""

import datetime as dt
import itertools
import zoneinfo

from booking.slots import Rules, _SlotsCache, candidate_slots, day_slots_cache, free_slots

UTC = dt.UTC


def rules(zone="America/New_York", weekly=None, **kwargs) -> Rules:
    values = {
        "timezone": zone,
        "slot_minutes": 30,
        "buffer_minutes": 0,
        "min_notice_minutes": 0,
        "horizon_days": 3,
        "weekly": weekly or {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "overrides": [],
    }
    return Rules(**(values | kwargs))


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def starts_on(slots, day: str) -> list[str]:
    return [s.start.strftime("%H:%M") for s in slots if s.start.date().isoformat() == day]


def test_new_york_spring_forward_keeps_local_hours():
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT. 09:00 is 14:00Z the day before, 13:00Z on the day.
    slots = candidate_slots(rules(), now=at("2026-03-07T00:00:00Z"))
    assert starts_on(slots, "2026-03-07")[0] == "14:00"
    assert starts_on(slots, "2026-03-08")[0] == "13:00"
    assert starts_on(slots, "2026-03-08")[-1] == "20:30"  # 16:30 EDT
    assert len(starts_on(slots, "2026-03-08")) == 16


def test_new_york_spring_forward_gap_has_no_slot():
    night = rules(weekly={"sun": [["00:00", "04:00"]]})
    slots = candidate_slots(night, now=at("2026-03-08T04:00:00Z"))  # midnight EST
    local = [s.start.astimezone(dt.timezone(dt.timedelta(hours=-5))).strftime("%H:%M") for s in slots][:4]
    # 00:00 and 01:00 EST exist; 02:00 and 02:30 do not; 03:00 is EDT (07:00Z).
    assert [s.start.isoformat() for s in slots[:6]] == [
        "2026-03-08T05:00:00+00:00",
        "2026-03-08T05:30:00+00:00",
        "2026-03-08T06:00:00+00:00",
        "2026-03-08T06:30:00+00:00",
        "2026-03-08T07:00:00+00:00",
        "2026-03-08T07:30:00+00:00",
    ]
    assert local == ["00:00", "00:30", "01:00", "01:30"]
    assert len([s for s in slots if s.start.date() == dt.date(2026, 3, 8)]) == 6  # 8 wall slots minus the gap's 2


def test_new_york_fall_back_keeps_local_hours_and_no_duplicate():
    # 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST. 09:00 is 13:00Z the day before, 14:00Z on the day.
    slots = candidate_slots(rules(), now=at("2026-10-31T00:00:00Z"))
    assert starts_on(slots, "2026-10-31")[0] == "13:00"
    assert starts_on(slots, "2026-11-01")[0] == "14:00"
    night = rules(weekly={"sun": [["00:00", "03:00"]]})
    slots = candidate_slots(night, now=at("2026-11-01T03:00:00Z"))
    starts = [s.start for s in slots]
    assert len(starts) == len(set(starts)) == 6  # 00:00 … 02:30 wall, the repeated 01:xx once
    assert at("2026-11-01T05:00:00Z") in starts  # 01:00 EDT, the first 01:00
    assert at("2026-11-01T06:00:00Z") not in starts  # the second 01:00 (EST) is not offered again
    for before, after in itertools.pairwise(slots):
        assert before.end <= after.start  # no two slots overlap


def test_sydney_dst_start_and_end_cross_utc_midnight():
    sydney = rules("Australia/Sydney", horizon_days=4)
    # 2026-10-04 02:00 AEST -> 03:00 AEDT. 09:00 on 10-03 is 23:00Z on 10-02; on 10-05 it is 22:00Z on 10-04.
    slots = candidate_slots(sydney, now=at("2026-10-02T12:00:00Z"))
    assert at("2026-10-02T23:00:00Z") in [s.start for s in slots]
    assert at("2026-10-04T22:00:00Z") in [s.start for s in slots]
    assert at("2026-10-04T23:00:00Z") in [s.start for s in slots]  # 10:00 AEDT
    # 2026-04-05 03:00 AEDT -> 02:00 AEST. 09:00 on 04-04 is 22:00Z on 04-03; on 04-06 it is 23:00Z on 04-05.
    slots = candidate_slots(sydney, now=at("2026-04-03T12:00:00Z"))
    assert at("2026-04-03T22:00:00Z") in [s.start for s in slots]
    assert at("2026-04-05T23:00:00Z") in [s.start for s in slots]
    assert at("2026-04-05T22:00:00Z") not in [s.start for s in slots]  # 08:00 AEST on 04-06


def test_minimum_notice_and_horizon_bound_the_slots():
    now = at("2026-12-01T15:10:00Z")  # 10:10 in New York
    slots = candidate_slots(rules(min_notice_minutes=60, horizon_days=1), now=now)
    assert slots[0].start == at("2026-12-01T16:30:00Z")  # 11:30, the first slot at least an hour away
    assert slots[-1].end <= now + dt.timedelta(days=1)


def test_override_closes_a_day_and_opens_another():
    weekly = {"thu": [["09:00", "17:00"]]}
    closed = rules(
        weekly=weekly,
        overrides=[{"date": "2026-12-24", "hours": []}, {"date": "2026-12-26", "hours": [["10:00", "11:00"]]}],
    )
    slots = candidate_slots(closed, now=at("2026-12-24T00:00:00Z"))
    assert starts_on(slots, "2026-12-24") == []
    assert starts_on(slots, "2026-12-26") == ["15:00", "15:30"]


def test_buffer_keeps_a_gap_after_and_before_a_booking():
    now = at("2026-12-01T00:00:00Z")
    spec = rules(buffer_minutes=15, weekly={"tue": [["09:00", "12:00"]]}, horizon_days=1)
    held = [(at("2026-12-01T15:00:00Z"), at("2026-12-01T15:45:00Z"))]  # 10:00-10:30 EST with its 15 min
    free = [s.start.strftime("%H:%M") for s in free_slots(spec, now=now, held=held)]
    # 09:30 would end at 10:00 with its buffer to 10:15: taken; 10:30 starts inside the held buffer: taken.
    assert free == ["14:00", "16:00", "16:30"]


def _reference_starts(spec: Rules, now: dt.datetime) -> list[dt.datetime]:
    """Every slot start converted through the zone one by one (the slow, obviously right way)."""
    zone = zoneinfo.ZoneInfo(spec.timezone)
    length = dt.timedelta(minutes=spec.slot_minutes)
    earliest = now + dt.timedelta(minutes=spec.min_notice_minutes)
    latest = now + dt.timedelta(days=spec.horizon_days)
    day, last = now.astimezone(zone).date(), latest.astimezone(zone).date()
    starts = []
    while day <= last:
        wall = dt.datetime.combine(day, dt.time())
        for step in range(0, 24 * 60, spec.slot_minutes):
            naive = wall + dt.timedelta(minutes=step)
            aware = naive.replace(tzinfo=zone)
            if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
                continue  # in a spring-forward gap
            start = aware.astimezone(UTC)
            if earliest <= start and start + length <= latest:
                starts.append(start)
        day += dt.timedelta(days=1)
    return starts


def test_the_once_a_day_offset_gives_the_same_slots_as_converting_each_slot():
    # Whole days, every 15 minutes, over each transition of 2026 in zones that change at 02:00
    # (New York), at 03:00 (Sydney), at midnight (Santiago, Havana), by 30 minutes (Lord Howe),
    # and in zones without DST: the per-day offset must give exactly the per-slot conversion.
    whole_day = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    transitions = {
        "America/New_York": ["2026-03-07", "2026-10-31"],
        "Australia/Sydney": ["2026-04-04", "2026-10-03"],
        "America/Santiago": ["2026-04-04", "2026-09-05"],
        "America/Havana": ["2026-03-07", "2026-10-31"],
        "Australia/Lord_Howe": ["2026-04-04", "2026-10-03"],
        "Europe/London": ["2026-03-28", "2026-10-24"],
        "Asia/Kolkata": ["2026-06-01"],
    }
    for zone, days in transitions.items():
        for day in days:
            spec = rules(zone, weekly=whole_day, slot_minutes=15, horizon_days=4)
            now = at(f"{day}T00:00:00Z")
            assert [s.start for s in candidate_slots(spec, now=now)] == _reference_starts(spec, now), (zone, day)


def test_kept_slots_answer_as_if_made_afresh_as_the_clock_moves():
    # The rules' slots of a window of days are kept per process; notice and horizon are applied
    # to them on every call. Walking the clock in 37-minute steps over three days, through New
    # York's fall-back and Sydney's spring-forward, each answer must be the slow reference's.
    whole_day = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    for zone, start in (("America/New_York", "2026-10-31T00:00:00Z"), ("Australia/Sydney", "2026-10-02T00:00:00Z")):
        spec = rules(zone, weekly=whole_day, min_notice_minutes=45, horizon_days=2)
        now = at(start)
        for _ in range(3 * 24 * 60 // 37):
            assert [s.start for s in candidate_slots(spec, now=now)] == _reference_starts(spec, now), (zone, now)
            now += dt.timedelta(minutes=37)


def test_kept_slots_are_per_rules_and_per_day():
    spec = rules(horizon_days=1)
    day = dt.date(2026, 12, 1)
    assert day_slots_cache.get(spec, day) is day_slots_cache.get(spec, day)  # kept
    closed = rules(horizon_days=2, overrides=[{"date": "2026-12-01", "hours": []}])
    assert [s.start.date() for s in candidate_slots(closed, now=at("2026-12-01T05:00:00Z"))] == [
        dt.date(2026, 12, 2)
    ] * 16
    longer = rules(horizon_days=1, slot_minutes=60)
    assert {s.end - s.start for s in candidate_slots(longer, now=at("2026-12-01T05:00:00Z"))} == {dt.timedelta(hours=1)}
    assert day_slots_cache.get(spec, day + dt.timedelta(days=1))[0].start == at("2026-12-02T14:00:00Z")


def test_the_kept_slots_stay_within_their_budget():
    cache = _SlotsCache(budget=100)  # 09:00-17:00 in half hours, over 2 days + 2: 64 slots
    first, second = rules(horizon_days=2), rules(horizon_days=2, slot_minutes=60)
    made = cache.get(first, dt.date(2026, 12, 1))
    assert len(made) == 64
    assert cache.get(second, dt.date(2026, 12, 1)) is not None  # 32 more: 98 with the two entries
    assert cache.get(first, dt.date(2026, 12, 1)) is made
    cache.get(first, dt.date(2026, 12, 2))  # 64 more: the least recently used (second) goes, then first
    assert cache.get(first, dt.date(2026, 12, 1)) is not made
    assert cache.get(first, dt.date(2026, 12, 1)) == made
