"""Contacts found or made in bulk: a campaign's recipients, thousands of numbers at once.

The same rules as contact_upsert (one person, one contact, decided by the database; place
fields derived from the number; a timeline entry and lead.created for each new contact), in a
few statements per few thousand numbers instead of a few statements per number.
"""

import uuid

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Workspace
from leadhub import bulk
from webhooks.services import event_emit_many

from ..models import Contact, TimelineEntry
from ..normalize import Phone, place_fields
from ..stats.counters import counters_add_new
from .fields import contact_payload

CHUNK = 5000


def _new_contact_values(phone: Phone, source: str) -> dict:
    place = {key: value for key, value in place_fields(phone).items() if value}
    return {"id": uuid.uuid4(), "phone_number": phone.e164, "source": source, **place}


def _insert(*, workspace: Workspace, phones: list[Phone], source: str) -> set:
    """Insert the contacts of these numbers; answers the ids of those actually inserted (a
    number taken meanwhile by a concurrent write is skipped by the unique constraint)."""
    now = timezone.now()
    rows = [_new_contact_values(phone, source) for phone in phones]
    if bulk.supported():
        columns = ("id", "phone_number", "city", "state", "country", "timezone")
        inserted = bulk.insert_rows(
            Contact,
            [{column: row.get(column, "") for column in columns} for row in rows],
            constants={"workspace_id": workspace.pk, "source": source, "created_at": now, "updated_at": now},
            returning=("id",),
            ignore_conflicts=True,
        )
        return {pk for (pk,) in inserted}
    fresh = [Contact(workspace=workspace, created_at=now, **row) for row in rows]
    Contact.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
    ours = {contact.pk for contact in fresh}
    numbers = [contact.phone_number for contact in fresh]
    created = set()
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        created |= set(
            Contact.objects.filter(workspace=workspace, phone_number__in=chunk, pk__in=ours).values_list(
                "pk", flat=True
            )
        )
    return created


def contacts_for_phones(*, workspace: Workspace, phones: list[Phone], source: str) -> dict[str, Contact]:
    """The contact of each number (by E.164), found, or created with the number and what it
    tells of place and time zone. Existing contacts are not changed. Call it inside the
    transaction that uses the contacts: the new contacts' events are emitted in it."""
    wanted = {phone.e164: phone for phone in phones}
    found: dict[str, Contact] = {}
    numbers = list(wanted)
    with transaction.atomic(savepoint=False):
        for start in range(0, len(numbers), CHUNK):
            chunk = numbers[start : start + CHUNK]
            for contact in Contact.objects.filter(workspace=workspace, phone_number__in=chunk):
                found[contact.phone_number] = contact
        missing = [wanted[number] for number in numbers if number not in found]
        if not missing:
            return found
        created_ids = _insert(workspace=workspace, phones=missing, source=source)
        # Ours, and those a concurrent write of the same number made first (ours was skipped).
        missing_numbers = [phone.e164 for phone in missing]
        created = []
        for start in range(0, len(missing_numbers), CHUNK):
            chunk = missing_numbers[start : start + CHUNK]
            for contact in Contact.objects.filter(workspace=workspace, phone_number__in=chunk):
                found[contact.phone_number] = contact
                if contact.pk in created_ids:
                    created.append(contact)
        TimelineEntry.objects.bulk_create(
            [
                TimelineEntry(
                    workspace=workspace, contact=contact, kind=TimelineEntry.Kind.CREATED, data={"source": source}
                )
                for contact in created
            ],
            batch_size=2000,
        )
        counters_add_new(workspace.pk, created)
        event_emit_many(workspace=workspace, type="lead.created", datas=[contact_payload(c, tags=[]) for c in created])
    return found


def contacts_count_messages(*, contact_ids: list, count: int = 1) -> int:
    """contact_count_messages for many contacts in one UPDATE (a campaign's chunk of messages)."""
    if not contact_ids:
        return 0
    return Contact.objects.filter(pk__in=contact_ids).update(message_count=F("message_count") + count)
