"""Claiming due deliveries: leases, caps, and fairness between workspaces.

A claim takes up to `limit` pending deliveries that are due, not leased (or whose lease has
expired), of enabled endpoints that are not backed off, and leases them (a token and an
expiry): until then no other claimer takes them; past it, anyone may (a killed worker).

Fairness and isolation:
- at most WEBHOOK_ENDPOINT_MAX_IN_FLIGHT leased deliveries per endpoint and
  WEBHOOK_WORKSPACE_MAX_IN_FLIGHT per workspace, counted over every worker (from the leases);
  an endpoint backed off for timeouts gets one probe at a time;
- the slots of a claim are dealt out one at a time, to the workspaces in turn (in a random
  order) and within a workspace to its endpoints in turn, so a flood in one workspace takes
  at most its share of a claim and another workspace's next delivery waits at most about one
  claim, however many deliveries or endpoints the first has.

On PostgreSQL the candidate endpoints are found with a skip scan of the pending-deliveries
index (one probe per endpoint with pending deliveries, not one per delivery), each workspace
is claimed under a transaction-scoped advisory lock (so two claimers never both count the
same free capacity; the sweep skips a workspace another claimer holds), and rows are taken
with FOR UPDATE SKIP LOCKED. On SQLite the IMMEDIATE transaction serialises claimers.
"""

import random
import uuid
from collections import defaultdict, deque
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import Delivery, Endpoint
from ..transport.http import TIMEOUT_SECONDS

# A claim holds a delivery this long: its attempt ends within TIMEOUT_SECONDS whatever the
# receiver does, and the outcome is written right after; a worker that dies mid-attempt
# delays its deliveries by at most this much.
LEASE = timedelta(seconds=30 + TIMEOUT_SECONDS)
ADVISORY_NAMESPACE = 611  # pg advisory locks of the claim: (611, hashtext(workspace_id))
PENDING = Delivery.Status.PENDING


def commit_without_waiting_for_disk() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL reaches the disk.

    Only the engine's own bookkeeping (claims, outcomes) is written this way, never an event or
    its deliveries. A database crash can then forget at most the last moments of it: a
    forgotten claim is claimed again, a forgotten outcome makes the attempt again. Either
    way the delivery is sent once more, never lost (delivery is at least once).
    """
    # Once per transaction: in the engine's flush (outcomes and the next claim in one
    # transaction) the inner blocks find it set. Inside a caller's transaction (a test's),
    # the caller's commit decides.
    if (
        connection.vendor == "postgresql"
        and len(connection.atomic_blocks) == 1
        and not getattr(connection, "webhook_engine_async_commit", False)  # the loop's session has it
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _due(now) -> Q:
    return Q(status=PENDING, next_attempt_at__lte=now) & (
        Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
    )


def deliveries_claim(
    *, limit: int = 100, delivery_ids: list | None = None, workspace_id=None, wait_for_workspaces: bool = False
) -> list[Delivery]:
    """Lease up to `limit` due deliveries, fairly (see the module's docstring); `delivery_ids`
    or `workspace_id` narrow them. Returns them with their event and endpoint loaded."""
    lease = deliveries_lease(
        limit=limit, delivery_ids=delivery_ids, workspace_id=workspace_id, wait_for_workspaces=wait_for_workspaces
    )
    return leased_load(lease)


def deliveries_lease(
    *, limit: int, delivery_ids: list | None = None, workspace_id=None, wait_for_workspaces: bool = False
) -> tuple[list, uuid.UUID | None]:
    """The claim's writes: (ids, lease token) of up to `limit` due deliveries, leased in a
    transaction of their own, or in the caller's (the engine's flush: outcomes written and
    the freed slots claimed again in one commit)."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        commit_without_waiting_for_disk()
        candidates = _candidates(now=now, delivery_ids=delivery_ids, workspace_id=workspace_id)
        if not candidates:
            return [], None
        workspaces = _lock(list({candidate[0] for candidate in candidates}), wait=wait_for_workspaces)
        candidates = [candidate for candidate in candidates if candidate[0] in workspaces]
        if not candidates:
            return [], None
        allowance = _deal(candidates=candidates, limit=limit, now=now)
        token = uuid.uuid4()
        ids = _take(now=now, allowance=allowance, delivery_ids=delivery_ids, token=token)
    return (ids, token) if ids else ([], None)


def leased_load(lease: tuple[list, uuid.UUID | None]) -> list[Delivery]:
    """The deliveries of a lease (once it is committed) with their event and endpoint."""
    ids, token = lease
    if not ids:
        return []
    deliveries = list(Delivery.objects.select_related("event").filter(pk__in=ids, lease_token=token))
    endpoints = Endpoint.objects.in_bulk({delivery.endpoint_id for delivery in deliveries})
    for delivery in deliveries:
        delivery.endpoint = endpoints[delivery.endpoint_id]
    return deliveries


# --- Candidates: (workspace, endpoint, due deliveries up to the cap, probing) ------------------
# An endpoint is probing when it was backed off for timing out and the backoff has ended: it
# gets one attempt at a time until one is answered.


def _endpoint_cap() -> int:
    return settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT


def _candidates(*, now, delivery_ids, workspace_id) -> list[tuple]:
    if connection.vendor == "postgresql" and delivery_ids is None:
        return _candidates_postgres(now=now, workspace_id=workspace_id)
    due = Delivery.objects.filter(_due(now), endpoint__enabled=True).filter(
        Q(endpoint__backoff_until__isnull=True) | Q(endpoint__backoff_until__lte=now)
    )
    if delivery_ids is not None:
        due = due.filter(pk__in=delivery_ids)
    if workspace_id is not None:
        due = due.filter(workspace_id=workspace_id)
    rows = (
        due.order_by()
        .values("workspace_id", "endpoint_id", "endpoint__timeouts_in_row", "endpoint__backoff_until")
        .annotate(n=Count("pk"))
    )
    return [
        (
            row["workspace_id"],
            row["endpoint_id"],
            min(row["n"], _endpoint_cap()),
            bool(row["endpoint__timeouts_in_row"]) and row["endpoint__backoff_until"] is not None,
        )
        for row in rows
    ]


def _candidates_postgres(*, now, workspace_id) -> list[tuple]:
    d, e = Delivery._meta.db_table, Endpoint._meta.db_table
    narrow = "AND workspace_id = %(workspace)s" if workspace_id is not None else ""
    # The skip scan walks delivery_pending_by_endpoint (workspace_id, endpoint_id,
    # next_attempt_at WHERE pending): one probe per endpoint that has pending deliveries.
    # For each, the due and unleased ones are counted up to the cap.
    # Table names come from the models, values are parameters.
    sql = f"""
        WITH RECURSIVE pairs AS (
            (SELECT workspace_id, endpoint_id FROM {d}
              WHERE status = 'pending' {narrow} ORDER BY workspace_id, endpoint_id LIMIT 1)
            UNION ALL
            SELECT next.workspace_id, next.endpoint_id FROM pairs p CROSS JOIN LATERAL (
                SELECT workspace_id, endpoint_id FROM {d}
                 WHERE status = 'pending' {narrow}
                   AND (workspace_id, endpoint_id) > (p.workspace_id, p.endpoint_id)
                 ORDER BY workspace_id, endpoint_id LIMIT 1
            ) next
        )
        SELECT p.workspace_id, p.endpoint_id, due.n, (e.timeouts_in_row > 0 AND e.backoff_until IS NOT NULL)
          FROM pairs p
          JOIN {e} e ON e.id = p.endpoint_id
          CROSS JOIN LATERAL (
              SELECT count(*) AS n FROM (
                  SELECT 1 FROM {d} x
                   WHERE x.workspace_id = p.workspace_id AND x.endpoint_id = p.endpoint_id
                     AND x.status = 'pending' AND x.next_attempt_at <= %(now)s
                     AND (x.lease_expires_at IS NULL OR x.lease_expires_at <= %(now)s)
                   LIMIT %(cap)s
              ) capped
          ) due
         WHERE e.enabled AND (e.backoff_until IS NULL OR e.backoff_until <= %(now)s) AND due.n > 0
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, {"now": now, "cap": _endpoint_cap(), "workspace": workspace_id})
        return [tuple(row) for row in cursor.fetchall()]


def _lock(workspaces: list, *, wait: bool) -> set:
    """The workspaces this claim may serve: on PostgreSQL, those whose advisory lock it got
    (waiting for it when asked, else skipping a workspace another claimer holds)."""
    if connection.vendor != "postgresql":
        return set(workspaces)
    with connection.cursor() as cursor:
        if wait:  # in one order for everyone, so that waiters cannot deadlock
            keys = sorted(str(workspace) for workspace in workspaces)
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(w)) FROM unnest(%s::text[]) WITH ORDINALITY AS t(w, n) "
                "ORDER BY n",
                [ADVISORY_NAMESPACE, keys],
            )
            return set(workspaces)
        random.shuffle(workspaces)
        cursor.execute(
            "SELECT w FROM unnest(%s::uuid[]) WITH ORDINALITY AS t(w, n) "
            "WHERE pg_try_advisory_xact_lock(%s, hashtext(w::text)) ORDER BY n",
            [[str(workspace) for workspace in workspaces], ADVISORY_NAMESPACE],
        )
        return {row[0] for row in cursor.fetchall()}


# --- Dealing the slots ------------------------------------------------------------------------


def _in_flight(*, workspaces: set, now) -> tuple[dict, dict]:
    per_endpoint: dict = defaultdict(int)
    per_workspace: dict = defaultdict(int)
    # Only pending deliveries hold a lease (an outcome or a give-up clears it), so the status is
    # not asked for: the query then can only use delivery_leased (the few leased rows), never
    # delivery_pending_by_endpoint, which a backlog makes as long as the backlog (profiled: a
    # scan of every pending row of the workspace, on every claim, during a 10,000-event drain).
    rows = (
        Delivery.objects.filter(workspace_id__in=workspaces, lease_token__isnull=False, lease_expires_at__gt=now)
        .order_by()
        .values("workspace_id", "endpoint_id")
        .annotate(n=Count("pk"))
    )
    for row in rows:
        per_endpoint[row["endpoint_id"]] += row["n"]
        per_workspace[row["workspace_id"]] += row["n"]
    return per_endpoint, per_workspace


def _deal(*, candidates: list[tuple], limit: int, now) -> dict:
    """How many deliveries to take from each endpoint: one slot at a time, to each workspace
    in turn and within it to each endpoint in turn, within the caps."""
    endpoint_cap = _endpoint_cap()
    workspace_cap = settings.WEBHOOK_WORKSPACE_MAX_IN_FLIGHT
    workspaces = {candidate[0] for candidate in candidates}
    in_flight_endpoint, in_flight_workspace = _in_flight(workspaces=workspaces, now=now)
    room: dict = {}
    rings: dict = defaultdict(list)
    for workspace, endpoint, due, probing in candidates:
        cap = 1 if probing else endpoint_cap  # backed off: one probe at a time
        room[endpoint] = min(due, cap - in_flight_endpoint.get(endpoint, 0))
        if room[endpoint] > 0:
            rings[workspace].append(endpoint)
    workspace_room = {workspace: workspace_cap - in_flight_workspace.get(workspace, 0) for workspace in rings}
    turns = deque(workspace for workspace in rings if workspace_room[workspace] > 0)
    random.shuffle(turns)
    for workspace in turns:
        random.shuffle(rings[workspace])
    endpoints_of = {workspace: deque(rings[workspace]) for workspace in turns}
    allowance: dict = defaultdict(int)
    left = limit
    while left > 0 and turns:
        workspace = turns.popleft()
        ring = endpoints_of[workspace]
        endpoint = ring.popleft()
        allowance[(workspace, endpoint)] += 1
        room[endpoint] -= 1
        workspace_room[workspace] -= 1
        left -= 1
        if room[endpoint] > 0:
            ring.append(endpoint)
        if ring and workspace_room[workspace] > 0:
            turns.append(workspace)
    return dict(allowance)


# --- Taking the rows --------------------------------------------------------------------------


def _take(*, now, allowance: dict, delivery_ids, token) -> list:
    """Lease the deliveries of the allowance (with `token`); returns their ids."""
    if not allowance:
        return []
    if connection.vendor == "postgresql":
        return _take_postgres(now=now, allowance=allowance, delivery_ids=delivery_ids, token=token)
    ids = []
    for (workspace, endpoint), count in allowance.items():
        due = Delivery.objects.filter(_due(now), workspace_id=workspace, endpoint_id=endpoint)
        if delivery_ids is not None:
            due = due.filter(pk__in=delivery_ids)
        ids += list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:count])
    Delivery.objects.filter(pk__in=ids).update(lease_token=token, lease_expires_at=now + LEASE)
    return ids


def _take_postgres(*, now, allowance: dict, delivery_ids, token) -> list:
    # The rows are picked (skipping those another transaction holds) and leased in one statement.
    d = Delivery._meta.db_table
    narrow = "AND x.id = ANY(%(ids)s::uuid[])" if delivery_ids is not None else ""
    sql = f"""
        UPDATE {d} leased SET lease_token = %(token)s, lease_expires_at = %(expires)s
          FROM (
            SELECT t.id FROM unnest(%(workspaces)s::uuid[], %(endpoints)s::uuid[], %(counts)s::int[])
                   AS a(workspace_id, endpoint_id, n)
            CROSS JOIN LATERAL (
                SELECT x.id FROM {d} x
                 WHERE x.workspace_id = a.workspace_id AND x.endpoint_id = a.endpoint_id
                   AND x.status = 'pending' AND x.next_attempt_at <= %(now)s
                   AND (x.lease_expires_at IS NULL OR x.lease_expires_at <= %(now)s) {narrow}
                 ORDER BY x.next_attempt_at
                 LIMIT a.n
                 FOR UPDATE SKIP LOCKED
            ) t
          ) picked
         WHERE leased.id = picked.id
        RETURNING leased.id
    """  # noqa: S608 (table names from the models, values as parameters)
    keys = list(allowance)
    params = {
        "workspaces": [str(workspace) for workspace, _ in keys],
        "endpoints": [str(endpoint) for _, endpoint in keys],
        "counts": [allowance[key] for key in keys],
        "now": now,
        "ids": [str(pk) for pk in delivery_ids or []],
        "token": token,
        "expires": now + LEASE,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]
