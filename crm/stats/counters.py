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


def upsert_sql(*, select_from: str | None = None, rows: int = 1) -> str:
    """The INSERT … ON CONFLICT that adds to the counters (PostgreSQL and SQLite alike).

    `select_from`: the rows come from `SELECT … FROM <select_from>` (a CTE of the caller's
    statement) instead of VALUES; then there is one row.
    """
    columns = ", ".join(_COLUMNS)
    if select_from is None:
        source = "VALUES " + ", ".join(["(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"] * rows)
    else:
        source = "SELECT " + ", ".join(["%s"] * len(_COLUMNS)) + f" FROM {select_from}"  # noqa: S608
    return (
        f"INSERT INTO {DailyLeadCount._meta.db_table} ({columns}) {source} "
        "ON CONFLICT (workspace_id, day, source, shard) DO UPDATE SET "
        + ", ".join(
            f"{name} = {DailyLeadCount._meta.db_table}.{name} + excluded.{name}"
            for name in ("leads", "hot", "qualified", "booked")
        )
    )


def row_params(row: tuple) -> list:
    """The statement's parameters for one row, as the database takes them; a random shard."""
    workspace_id, day, source, *values = row
    prep = DailyLeadCount._meta.get_field
    return [
        prep("workspace").get_db_prep_value(workspace_id, connection),
        prep("day").get_db_prep_value(day, connection),
        source,
        random.randrange(DailyLeadCount.SHARDS),  # noqa: S311 (spreading the load, not security)
        *values,
    ]


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
