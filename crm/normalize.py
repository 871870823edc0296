"""Normalising what leads arrive with: phone numbers to E.164 (with what the number tells of
place and time zone), e-mail addresses, US-format dates of birth."""

import datetime
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneMetadata, geocoder
from phonenumbers import timezone as phone_timezone
from phonenumbers.phonenumberutil import _number_type_helper


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
    number = _number(raw, default_region)
    # The number's region and type are what validity, place and time zone each depend on; the
    # library's public helpers would each find them again (the region of a +1 number tries up to
    # 25 countries' plans, each type check a dozen patterns), the bulk of a campaign's create.
    # Here: the region once, the type once with that region's plan (number_type's own steps:
    # _number_type_helper is the library's, pinned in requirements.txt), the region once more
    # inside the geocoder.
    region = phonenumbers.region_code_for_number(number)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(number.country_code, region)
    if metadata is None:
        raise InvalidValue("This phone number is not valid.")
    number_type = _number_type_helper(phonenumbers.national_significant_number(number), metadata)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        raise InvalidValue("This phone number is not valid.")
    if phonenumbers.is_number_type_geographical(number_type, number.country_code):
        place = geocoder.description_for_valid_number(number, "en")
        zones = phone_timezone.time_zones_for_geographical_number(number)
    else:
        place = geocoder.country_name_for_number(number, "en")
        zones = phone_timezone.time_zones_for_number(number)
    zones = [zone for zone in zones if zone != "Etc/Unknown"]
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        region=region,
        place=place,
        time_zone=zones[0] if len(zones) == 1 else "",
    )


def phone_e164(raw: str, *, default_region: str) -> str:
    """parse_phone's E.164 alone, for lookups: without the place and time zone, which cost
    as much again to find."""
    number, _region = _parse(raw, default_region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _number(raw: str, default_region: str) -> phonenumbers.PhoneNumber:
    text = str(raw).strip()
    if not text:
        raise InvalidValue("A phone number is required.")
    if len(text) > 40:
        raise InvalidValue("This is not a phone number.")
    try:
        return phonenumbers.parse(text, default_region.upper() or None)
    except phonenumbers.NumberParseException:
        raise InvalidValue("This is not a phone number.") from None


def _parse(raw: str, default_region: str) -> tuple[phonenumbers.PhoneNumber, str]:
    number = _number(raw, default_region)
    # is_valid_number is exactly this, with the region found once more: finding a +1 number's
    # region tries the numbering plans of 25 countries.
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
