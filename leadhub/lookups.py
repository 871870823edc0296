"""The named lookups of a public or pre-workspace request (README "Row-level security").

Before its workspace is known, a request finds it by something it carries: an API key's hash,
an OAuth client_id or access token, a widget's bot_id, the number an SMS was sent to, a
provider's SID, a Calendly event type, the person logged in. Under row-level security the web's
role (leadhub_app) sees no row without a workspace, and it may not cross workspaces: each of
these lookups is a SECURITY DEFINER function on PostgreSQL (leadhub/postgresql/lookups.py)
that answers only what entering the workspace needs (a workspace id, or a brain's allowed
origins) and only for a match. The caller then enters that workspace and reads the full row
through the ORM under the tenant policy, as any request does.

On SQLite the ORM filters are the wall and the caller's own ORM lookup is the lookup: these
helpers answer "no restriction" (`found_scope` yields True, `rows` None) and the caller runs
the query it always ran.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from leadhub import tenancy


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def found_scope(name: str, *args) -> Iterator[bool]:
    """The workspace of the single-row lookup `name` entered for the block; yields whether the
    caller should look (False: nothing matched, the caller answers "not found" without a query).
    On PostgreSQL the function's answer and the scope reach the connection in one round trip."""
    if not _postgresql():
        yield True
        return
    if not _matchable(args):
        yield False
        return
    workspace_id = connection.tenancy_enter_found(name, args)
    if workspace_id is None:
        yield False
        return
    with tenancy.tenant_scope(workspace_id):
        yield True


def rows(name: str, *args) -> list | None:
    """The answers of the set-returning lookup `name` on PostgreSQL; None on SQLite (the caller
    runs its ORM query instead)."""
    if not _postgresql():
        return None
    if not _matchable(args):
        return []
    return connection.tenancy_lookup_rows(name, args)


def _matchable(args) -> bool:
    """Whether PostgreSQL can even compare the arguments: text holds no NUL, and a lone
    surrogate has no UTF-8. What it cannot compare matches nothing (rather than a 500)."""
    for value in args:
        if isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True
