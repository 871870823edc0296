"""Contacts found or made in bulk: a campaign's recipients, thousands of numbers at once.

The same rules as contact_upsert (one person, one contact, decided by the database; place
fields derived from the number; a timeline entry and lead.created for each new contact), in a
few statements per few thousand numbers instead of a few statements per number.
"""

import uuid

from django.db import connection, transaction
from django.db.models import DEFERRED
from django.utils import timezone

from accounts.models import Workspace
from leadhub import bulk
from webhooks.services import event_emit_many

from ..models import HOT_MESSAGE_COUNT, Contact, TimelineEntry
from ..normalize import Phone, place_fields
from ..stats.counters import counted, counters_add, counters_add_new
from .fields import contact_payload

CHUNK = 5000


def _new_contact_values(phone: Phone, source: str) -> dict:
    place = {key: value for key, value in place_fields(phone).items() if value}
    return {"id": uuid.uuid4(), "phone_number": phone.e164, "source": source, **place}


_PLACE_COLUMNS = ("id", "phone_number", "city", "state", "country", "timezone")


def _insert(*, workspace: Workspace, phones: list[Phone], source: str) -> list[Contact]:
    """Insert the contacts of these numbers; answers those actually inserted (a number that
    has a contact already, or that a concurrent write took meanwhile, is skipped by the
    unique constraint), as the rows the database holds."""
    now = timezone.now()
    rows = [_new_contact_values(phone, source) for phone in phones]
    constants = {"workspace_id": workspace.pk, "source": source, "created_at": now, "updated_at": now}
    if bulk.supported():
        inserted = bulk.insert_rows(
            Contact,
            [{column: row.get(column, "") for column in _PLACE_COLUMNS} for row in rows],
            constants=constants,
            returning=("id",),
            ignore_conflicts=True,
        )
        ours = {pk for (pk,) in inserted}
        return _as_inserted([row for row in rows if row["id"] in ours], constants)
    fresh = [Contact(workspace=workspace, created_at=now, **row) for row in rows]
    Contact.objects.bulk_create(fresh, batch_size=2000, ignore_conflicts=True)
    ours = {contact.pk for contact in fresh}
    numbers = [contact.phone_number for contact in fresh]
    created = []
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start : start + CHUNK]
        created += Contact.objects.filter(workspace=workspace, phone_number__in=chunk, pk__in=ours)
    return created


def _as_inserted(rows: list[dict], constants: dict) -> list[Contact]:
    """The contacts as the INSERT stored them (the row's values, the constants, every other
    column its model default), built in memory: reading 10,000 rows back costs more than the
    insert, and Django's positional constructor (from_db's) a quarter of its keyword one."""
    fields = Contact._meta.concrete_fields
    template = [constants.get(field.attname, DEFERRED) for field in fields]
    fresh = []  # columns whose default is a new object (dict, list) for each contact
    for position, field in enumerate(fields):
        if template[position] is DEFERRED and field.attname not in _PLACE_COLUMNS:
            if field.has_default() and callable(field.default):
                fresh.append((position, field))
            else:
                template[position] = field.get_default()
    places = [(position, field.attname) for position, field in enumerate(fields) if field.attname in _PLACE_COLUMNS]
    contacts, alias = [], connection.alias
    for row in rows:
        values = list(template)
        for position, attname in places:
            values[position] = row.get(attname, "")
        for position, field in fresh:
            values[position] = field.get_default()
        contacts.append(Contact.from_db(alias, None, values))
    return contacts


def _timeline_created(*, workspace: Workspace, contacts: list[Contact], source: str) -> None:
    if bulk.supported():
        bulk.insert_rows(
            TimelineEntry,
            [{"contact_id": contact.pk} for contact in contacts],
            constants={
                "workspace_id": workspace.pk,
                "kind": TimelineEntry.Kind.CREATED,
                "data": {"source": source},
                "created_at": timezone.now(),
            },
        )
        return
    entries = [
        TimelineEntry(workspace=workspace, contact=contact, kind=TimelineEntry.Kind.CREATED, data={"source": source})
        for contact in contacts
    ]
    TimelineEntry.objects.bulk_create(entries, batch_size=2000)


def contacts_for_phones(*, workspace: Workspace, phones: list[Phone], source: str) -> dict[str, Contact]:
    """The contact of each number (by E.164), found, or created with the number and what it
    tells of place and time zone. Existing contacts are not changed. Call it inside the
    transaction that uses the contacts: the new contacts' events are emitted in it.

    Set-based: every number is inserted at once and the unique constraint on (workspace,
    phone) skips those that have a contact (as contact_upsert's insert loses to the row that
    is there); only those are read."""
    wanted = {phone.e164: phone for phone in phones}
    with transaction.atomic(savepoint=False):
        created = _insert(workspace=workspace, phones=list(wanted.values()), source=source)
        found = {contact.phone_number: contact for contact in created}
        existing = [number for number in wanted if number not in found]
        for start in range(0, len(existing), CHUNK):
            chunk = existing[start : start + CHUNK]
            for contact in Contact.objects.filter(workspace=workspace, phone_number__in=chunk):
                found[contact.phone_number] = contact
        if created:
            _timeline_created(workspace=workspace, contacts=created, source=source)
            counters_add_new(workspace.pk, created)
            event_emit_many(
                workspace=workspace, type="lead.created", datas=[contact_payload(c, tags=[]) for c in created]
            )
    return found


def contacts_count_messages(*, contact_ids: list, count: int = 1) -> int:
    """contact_count_messages for many contacts (a campaign's chunk of messages): one UPDATE per
    few thousand contacts, which reads back each count after every concurrent add. A count is no
    change of the lead; making it hot is, as in contact_count_messages: those it makes hot are
    added to their day's hot counter in one statement, and each gets its lead.updated. Call it
    inside the caller's transaction. Answers how many contacts it counted."""
    if not contact_ids:
        return 0
    quote = connection.ops.quote_name
    column = quote("message_count")
    prep = Contact._meta.pk.get_db_prep_value
    unique = list(dict.fromkeys(contact_ids))
    updated, made_hot = 0, []
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            cursor.execute(
                f"UPDATE {quote(Contact._meta.db_table)} SET {column} = {column} + %s "  # noqa: S608
                f"WHERE {quote('id')} IN ({', '.join(['%s'] * len(chunk))}) RETURNING {quote('id')}, {column}",
                [count, *(prep(pk, connection) for pk in chunk)],
            )
            rows = cursor.fetchall()
            updated += len(rows)
            made_hot += [pk for pk, after in rows if after - count < HOT_MESSAGE_COUNT <= after]
        if made_hot:
            _made_hot(made_hot)
    return updated


def _made_hot(contact_ids: list) -> None:
    """The contacts a count made hot, as ContactWrite records it for one (contact_count_messages):
    updated_at, +1 hot on their day, and a lead.updated each. Read here, whole: few contacts,
    once in their lives."""
    Contact.objects.filter(pk__in=contact_ids).update(updated_at=timezone.now())
    contacts = Contact.objects.filter(pk__in=contact_ids).select_related("workspace", "disposition_status")
    rows: dict[tuple, int] = {}
    by_workspace: dict = {}
    for contact in contacts.prefetch_related("tags"):
        state = counted(contact)
        key = (contact.workspace_id, state.day, state.source)
        rows[key] = rows.get(key, 0) + 1
        by_workspace.setdefault(contact.workspace_id, []).append(contact)
    counters_add([(workspace_id, day, source, 0, hot, 0, 0) for (workspace_id, day, source), hot in rows.items()])
    for made_hot in by_workspace.values():
        event_emit_many(
            workspace=made_hot[0].workspace, type="lead.updated", datas=[contact_payload(c) for c in made_hot]
        )
