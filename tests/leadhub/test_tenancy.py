"""The second wall: PostgreSQL row-level security under tenancy (leadhub/tenancy.py, README
"Row-level security"). The PostgreSQL pass serves as the app role (tests/conftest.py), so
every policy here is enforced for real; on SQLite only the code's own rules are checked."""

import datetime as dt
import itertools
import uuid
from pathlib import Path

import pytest
from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DataError, ProgrammingError, connection, models, transaction
from django.utils import timezone

from accounts.models import Workspace
from crm.models import Contact
from leadhub import tenancy
from leadhub.postgresql import rls
from leadhub.tenancy import tenant_scope

ROOT = Path(settings.BASE_DIR)
_serial = itertools.count(1)


# --- Every tenant table, filled for two workspaces ------------------------------------------


def _value(field: models.Field):
    """A valid value for a required field without a default."""
    n = next(_serial)
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return f"rls-{n}@example.com"
    if isinstance(field, models.URLField):
        return f"https://example.com/rls/{n}"
    if isinstance(field, models.UUIDField):
        return uuid.uuid4()
    if isinstance(field, models.CharField | models.TextField):
        return f"rls{n}"[: field.max_length or 100]
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.IntegerField | models.FloatField | models.DecimalField):
        return n
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return dt.date.today()
    if isinstance(field, models.TimeField):
        return dt.time(9, 0)
    if isinstance(field, models.DurationField):
        return dt.timedelta(minutes=30)
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.BinaryField):
        return b""
    if isinstance(field, models.GenericIPAddressField):
        return "127.0.0.1"
    raise NotImplementedError(f"no test value for {field.model.__name__}.{field.name} ({type(field).__name__})")


def _automatic(field: models.Field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False) or field.auto_created)


def _row(model, workspace: Workspace, made: dict):
    """One row of `model` in `workspace`, its required relations made in the same workspace."""
    key = (model, workspace.pk)
    if key in made:
        return made[key]
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key and (field.has_default() or isinstance(field, models.AutoField)):
            continue
        if field.name == "workspace":
            values["workspace"] = workspace
        elif field.is_relation:
            if field.null:
                continue
            related = field.related_model
            if related is Workspace:
                values[field.name] = workspace
            elif related is get_user_model():
                values[field.name] = related.objects.create_user(username=f"rls-user-{next(_serial)}")
            elif any(f.name == "workspace" for f in related._meta.concrete_fields):
                values[field.name] = _row(related, workspace, made)
            else:
                values[field.name] = _row(related, workspace, made)
        elif (
            field.has_default()
            or field.null
            or getattr(field, "auto_now", False)
            or getattr(field, "auto_now_add", False)
        ):
            continue
        else:
            values[field.name] = _value(field)
    instance = model(**values)
    model._default_manager.bulk_create([instance])
    made[key] = instance
    return instance


@pytest.fixture
def every_tenant_table(workspace_a, workspace_b):
    """At least one row of each workspace in every tenant table (built as the operator path
    `tests`, like every fixture)."""
    made: dict = {}
    for model in _tenant_models():
        for workspace in (workspace_a, workspace_b):
            _row(model, workspace, made)
    return made


def _tenant_models() -> list:
    tables = set(rls.tenant_tables())
    return [m for m in apps.get_models() if m._meta.db_table in tables]


def _visible_workspaces() -> dict[str, set[str]]:
    """Raw SQL, no workspace filter: the workspaces whose rows each tenant table shows."""
    seen = {}
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in rls.tenant_tables():
            cursor.execute(f"SELECT DISTINCT workspace_id::text FROM {qn(table)}")
            seen[table] = {row[0] for row in cursor.fetchall()}
    return seen


# --- What is a tenant table -------------------------------------------------------------------


def test_the_tenant_tables_are_every_table_with_a_workspace_id():
    tables = rls.tenant_tables()
    with_workspace_id = {
        model._meta.db_table
        for model in apps.get_models(include_auto_created=True)
        if any(f.column == "workspace_id" for f in model._meta.concrete_fields)
    }
    assert set(tables) == with_workspace_id - set(rls.EXCLUDED_TABLES)
    for table in ("crm_contact", "messaging_message", "webhooks_delivery", "accounts_apikey", "accounts_membership"):
        assert table in tables


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_tenant_table_has_row_level_security_forced_and_both_policies():
    tables = rls.tenant_tables()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
                   array_agg(p.polname ORDER BY p.polname),
                   array_agg(pg_get_expr(p.polqual, p.polrelid) ORDER BY p.polname),
                   array_agg(pg_get_expr(p.polwithcheck, p.polrelid) ORDER BY p.polname)
              FROM pg_class c JOIN pg_policy p ON p.polrelid = c.oid
             WHERE c.relname = ANY(%s) GROUP BY 1, 2, 3
            """,
            [tables],
        )
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    assert set(rows) == set(tables)
    for table, (enabled, forced, names, using, check) in rows.items():
        assert enabled and forced, table
        assert names == [rls.POLICY_OPERATOR, rls.POLICY_TENANT], table
        assert "leadhub.operator" in using[0] and "leadhub.workspace_id" in using[1], table
        assert using == check, table  # WITH CHECK as USING: no row written outside the scope


@pytest.mark.postgres
@pytest.mark.django_db
def test_rls_apply_is_idempotent_and_changes_nothing_done():
    assert rls.rls_apply(connection) == []
    assert rls.rls_missing(connection, rls.tenant_tables()) == []


# --- The wall itself ---------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_with_no_scope_no_row_is_seen_and_none_written(workspace_a):
    Contact.objects.create(workspace=workspace_a, name="Ada")
    with tenancy.no_scope():
        assert Contact.objects.count() == 0
        assert _visible_workspaces()["crm_contact"] == set()
        with pytest.raises(Exception, match="row-level security"), transaction.atomic():
            Contact.objects.create(workspace=workspace_a, name="Forged")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_scope_writes_no_row_into_another_workspace(workspace_a, workspace_b):
    with tenant_scope(workspace_a.pk), pytest.raises(Exception, match="row-level security"), transaction.atomic():
        Contact.objects.create(workspace=workspace_b, name="Planted")


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.urls("tests.leadhub.urls")
def test_raw_sql_in_a_request_of_a_sees_only_as_rows_in_every_tenant_table(
    every_tenant_table, workspace_a, workspace_b, api_a
):
    everything = _visible_workspaces()  # the operator path `tests`
    a, b = str(workspace_a.pk), str(workspace_b.pk)
    for table, seen in everything.items():
        assert {a, b} <= seen, f"{table} lacks rows of both workspaces: the test proves nothing there"

    response = api_a.get("/tests/tenant-rows")

    assert response.status_code == 200
    seen_by_a = {table: set(ids) for table, ids in response.json().items()}
    assert set(seen_by_a) == set(everything)
    for table, seen in seen_by_a.items():
        assert seen == {a}, table


@shared_task(name="tests.leadhub.tenant_rows_of_contact")
def _tenant_rows_of_contact(contact_id: str) -> dict:
    """A task as the real ones are written: it declares the scope of the object it was given."""
    with tenancy.object_scope(Contact, contact_id):
        return {table: sorted(ids) for table, ids in _visible_workspaces().items()}


@shared_task(name="tests.leadhub.tenant_rows_undeclared")
def _tenant_rows_undeclared() -> dict:
    return {table: sorted(ids) for table, ids in _visible_workspaces().items()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # Celery's task_prerun closes old connections
def test_a_task_for_b_sees_only_bs_rows_in_every_tenant_table(every_tenant_table, workspace_b):
    contact_b = every_tenant_table[(Contact, workspace_b.pk)]

    # apply(): Celery's own call path with its signals, in this process, inside the test's
    # operator scope, which task_prerun clears.
    seen = _tenant_rows_of_contact.apply(args=[str(contact_b.pk)]).get()

    assert seen and all(ids == [str(workspace_b.pk)] for ids in seen.values()), seen
    assert tenancy.wanted() == ("", "tests")  # task_postrun gave the test its scope back


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_task_that_declares_no_scope_sees_nothing(every_tenant_table):
    seen = _tenant_rows_undeclared.apply().get()
    assert seen and all(ids == [] for ids in seen.values()), seen


# --- The scope synced to the connection ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_scope_set_in_a_rolled_back_savepoint_is_set_again(workspace_a, workspace_b):
    """PostgreSQL reverts a set_config made in a savepoint that is rolled back: the backend
    must not go on believing the connection holds it, or B's rows would show under A."""
    Contact.objects.create(workspace=workspace_a, name="Ada")
    Contact.objects.create(workspace=workspace_b, name="Bob")
    with tenant_scope(workspace_b.pk):
        assert list(Contact.objects.values_list("name", flat=True)) == ["Bob"]  # the connection holds B
    with tenant_scope(workspace_a.pk):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]  # set to A in the savepoint
            1 / 0  # noqa: B018 (the savepoint is rolled back: PostgreSQL holds B again)
        assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_scope_set_in_a_rolled_back_transaction_is_set_again(workspace_a, workspace_b):
    Contact.objects.create(workspace=workspace_a, name="Ada")
    Contact.objects.create(workspace=workspace_b, name="Bob")
    with tenant_scope(workspace_b.pk):
        assert list(Contact.objects.values_list("name", flat=True)) == ["Bob"]  # autocommit: B stays
    with tenant_scope(workspace_a.pk):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]
            1 / 0  # noqa: B018 (the transaction is rolled back: PostgreSQL holds B again)
        assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('leadhub.workspace_id', true)")
            assert cursor.fetchone()[0] == str(workspace_a.pk)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_steady_state_sets_nothing(workspace_a):
    """A second query in the same scope costs no set_config round trip."""
    with tenant_scope(workspace_a.pk):
        Contact.objects.count()
        assert connection.tenancy_held == (str(workspace_a.pk), "")
        calls = []
        original = connection.connection.execute

        def counting(query, *args, **kwargs):
            calls.append(query)
            return original(query, *args, **kwargs)

        connection.connection.execute = counting
        try:
            Contact.objects.count()
        finally:
            del connection.connection.execute
        assert not [query for query in calls if "set_config" in str(query)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failed_transaction_committed_forgets_the_scope(workspace_a, workspace_b):
    """An error caught inside atomic() without a savepoint: Django commits, PostgreSQL turns the
    COMMIT into a ROLLBACK and reverts the set_config made inside; B must not show under A."""
    Contact.objects.create(workspace=workspace_a, name="Ada")
    Contact.objects.create(workspace=workspace_b, name="Bob")
    with tenant_scope(workspace_b.pk):
        assert list(Contact.objects.values_list("name", flat=True)) == ["Bob"]  # autocommit: B stays
    with tenant_scope(workspace_a.pk):
        with transaction.atomic():
            assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]  # A set inside
            with pytest.raises(DataError), connection.cursor() as cursor:
                cursor.execute("SELECT 1 / 0")  # caught here: the transaction is failed, not rolled back
        assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_is_not_trusted_to_hold_no_scope(workspace_a):
    """A connection may arrive with a setting (PGOPTIONS, a role's or database's defaults, a
    pooler): its first query sets the scope the code wants."""
    Contact.objects.create(workspace=workspace_a, name="Ada")
    options = connection.settings_dict["OPTIONS"]
    connection.close()
    options["options"] = "-c leadhub.operator=admin"
    try:
        with tenancy.no_scope():
            assert Contact.objects.count() == 0
    finally:
        del options["options"]
        connection.close()


# --- The scopes around savepoints ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_savepoint_rolled_back_after_its_scope_ended_rolls_back(workspace_a):
    """The scope changes between an error and the rollback of its savepoint: the rollback must
    not try to set the scope inside the aborted transaction."""
    Contact.objects.create(workspace=workspace_a, name="Ada", phone_number="+18187405020")
    with pytest.raises(Exception, match="duplicate key"), transaction.atomic(), tenant_scope(workspace_a.pk):
        Contact.objects.create(workspace=workspace_a, name="Twin", phone_number="+18187405020")
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ada"]


# --- Child tables and the rest ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_every_table_is_a_tenant_table_a_child_table_or_global_with_a_reason():
    """From the database's own catalogue, not from tenant_tables(): a table that holds tenant
    data and is in none of the three lists fails here."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        tables = dict(cursor.fetchall())
    tenants, children = set(rls.tenant_tables()), set(rls.child_tables())
    assert not tenants & children
    assert not (tenants | children) & set(rls.GLOBAL_TABLES)
    unaccounted = set(tables) - tenants - children - set(rls.GLOBAL_TABLES)
    assert not unaccounted, f"tables in no list of leadhub/tenancy.py: {sorted(unaccounted)}"
    assert all(tables[table] for table in tenants | children)
    for table in ("crm_sequencestep", "crm_contact_tags", "webhooks_attempt", "oauth2_provider_accesstoken"):
        assert table in children


@pytest.mark.postgres
@pytest.mark.django_db
def test_child_rows_are_seen_and_written_only_through_a_visible_parent(workspace_a, workspace_b):
    from crm.models import Sequence, SequenceStep, Tag

    steps = {}
    for workspace in (workspace_a, workspace_b):
        sequence = Sequence.objects.create(workspace=workspace, name=f"Seq {workspace.name}")
        steps[workspace.pk] = SequenceStep.objects.create(sequence=sequence, position=1, message="Hi")
        contact = Contact.objects.create(workspace=workspace, name="Ada")
        contact.tags.add(Tag.objects.create(workspace=workspace, name="vip"))

    def raw(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    with tenant_scope(workspace_a.pk):
        assert raw("SELECT id FROM crm_sequencestep") == [(steps[workspace_a.pk].pk,)]
        assert len(raw("SELECT * FROM crm_contact_tags")) == 1
        b_sequence = steps[workspace_b.pk].sequence_id
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            raw(
                "INSERT INTO crm_sequencestep (sequence_id, position, delay_minutes, message) VALUES (%s, 2, 0, 'x')",
                [b_sequence],
            )
        assert raw("UPDATE crm_sequencestep SET message = 'x' WHERE sequence_id = %s RETURNING id", [b_sequence]) == []
    with tenancy.no_scope():
        assert raw("SELECT count(*) FROM crm_sequencestep") == [(0,)]
        assert raw("SELECT count(*) FROM crm_contact_tags") == [(0,)]
