"""What scope a piece of work ran in: on PostgreSQL what the connection held (raw SQL, the
settings row-level security reads), on SQLite what the code asked for (leadhub.tenancy)."""

import functools

from django.db import connection

from leadhub import tenancy


def scope_held() -> tuple[str, str]:
    """(workspace_id, operator path) the next query runs under; "" for unset."""
    if connection.vendor != "postgresql":
        return tenancy.wanted()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('leadhub.workspace_id', true), current_setting('leadhub.operator', true)"
        )
        workspace_id, operator = cursor.fetchone()
    return (workspace_id or "", operator or "")


def record_scopes(monkeypatch, owner, name: str, key=None) -> list:
    """Wrap owner.<name> (a module's function) so that each call first records the scope it
    runs in, or (key(*args, **kwargs), scope) with a key; the list, in call order."""
    seen: list = []
    original = getattr(owner, name)

    @functools.wraps(original)
    def recorded(*args, **kwargs):
        scope = scope_held()
        seen.append(scope if key is None else (key(*args, **kwargs), scope))
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return seen


def run_as_worker(task, *args, **kwargs):
    """Run a Celery task's body as a worker does: with no scope around it, so it sees only what
    the scope it declares lets it see. (Celery's `apply()` does the same through its signals,
    but its task_prerun closes the connection, which only a transactional test survives.)"""
    with tenancy.no_scope():
        return task(*args, **kwargs)
