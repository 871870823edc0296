"""The web process's PostgreSQL connections: Django's psycopg pool (DATABASE_POOL, on by default
with PostgreSQL; leadhub/database.py), opened and filled when a gunicorn worker starts
(`pool_warm`, gunicorn.conf.py), and handed back while a request waits on something else
(`connection_idle`, `connection_rest`).

Without a pool, every thread of every worker keeps a connection of its own (3 workers x 24
threads: 72 backends) and a burst of requests opens them all at once inside the requests (each
~17 ms to connect and ~17 ms of catalog and planning CPU in the new backend, on 2 cores). With
it each worker shares a few, opened before it serves, and a request holds one only while it
uses the database: a conversation's turn gives it back while the model answers (seconds).

Celery's processes do not pool (`pool_off`, leadhub/celery.py): a task uses the database from its
start to its end, so each worker thread (`--pool threads`) or prefork child keeps one connection
of its own (DATABASE_CONN_MAX_AGE), which is all a pool would give it, and a pool's threads would
not survive a prefork child's fork from its parent.

What a pooled connection holds of the tenancy scope travels with it (leadhub/postgresql/base.py).
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.apps import apps
from django.db import DatabaseError, connection, connections
from psycopg import sql

from leadhub.database import unpooled_conn_max_age

logger = logging.getLogger(__name__)

_local = threading.local()


def pooled(alias: str = "default") -> bool:
    return bool(connections[alias].settings_dict["OPTIONS"].get("pool"))


def _give_back() -> None:
    """The thread's connection back to the pool, unless it is inside a transaction (which the
    connection holds) or there is no pool (a kept connection stays open: reopening it is what
    the pool saves)."""
    if connection.connection is not None and not connection.in_atomic_block and pooled():
        connection.close()


@contextmanager
def idle_hook(hook: Callable[[], None]) -> Iterator[None]:
    """Run `hook` (a statement that must precede and follow a long wait, such as a turn renewing
    its lease) each time this thread enters and leaves connection_idle within the block."""
    hooks = _local.__dict__.setdefault("hooks", [])
    hooks.append(hook)
    try:
        yield
    finally:
        hooks.remove(hook)


def connection_wait_seconds(alias: str = "default") -> float:
    """How long a query may wait for a connection before it runs: the pool's timeout
    (DATABASE_POOL_TIMEOUT) when pooled, else none (a kept or new connection of its own)."""
    options = connections[alias].settings_dict["OPTIONS"].get("pool")
    return float(options.get("timeout", 30)) if isinstance(options, dict) else 0.0


def _hooks_run() -> None:
    for hook in list(getattr(_local, "hooks", ())):
        try:
            hook()
        except DatabaseError:
            logger.warning("An idle hook failed", exc_info=True)


@contextmanager
def connection_idle() -> Iterator[None]:
    """Around a wait on something other than the database (the model's answer: seconds): the
    idle hooks run, then the connection goes back to the pool; the next query takes one again.
    The hooks run once more as the wait ends (after it the turn may wait DATABASE_POOL_TIMEOUT
    for a connection: a lease renewed only before the wait could run out meanwhile)."""
    _hooks_run()
    _give_back()
    try:
        yield
    finally:
        _hooks_run()


def connection_rest(seconds: float) -> None:
    """Sleep between two polls of the database holding no pooled connection."""
    _give_back()
    time.sleep(seconds)


def pool_warm(alias: str = "default", timeout: float = 10.0) -> bool:
    """Open the process's pool, wait until it holds its DATABASE_POOL_MIN_SIZE connections, and
    warm each backend's catalog caches (_backend_warm), so the first requests pay neither for
    new backends nor for cold ones (gunicorn.conf.py's post_worker_init). False when there is
    no pool or it could not fill in time (it keeps trying on its own)."""
    if not pooled(alias):
        return False
    pool = connections[alias].pool
    try:
        pool.open(wait=True, timeout=timeout)
        held = []
        try:
            for _ in range(pool.min_size):
                held.append(pool.getconn(timeout=timeout))
            tables = _tables()
            for held_connection in held:
                _backend_warm(held_connection, tables)
        finally:
            for held_connection in held:
                pool.putconn(held_connection)
    except Exception:  # the pool goes on connecting in the background; requests wait for it
        logger.warning("The database pool could not open %s connections in %s s", alias, timeout, exc_info=True)
        return False
    return True


def _tables() -> list[str]:
    return sorted({model._meta.db_table for model in apps.get_models() if model._meta.managed})


def _backend_warm(backend, tables: list[str]) -> None:
    """Plan a read of every table on a new backend: planning opens each table and its indexes
    and reads their row-level security policies and statistics into the backend's caches,
    which a new backend otherwise fills during its first requests (~17 ms of CPU each)."""
    for table in tables:
        backend.execute(sql.SQL("EXPLAIN SELECT * FROM {}").format(sql.Identifier(table)))


def pool_close(alias: str = "default") -> None:
    """Close the process's pool, if it has opened one: gunicorn's master before it forks the
    workers (a pool's threads do not survive a fork, and its connections must not be shared)."""
    wrapper = connections[alias]
    if pooled(alias) and alias in wrapper._connection_pools:
        wrapper.close()
        wrapper.close_pool()


def pool_off() -> None:
    """Turn the pool off in this process before it connects (Celery's worker and beat): each
    connection kept as without one (DATABASE_CONN_MAX_AGE, health checks)."""
    for wrapper in connections.all(initialized_only=False):
        settings_dict = wrapper.settings_dict
        if settings_dict.get("OPTIONS", {}).get("pool"):
            wrapper.close()
            if wrapper.alias in getattr(wrapper, "_connection_pools", {}):
                wrapper.close_pool()
            del settings_dict["OPTIONS"]["pool"]
            settings_dict["CONN_MAX_AGE"] = unpooled_conn_max_age()
            settings_dict["CONN_HEALTH_CHECKS"] = True
