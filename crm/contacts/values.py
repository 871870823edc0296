"""What the contact writer (writer.py) makes of a submission's values before writing them."""

from typing import Any

from django.utils import timezone

from ..models import Contact, TimelineEntry
from .fields import ATTRIBUTION_FIELDS, iso


def touch_of(attribution: dict[str, str]) -> dict[str, str]:
    """The attribution as a touch (first or latest): its non-empty values and when; {} without."""
    touch = {key: value for key, value in attribution.items() if key in ATTRIBUTION_FIELDS and value}
    if touch:
        touch["at"] = iso(timezone.now())
    return touch


def with_name(values: dict[str, Any]) -> dict[str, Any]:
    """The values with a name made of first and last name when they have none."""
    if not values.get("name") and (values.get("first_name") or values.get("last_name")):
        name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
        values["name"] = name[: Contact._meta.get_field("name").max_length]
    return values


# Relations get a timeline entry of their own kind, which says the new value.
_OWN_KIND = {
    "owner": TimelineEntry.Kind.OWNER,
    "line": TimelineEntry.Kind.LINE,
    "disposition_status": TimelineEntry.Kind.DISPOSITION,
}


def relation_entry(key: str, value: Any) -> tuple[str, dict]:
    """The timeline entry (kind, data) of a relation (owner, line, disposition_status) set to `value`."""
    if key == "owner":
        return _OWN_KIND[key], {"owner_id": value.pk if value is not None else None}
    if key == "line":
        return _OWN_KIND[key], {"line_id": value.pk if value is not None else None}
    return _OWN_KIND[key], {"disposition": value.name if value is not None else None}


def identity_joined(contact: Contact, e164: str | None, email: str | None) -> list[str]:
    """A submission's phone and e-mail join the contact's where it has none; never replace one.
    What it set."""
    changed: list[str] = []
    if e164 and not contact.phone_number:
        contact.phone_number = e164
        changed.append("phone_number")
    if email and not contact.email:
        contact.email = email
        changed.append("email")
    return changed


# What a public caller (the widget) may fill on an existing contact, where it is blank.
PUBLIC_FILL_FIELDS = ("name", "company_name")


def blanks_filled(contact: Contact, *, values: dict, identity: tuple[str | None, str | None] | None) -> list[str]:
    """A public caller's change of an existing contact, blanks only: PUBLIC_FILL_FIELDS from
    `values`, and with `identity` (phone, e-mail) a missing phone or e-mail; what it set."""
    changed = identity_joined(contact, *identity) if identity is not None else []
    for key in PUBLIC_FILL_FIELDS:
        if values.get(key) and not getattr(contact, key):
            setattr(contact, key, values[key])
            changed.append(key)
    return changed
