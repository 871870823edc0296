"""The contact's fields, declared once beside the model (SPEC §5).

Every serializer of a contact (the native API's input and output, the intake's input), the
lead events' payload and the tests derive from these tuples; max lengths come from the model.
Adding a field is: the model, a migration, and one line here.
"""

import datetime
from typing import Any

from ..models import Contact

# Descriptive text any channel may set.
TEXT_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "company_name",
    "website",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "timezone",
    "lead_source",
    "source",
    "notes",
    "csf1",
    "csf2",
)
# Other values a channel may set.
VALUE_FIELDS = ("date_of_birth", "other_phone_numbers", "custom_fields", "session_id", "message_count")
# What a client or a form sets on the contact as it gives them (identity, state and relations
# apart): the values of contact_create and of the intake's lead_intake.
VALUE_KEYS = (*TEXT_FIELDS, "date_of_birth", "other_phone_numbers", "custom_fields")
# What says who the person is: the phone, else the e-mail (one person, one contact).
IDENTITY_FIELDS = ("phone_number", "email")
# Set by people (API, dashboard) and by the intake's actions, never by a public caller.
STATE_FIELDS = ("status", "sms_opt_out")
# Relations, by their model field name; the API names them with `_id` (disposition: an object).
RELATION_FIELDS = ("owner", "line", "disposition_status")
# Attribution, kept as the first and the latest touch.
ATTRIBUTION_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "page_url", "referrer")
# Derived from the phone number when blank.
PLACE_FIELDS = ("city", "state", "country", "timezone")
# Attribution values are bounded too (they live in JSON, so the bound is ours, not a column's).
ATTRIBUTION_MAX_LENGTH = {"page_url": 2000, "referrer": 2000}
ATTRIBUTION_DEFAULT_MAX_LENGTH = 200
# Notes is a TextField; what a form or a client may send at once is bounded.
NOTES_MAX_LENGTH = 10000

# The representation: the native API's contact, and `data` of every lead event, in this order.
REPRESENTATION = (
    "id",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "other_phone_numbers",
    "company_name",
    "website",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "timezone",
    "date_of_birth",
    "lead_source",
    "source",
    "notes",
    "csf1",
    "csf2",
    "custom_fields",
    "owner_id",
    "line_id",
    "tags",
    "disposition_status",
    "session_id",
    "message_count",
    "hot",
    "status",
    "qualified_at",
    "attribution",
    "sms_opt_out",
    "created_at",
    "updated_at",
)
# A contact as a row of a CSV file: the person's own fields, which the dashboard's import maps
# and its export writes under these names (so an export imports again).
CSV_FIELDS = IDENTITY_FIELDS + tuple(name for name in REPRESENTATION if name in (*TEXT_FIELDS, "date_of_birth"))
# What lead events carry beyond the representation: the names SPEC §6 gives (`phone`,
# `interest`) and the touches at the top level, as consumers have read them since the start.
EVENT_EXTRA = ("phone", "interest", "first_touch", "latest_touch")


def max_length(name: str) -> int:
    """The column's max length (notes and attribution: the bounds above)."""
    if name == "notes":
        return NOTES_MAX_LENGTH
    if name in ATTRIBUTION_FIELDS:
        return ATTRIBUTION_MAX_LENGTH.get(name, ATTRIBUTION_DEFAULT_MAX_LENGTH)
    return Contact._meta.get_field(name).max_length


def iso(value: datetime.datetime | None) -> str | None:
    """Times as SPEC §4 writes them: ISO 8601 in UTC with `Z` (DRF's format, without DRF)."""
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def contact_representation(contact: Contact, *, tags: list[str] | None = None) -> dict[str, Any]:
    """The contact as the API shows it and lead events carry it: REPRESENTATION, in order.

    `tags` (names) when the caller knows them; otherwise they are read from the prefetched
    (or, failing that, queried) tags. The disposition is read from the loaded relation.
    """
    if tags is None:
        tags = sorted(tag.name for tag in contact.tags.all())
    disposition = contact.disposition_status if contact.disposition_status_id else None
    return {
        "id": str(contact.id),
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "phone_number": contact.phone_number,
        "other_phone_numbers": contact.other_phone_numbers or [],
        "company_name": contact.company_name,
        "website": contact.website,
        "address": contact.address,
        "city": contact.city,
        "state": contact.state,
        "zipcode": contact.zipcode,
        "country": contact.country,
        "timezone": contact.timezone,
        "date_of_birth": contact.date_of_birth.isoformat() if contact.date_of_birth else None,
        "lead_source": contact.lead_source,
        "source": contact.source,
        "notes": contact.notes,
        "csf1": contact.csf1,
        "csf2": contact.csf2,
        "custom_fields": contact.custom_fields or {},
        "owner_id": contact.owner_id,
        "line_id": contact.line_id,
        "tags": tags,
        "disposition_status": {"id": disposition.pk, "name": disposition.name} if disposition else None,
        "session_id": contact.session_id,
        "message_count": contact.message_count,
        "hot": contact.is_hot,
        "status": contact.status,
        "qualified_at": iso(contact.qualified_at),
        "attribution": {"first_touch": contact.first_touch or {}, "latest_touch": contact.latest_touch or {}},
        "sms_opt_out": contact.sms_opt_out,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
    }


def contact_payload(contact: Contact, *, tags: list[str] | None = None) -> dict[str, Any]:
    """`data` of the lead events: the representation plus EVENT_EXTRA."""
    data = contact_representation(contact, tags=tags)
    custom = contact.custom_fields if isinstance(contact.custom_fields, dict) else {}
    data["phone"] = contact.phone_number
    data["interest"] = custom.get("interest")
    data["first_touch"] = contact.first_touch or {}
    data["latest_touch"] = contact.latest_touch or {}
    return data
