"""Reads of availability: the rules (with the Calendly connection, in one query), the ranges
confirmed bookings hold, and the free slots they leave."""

import datetime as dt
import functools

from django.db import connection
from django.utils import timezone

from accounts.models import Workspace
from leadhub.compiled import CompiledQuery

from ..models import AvailabilityRules, Booking, CalendlyConnection
from ..slots import Rules, Slot, free_slots

RULE_FIELDS = (
    "timezone",
    "slot_minutes",
    "buffer_minutes",
    "min_notice_minutes",
    "horizon_days",
    "weekly",
    "overrides",
)


def rules_get(*, workspace: Workspace) -> AvailabilityRules | None:
    return AvailabilityRules.objects.filter(workspace=workspace).first()


def calendars_get(*, workspace: Workspace) -> tuple[AvailabilityRules | None, CalendlyConnection | None]:
    """The workspace's availability rules and its enabled Calendly connection, in one query
    (the widget's availability asks for both on every call)."""
    row = _CALENDARS.first(workspace.pk)
    rules = getattr(row, "availability", None)
    connection = getattr(row, "calendly", None)
    if connection is not None and not connection.enabled:
        connection = None
    return rules, connection


# Compiled once (leadhub/compiled.py): the ORM spent ~0.9 ms of CPU compiling it on each call.
_CALENDARS = CompiledQuery(
    lambda pk: Workspace.objects.select_related("availability", "calendly").filter(pk=pk)[:1],
    Workspace._meta.pk,
)


def rules_of(row: AvailabilityRules) -> Rules:
    return Rules(**{name: getattr(row, name) for name in RULE_FIELDS})


def held_ranges(*, workspace: Workspace, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
    """The [from, until) ranges confirmed bookings hold that meet [start, end), in time order.

    The widget asks on every availability call, so the statement is written once (the ORM
    built and compiled it anew each call: a third of the call's own work) with the parameters
    adapted as the ORM adapts them. The times come as text and are parsed by
    `datetime.fromisoformat` (C): Django's psycopg timestamptz loader is pure Python and cost
    ~30 µs a value. The database gives UTC on PostgreSQL (`...+00`, Django sets the session
    zone) and naive UTC text on SQLite."""
    ops = connection.ops
    params = (
        _WORKSPACE_FIELD.get_db_prep_value(workspace.pk, connection),
        Booking.Status.CONFIRMED.value,
        ops.adapt_datetimefield_value(start),
        ops.adapt_datetimefield_value(end),
    )
    with connection.cursor() as cursor:
        cursor.execute(_held_sql(), params)
        rows = cursor.fetchall()
    parse = dt.datetime.fromisoformat
    held = [(parse(held_from), parse(held_until)) for held_from, held_until in rows]
    if held and held[0][0].tzinfo is None:  # SQLite
        held = [(held_from.replace(tzinfo=dt.UTC), held_until.replace(tzinfo=dt.UTC)) for held_from, held_until in held]
    return held


_WORKSPACE_FIELD = Booking._meta.get_field("workspace")


@functools.cache
def _held_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(Booking._meta.db_table)
    column = {name: quote(Booking._meta.get_field(name).column) for name in ("workspace", "status")} | {
        name: f"{table}.{quote(name)}" for name in ("blocked_from", "blocked_until")
    }
    # Names from the model, quoted; values only as parameters. The index booking_workspace_held
    # (workspace, blocked_until) serves it, in its order: held ranges do not overlap, so
    # ordered by their ends they are ordered by their starts. (The columns are named with their
    # table: a bare name in ORDER BY would be the output column, the text.)
    return (
        f"SELECT CAST({column['blocked_from']} AS TEXT), CAST({column['blocked_until']} AS TEXT) FROM {table} "  # noqa: S608
        f"WHERE {column['workspace']} = %s AND {column['status']} = %s "
        f"AND {column['blocked_until']} > %s AND {column['blocked_from']} < %s "
        f"ORDER BY {column['blocked_until']}"
    )


def native_slots(*, workspace: Workspace, rules: AvailabilityRules, now: dt.datetime | None = None) -> list[Slot]:
    """Free slots from now to now + horizon: the rules minus held ranges and minimum notice."""
    now = now or timezone.now()
    spec = rules_of(rules)
    window_end = now + dt.timedelta(days=spec.horizon_days, minutes=spec.buffer_minutes)
    return free_slots(spec, now=now, held=held_ranges(workspace=workspace, start=now, end=window_end))


def range_is_free(*, workspace: Workspace, start: dt.datetime, until: dt.datetime) -> bool:
    return not Booking.objects.filter(
        workspace=workspace, status=Booking.Status.CONFIRMED, blocked_from__lt=until, blocked_until__gt=start
    ).exists()
