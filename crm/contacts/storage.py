"""The SQL of the contact writer (writer.py): finding the contact a person already is, and
on PostgreSQL inserting a new one with its opening timeline and its daily count in one
statement. Only the writer calls these."""

import datetime
import json
import uuid
from typing import Any

from django.db import connection
from django.db.models import Q

from accounts.models import Workspace

from ..models import Contact, TimelineEntry
from ..stats.counters import counted, deltas, picked_row_params, upsert_free_shard_sql


def contact_find(
    workspace: Workspace,
    *,
    phone: str | None,
    email: str | None,
    session_id: str | None,
    own: Contact | None = None,
) -> Contact | None:
    """The contact this person already is: by phone, else e-mail, else widget session, else
    the caller's `own` contact.

    One query for all of them, locked for the update that follows; the preference is applied
    to the few rows it returns.
    """
    conditions = Q()
    if phone:
        conditions |= Q(phone_number=phone)
    if email:
        # Without a phone the e-mail identifies; with one, an e-mail match joins only a
        # contact that has no phone yet.
        conditions |= Q(email=email, phone_number__isnull=True) if phone else Q(email=email)
    if session_id:
        conditions |= Q(session_id=session_id)
    if own is not None:
        conditions |= Q(pk=own.pk)
    if not conditions:
        return None
    rows = list(Contact.objects.select_for_update().filter(conditions, workspace=workspace).order_by("created_at")[:10])
    for matches in (
        lambda c: phone and c.phone_number == phone,
        lambda c: email and c.email == email,
        lambda c: session_id and c.session_id == session_id,
        lambda c: own is not None and c.pk == own.pk,
    ):
        for contact in rows:
            if matches(contact):
                return contact
    return None


_CONTACT_FIELDS = [field for field in Contact._meta.concrete_fields]


def _row_json(contact: Contact) -> str:
    """The new contact's row as one JSON object, every column named: the INSERT takes it as a
    single parameter (jsonb_populate_record) rather than one per column, which psycopg would
    adapt one by one and whose statement it would not cache (over 50 parameters)."""
    row: dict[str, Any] = {}
    for model_field in _CONTACT_FIELDS:
        value = model_field.pre_save(contact, True)
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime.date):  # and datetimes: ISO 8601, microseconds kept
            value = value.isoformat()
        row[model_field.column] = value
    return json.dumps(row)


_TIMELINE_COLUMNS = ("workspace_id", "contact_id", "kind", "data", "created_at")


def contact_insert_new(contact: Contact, opening: list[tuple[str, dict]]) -> bool:
    """PostgreSQL: insert the contact with its opening timeline entries in one statement, unless
    this person is a contact already; True when it was inserted.

    The INSERT does nothing on a conflict with a unique identity (the same phone, or the same
    e-mail without a phone); the timeline rows are inserted only with the contact. A phone with
    an e-mail also belongs to a contact that has that e-mail and no phone yet: the same
    statement looks for one (it cannot see its own insert), and if there is one the new row is
    removed again and the caller takes the usual path, which joins that contact.
    """
    timeline_field = TimelineEntry._meta.get_field("data")
    rows = ", ".join(["(%s, %s::jsonb)"] * len(opening))
    timeline_params: list = []
    for kind, data in opening:
        timeline_params += [kind, timeline_field.get_db_prep_save(data, connection)]
    email_clash = "false"
    clash_params: list = []
    if contact.phone_number and contact.email:
        email_clash = (
            "EXISTS (SELECT 1 FROM crm_contact WHERE workspace_id = %s AND email = %s AND phone_number IS NULL)"
        )
        clash_params = [contact.workspace_id, contact.email]
    (count_row,) = deltas(contact.workspace_id, None, counted(contact))
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (
        "WITH new AS (INSERT INTO crm_contact SELECT * FROM jsonb_populate_record(NULL::crm_contact, %s::jsonb) "  # noqa: S608
        "ON CONFLICT DO NOTHING RETURNING id), "
        f"opening AS (INSERT INTO crm_timelineentry ({', '.join(_TIMELINE_COLUMNS)}) "
        f"SELECT %s, new.id, rows.kind, rows.data, %s FROM new, (VALUES {rows}) AS rows (kind, data)), "
        f"counted AS ({upsert_free_shard_sql(select_from=f'new WHERE NOT {email_clash}')}) "
        f"SELECT (SELECT id FROM new), {email_clash}"
    )
    params = [
        _row_json(contact),
        contact.workspace_id,
        contact.created_at,
        *timeline_params,
        *picked_row_params(count_row),
        *clash_params,
        *clash_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted, clash = cursor.fetchone()
    if inserted is None:
        return False
    if clash:  # rare: the person is a phoneless contact already; undo (timeline rows cascade)
        Contact.objects.filter(pk=contact.pk).delete()
        return False
    contact._state.adding = False
    contact._state.db = "default"
    return True
