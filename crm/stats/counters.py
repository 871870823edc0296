"""The daily lead counters (crm.models.DailyLeadCount): what a contact counts for, and the one
statement that adds a change to them. The contact writer calls this in each change's
transaction; nothing else writes the counters."""

import random
from typing import NamedTuple

from django.db import connection

from ..models import HOT_MESSAGE_COUNT, Contact, DailyLeadCount

BOOKED = (Contact.Status.BOOKED, Contact.Status.WON)
_COLUMNS = ("workspace_id", "day", "source", "shard", "leads", "hot", "qualified", "booked")


class Counted(NamedTuple):
    """What one contact adds to its day's counters."""

    day: object  # datetime.date
    source: str
    hot: int
    qualified: int
    booked: int


# The contact's fields that counted() reads.
COUNTED_FIELDS = ("created_at", "source", "message_count", "qualified_at", "status")


def counted(contact: Contact) -> Counted:
    return Counted(
        day=contact.created_at.date(),
        source=contact.source or "",
        hot=int(contact.message_count >= HOT_MESSAGE_COUNT),
        qualified=int(contact.qualified_at is not None),
        booked=int(contact.status in BOOKED),
    )


def deltas(workspace_id, before: Counted | None, after: Counted | None) -> list[tuple]:
    """Rows of (workspace_id, day, source, leads, hot, qualified, booked) to add: a new contact
    (before None), a deleted one (after None) or a change of what it counts for."""
    rows: dict[tuple, list[int]] = {}
    for state, sign in ((before, -1), (after, 1)):
        if state is None:
            continue
        row = rows.setdefault((state.day, state.source), [0, 0, 0, 0])
        for index, value in enumerate((1, state.hot, state.qualified, state.booked)):
            row[index] += sign * value
    return [(workspace_id, day, source, *values) for (day, source), values in rows.items() if any(values)]


_ADDED = ("leads", "hot", "qualified", "booked")


def _on_conflict_add() -> str:
    table = DailyLeadCount._meta.db_table
    return "ON CONFLICT (workspace_id, day, source, shard) DO UPDATE SET " + ", ".join(
        f"{name} = {table}.{name} + excluded.{name}" for name in _ADDED
    )


def upsert_sql(*, rows: int = 1) -> str:
    """The INSERT … ON CONFLICT that adds rows of deltas to the counters, each to a shard picked
    at random (row_params), on PostgreSQL and SQLite alike."""
    source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * rows)
    return f"INSERT INTO {DailyLeadCount._meta.db_table} ({', '.join(_COLUMNS)}) {source} {_on_conflict_add()}"


def upsert_free_shard_sql(*, select_from: str) -> str:
    """PostgreSQL: the same for one row taken from `SELECT … FROM <select_from>` (a CTE of the
    caller's statement, a new contact), added to a shard that no other transaction holds.

    A new lead's transaction holds its counter row until it commits (a WAL flush). Picked at
    random among SHARDS rows, sixteen leads arriving together queued on each other's rows:
    most of the intake's wait under load, and its p99. Here the row is one that nobody has
    locked (FOR UPDATE SKIP LOCKED, lowest shard first); when every row of the day is held, a
    new shard past the highest, so a day has about as many rows as leads ever arrived at once.
    Parameters: workspace_id, day, source, then the four deltas (picked_row_params).
    """
    table = DailyLeadCount._meta.db_table
    workspace_type = DailyLeadCount._meta.get_field("workspace").db_type(connection)
    same_key = "c.workspace_id = k.workspace_id AND c.day = k.day AND c.source = k.source"
    shard = (
        f"COALESCE((SELECT c.shard FROM {table} AS c WHERE {same_key} "  # noqa: S608
        "ORDER BY c.shard LIMIT 1 FOR UPDATE SKIP LOCKED), "
        # Past the highest, spread a little: concurrent leads that all found every row held
        # would otherwise all try the same new shard and queue on its insert.
        f"(SELECT COALESCE(MAX(c.shard) + 1, 0) FROM {table} AS c WHERE {same_key}) + floor(random() * 4)::int)"
    )
    return (
        f"INSERT INTO {table} ({', '.join(_COLUMNS)}) "  # noqa: S608
        f"SELECT k.workspace_id, k.day, k.source, {shard}, %s, %s, %s, %s "
        f"FROM (SELECT %s::{workspace_type} AS workspace_id, %s::date AS day, %s::varchar AS source) AS k, "
        f"{select_from} {_on_conflict_add()}"
    )


def _key_and_values(row: tuple) -> tuple[list, list]:
    """A row's key (workspace, day, source) as the database takes it, and its deltas."""
    workspace_id, day, source, *values = row
    prep = DailyLeadCount._meta.get_field
    key = [
        prep("workspace").get_db_prep_value(workspace_id, connection),
        prep("day").get_db_prep_value(day, connection),
        source,
    ]
    return key, values


def row_params(row: tuple) -> list:
    """The statement's parameters for one row, as the database takes them; a random shard."""
    key, values = _key_and_values(row)
    return [*key, random.randrange(DailyLeadCount.SHARDS), *values]  # noqa: S311 (spreading the load, not security)


def picked_row_params(row: tuple) -> list:
    """upsert_free_shard_sql's parameters for one row: the deltas, then the key."""
    key, values = _key_and_values(row)
    return [*values, *key]


def counters_add(rows: list[tuple]) -> None:
    """Add these deltas to the counters, in the caller's transaction."""
    if not rows:
        return
    params: list = []
    for row in rows:
        params += row_params(row)
    with connection.cursor() as cursor:
        cursor.execute(upsert_sql(rows=len(rows)), params)


def counters_add_new(workspace_id, contacts: list[Contact]) -> None:
    """Count contacts created in bulk (one row per day and source, whatever their number)."""
    rows: dict[tuple, list[int]] = {}
    for contact in contacts:
        state = counted(contact)
        row = rows.setdefault((state.day, state.source), [0, 0, 0, 0])
        for index, value in enumerate((1, state.hot, state.qualified, state.booked)):
            row[index] += value
    counters_add([(workspace_id, day, source, *values) for (day, source), values in rows.items()])
