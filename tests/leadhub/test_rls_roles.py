"""Row-level security's roles and named lookups (README "Row-level security"): the web's role
(leadhub_app) crosses workspaces only through the SECURITY DEFINER lookups, however it sets
`leadhub.operator`; the operator role (leadhub_operator) of worker, beat and the admin does.
PostgreSQL only: the pass serves every scope as the role that runs it in production
(tests/conftest.py)."""

import subprocess
import sys
from pathlib import Path

import pytest
from celery import shared_task
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import api_key_create, api_key_revoke, membership_set
from crm.models import Contact
from leadhub import lookups, tenancy
from leadhub.postgresql import lookups as pg_lookups
from leadhub.postgresql import rls
from messaging.brains.services import brain_create
from messaging.models import Brain
from tests.conftest import as_database_owner

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
ROOT = Path(settings.BASE_DIR)


def _one(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@pytest.fixture
def contacts(workspace_a, workspace_b):
    Contact.objects.create(workspace=workspace_a, name="Ada")
    Contact.objects.create(workspace=workspace_b, name="Bob")


def test_the_operator_setting_opens_nothing_to_the_app_role(contacts, workspace_a):
    """One injected set_config from the web's role used to void the wall; now it does nothing."""
    with tenancy.no_scope():
        assert _one("SELECT current_user") == (rls.APP_ROLE,)
        _one("SELECT set_config('leadhub.operator', 'admin', false)")
        assert _one("SELECT count(*) FROM crm_contact") == (0,)
    with tenancy.tenant_scope(workspace_a.pk):
        _one("SELECT set_config('leadhub.operator', 'admin', false)")
        assert _one("SELECT array_agg(name) FROM crm_contact") == (["Ada"],)
    connection.tenancy_held = None  # the connection holds what the code did not set


def test_the_operator_role_crosses_workspaces_under_an_operator_path(contacts):
    assert tenancy.wanted() == ("", "tests")
    assert _one("SELECT current_user") == (rls.OPERATOR_ROLE,)
    assert _one("SELECT count(*) FROM crm_contact") == (2,)
    with tenancy.no_scope():
        assert _one("SELECT count(*) FROM crm_contact") == (0,)


def test_the_operator_policy_applies_to_the_operator_role_and_the_owner_only():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.polname, array(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r) END"
            " FROM unnest(p.polroles) r) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid"
            " WHERE c.relname = 'crm_contact'"
        )
        roles = {name: set(grantees) for name, grantees in cursor.fetchall()}
    owner = _one("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'crm_contact'")[0]
    assert roles[rls.POLICY_TENANT] == {"PUBLIC"}
    assert roles[rls.POLICY_OPERATOR] == {rls.OPERATOR_ROLE, owner}


def test_both_roles_pass_the_role_check():
    for scope in (tenancy.no_scope(), tenancy.operator_scope("tests")):
        with scope:
            assert _one("SELECT current_user")[0] in {rls.APP_ROLE, rls.OPERATOR_ROLE}
            assert rls.role_problems(connection) == []


def test_the_operator_role_is_neither_superuser_nor_bypassrls_nor_an_owner():
    assert _one(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = %s",
        [rls.OPERATOR_ROLE],
    ) == (False, False, False, False)
    assert _one(
        "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)",
        [rls.OPERATOR_ROLE],
    ) == (0,)


def test_creating_the_roles_again_is_harmless():
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        for role in (rls.APP_ROLE, rls.OPERATOR_ROLE):
            cursor.execute(rls.role_create_sql(role))
            cursor.execute(rls.role_create_sql(role))
    connection.tenancy_held = None


# --- The named lookups ------------------------------------------------------------------------


def test_every_lookup_is_security_definer_pinned_and_not_for_public():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosecdef, proconfig, pg_get_function_result(oid), proacl::text[] FROM pg_proc"
            " WHERE proname = ANY(%s)",
            [[pg_lookups.function(name) for name in pg_lookups.LOOKUPS]],
        )
        found = {row[0]: row[1:] for row in cursor.fetchall()}
    assert set(found) == {pg_lookups.function(name) for name in pg_lookups.LOOKUPS}
    for name, lookup in pg_lookups.LOOKUPS.items():
        definer, config, result, acl = found[pg_lookups.function(name)]
        assert definer, name
        assert any(item.startswith("search_path=") for item in config), name
        assert f"leadhub.operator={name}" in config, name
        assert result.lower() == lookup.returns.lower(), name  # one column: never the row
        grantees = {item.split("=")[0] for item in acl}
        assert "" not in grantees, name  # PUBLIC may not execute it
        assert {rls.APP_ROLE, rls.OPERATOR_ROLE} <= grantees, name


def test_the_leads_search_is_granted_by_name_and_not_for_public():
    signature = rls.CONTACT_SEARCH_SIGNATURE
    assert _one("SELECT has_function_privilege('public', %s, 'EXECUTE')", [signature]) == (False,)
    assert _one("SELECT has_function_privilege(%s, %s, 'EXECUTE')", [rls.APP_ROLE, signature]) == (True,)


def test_approle_grants_the_named_functions_only():
    """A function the owner makes later (an operator-only one, say) is not the web's role's
    after the next deploy's approle, nor PUBLIC's."""
    with as_database_owner(), connection.cursor() as cursor:  # inside the test's transaction
        cursor.execute("CREATE FUNCTION leadhub_test_operator_only() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        rls.app_role_grant(connection, rls.APP_ROLE)
        for grantee in (rls.APP_ROLE, "public"):
            cursor.execute("SELECT has_function_privilege(%s, 'leadhub_test_operator_only()', 'EXECUTE')", [grantee])
            assert cursor.fetchone() == (False,), grantee


def test_web_refuses_a_login_that_may_become_the_operator(settings):
    """Web takes the app's role (DATABASE_ROLE) but its login may become the operator: one
    injected RESET ROLE would give the operator paths. The suite's login is such a login."""
    settings.RLS_ALLOW_PRIVILEGED_LOGIN = False
    with tenancy.no_scope():
        problems = rls.role_problems(connection, tenant_only=True)
    assert any(p.startswith("the login: ") and "may take the operator paths" in p for p in problems), problems


def test_the_credential_lookup_answers_the_workspace_of_a_live_key_only(workspace_a, workspace_b):
    from accounts.services import api_key_hash

    created = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    revoked = api_key_create(workspace=workspace_b, name="old", scopes=["contacts:read"])
    api_key_revoke(api_key=revoked.api_key)
    with tenancy.no_scope():
        with lookups.found_scope("credential_by_hash", api_key_hash(created.secret)) as found:
            assert found
            assert tenancy.current_workspace_id() == str(workspace_a.pk)
            assert connection.tenancy_held == (str(workspace_a.pk), "")
            assert _one("SELECT current_user") == (rls.APP_ROLE,)
        for secret in (revoked.secret, "lh_live_nothing"):
            with lookups.found_scope("credential_by_hash", api_key_hash(secret)) as found:
                assert not found
                assert tenancy.wanted() == tenancy.SCOPE_NONE


def test_the_brain_lookup_answers_by_bot_id_only(workspace_a, workspace_b):
    brain = brain_create(workspace=workspace_b, name="Front desk")
    with tenancy.no_scope():
        with lookups.found_scope("brain_by_bot_id", brain.bot_id) as found:
            assert found and tenancy.current_workspace_id() == str(workspace_b.pk)
            assert Brain.objects.get(bot_id=brain.bot_id).workspace_id == workspace_b.pk
        with lookups.found_scope("brain_by_bot_id", "%") as found:
            assert not found


def test_the_memberships_lookup_answers_a_persons_workspaces(workspace_a, workspace_b, django_user_model):
    person = django_user_model.objects.create_user(username="member")
    membership_set(workspace=workspace_a, user=person, role="agent")
    with tenancy.no_scope():
        assert lookups.rows("memberships_of", person.pk) == [workspace_a.pk]
        assert lookups.rows("memberships_of", person.pk + 1000) == []


def test_web_without_the_admin_refuses_the_operator_role():
    with tenancy.operator_scope("tests"):
        problems = rls.role_problems(connection, tenant_only=True)
        assert any("may take the operator paths" in problem for problem in problems), problems
        assert rls.role_problems(connection) == []  # worker, beat and the admin may
    with tenancy.no_scope():
        assert rls.role_problems(connection, tenant_only=True) == []


def test_web_refuses_to_start_as_the_operator_role_unless_it_serves_the_admin():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        "DATABASE_URL": url,
        "PATH": "/usr/bin:/bin",
        "LEADHUB_VAR_DIR": str(ROOT / "var"),
        "DATABASE_ROLE": rls.OPERATOR_ROLE,
        "RLS_ALLOW_PRIVILEGED_LOGIN": "true",
    }

    def start(admin: str):
        return subprocess.run(
            [sys.executable, "-c", "import leadhub.wsgi"],
            cwd=ROOT,
            env={**env, "ADMIN_ENABLED": admin},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused, started = start("false"), start("true")
    assert refused.returncode != 0 and "may take the operator paths" in refused.stderr
    assert started.returncode == 0, started.stderr


@shared_task(name="tests.leadhub.sweep_sees")
def _sweep_sees() -> tuple:
    """A beat sweep as the real ones are written: the operator path, in a task."""
    with tenancy.operator_scope("beat_sweep"):
        return _one("SELECT current_user, count(DISTINCT workspace_id) FROM crm_contact")


@shared_task(name="tests.leadhub.sweep_forged")
def _sweep_forged() -> tuple:
    """A task that sets the operator setting itself, outside the operator role."""
    _one("SELECT 1")  # the task's scope (none) and role reach the connection
    _one("SELECT set_config('leadhub.operator', 'beat_sweep', false)")
    return _one("SELECT current_user, count(*) FROM crm_contact")


@pytest.mark.django_db(transaction=True)  # Celery's task_prerun closes old connections
def test_a_beat_sweep_crosses_workspaces_as_the_operator_role_only(contacts):
    assert _sweep_sees.apply().get() == (rls.OPERATOR_ROLE, 2)
    assert _sweep_forged.apply().get() == (rls.APP_ROLE, 0)
    connection.tenancy_held = None


def test_a_key_looked_up_costs_the_round_trips_it_cost_before(workspace_a):
    """The lookup and the workspace's scope in one statement, then the key read in it: no
    round trip more than the operator path's set_config and read were (#8 caches above it)."""
    from accounts import credentials

    created = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    credentials._local_keys.clear()
    statements = []
    original = connection.connection.execute

    def counting(query, *args, **kwargs):
        statements.append(str(query))
        return original(query, *args, **kwargs)

    with tenancy.no_scope():
        _one("SELECT 1")  # the connection holds no scope, as a request's first query finds it
        connection.connection.execute = counting
        try:
            with CaptureQueriesContext(connection) as queries:
                api_key = credentials.api_key_authenticate(secret=created.secret)
        finally:
            del connection.connection.execute
    assert api_key is not None and api_key.workspace_id == workspace_a.pk
    assert len(statements) == 1 and "leadhub_credential_by_hash" in statements[0]
    assert "set_config('leadhub.workspace_id'" in statements[0]
    reads = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    assert len(reads) == 1, reads  # the key with its workspace, plan and agency
