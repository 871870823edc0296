"""The row-level security start-up check (leadhub/postgresql/rls.py role_check): web, worker and
beat refuse a role that bypasses row-level security, may become one, owns the tenant tables or is
the superuser behind DATABASE_ROLE; the app role is never granted TRUNCATE. Split from
test_tenancy.py (the wall itself)."""

import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from leadhub.postgresql import rls

ROOT = Path(settings.BASE_DIR)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_app_role_of_the_suite_passes_the_check():
    assert rls.role_problems(connection) == []
    rls.role_check(connection)


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(("attributes", "finding"), [("BYPASSRLS", "has BYPASSRLS"), ("SUPERUSER", "is a superuser")])
def test_the_startup_check_fails_under_a_role_that_bypasses_rls(attributes, finding, client, monkeypatch):
    role = f"leadhub_test_{attributes.lower()}"
    # As in production, the login is the role: the suite's switching with the scope (conftest) off.
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "operator_role")
    with connection.cursor() as cursor:  # inside the test's transaction: undone at its end
        cursor.execute("RESET ROLE")
        cursor.execute(f"CREATE ROLE {role} NOLOGIN {attributes}")
        cursor.execute(f"SET ROLE {role}")
    with pytest.raises(ImproperlyConfigured, match=finding):
        rls.role_check(connection)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_privileged_login_behind_database_role_is_refused(settings):
    """The suite's login is the superuser that created the database and takes the app role
    (DATABASE_ROLE); outside tests and benchmarks that is refused: any statement can RESET ROLE."""
    settings.RLS_ALLOW_PRIVILEGED_LOGIN = False
    with pytest.raises(ImproperlyConfigured, match=r"the login: the database role .* is a superuser"):
        rls.role_check(connection)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_startup_check_fails_under_a_role_that_may_become_one_that_bypasses_rls():
    with connection.cursor() as cursor:  # inside the test's transaction: undone at its end
        cursor.execute("RESET ROLE")
        cursor.execute("CREATE ROLE leadhub_test_bypass NOLOGIN BYPASSRLS")
        cursor.execute("CREATE ROLE leadhub_test_member NOLOGIN NOINHERIT IN ROLE leadhub_test_bypass")
        cursor.execute("SET ROLE leadhub_test_member")
    with pytest.raises(ImproperlyConfigured, match="may become leadhub_test_bypass"):
        rls.role_check(connection)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_app_role_is_never_granted_truncate():
    """Row-level security does not apply to TRUNCATE (the suite grants it for its flushes only)."""
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        rls.app_role_grant(connection, "leadhub_test_app")
        cursor.execute(
            "SELECT has_table_privilege('leadhub_test_app', 'crm_contact', 'SELECT'),"
            " has_table_privilege('leadhub_test_app', 'crm_contact', 'TRUNCATE'),"
            " has_table_privilege('leadhub_test_app', 'crm_contact', 'REFERENCES')"
        )
        assert cursor.fetchone() == (True, False, False)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_startup_check_fails_under_the_tables_owner():
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute("CREATE ROLE leadhub_test_owner NOLOGIN")
        cursor.execute("ALTER TABLE crm_tag OWNER TO leadhub_test_owner")
        cursor.execute("SET ROLE leadhub_test_owner")
    with pytest.raises(ImproperlyConfigured, match="owns tenant tables"):
        rls.role_check(connection)


@pytest.mark.postgres
@pytest.mark.django_db
def test_web_refuses_to_start_as_a_superuser_and_starts_as_the_app_role():
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LEADHUB_VAR_DIR": str(ROOT / "var")}
    command = [sys.executable, "-c", "import leadhub.wsgi"]

    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    started = subprocess.run(
        command,
        cwd=ROOT,
        env={**env, "DATABASE_ROLE": "leadhub_app", "RLS_ALLOW_PRIVILEGED_LOGIN": "true"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert refused.returncode != 0 and "is a superuser" in refused.stderr
    assert started.returncode == 0, started.stderr


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("process", ["worker", "beat"])
def test_celery_refuses_to_start_as_a_superuser(process, tmp_path):
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LEADHUB_VAR_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "celery", "-A", "leadhub", process, "--loglevel", "WARNING"]
    if process == "worker":
        command += ["-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    else:
        command += ["--schedule", str(tmp_path / "beat-schedule")]

    refused = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert refused.returncode != 0
    assert "is a superuser" in refused.stderr + refused.stdout
