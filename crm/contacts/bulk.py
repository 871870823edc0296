"""Contacts found or made in bulk: a campaign's recipients, thousands of numbers at once.

The same rules as contact_upsert (one person, one contact, decided by the database; place
fields derived from the number; a timeline entry and lead.created for each new contact), in a
few statements per few thousand numbers instead of a few statements per number.
"""

from django.db import transaction

from accounts.models import Workspace
from webhooks.services import event_emit_many

from ..models import Contact, TimelineEntry
from ..normalize import Phone, place_fields
from .fields import contact_payload

CHUNK = 5000


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
        fresh = [
            Contact(
                workspace=workspace,
                phone_number=phone.e164,
                source=source,
                **{key: value for key, value in place_fields(phone).items() if value},
            )
            for phone in missing
        ]
        # A concurrent write of the same number wins: its row is kept and taken below.
        Contact.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
        ours = {contact.phone_number: contact.pk for contact in fresh}
        created: list[Contact] = []
        missing_numbers = list(ours)
        for start in range(0, len(missing_numbers), CHUNK):
            chunk = missing_numbers[start : start + CHUNK]
            for contact in Contact.objects.filter(workspace=workspace, phone_number__in=chunk):
                found[contact.phone_number] = contact
                if contact.pk == ours[contact.phone_number]:
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
        event_emit_many(workspace=workspace, type="lead.created", datas=[contact_payload(c, tags=[]) for c in created])
    return found
