"""The indexes of a contact's mostly-NULL columns (owner, line, disposition, widget session) hold
only the contacts that have one (migration crm 0008), and still answer every query on them:
what a deleted user, line or disposition sets to NULL, and the widget's session lookup."""

import pytest
from django.db import connection

from crm.models import Contact, DispositionStatus, Line
from tests.conftest import as_database_owner

from .support import contact_make

PARTIAL = {
    "contact_owner": "owner_id",
    "contact_line": "line_id",
    "contact_disposition": "disposition_status_id",
    "contact_workspace_session": "session_id",
}


def _indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Contact._meta.db_table)


@pytest.mark.django_db
def test_each_mostly_null_column_has_one_index_and_only_where_set():
    indexes = _indexes()
    for name, column in PARTIAL.items():
        assert column in indexes[name]["columns"]
        # No other plain index on the column alone (the foreign key's own one is gone).
        assert [other for other, info in indexes.items() if info["columns"] == [column] and info["index"]] in (
            [name],
            [],
        )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'crm_contact'")
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'crm_contact'")
        definitions = dict(cursor.fetchall())
    for name, column in PARTIAL.items():
        assert f"{column}" in definitions[name] and "IS NOT NULL" in definitions[name], definitions[name]


@pytest.mark.django_db
def test_deleting_an_owner_line_or_disposition_sets_its_contacts_to_none(workspace_a, owner_a):
    line = Line.objects.create(workspace=workspace_a, name="Main", phone_number="+16505550100")
    disposition = DispositionStatus.objects.create(workspace=workspace_a, name="Callback")
    ada = contact_make(workspace_a, email="ada@example.com", name="Ada")
    Contact.objects.filter(pk=ada.pk).update(owner=owner_a, line=line, disposition_status=disposition)
    owner_a.delete()
    line.delete()
    disposition.delete()
    ada.refresh_from_db()
    assert (ada.owner_id, ada.line_id, ada.disposition_status_id) == (None, None, None)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_queries_on_those_columns_use_the_partial_indexes(workspace_a):
    """A value named (`= …`, `IN (…)`) implies NOT NULL, so the planner takes the partial index."""
    queries = {
        "contact_owner": ("UPDATE crm_contact SET owner_id = NULL WHERE owner_id IN (%s)", [1]),
        "contact_line": ("UPDATE crm_contact SET line_id = NULL WHERE line_id = %s", [1]),
        "contact_disposition": (
            "UPDATE crm_contact SET disposition_status_id = NULL WHERE disposition_status_id IN (%s, %s)",
            [1, 2],
        ),
        "contact_workspace_session": (
            "SELECT id FROM crm_contact WHERE workspace_id = %s AND session_id = %s",
            [workspace_a.pk, "s-1"],
        ),
    }
    with as_database_owner(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for index, (sql, params) in queries.items():
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert f" on {index} " in plan or f" using {index} " in plan.lower(), plan
