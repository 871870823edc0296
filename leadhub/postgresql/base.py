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

Also: Django's health check of a reused connection (CONN_HEALTH_CHECKS, at a request's first
query) asks the server only when the connection's socket has something to read, see is_usable.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus

from leadhub import tenancy
from leadhub.postgresql import lookups

_UNKNOWN = None
_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK", "RELEASE")
# Tests and benchmarks only (OPTIONS "operator_role", from DATABASE_OPERATOR_ROLE with
# RLS_ALLOW_PRIVILEGED_LOGIN): their one login takes, with each scope, the role of the process
# that would run it in production - the operator role under an operator path, else the app role
# (DATABASE_ROLE) - in the same round trip. In production the login is the role: nothing switches.


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenancy_held = _UNKNOWN
        self.execute_wrappers.append(self._tenancy_sync)

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
        trip could tell, since a connection cut without a word would hang a SELECT 1 too."""
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE:
            try:
                poller = select.poll()
                poller.register(connection.fileno(), select.POLLIN)
                if not poller.poll(0):
                    return True
            except (OSError, ValueError, psycopg.Error):
                pass  # no usable descriptor: let the round trip decide
        return super().is_usable()

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        self.tenancy_held = _UNKNOWN
        return connection

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
        self.tenancy_held = _UNKNOWN
        return super()._close()
