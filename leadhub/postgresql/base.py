"""Django's PostgreSQL backend, plus: before a query, the connection is given the scope of
leadhub.tenancy (`leadhub.workspace_id`, `leadhub.operator`) when it differs from what the
connection is known to hold.

One `SELECT set_config(...)` round trip when the scope changes, none in the steady state (a
process serving one workspace after another of the same one). The settings are session-level,
so they outlive the transaction that set them, which lets them serve Django's autocommit (a
request runs several transactions) - except that PostgreSQL reverts a set_config made inside a
transaction, or a savepoint, that is then rolled back: every rollback therefore forgets what
the connection is known to hold, and the next query sets it again. So does a COMMIT of a
failed transaction (an error caught inside atomic() without a savepoint: PostgreSQL turns the
COMMIT into a ROLLBACK). A new connection is not trusted to hold neither setting (PGOPTIONS, a
role's or database's defaults or a pooler could have given it one): its first query sets both.
Transaction-mode poolers (pgbouncer pool_mode=transaction) would hand the
session's settings to another client: not supported (README).

What the connection is known to hold lives on the psycopg connection itself (`tenancy_held`),
not on Django's wrapper: with the pool (leadhub/pool.py) a connection serves one thread's
wrapper, then another's, and carries its session settings along. A connection handed back to
the pool inside a transaction is rolled back by the pool, so it is forgotten then too (_close).

Also: Django's health check of a reused connection (CONN_HEALTH_CHECKS, at a request's first
query; with the pool, as the pool hands a connection out) asks the server only when the
connection's socket has something to read, see is_usable and _socket_quiet.
"""

import select

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from psycopg import sql
from psycopg.pq import TransactionStatus

from leadhub import tenancy
from leadhub.postgresql import lookups

_UNKNOWN = None
_HELD = "leadhub_tenancy_held"  # the attribute of a psycopg connection that says what it holds
_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK", "RELEASE")
# Tests and benchmarks only (OPTIONS "operator_role", from DATABASE_OPERATOR_ROLE with
# RLS_ALLOW_PRIVILEGED_LOGIN): their one login takes, with each scope, the role of the process
# that would run it in production - the operator role under an operator path, else the app role
# (DATABASE_ROLE) - in the same round trip. In production the login is the role: nothing switches.


def _socket_quiet(connection) -> bool:
    """An idle connection whose socket has nothing to read: healthy as far as a round trip
    could tell (see DatabaseWrapper.is_usable). False when the server must be asked."""
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError, psycopg.Error):
        return False  # no usable descriptor: let the round trip decide


def _pool_check(connection) -> None:
    """The pool's check of a connection it hands out: as is_usable, a round trip only when the
    socket shows the server said something (or the connection is not idle)."""
    if connection.closed or connection.broken:
        raise psycopg.OperationalError("the connection is closed")
    if not _socket_quiet(connection):
        from psycopg_pool import ConnectionPool

        ConnectionPool.check_connection(connection)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(self._tenancy_sync)

    @property
    def tenancy_held(self):
        """The scope the current psycopg connection is known to hold (None: unknown)."""
        connection = self.connection
        return getattr(connection, _HELD, _UNKNOWN) if connection is not None else _UNKNOWN

    @tenancy_held.setter
    def tenancy_held(self, value) -> None:
        if self.connection is not None:
            setattr(self.connection, _HELD, value)

    @property
    def pool(self):
        """Django's pool, built as Django builds it (django/db/backends/postgresql/base.py)
        but checked by _pool_check rather than a round trip per connection handed out."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            from psycopg_pool import ConnectionPool

            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # Django sets it as it wants later on
            pool = ConnectionPool(
                kwargs=connect_kwargs,
                open=False,  # opened by the first connection, or by leadhub.pool.pool_warm
                configure=self._configure_connection,
                check=_pool_check,
                name=f"leadhub-{self.alias}",
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def _configure_role(self, connection):
        """DATABASE_ROLE on a new connection. Django composes its SET ROLE through the wrapper's
        own cursor (ops.compose_sql), which the pool's `configure` runs in the pool's thread,
        on another thread's wrapper: Django refuses the thread, or the wrapper asks the pool for
        a connection while the pool is making one. Composed on the connection itself instead."""
        role = self.settings_dict["OPTIONS"].get("assume_role")
        if not role:
            return False
        connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        return True

    def get_connection_params(self):
        params = super().get_connection_params()
        params.pop("operator_role", None)
        return params

    def _scope_role(self, want: tuple[str, str]) -> str | None:
        """The role a scope is run as on a connection that switches (tests), else None."""
        options = self.settings_dict["OPTIONS"]
        operator_role = options.get("operator_role")
        if not operator_role:
            return None
        return operator_role if want[1] else options["assume_role"]

    def _sync_statement(self, workspace: str, want: tuple[str, str]) -> tuple[str, list]:
        """The set_config of a scope; `workspace` is SQL (a parameter, or a lookup's call)."""
        role = self._scope_role(want)
        statement = (
            f"SELECT set_config('leadhub.workspace_id', {workspace}, false), set_config('leadhub.operator', %s, false)"
        )
        if role is None:
            return statement, [want[1]]
        return statement + ", set_config('role', %s, false)", [want[1], role]

    def tenancy_enter_found(self, name: str, args) -> str | None:
        """leadhub.lookups.found_scope: the workspace the named lookup answers, set on the
        connection with the call itself (one round trip, prepared once it runs often); None, and
        no scope on the connection, when nothing matches. The caller enters the workspace."""
        statement, params = self._sync_statement(f"coalesce(({lookups.call(name)})::text, '')", ("", ""))
        self.ensure_connection()
        with self.wrap_database_errors:
            workspace_id = self.connection.execute(statement, [*args, *params]).fetchone()[0]
        self.tenancy_held = (workspace_id, "")
        return workspace_id or None

    def tenancy_lookup_rows(self, name: str, args) -> list:
        """leadhub.lookups.rows: the answers of a set-returning named lookup (a value, or a tuple, each)."""
        self.ensure_connection()
        with self.wrap_database_errors:
            # The name is a key of lookups.LOOKUPS, never a caller's text.
            rows = self.connection.execute(f"SELECT * FROM {lookups.call(name)}", list(args))  # noqa: S608
            return [row[0] if len(row) == 1 else row for row in rows]

    def _tenancy_sync(self, execute, sql, params, many, context):
        want = tenancy.wanted()
        # Savepoints touch no table, and ROLLBACK TO SAVEPOINT runs in an aborted transaction,
        # where a set_config would fail: they need no scope.
        if want != self.tenancy_held and not (isinstance(sql, str) and sql.startswith(_TRANSACTION_CONTROL)):
            # On the psycopg connection itself: not a query of the caller's (nor counted as one).
            with self.wrap_database_errors:
                statement, arguments = self._sync_statement("%s", want)
                self.connection.execute(statement, [want[0], *arguments], prepare=False)
            self.tenancy_held = want
        return execute(sql, params, many, context)

    def is_usable(self):
        """Django's check is a `SELECT 1` round trip at the first query of every request that
        reuses the connection (a tenth of a new lead's database work). Between two requests an
        idle connection receives nothing from the server unless the server ended it: a
        terminated backend sends its FATAL message and closes, a dead server's kernel closes
        the socket; either makes the socket readable. Only then (or when the connection is not
        idle) is the server asked; a socket with nothing to read is healthy as far as a round
        trip could tell, since a connection cut without a word would hang a SELECT 1 too.
        Pooled connections are checked so by the pool (_pool_check)."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if _socket_quiet(connection):
            return True
        return super().is_usable()

    # A new psycopg connection holds no attribute, so its scope is unknown (None) until set;
    # a pooled one comes with what it holds.

    def _commit(self):
        failed = self.connection is not None and self.connection.info.transaction_status == TransactionStatus.INERROR
        try:
            return super()._commit()
        finally:
            if failed:  # committed as a ROLLBACK: a set_config made inside it is undone
                self.tenancy_held = _UNKNOWN

    # Forgotten after the rollback, not before: ROLLBACK TO SAVEPOINT runs through a cursor,
    # and syncing before it would run in the aborted transaction.
    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self.tenancy_held = _UNKNOWN

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self.tenancy_held = _UNKNOWN

    def _close(self):
        connection = self.connection
        # Back to the pool inside a transaction (or a failed one): the pool rolls it back,
        # undoing a set_config made in it. Closed: forgotten with it.
        if connection is not None and connection.info.transaction_status != TransactionStatus.IDLE:
            self.tenancy_held = _UNKNOWN
        return super()._close()
