"""Shared fixtures: the three people of STYLE.md and credentials for them."""

import os
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Plan, Role
from accounts.scopes import ALL_SCOPES
from accounts.services import api_key_create, membership_set, oauth_application_create, workspace_create
from tests.webhooks.conftest import Receiver
from webhooks.transport import http


def pytest_collection_modifyitems(config, items):
    # PostgreSQL-only tests run on PostgreSQL and are skipped, visibly, on SQLite only.
    from django.conf import settings

    if "postgresql" in settings.DATABASES["default"]["ENGINE"]:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (runs in the DATABASE_URL=postgres:// pass)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


APP_ROLE = "leadhub_app"
OPERATOR_ROLE = "leadhub_operator"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL the suite runs as the app runs in production: the test database is created
    and migrated by the login (the owner, a superuser in CI), then every connection takes, with
    each scope, the role of the process that would run it (leadhub/postgresql/base.py): the
    app's role (DATABASE_ROLE) in a workspace or none, the operator role under an operator path
    (DATABASE_OPERATOR_ROLE). Neither owns the tables nor bypasses row-level security, and the
    operator policy holds only for the operator role: row-level security is real in the
    PostgreSQL pass, a web path that still crossed workspaces with the operator setting would
    see nothing."""
    from accounts.plans import plans_ensure
    from leadhub.postgresql import rls

    with django_db_blocker.unblock():
        # A reused test database that a flush emptied before post_migrate put the plans back.
        plans_ensure()
    if connection.vendor != "postgresql":
        yield
        return
    options = connection.settings_dict["OPTIONS"]
    with django_db_blocker.unblock():
        for role in (APP_ROLE, OPERATOR_ROLE):
            rls.app_role_grant(connection, role)
            with connection.cursor() as cursor:
                # Tests only: a transactional test's flush empties the tables with TRUNCATE, which
                # production never grants (row-level security does not apply to it).
                cursor.execute(f"GRANT TRUNCATE ON ALL TABLES IN SCHEMA public TO {role}")
        options.update(assume_role=APP_ROLE, operator_role=OPERATOR_ROLE)
        _reconnect()
        # The login (a superuser in CI) is held to the check too, except in tests (README).
        settings.RLS_ALLOW_PRIVILEGED_LOGIN = True
        rls.role_check(connection)
    # The processes tests start (gunicorn, a Celery worker, a killed driver) take them too; their
    # login, like this one, is the superuser that created the test database.
    os.environ.update(DATABASE_ROLE=APP_ROLE, DATABASE_OPERATOR_ROLE=OPERATOR_ROLE, RLS_ALLOW_PRIVILEGED_LOGIN="true")
    yield
    for name in ("DATABASE_ROLE", "DATABASE_OPERATOR_ROLE", "RLS_ALLOW_PRIVILEGED_LOGIN"):
        os.environ.pop(name, None)
    settings.RLS_ALLOW_PRIVILEGED_LOGIN = False
    with django_db_blocker.unblock():  # the login drops the test database
        options.pop("assume_role", None)
        options.pop("operator_role", None)
        _reconnect()


def _reconnect() -> None:
    """The next query on a new connection, which takes the roles as the options now say: with
    the pool (leadhub/pool.py), its connections made before are closed with it."""
    connection.close()
    if connection.pool is not None:
        connection.close_pool()


def login_connection(**options):
    """A second psycopg connection to the test database as the suite's login (the tables' owner,
    a superuser in CI), outside the test's transaction: another client holding locks, an
    operator ending a backend."""
    import psycopg

    settings_dict = connection.settings_dict
    return psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        host=settings_dict["HOST"] or None,
        port=settings_dict["PORT"] or None,
        password=settings_dict["PASSWORD"] or None,
        **options,
    )


@contextmanager
def as_database_owner():
    """A test's own schema change: as the login that owns the tables (the app's role may not
    create one), then back to the app's role."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    try:
        yield
    finally:
        connection.tenancy_held = None  # the next query takes its scope's role again


@pytest.fixture(autouse=True)
def _tests_scope():
    """Fixtures and tests build and read data through the ORM in the operator path `tests`; a
    request or a task inside a test starts with no scope and enters its own, as in production."""
    from leadhub.tenancy import operator_scope

    with operator_scope("tests"):
        yield


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """People's passwords hashed fast in tests only; client secrets keep their own hasher."""
    from django.conf import settings
    from django.test import override_settings

    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher", *settings.PASSWORD_HASHERS]
    ):
        yield


@pytest.fixture
def workspace_a(db):
    return workspace_create(name="Acme Dental", agency_name="Bright Agency")


@pytest.fixture
def workspace_b(db):
    return workspace_create(name="Other Business")


@pytest.fixture
def owner_a(workspace_a, django_user_model):
    user = django_user_model.objects.create_user(username="owner-a", password="owner-a-pass")
    membership_set(workspace=workspace_a, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def agent_a(workspace_a, django_user_model):
    user = django_user_model.objects.create_user(username="agent-a", password="agent-a-pass")
    membership_set(workspace=workspace_a, user=user, role=Role.AGENT)
    return user


@pytest.fixture
def outsider(workspace_b, django_user_model):
    """Owns workspace B and nothing of A."""
    user = django_user_model.objects.create_user(username="outsider", password="outsider-pass")
    membership_set(workspace=workspace_b, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def make_key():
    def make(workspace, scopes=ALL_SCOPES, name="test key"):
        return api_key_create(workspace=workspace, name=name, scopes=scopes).secret

    return make


@pytest.fixture
def client_for():
    """An API client that sends the given API key as a bearer token."""

    def make(secret):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client

    return make


@pytest.fixture
def api_a(workspace_a, make_key, client_for):
    return client_for(make_key(workspace_a))


@pytest.fixture
def api_b(workspace_b, make_key, client_for):
    return client_for(make_key(workspace_b))


@pytest.fixture
def fast_api_a(api_a, workspace_a):
    """api_a with a rate limit it never reaches, answering 500s instead of raising (fuzzing)."""
    workspace_a.api_rate_per_minute_override = 1_000_000
    workspace_a.save(update_fields=["api_rate_per_minute_override"])
    api_a.raise_request_exception = False
    return api_a


@pytest.fixture
def oauth_app_a(workspace_a):
    return oauth_application_create(workspace=workspace_a, name="Partner CRM", scopes=ALL_SCOPES)


@pytest.fixture
def free_workspace(db):
    return workspace_create(name="Free Tier Co", plan_code=Plan.FREE)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters must not leak between tests (or between runs on a shared Redis)."""
    from django.core.cache import cache

    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")  # django-redis: only this project's prefixed keys
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _rate_windows_start_with_the_test(monkeypatch):
    """django-ratelimit staggers each key's window end by crc32(key) % period, so a window could
    end between two requests of a test and reset its count (a limit of 2 answering 200 the third
    time, about once in a few hundred runs). In tests every window starts when the test does; a
    test that moves time.time() (test_ratelimit.move_clock) still crosses into the next one."""
    import time

    from django_ratelimit import core

    start = int(time.time())

    def window(value, period):
        now = int(time.time())
        if period == 1:
            return now
        return start + period * (1 + (now - start) // period)

    monkeypatch.setattr(core, "_get_window", window)


@pytest.fixture(autouse=True)
def _var_dir_in_tmp(tmp_path, settings):
    """Files the commands write at run time (var/credentials.env) go to the test's own directory,
    never into the developer's var/."""
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def local_webhooks(settings):
    """What development and tests set: http:// and loopback addresses admitted."""
    settings.WEBHOOK_ALLOW_HTTP = True
    settings.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    yield settings
    http.client_reset()


@pytest.fixture
def receiver(local_webhooks):
    """A real webhook receiver on 127.0.0.1 (tests/webhooks/conftest.py's Receiver)."""
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.stop()
