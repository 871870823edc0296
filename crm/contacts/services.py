"""crm's public writes of contacts. Every channel (the native API, the intake, Zapier, the
widget, messaging, booking, campaigns, the dashboard) changes contacts through these, so the
same change emits the same events wherever it is made. They are thin: the work is done by
ContactWrite (writer.py), in one transaction with its timeline and events.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import QuerySet

from accounts.models import Workspace
from leadhub.exceptions import AlreadyExists
from webhooks.services import event_emit

from ..models import HOT_MESSAGE_COUNT, Contact, DispositionStatus, Line, Note, Tag, TimelineEntry
from ..normalize import Phone
from ..stats.counters import COUNTED_FIELDS, counted, counters_add, deltas
from .fields import contact_payload, iso
from .writer import ContactWrite, UpsertResult

__all__ = [
    "UpsertResult",
    "contact_add_tag",
    "contact_capture",
    "contact_count_messages",
    "contact_create",
    "contact_delete",
    "contact_mark_booked",
    "contact_set_consent",
    "contact_set_disposition",
    "contact_set_line",
    "contact_set_owner",
    "contact_set_tags",
    "contact_update",
    "contact_upsert",
    "contacts_delete",
    "note_create",
]


def contact_upsert(
    *,
    workspace: Workspace,
    phone: Phone | None,
    email: str | None,
    values: dict[str, Any],
    source: str,
    update_existing: bool,
    attribution: dict[str, str] | None = None,
    bot_id: str | None = None,
    initial: dict[str, Any] | None = None,
    submitted: list[str] | None = None,
    on_create: dict[str, Any] | None = None,
) -> UpsertResult:
    """Create the contact, or find the one this person already is (by phone, else e-mail, else
    widget session) and, if update_existing, fill it with the given non-empty values.

    `initial` values are used only on create (the widget's source, for one), and so are
    `on_create` state and relations (a booking's `status`), written in the same INSERT so that
    lead.created says them; `submitted` names the fields a submission carried, for the timeline.
    Emits lead.created, or lead.updated when an existing contact changed, and lead.qualified the
    first time it qualifies. Inside a caller's transaction it joins it.
    """
    # Alone: nothing follows the upsert here, so outside a transaction a new contact is written
    # with its events in one statement (as the intake's), not BEGIN, insert, events, COMMIT.
    with ContactWrite(workspace=workspace, source=source, bot_id=bot_id, alone=True) as write:
        return write.upsert(
            phone=phone,
            email=email,
            values=values,
            update_existing=update_existing,
            attribution=attribution,
            initial=initial,
            submitted=submitted,
            on_create=on_create,
        )


def contact_capture(
    *,
    workspace: Workspace,
    phone: Phone | None,
    email: str | None,
    values: dict[str, Any],
    source: str,
    own: Contact | None,
    own_identity: bool,
    claimed: dict[str, Any] | None,
    message_count: Callable[[Contact], int],
    attribution: dict[str, str] | None = None,
    initial: dict[str, Any] | None = None,
    bot_id: str | None = None,
) -> UpsertResult:
    """A lead from a public caller (the widget, SPEC §5.2), which anyone can make: create the
    contact, or find the one this person already is (by phone, else e-mail, else the caller's
    `own` contact) and fill only its blank name and company — or, with `own_identity`, the blank
    phone and e-mail of `own`. Nothing is overwritten; `claimed` goes on the timeline.

    `message_count` is called with the contact once it is known and answers its count of
    stored messages (never a number a client sent), set in the same write, so one lead.updated
    says everything that changed. It only ever raises the count: messages a restarted chat
    replaced, or a session that moved to another contact took along, were still exchanged
    (a lead is hot once it has exchanged 5, SPEC §5), and a public call takes nothing from a
    contact (§5.2). No other channel lowers a count either.
    """
    with ContactWrite(workspace=workspace, source=source, bot_id=bot_id) as write:
        result = write.upsert(
            phone=phone,
            email=email,
            values=values,
            update_existing=False,
            attribution=attribution,
            initial=initial,
            public=True,
            own=own,
            own_identity=own_identity,
            claimed=claimed,
        )
        count = message_count(result.contact)
        if count > result.contact.message_count:
            changed = write.update({"message_count": count})
            result.changed_fields += changed
            result.changed = bool(result.changed_fields)
    return result


def contact_create(
    *,
    workspace: Workspace,
    phone: Phone | None,
    email: str | None,
    values: dict[str, Any],
    attribution: dict[str, str] | None = None,
    fields: dict[str, Any] | None = None,
    tags: list[Tag] | tuple[Tag, ...] = (),
    source: str = "api",
) -> Contact:
    """A new contact, or AlreadyExists naming the field and the contact this person already is,
    with nothing written (not even the attribution touch an upsert of an existing one records).

    `fields` (status, sms_opt_out, owner, line, disposition_status) and `tags` are part of the
    creation: lead.created carries them.
    """
    fields = dict(fields or {})
    with ContactWrite(workspace=workspace, source=source) as write:
        result = write.upsert(
            phone=phone,
            email=email,
            values=values,
            attribution=attribution,
            update_existing=False,
            on_create=fields,
        )
        if not result.created:
            existing = result.contact
            if phone and existing.phone_number == phone.e164:
                field_name = "phone_number"
            elif email and existing.email == email:
                field_name = "email"
            else:
                field_name = "session_id"
            raise AlreadyExists(
                f"A contact with this {field_name} already exists.", field=field_name, existing=existing
            )
        if tags:
            write.update({"tags_add": list(tags)})
    return write.contact


def contact_update(
    *,
    contact: Contact,
    values: dict[str, Any],
    actor: AbstractBaseUser | None = None,
    source: str = "api",
    bot_id: str | None = None,
) -> Contact:
    """Set exactly the given fields (an empty value clears one): the field-level writer of every
    channel. Keys are the contact's fields (owner, line and disposition_status as objects), plus
    `tags` (the exact set) and `tags_add`. Another contact's phone (or phone-less e-mail) is
    AlreadyExists; removing both phone and e-mail is Invalid. Emits lead.updated when something
    changed (and lead.qualified the first time the contact qualifies)."""
    with ContactWrite(workspace=contact.workspace, source=source, bot_id=bot_id, contact=contact) as write:
        write.update(values)
    return contact


def contact_set_owner(*, contact: Contact, owner: AbstractBaseUser | None, source: str = "api") -> bool:
    return bool(_update(contact, {"owner": owner}, source))


def contact_set_line(*, contact: Contact, line: Line | None, source: str = "api") -> bool:
    return bool(_update(contact, {"line": line}, source))


def contact_set_disposition(*, contact: Contact, disposition: DispositionStatus | None, source: str = "api") -> bool:
    return bool(_update(contact, {"disposition_status": disposition}, source))


def contact_add_tag(*, contact: Contact, tag: Tag, source: str = "api") -> bool:
    return bool(_update(contact, {"tags_add": [tag]}, source))


def contact_set_tags(*, contact: Contact, tags: list[Tag] | tuple[Tag, ...], source: str = "api") -> bool:
    """Make the contact's tags exactly these; the timeline says what was added and removed."""
    return bool(_update(contact, {"tags": list(tags)}, source))


def _update(contact: Contact, values: dict[str, Any], source: str) -> list[str]:
    with ContactWrite(workspace=contact.workspace, source=source, contact=contact) as write:
        return write.update(values)


def contact_mark_booked(
    *, contact: Contact, booking: dict[str, Any], bot_id: str | None = None, source: str = "booking"
) -> Contact:
    """A meeting was booked with this contact (SPEC §5): its status becomes `booked` (a contact
    already won or lost keeps that), and `lead.booked` is emitted for every booked meeting, the
    booking (id, start, end …) in its `data.booking`. Joins the caller's transaction."""
    with ContactWrite(workspace=contact.workspace, source=source, bot_id=bot_id, contact=contact) as write:
        if contact.status not in (Contact.Status.BOOKED, Contact.Status.WON, Contact.Status.LOST):
            write.update({"status": Contact.Status.BOOKED})
        event_emit(
            workspace=contact.workspace,
            type="lead.booked",
            data={**contact_payload(contact), "booking": booking},
            bot_id=bot_id,
        )
    return contact


def contact_delete(*, contact: Contact) -> None:
    """Delete the contact with its notes and timeline; the daily counters forget it."""
    with transaction.atomic():
        counters_add(deltas(contact.workspace_id, counted(contact), None))
        contact.delete()


def contacts_delete(*, contacts: QuerySet[Contact]) -> int:
    """contact_delete for many contacts, of any workspaces (the operators' bulk delete in the
    admin): their notes and timelines go too, and the daily counters forget them in one
    statement. The rows are locked first, so a message counted meanwhile is not forgotten
    wrongly. Answers how many contacts were deleted."""
    with transaction.atomic():
        ids = list(contacts.order_by().values_list("pk", flat=True))
        locked = Contact.objects.filter(pk__in=ids).order_by("pk").select_for_update()
        rows: dict[tuple, list[int]] = {}
        for contact in locked.only("workspace_id", *COUNTED_FIELDS):
            for workspace_id, day, source, *values in deltas(contact.workspace_id, counted(contact), None):
                row = rows.setdefault((workspace_id, day, source), [0] * len(values))
                row[:] = [total + value for total, value in zip(row, values, strict=True)]
        counters_add([(*key, *values) for key, values in rows.items()])
        Contact.objects.filter(pk__in=ids).delete()
    return len(ids)


def note_create(*, contact: Contact, body: str, author: AbstractBaseUser | None = None) -> Note:
    """A note on the contact, on its timeline, and note.created."""
    with transaction.atomic():
        note = Note.objects.create(workspace_id=contact.workspace_id, contact=contact, body=body, author=author)
        TimelineEntry.objects.create(
            workspace_id=contact.workspace_id,
            contact=contact,
            kind=TimelineEntry.Kind.NOTE,
            data={"note_id": str(note.id), "excerpt": body[:200]},
        )
        event_emit(
            workspace=contact.workspace,
            type="note.created",
            data={"id": str(note.id), "contact_id": str(contact.id), "body": body, "created_at": iso(note.created_at)},
        )
    return note


def contact_set_consent(*, contact: Contact, opted_out: bool, source: str = "consent") -> bool:
    """Set `sms_opt_out` (messaging's consent rule: keywords, intents, provider error 21610):
    on a change, a timeline entry and lead.updated. False when it was so already. The ledger
    of what caused it (keyword, message) is messaging's ConsentChange."""
    return bool(_update(contact, {"sms_opt_out": opted_out}, source))


def contact_count_messages(*, contact: Contact, count: int = 1) -> None:
    """Add exchanged messages to the contact's `message_count` (a lead is hot from 5). A counter:
    incremented in the database, no timeline entry and no event per message (message.received
    and message.sent say them); the count that makes the lead hot is a change of the lead, made
    through ContactWrite as every channel's (the widget's contact_capture too): updated_at, the
    day's hot counter and one lead.updated. Inside the caller's transaction it adds no
    savepoint (a round trip each way): an error rolls back to the caller's."""
    with transaction.atomic(savepoint=False):
        # The count after every concurrent add, read back by the update itself (PostgreSQL and
        # SQLite both have RETURNING): one statement written once, twice an inbound turn. The
        # row stays locked by it until the transaction ends.
        quote = connection.ops.quote_name
        column = quote("message_count")
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {quote(Contact._meta.db_table)} SET {column} = {column} + %s "  # noqa: S608
                f"WHERE {quote('id')} = %s RETURNING {column}",
                [count, Contact._meta.pk.get_db_prep_value(contact.pk, connection)],
            )
            row = cursor.fetchone()
        if row is None:
            return
        after = row[0]
        contact.message_count = after
        if after - count < HOT_MESSAGE_COUNT <= after:  # once in a lead's life: read it whole
            made_hot = Contact.objects.select_related("workspace", "disposition_status").get(pk=contact.pk)
            made_hot.message_count = after - count
            with ContactWrite(workspace=made_hot.workspace, source="messages", contact=made_hot) as write:
                write.update({"message_count": after})
