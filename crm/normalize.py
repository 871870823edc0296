"""Normalising what leads arrive with: phone numbers to E.164 (with what the number tells of
place and time zone), e-mail addresses, US-format dates of birth."""

import datetime
from dataclasses import dataclass

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_timezone


class InvalidValue(ValueError):
    """A value a client sent that cannot be used; the message is for the client."""


@dataclass(frozen=True)
class Phone:
    e164: str
    region: str  # ISO 3166 code, e.g. "US"
    place: str  # geocoder description: "California", "Los Angeles, CA", "London"
    time_zone: str  # e.g. "America/Los_Angeles", "" when ambiguous or unknown


def parse_phone(raw: str, *, default_region: str) -> Phone:
    """Any written form (`+1 818-740-5020`, `(818) 740 5020`, `8187405020`) to E.164."""
    number, region = _parse(raw, default_region)
    zones = [zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown"]
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=region,
        place=geocoder.description_for_number(number, "en"),
        time_zone=zones[0] if len(zones) == 1 else "",
    )


def phone_e164(raw: str, *, default_region: str) -> str:
    """parse_phone's E.164 alone, for lookups: without the place and time zone, which cost
    as much again to find."""
    number, _region = _parse(raw, default_region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse(raw: str, default_region: str) -> tuple[phonenumbers.PhoneNumber, str]:
    text = str(raw).strip()
    if not text:
        raise InvalidValue("A phone number is required.")
    if len(text) > 40:
        raise InvalidValue("This is not a phone number.")
    try:
        number = phonenumbers.parse(text, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidValue("This is not a phone number.") from None
    # is_valid_number is exactly this, with the region found once more: finding a +1 number's
    # region tries the numbering plans of 25 countries, the bulk of parsing a campaign's numbers.
    region = phonenumbers.region_code_for_number(number)
    if not region or not phonenumbers.is_valid_number_for_region(number, region):
        raise InvalidValue("This phone number is not valid.")
    return number, region


def place_fields(phone: Phone) -> dict[str, str]:
    """city, state, country and timezone as far as the number tells them."""
    fields = {"country": phone.region, "timezone": phone.time_zone, "city": "", "state": ""}
    if ", " in phone.place:
        fields["city"], fields["state"] = phone.place.split(", ", 1)
    elif phone.region in {"US", "CA", "AU", "BR", "MX", "IN"}:
        fields["state"] = phone.place  # these describe a number by its state or province
    else:
        fields["city"] = phone.place
    return fields


def normalize_email(raw: str) -> str:
    return str(raw).strip().lower()


def parse_us_date(raw: str) -> datetime.date:
    """`12/05/1975` or `12-05-1975` (month first), or ISO `1975-12-05`."""
    text = str(raw).strip()
    for fmt in ("%m/%d/%Y", "%m-%d-%Y", "%Y-%m-%d"):
        try:
            value = datetime.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if not datetime.date(1900, 1, 1) <= value <= datetime.date.today():
            raise InvalidValue("The date of birth is out of range.")
        return value
    raise InvalidValue("Use MM/DD/YYYY or MM-DD-YYYY.")
