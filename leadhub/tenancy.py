"""The second wall under tenancy: PostgreSQL row-level security (README "Row-level security").

The ORM filters of every selector and service are the first wall. On PostgreSQL every tenant
table (each concrete model with a `workspace` foreign key, `tenant_tables()`) also carries two
policies, with ENABLE and FORCE ROW LEVEL SECURITY:

- `leadhub_tenant`: a row is visible and writable when its workspace_id is the connection's
  `leadhub.workspace_id` setting;
- `leadhub_operator`: every row is, while `leadhub.operator` names an operator path - for the
  operator role (leadhub_operator) and the tables' owner only, never the web's role.

Neither set, a query sees no rows and writes none. The code says which applies where:

- `tenant_scope(workspace_id)` / `enter_workspace(workspace_id)`: the workspace of a request
  (entered where it becomes known: the API's authentication, the dashboard's gate, a public
  endpoint after its named lookup) or of a task;
- `operator_scope(name)` / `enter_operator(name)`: one of the named, documented exceptions of
  OPERATOR_PATHS, which must cross workspaces (the delivery engine's claim, a beat sweep, the
  admin...), in a process that logs in as the operator role. tests/leadhub/test_tenancy.py
  holds every call to a literal registered here. A web request finds its workspace before it
  is known through a named lookup of leadhub.lookups (a SECURITY DEFINER function), never here.

The wanted scope lives in a context variable; leadhub.db.postgresql syncs it to the connection
(one `set_config` round trip) before the next query, only when it differs from what the
connection is known to hold, and forgets what it knew on every rollback (PostgreSQL reverts a
set_config made inside a transaction or savepoint that is rolled back). A request
(TenancyMiddleware) and a Celery task (leadhub.celery) each start with no scope and end with the
one they found. The `enter_*` forms are for code inside such a frame, which restores the scope
when it ends; elsewhere use the context managers.

On SQLite the settings are kept but nothing reads them: the ORM filters remain the wall.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# name -> what crosses workspaces there, and why it must. README lists the same. Only processes
# that log in as the operator role (leadhub_operator: worker, beat, the admin, manage.py) may
# use them: the operator policy applies to that role alone. The web's lookups before a workspace
# is known are SECURITY DEFINER functions instead (leadhub/lookups.py).
OPERATOR_PATHS: dict[str, str] = {
    "webhook_engine": "the delivery engine's claim and delivery loop, fair across workspaces",
    "beat_sweep": "a Celery beat sweep or tick, which finds due work in every workspace",
    "task_object": "a task given an object's id reads the object's workspace_id, then runs in that workspace",
    "admin": "the Django admin, for operators (superusers) only (SPEC §1), served as the operator role",
    "management_command": "manage.py: a command run by an operator (migrate, bootstrap, createworkspace...)",
    "bench": "bench/: a benchmark's own seeding and checks, in its process (its requests clear it, as any)",
    "tests": "test fixtures that build data through the ORM (tests/conftest.py); never in the app",
}

SCOPE_NONE = ("", "")  # (workspace_id, operator) as the connection holds them: neither set

_scope: ContextVar[tuple[str, str]] = ContextVar("leadhub_tenancy_scope", default=SCOPE_NONE)


def wanted() -> tuple[str, str]:
    """(workspace_id, operator path) the next query should run under; "" for unset."""
    return _scope.get()


def current_workspace_id() -> str | None:
    return _scope.get()[0] or None


def _checked(name: str) -> str:
    if name not in OPERATOR_PATHS:
        raise ValueError(f"{name!r} is not a registered operator path (leadhub.tenancy.OPERATOR_PATHS)")
    return name


def enter_workspace(workspace_id) -> None:
    """Inside a request or task frame: from now on its queries see this workspace's rows."""
    if workspace_id is None or str(workspace_id) == "":
        raise ValueError("a workspace scope needs a workspace id")
    _scope.set((str(workspace_id), ""))


def enter_operator(name: str) -> None:
    """Inside a request or task frame: from now on its queries run under the operator path."""
    _scope.set(("", _checked(name)))


def enter_none() -> None:
    """A task frame starts here (leadhub/celery.py): no rows until it enters a scope."""
    _scope.set(SCOPE_NONE)


def restore(value: tuple[str, str]) -> None:
    """A task frame ends here: the scope found at its start is back."""
    _scope.set(value)


@contextmanager
def _set(value: tuple[str, str]) -> Iterator[None]:
    token = _scope.set(value)
    try:
        yield
    finally:
        _scope.reset(token)


@contextmanager
def tenant_scope(workspace_id) -> Iterator[None]:
    """Queries inside see the rows of this workspace only."""
    if workspace_id is None or str(workspace_id) == "":
        raise ValueError("a workspace scope needs a workspace id")
    with _set((str(workspace_id), "")):
        yield


@contextmanager
def operator_scope(name: str) -> Iterator[None]:
    """Queries inside see every workspace's rows: for the named exceptions only."""
    with _set(("", _checked(name))):
        yield


@contextmanager
def object_scope(model, pk) -> Iterator[None]:
    """A task's scope: the workspace of the object it was given (a named lookup of one column),
    or no scope at all when the object is gone (the task then finds nothing to do)."""
    with operator_scope("task_object"):
        workspace_id = model._default_manager.filter(pk=pk).values_list(TENANT_COLUMN, flat=True).first()
    if workspace_id is None:
        with no_scope():
            yield
        return
    with tenant_scope(workspace_id):
        yield


@contextmanager
def no_scope() -> Iterator[None]:
    """A frame (a request, a task) starts here: no rows until it enters a scope; the scope
    found is back when it ends."""
    with _set(SCOPE_NONE):
        yield


def streamed_in_scope(iterable) -> Iterator:
    """A streamed response's body, which the server consumes after the request (and its scope)
    has ended: each item made in the scope the response was made in."""
    scope = _scope.get()  # now, not at the first item: this is no generator itself

    def items():
        iterator = iter(iterable)
        while True:
            token = _scope.set(scope)
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                _scope.reset(token)
            yield item

    return items()


class TenancyMiddleware:
    """Each request starts with no scope and gives back the one it found."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with no_scope():
            return self.get_response(request)


TENANT_COLUMN = "workspace_id"  # the column every tenant table has (leadhub/postgresql/rls.py)
