"""The outbox (SPEC §6): events and their deliveries, written in the caller's transaction, the
dispatch queued on commit; replays and giving up. `event_emit` is how every domain app records
an outcome (imported as `webhooks.services.event_emit`)."""

import functools
import json
import logging
import uuid

from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import Workspace
from leadhub import bulk
from leadhub.exceptions import Conflict

from .. import tasks
from ..engine.run import dispatch_coalesced, dispatch_queue_wanted
from ..events import EVENT_TYPES
from ..models import Delivery, Endpoint, Event

logger = logging.getLogger(__name__)


class DeliveryNotPending(Conflict):
    """Only a pending delivery can be given up."""

    def __init__(self, delivery: Delivery) -> None:
        super().__init__(f"Only a pending delivery can be given up; this one is {delivery.status}.")


class ReplayRunning(Conflict):
    """A bulk replay of the endpoint is still being delivered."""

    def __init__(self, pending: int) -> None:
        super().__init__(
            f"A replay of this endpoint is still running ({pending} replayed deliveries pending); "
            "try again once it has finished, or give those deliveries up."
        )
        self.pending = pending


def event_emit(*, workspace: Workspace, type: str, data: dict, bot_id: str | None = None) -> Event:
    """Record an event and one delivery per subscribed, enabled endpoint, in the caller's
    transaction; dispatch starts once that transaction commits (the outbox, SPEC §6).

    Call it inside the transaction that made the change, so that the change and its event
    are stored together or not at all.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    event = Event.objects.create(workspace=workspace, type=type, data=data, bot_id=bot_id)
    endpoints = [endpoint for endpoint in _subscribers(workspace) if endpoint.subscribes_to(type, data)]
    if endpoints:
        deliveries_create(workspace=workspace, event=event, endpoints=endpoints)
    return event


def events_emit(*, workspace: Workspace, events: list[tuple[str, dict]], bot_id: str | None = None) -> list[Event]:
    """event_emit for several events of one change (lead.created and lead.qualified, say), in
    one statement on PostgreSQL: the events and a delivery per subscribed endpoint, chosen by
    the database. Same contract as event_emit: call it inside the change's transaction."""
    for type_, _data in events:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {type_!r}")
    rows = [Event(workspace=workspace, type=type_, data=data, bot_id=bot_id) for type_, data in events]
    if not rows:
        return []
    if bulk.supported():
        delivery_ids = _emit_with_deliveries(workspace=workspace, events=rows)
        for event in rows:
            event._state.adding = False
            event._state.db = "default"
    else:
        Event.objects.bulk_create(rows)
        now = timezone.now()
        subscribers = _subscribers(workspace)
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now)
                for event in rows
                for endpoint in subscribers
                if endpoint.subscribes_to(event.type, event.data)
            ]
        )
        delivery_ids = [str(delivery.id) for delivery in deliveries]
    if delivery_ids:
        dispatch_on_commit(delivery_ids)
    return rows


# The deliveries of new events, chosen as Endpoint.subscribes_to chooses them: the enabled
# endpoints of the workspace whose event_types are empty or name the type, and whose
# data_filter's every key is in the event's data with the same JSON value (true is not 1).
_SUBSCRIBED = (
    "e.workspace_id = ev.workspace_id AND e.enabled "
    "AND (e.event_types = '[]'::jsonb OR e.event_types ? ev.type) "
    "AND NOT EXISTS (SELECT 1 FROM jsonb_each(COALESCE(e.data_filter, '{}'::jsonb)) AS f "
    "WHERE NOT (jsonb_typeof(ev.data) = 'object' AND ev.data ? f.key AND ev.data -> f.key = f.value))"
)


def _sql_constant(value, db_type: str) -> str:
    """A delivery column's model default as SQL: None, an int or a text (the defaults Delivery
    declares); anything else is refused rather than spliced in."""
    if value is None:
        return f"NULL::{db_type}"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"No SQL constant for {value!r}")
    if isinstance(value, int):
        return f"{value}::{db_type}"
    return "'" + value.replace("'", "''") + f"'::{db_type}"


# The delivery columns due when the event is made: they take the event's created_at.
_DUE_NOW = ("next_attempt_at", "created_at", "updated_at")


@functools.cache
def _emit_ctes(events: int, gate: str, *, given_ids: bool = True, one_payload: bool = False) -> str:
    """Two CTEs: `ev` inserts this many events (a row each only when the FROM item `gate`
    has a row, if given), `dv` a delivery per event and subscribed endpoint, answering its id.

    Parameters: the workspace, the bot; then with `given_ids` (the caller's Event objects) a
    row of (id, type, data, created_at) per event; else the events' ids are the database's, and
    the parameters are the payload and the time once (`one_payload`: the change's events carry
    one payload) then each event's type, or the time then (type, data) per event.

    A delivery takes its other columns from the event (due at its created_at) and from
    Delivery's constant defaults, written into the statement: no parameter per delivery column,
    which psycopg adapts one by one on every call."""
    quote = connection.ops.quote_name
    event_table, delivery_table = quote(Event._meta.db_table), quote(Delivery._meta.db_table)
    endpoint_table = quote(Endpoint._meta.db_table)
    workspace_type = Event._meta.get_field("workspace").db_type(connection)
    per_row = {"id": "gen_random_uuid()", "event_id": "ev.id", "endpoint_id": "e.id", "workspace_id": "ev.workspace_id"}
    columns, selects = [], []
    for field in Delivery._meta.concrete_fields:
        columns.append(quote(field.column))
        if field.attname in per_row:
            selects.append(per_row[field.attname])
        elif field.attname in _DUE_NOW:
            selects.append("ev.created_at")
        elif field.has_default() and callable(field.default):
            raise TypeError(f"Delivery.{field.attname}'s default is computed: give it a parameter")
        else:
            default = field.get_db_prep_save(field.get_default(), connection)
            selects.append(_sql_constant(default, field.db_type(connection)))
    gated = f"{gate}, " if gate else ""
    if given_ids:
        # A row of parameters per event (a change has one or two): arrays would be dumped as
        # text with every JSON quote escaped in Python.
        rows = ", ".join(["(%s::uuid, %s::text, %s::jsonb, %s::timestamptz)"] * events)
        source = f"(VALUES {rows}) AS t(id, type, data, created_at)"
        select = "t.id, %s::{workspace_type}, t.type, %s::text, t.data, t.created_at"
    elif one_payload:
        rows = ", ".join(["(%s::text)"] * events)
        source = f"(SELECT %s::jsonb AS data, %s::timestamptz AS created_at) AS p, (VALUES {rows}) AS t(type)"
        select = "gen_random_uuid(), %s::{workspace_type}, t.type, %s::text, p.data, p.created_at"
    else:
        rows = ", ".join(["(%s::text, %s::jsonb)"] * events)
        source = f"(SELECT %s::timestamptz AS created_at) AS p, (VALUES {rows}) AS t(type, data)"
        select = "gen_random_uuid(), %s::{workspace_type}, t.type, %s::text, t.data, p.created_at"
    # Only the models' own table and column names, and Delivery's constant defaults, are
    # spliced in; values are parameters.
    return (
        f"ev AS (INSERT INTO {event_table} (id, workspace_id, type, bot_id, data, created_at) "  # noqa: S608
        f"SELECT {select.format(workspace_type=workspace_type)} FROM {gated}{source} "
        "RETURNING id, workspace_id, type, data, created_at), "
        f"dv AS (INSERT INTO {delivery_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(selects)} FROM ev JOIN {endpoint_table} AS e ON {_SUBSCRIBED} RETURNING id)"
    )


def events_ctes(
    *, workspace_id, events: list[tuple[str, dict]], bot_id: str | None = None, gate: str = ""
) -> tuple[str, list]:
    """PostgreSQL, for a caller that writes a change and its events in one statement: the SQL of
    two CTEs (`ev`, the events; `dv`, a delivery per subscribed endpoint, selected as
    events_emit selects them) to put in its WITH, and their parameters in order. `gate` names a
    FROM item of that statement (a CTE of the change): the events are inserted only when it
    has a row. `SELECT array_agg(id) FROM dv` gives the delivery ids for events_dispatch once the
    statement has committed (events_emit's contract otherwise)."""
    for type_, _data in events:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"Unknown event type {type_!r}")
    now = timezone.now()
    payload = events[0][1]
    if all(data is payload for _type, data in events):  # a change's events often carry one payload
        params: list = [workspace_id, bot_id, json.dumps(payload), now]
        params += [type_ for type_, _data in events]
        return _emit_ctes(len(events), gate, given_ids=False, one_payload=True), params
    params = [workspace_id, bot_id, now]
    for type_, data in events:
        params += [type_, json.dumps(data)]
    return _emit_ctes(len(events), gate, given_ids=False), params


def events_dispatch(delivery_ids: list) -> None:
    """The dispatch of deliveries written by a statement with events_ctes, once it commits."""
    if delivery_ids:
        dispatch_on_commit([str(delivery_id) for delivery_id in delivery_ids])


def _emit_with_deliveries(*, workspace: Workspace, events: list[Event]) -> list[str]:
    """PostgreSQL: INSERT the events and, in the same statement, their deliveries; returns the
    deliveries' ids. One round trip, and no endpoint comes back to Python to be filtered."""
    ctes = _emit_ctes(len(events), "")
    params: list = [workspace.pk, events[0].bot_id]
    for event in events:
        params += [event.id, event.type, json.dumps(event.data), event.created_at]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT id FROM dv", params)  # noqa: S608 (see _emit_ctes)
        return [str(row[0]) for row in cursor.fetchall()]


def event_emit_many(*, workspace: Workspace, type: str, datas: list[dict], bot_id: str | None = None) -> list[Event]:
    """event_emit for many events of one type at once (a campaign's new contacts): the
    subscribers are read once, events and deliveries inserted in bulk, one dispatch per 50
    deliveries. Same transaction rule as event_emit."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    if not datas:
        return []
    # Positional: Django's keyword constructor (defaults, relation checks per field) costs as
    # much as the INSERT for a campaign's 10,000 lead.created.
    created_at = timezone.now()
    events = [Event(uuid.uuid4(), workspace.pk, type, bot_id, data, created_at) for data in datas]
    if bulk.supported():
        bulk.insert_rows(
            Event,
            [{"id": event.id, "data": event.data} for event in events],
            constants={
                "workspace_id": workspace.pk,
                "type": type,
                "bot_id": bot_id,
                "created_at": events[0].created_at,
            },
        )
    else:
        Event.objects.bulk_create(events, batch_size=2000)
    endpoints = _subscribers(workspace)
    now = timezone.now()
    deliveries = [
        Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now)
        for event in events
        for endpoint in endpoints
        if endpoint.subscribes_to(type, event.data)
    ]
    if deliveries:
        Delivery.objects.bulk_create(deliveries, batch_size=2000)
        ids = [str(delivery.id) for delivery in deliveries]
        for start in range(0, len(ids), 50):
            dispatch_on_commit(ids[start : start + 50])
    return events


def _subscribers(workspace: Workspace) -> list[Endpoint]:
    return list(Endpoint.objects.filter(workspace=workspace, enabled=True).only("id", "event_types", "data_filter"))


def deliveries_create(
    *, workspace: Workspace, event: Event, endpoints: list[Endpoint], replay_of=None
) -> list[Delivery]:
    """One delivery of the event per endpoint, due now; dispatched once the caller commits."""
    now = timezone.now()
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(workspace=workspace, event=event, endpoint=endpoint, next_attempt_at=now, replay_of=replay_of)
            for endpoint in endpoints
        ]
    )
    dispatch_on_commit([str(delivery.id) for delivery in deliveries])
    return deliveries


def dispatch_on_commit(delivery_ids: list[str]) -> None:
    transaction.on_commit(lambda: _dispatch(delivery_ids))


def _dispatch(delivery_ids: list[str]) -> None:
    # A lost message only delays the deliveries: the periodic sweep finds every due one.
    try:
        if dispatch_coalesced():
            if dispatch_queue_wanted():
                tasks.deliveries_dispatch.delay()
        else:
            tasks.deliveries_dispatch.delay(delivery_ids)
    except Exception:  # the broker is down: the sweep will pick them up
        logger.warning("Could not enqueue dispatch of %d deliveries; the sweep will", len(delivery_ids))


# --- Replay and give up ------------------------------------------------------------------------


def delivery_replay(*, workspace: Workspace, delivery: Delivery, actor: str = "") -> Delivery:
    """A new attempt series of the same event to the same endpoint: the same webhook-id, so
    consumers deduplicate. The original keeps its history."""
    if delivery.workspace_id != workspace.pk:
        raise ValueError("The delivery is not of this workspace.")
    with transaction.atomic():
        (replay,) = deliveries_create(
            workspace=workspace, event=delivery.event, endpoints=[delivery.endpoint], replay_of=delivery
        )
    logger.info("Delivery %s replayed as %s by %s", delivery.pk, replay.pk, actor or "?")
    return replay


def delivery_give_up(*, workspace: Workspace, delivery: Delivery, actor: str = "") -> Delivery:
    """Stop a pending delivery's retries: it is failed at once (and may be replayed)."""
    if delivery.workspace_id != workspace.pk:
        raise ValueError("The delivery is not of this workspace.")
    if not deliveries_give_up(workspace=workspace, deliveries=[delivery], actor=actor):
        delivery.refresh_from_db(fields=["status"])
        raise DeliveryNotPending(delivery)
    delivery.refresh_from_db()
    return delivery


def deliveries_give_up(*, workspace: Workspace, deliveries: list[Delivery], actor: str = "") -> int:
    """Stop retrying pending deliveries: they become failed (and may still be replayed). An
    attempt in flight may still succeed: its outcome is then recorded as a success."""
    pending = Delivery.objects.filter(
        workspace=workspace, pk__in=[delivery.pk for delivery in deliveries], status=Delivery.Status.PENDING
    )
    with transaction.atomic():
        # Locked in key order, as the engine locks what it records, so the two never deadlock.
        list(pending.order_by("pk").select_for_update().values_list("pk", flat=True))
        given_up = pending.update(
            status=Delivery.Status.FAILED,
            next_attempt_at=None,
            lease_token=None,
            lease_expires_at=None,
            last_error=f"Given up by {actor or 'an admin'}.",
            updated_at=timezone.now(),
        )
    logger.info("%d deliveries given up by %s", given_up, actor or "?")
    return given_up


REPLAY_BULK_LIMIT = 10_000


def deliveries_replay_failed(*, workspace: Workspace, endpoint: Endpoint, since, actor: str = "") -> list[Delivery]:
    """Replay the endpoint's failed deliveries created at or after `since` (at most
    REPLAY_BULK_LIMIT events, oldest first): each event once, and none that already has a
    pending delivery to this endpoint. Refused (ReplayRunning) while an earlier replay of the
    endpoint is still pending, so one endpoint runs one bulk replay at a time."""
    with transaction.atomic():
        # One bulk replay per endpoint at a time: concurrent requests queue on the endpoint's row.
        Endpoint.objects.select_for_update().filter(pk=endpoint.pk, workspace=workspace).first()
        running = Delivery.objects.filter(
            endpoint=endpoint, replay_of__isnull=False, status=Delivery.Status.PENDING
        ).count()
        if running:
            raise ReplayRunning(running)
        already_pending = Delivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"), event_id=OuterRef("event_id"), status=Delivery.Status.PENDING
        )
        failed = (
            Delivery.objects.filter(
                workspace=workspace, endpoint=endpoint, status=Delivery.Status.FAILED, created_at__gte=since
            )
            .filter(~Exists(already_pending))
            .select_related("event", "endpoint")
            .order_by("created_at")
        )
        chosen, events = [], set()
        for delivery in failed.iterator(chunk_size=2000):
            if delivery.event_id in events:
                continue
            events.add(delivery.event_id)
            chosen.append(delivery)
            if len(chosen) >= REPLAY_BULK_LIMIT:
                break
        return deliveries_replay(workspace=workspace, deliveries=chosen, actor=actor)


def deliveries_replay(*, workspace: Workspace, deliveries: list[Delivery], actor: str = "") -> list[Delivery]:
    """Replay several deliveries at once (the admin's bulk action, the API's bulk replay)."""
    if any(delivery.workspace_id != workspace.pk for delivery in deliveries):
        raise ValueError("A delivery is not of this workspace.")
    if not deliveries:
        return []
    now = timezone.now()
    with transaction.atomic():
        replays = Delivery.objects.bulk_create(
            [
                Delivery(
                    workspace=workspace,
                    event_id=delivery.event_id,
                    endpoint_id=delivery.endpoint_id,
                    next_attempt_at=now,
                    replay_of=delivery,
                )
                for delivery in deliveries
            ],
            batch_size=1000,
        )
        ids = [str(replay.id) for replay in replays]
        for start in range(0, len(ids), 100):
            dispatch_on_commit(ids[start : start + 100])
    logger.info("%d deliveries replayed by %s", len(replays), actor or "?")
    return replays
