"""Quiet hours in the recipient's zones: what is allowed when, and the next allowed moment."""

import datetime as dt

import pytest

from messaging.campaigns import quiet

NIGHT_START, NIGHT_END = dt.time(21), dt.time(8)
LA, LONDON, NEW_YORK, SYDNEY = "America/Los_Angeles", "Europe/London", "America/New_York", "Australia/Sydney"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_noon_in_london_is_four_in_the_morning_in_los_angeles():
    at = utc(2026, 12, 1, 12, 0)

    assert quiet.allowed(at, [LONDON], NIGHT_START, NIGHT_END)
    assert not quiet.allowed(at, [LA], NIGHT_START, NIGHT_END)
    # Los Angeles waits for 08:00 local, 16:00 UTC in winter.
    assert quiet.next_allowed(at, [LA], NIGHT_START, NIGHT_END) == utc(2026, 12, 1, 16, 0)
    assert quiet.next_allowed(at, [LONDON], NIGHT_START, NIGHT_END) == at


def test_a_number_spanning_zones_waits_until_allowed_in_all():
    at = utc(2026, 12, 1, 13, 30)  # 08:30 in New York, 05:30 in Los Angeles

    assert not quiet.allowed(at, [NEW_YORK, LA], NIGHT_START, NIGHT_END)
    assert quiet.next_allowed(at, [NEW_YORK, LA], NIGHT_START, NIGHT_END) == utc(2026, 12, 1, 16, 0)
    # In the evening, New York's 21:00 closes it while Los Angeles is still at 18:00.
    evening = utc(2026, 12, 2, 2, 30)
    assert not quiet.allowed(evening, [NEW_YORK, LA], NIGHT_START, NIGHT_END)


def test_the_boundaries_are_start_inclusive_end_exclusive():
    assert not quiet.allowed(utc(2026, 12, 1, 21, 0), [LONDON], NIGHT_START, NIGHT_END)
    assert quiet.allowed(utc(2026, 12, 1, 20, 59), [LONDON], NIGHT_START, NIGHT_END)
    assert quiet.allowed(utc(2026, 12, 1, 8, 0), [LONDON], NIGHT_START, NIGHT_END)


def test_daylight_saving_keeps_the_local_hour():
    # On 2026-03-08 Los Angeles springs forward: 08:00 local is 15:00 UTC, not 16:00.
    at = utc(2026, 3, 8, 12, 0)
    assert quiet.next_allowed(at, [LA], NIGHT_START, NIGHT_END) == utc(2026, 3, 8, 15, 0)


def test_zones_whose_allowed_hours_never_meet_give_none():
    # Allowed 10:00-18:00 local: Los Angeles and Sydney share 23:00-02:00 UTC ...
    start, end = dt.time(18), dt.time(10)
    assert quiet.next_allowed(utc(2026, 12, 1, 12), [LA, SYDNEY], start, end) == utc(2026, 12, 1, 23, 0)
    # ... but with allowed hours of 10:00-12:00 local they never meet.
    assert quiet.next_allowed(utc(2026, 12, 1, 12), [LA, SYDNEY], dt.time(12), dt.time(10)) is None


def test_equal_start_and_end_mean_no_quiet_hours():
    assert quiet.allowed(utc(2026, 12, 1, 3), [LA], dt.time(0), dt.time(0))


@pytest.mark.parametrize(
    ("contact_timezone", "e164", "expected"),
    [
        ("Europe/Paris", "+18187405020", ["Europe/Paris"]),  # the contact's zone wins
        ("", "+18187405020", [LA]),  # else the number's
        ("Mars/Olympus", "+442071838750", [LONDON]),  # a zone that is not one is ignored
        ("", "+18005550100", None),  # toll free: every US zone
    ],
)
def test_zones_of_a_recipient(contact_timezone, e164, expected):
    zones = quiet.zones_for(contact_timezone=contact_timezone, e164=e164, fallback="UTC")
    if expected is None:
        assert len(zones) > 3 and NEW_YORK in zones and LA in zones
    else:
        assert zones == expected
