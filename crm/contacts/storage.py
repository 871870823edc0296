"""The SQL of the contact writer (writer.py): finding the contact a person already is, and
on PostgreSQL inserting a new one with its opening timeline and its daily count in one
statement. Only the writer calls these."""

import datetime
import json
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection, models
from django.db.models import Q

from accounts.models import Workspace

from ..models import Contact
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
# Each field's name, attname and default: a callable default (uuid4, now, dict) is asked of the
# field for every contact (field.get_default, so that whatever Django or a test sets there
# applies), a constant one taken once, as get_default returns it.
_NEW_TEMPLATE = [
    (
        field.name,
        field.attname,
        field.get_default if field.has_default() and callable(field.default) else None,
        None if field.has_default() and callable(field.default) else field.get_default(),
    )
    for field in _CONTACT_FIELDS
]
_NAMES = frozenset(field.name for field in _CONTACT_FIELDS) | frozenset(field.attname for field in _CONTACT_FIELDS)


def contact_new(values: dict[str, Any]) -> Contact:
    """A new, unsaved Contact with these values (by field name, relations as objects; the
    others their defaults), as Contact(**values) makes it.

    Built positionally, as Django builds the rows it reads: the keyword constructor looks up
    each of the 35 fields' value, default and relation in turn, at twice the CPU."""
    unknown = values.keys() - _NAMES
    if unknown:
        raise TypeError(f"Contact has no field {', '.join(sorted(unknown))}")
    args = []
    related = []
    for name, attname, factory, constant in _NEW_TEMPLATE:
        if name in values:
            value = values[name]
            if name != attname:  # a relation, given as its object (or None)
                related.append((name, value))
                value = value.pk if value is not None else None
        elif attname in values:
            value = values[attname]
        else:
            value = factory() if factory is not None else constant
        args.append(value)
    contact = Contact(*args)
    for name, value in related:
        setattr(contact, name, value)  # through the relation's descriptor: its checks, its cache
    return contact


# The columns whose value saving would compute (auto_now: updated_at); the rest are read as
# they are. Fields of a type that pre_save may change are among these too (Django's own).
_PRE_SAVED = frozenset(
    field.attname
    for field in _CONTACT_FIELDS
    if getattr(field, "auto_now", False)
    or getattr(field, "auto_now_add", False)
    or type(field).pre_save not in (models.Field.pre_save, models.DateTimeField.pre_save, models.DateField.pre_save)
)
_COLUMNS = [(field.attname, field.column, field.attname in _PRE_SAVED, field) for field in _CONTACT_FIELDS]


def _row_json(contact: Contact) -> str:
    """The new contact's row as one JSON object, every column named: the INSERT takes it as a
    single parameter (jsonb_populate_record) rather than one per column, which psycopg would
    adapt one by one and whose statement it would not cache (over 50 parameters)."""
    row: dict[str, Any] = {}
    values = contact.__dict__
    for attname, column, pre_saved, model_field in _COLUMNS:
        value = model_field.pre_save(contact, True) if pre_saved else values[attname]
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, datetime.date):  # and datetimes: ISO 8601, microseconds kept
            value = value.isoformat()
        row[column] = value
    return json.dumps(row)


_TIMELINE_COLUMNS = ("workspace_id", "contact_id", "kind", "data", "created_at")


def contact_insert_new(
    contact: Contact, opening: list[tuple[str, dict]], *, events: Callable[[], tuple[str, list]] | None = None
) -> list | None:
    """PostgreSQL: insert the contact with its opening timeline entries and its daily count in
    one statement, unless this person is a contact already; None when it was not inserted,
    else the ids of the deliveries of `events`, [] without: the lead's events in the same
    statement (webhooks.services.events_ctes gated on the new row), asked for once the contact
    is as it will be stored.

    The INSERT does nothing on a conflict with a unique identity (the same phone, or the same
    e-mail without a phone), nor when the person is a contact that has this e-mail and no
    phone yet (which a phone with an e-mail joins: the caller's usual path finds it); the other
    rows are inserted only with the contact.
    """
    # The timeline's rows as one JSON parameter, its workspace and time the contact's: each
    # parameter costs psycopg a few microseconds to adapt (an enum or a Jsonb more), and the
    # statement's text no longer depends on how many rows there are.
    timeline = json.dumps([{"kind": kind, "data": data} for kind, data in opening])
    email_clash = ""
    clash_params: list = []
    if contact.phone_number and contact.email:
        email_clash = (
            " WHERE NOT EXISTS (SELECT 1 FROM crm_contact WHERE workspace_id = %s AND email = %s "
            "AND phone_number IS NULL)"
        )
        clash_params = [contact.workspace_id, contact.email]
    (count_row,) = deltas(contact.workspace_id, None, counted(contact))
    row = _row_json(contact)  # also fills in the contact what saving it would (updated_at)
    events_sql, events_params = events() if events is not None else ("", [])
    answer = "(SELECT array_agg(id) FROM dv)" if events_sql else "NULL"
    # Only table names and placeholders are formatted in; every value is a parameter.
    sql = (
        "WITH new AS (INSERT INTO crm_contact SELECT * FROM jsonb_populate_record(NULL::crm_contact, %s::jsonb)"  # noqa: S608
        f"{email_clash} ON CONFLICT DO NOTHING RETURNING id, workspace_id, created_at), "
        f"opening AS (INSERT INTO crm_timelineentry ({', '.join(_TIMELINE_COLUMNS)}) "
        "SELECT new.workspace_id, new.id, rows.kind, rows.data, new.created_at "
        "FROM new, jsonb_to_recordset(%s::jsonb) AS rows (kind varchar, data jsonb)), "
        f"counted AS ({upsert_free_shard_sql(select_from='new')}){', ' if events_sql else ''}{events_sql} "
        f"SELECT (SELECT id FROM new), {answer}"
    )
    params = [
        row,
        *clash_params,
        timeline,
        *picked_row_params(count_row),
        *events_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted, delivery_ids = cursor.fetchone()
    if inserted is None:
        return None
    contact._state.adding = False
    contact._state.db = "default"
    return delivery_ids or []
