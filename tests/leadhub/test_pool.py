"""The psycopg pool (leadhub/pool.py, leadhub/postgresql/base.py): a pooled connection moves from
one thread's wrapper to another's, and what it holds of the tenancy scope moves with it, so
row-level security never answers one request with another's workspace; DATABASE_ROLE on every
pooled connection; the pool's check costs no round trip for a healthy connection and replaces a
dead one."""

import copy
import select
import time
import uuid

import pytest
from django.db import connection, connections

from crm.models import Tag
from leadhub import tenancy
from tests.conftest import APP_ROLE, login_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pooled_wrappers():
    """Two wrappers (two threads' views of the database) sharing one pool of one connection."""
    settings_dict = copy.deepcopy(connection.settings_dict)
    settings_dict["OPTIONS"]["pool"] = {"min_size": 1, "max_size": 1, "timeout": 5}
    settings_dict["CONN_MAX_AGE"] = 0
    alias = f"pool_test_{uuid.uuid4().hex[:8]}"
    wrappers = [type(connections["default"])(settings_dict, alias=alias) for _ in range(2)]
    yield wrappers
    for wrapper in wrappers:
        wrapper.close()
    wrappers[0].close_pool()


def _tags_seen(wrapper) -> set[str]:
    with wrapper.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {Tag._meta.db_table}")
        return {row[0] for row in cursor.fetchall()}


def test_a_pooled_connection_never_answers_with_another_workspaces_rows(workspace_a, workspace_b, pooled_wrappers):
    Tag.objects.create(workspace=workspace_a, name="a-only")
    Tag.objects.create(workspace=workspace_b, name="b-only")
    first, second = pooled_wrappers
    for _ in range(3):  # alternate: each wrapper last saw its own workspace on this connection
        with tenancy.tenant_scope(workspace_a.pk):
            assert _tags_seen(first) == {"a-only"}
            pid = first.connection.info.backend_pid
            first.close()  # back to the pool of one
        with tenancy.tenant_scope(workspace_b.pk):
            assert _tags_seen(second) == {"b-only"}
            assert second.connection.info.backend_pid == pid  # the same connection
            second.close()


def test_a_connection_given_back_inside_a_transaction_forgets_the_scope_set_in_it(
    workspace_a, workspace_b, pooled_wrappers
):
    Tag.objects.create(workspace=workspace_a, name="a-only")
    Tag.objects.create(workspace=workspace_b, name="b-only")
    first, second = pooled_wrappers
    with tenancy.tenant_scope(workspace_b.pk):
        assert _tags_seen(second) == {"b-only"}
        second.close()
    with tenancy.tenant_scope(workspace_a.pk):
        first.ensure_connection()
        first.set_autocommit(False)  # a transaction, begun by the first query
        assert _tags_seen(first) == {"a-only"}  # the scope set inside it
        first.close()  # given back mid-transaction: the pool rolls it back, and the scope with it
    # The connection holds workspace b's scope again: a wrapper wanting a must set it anew.
    with tenancy.tenant_scope(workspace_a.pk):
        assert _tags_seen(second) == {"a-only"}
        second.close()
    with tenancy.tenant_scope(workspace_b.pk):
        assert _tags_seen(first) == {"b-only"}
        first.close()


def test_every_pooled_connection_takes_the_database_role(pooled_wrappers):
    settings_dict = copy.deepcopy(pooled_wrappers[0].settings_dict)
    settings_dict["OPTIONS"].pop("operator_role", None)  # the role as production takes it: once
    settings_dict["OPTIONS"]["assume_role"] = APP_ROLE
    settings_dict["OPTIONS"]["pool"] = {"min_size": 2, "max_size": 2, "timeout": 5}
    wrapper = type(connections["default"])(settings_dict, alias=f"pool_role_{uuid.uuid4().hex[:8]}")
    try:
        # Opened by the pool's own threads (its `configure`), two of them.
        wrapper.pool.open(wait=True, timeout=10)
        roles = set()
        for _ in range(4):
            wrapper.ensure_connection()
            roles.add(wrapper.connection.execute("SELECT current_user").fetchone()[0])
            wrapper.close()
        assert roles == {APP_ROLE}
    finally:
        wrapper.close()
        wrapper.close_pool()


def test_the_pool_hands_out_a_healthy_connection_without_a_round_trip_and_replaces_a_dead_one(
    pooled_wrappers, monkeypatch
):
    first, _ = pooled_wrappers
    first.ensure_connection()
    old = first.connection
    first.close()
    executed = []
    execute = type(old).execute
    monkeypatch.setattr(type(old), "execute", lambda self, *a, **k: executed.append(a) or execute(self, *a, **k))
    first.ensure_connection()
    assert first.connection is old and executed == []  # checked by its socket alone
    first.close()
    monkeypatch.undo()
    with login_connection(autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [old.info.backend_pid]).fetchone()[0]
    deadline = time.monotonic() + 10
    while not select.select([old.fileno()], [], [], 0.1)[0] and time.monotonic() < deadline:
        pass
    first.ensure_connection()
    assert first.connection is not old
    assert first.connection.execute("SELECT 1").fetchone() == (1,)


def test_a_web_worker_opens_and_warms_its_pool_before_it_serves():
    from leadhub import pool

    if not pool.pooled():
        pytest.skip("DATABASE_POOL=false")
    assert pool.pool_warm() is True
    stats = connection.pool.get_stats()
    assert stats["pool_size"] >= stats["pool_min"]
