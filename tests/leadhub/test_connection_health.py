"""The connection health check of LeadHub's PostgreSQL backend (leadhub/postgresql/base.py):
Django checks a reused connection at the start of each request (CONN_HEALTH_CHECKS); the
backend asks the server (`SELECT 1`) only when the connection's socket says something
happened, so a healthy connection costs no round trip and a dead one is still replaced
before the request's first query."""

import select
import time

import pytest
from django.db import close_old_connections, connection

from accounts.models import Workspace
from tests.conftest import login_connection


def _cursors_made(monkeypatch) -> list:
    """The cursors opened on the raw psycopg connection from now on: Django's health check
    runs its SELECT 1 on one, bypassing the ORM's query log."""
    made: list = []
    raw = connection.connection
    cursor = raw.cursor

    def counted(*args, **kwargs):
        made.append(args)
        return cursor(*args, **kwargs)

    monkeypatch.setattr(raw, "cursor", counted)
    return made


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_healthy_idle_connection_is_usable_without_a_round_trip(monkeypatch):
    Workspace.objects.count()  # connected, idle between requests
    made = _cursors_made(monkeypatch)
    assert connection.is_usable()
    assert made == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_the_next_query(workspace_a):
    Workspace.objects.count()
    old = connection.connection
    # The login (the tables' owner, a superuser in CI) ends the app's connection, as a server
    # restart or an operator's pg_terminate_backend would between two requests.
    with login_connection(autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [old.info.backend_pid]).fetchone()[0]
    deadline = time.monotonic() + 10
    while not select.select([old.fileno()], [], [], 0.1)[0] and time.monotonic() < deadline:
        pass
    assert not connection.is_usable()

    # A new request: Django's check closes the dead connection (with the pool, the request's
    # end gave it back and the pool drops it) and the query gets a new one.
    close_old_connections()
    assert Workspace.objects.filter(pk=workspace_a.pk).exists()
    assert connection.connection is not old
    assert connection.is_usable()
