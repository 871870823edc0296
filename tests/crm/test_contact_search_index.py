"""The leads search (`q` of /api/v1/contacts and of the dashboard's leads page) is answered by
the pg_trgm index of migrations crm 0003 and 0009 on PostgreSQL: one multicolumn GIN index whose
every column is exactly the expression the search filters on, so the planner can use it for each."""

import pytest
from django.db import connection

from crm.contacts import search as search_sql
from crm.contacts.selectors import contacts_list
from crm.models import Contact
from leadhub.tenancy import no_scope, operator_scope, tenant_scope
from tests.conftest import as_database_owner

from .support import contact_make

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SEARCHED = search_sql.SEARCHED


def test_pg_trgm_is_installed_and_one_index_has_every_searched_column():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'crm_contact'")
        indexes = dict(cursor.fetchall())
    assert [name for name, definition in indexes.items() if "gin_trgm_ops" in definition] == ["contact_trgm"]
    definition = indexes["contact_trgm"]
    assert "USING gin" in definition
    for column in SEARCHED:
        assert f"upper(({column})::text) gin_trgm_ops" in definition


def test_each_searched_column_is_answered_by_the_trigram_index(workspace_a, api_a):
    Contact.objects.bulk_create(
        Contact(
            workspace=workspace_a,
            name=f"Lead {n}",
            first_name="Lead",
            last_name=str(n),
            email=f"lead{n}@example.com",
            phone_number=f"+1650555{n:04d}",
            company_name=f"Company {n % 50}",
        )
        for n in range(3000)
    )
    ada = contact_make(workspace_a, phone="+18187405020", email="ada@example.com", name="Ada Lovelace")
    with as_database_owner(), connection.cursor() as cursor:  # maintenance is the owner's
        # The rows just inserted wait in the index's pending list.
        cursor.execute("SELECT gin_clean_pending_list('contact_trgm'::regclass)")
        cursor.execute("ANALYZE crm_contact")
    # Under row-level security (the app's role) PostgreSQL may not evaluate LIKE (textlike, not
    # LEAKPROOF) before the policy, so the search runs as the owner in a SECURITY DEFINER
    # function (crm/contacts/search.py); its query is planned here as the owner would plan it.
    with as_database_owner():
        with connection.cursor() as cursor:
            # A few thousand rows are read whole faster than through any index: ask the planner
            # for its best plan without that, which shows that each index matches the expression
            # the search filters on (at 1,000,000 contacts the planner takes them by itself: bench/).
            cursor.execute("SET LOCAL enable_seqscan = off")
            # Its match without the workspace condition (a few thousand rows of one workspace
            # are cheaper through that index here; at scale the planner combines both).
            match = search_sql.QUERY.split(" AND ", 1)[1].replace("$2", "%(pattern)s").replace("$3", "%(pattern)s")
            cursor.execute("EXPLAIN SELECT c.id FROM crm_contact c WHERE " + match, {"pattern": "%LOVELACE%"})
            plan = "\n".join(row[0] for row in cursor.fetchall())
        # One scan of the index per searched column, each on that column's expression.
        assert plan.count("Bitmap Index Scan on contact_trgm ") == len(SEARCHED), plan
        for column in SEARCHED:
            assert f"(upper(({column})::text) ~~ " in plan, plan
    search = contacts_list(workspace=workspace_a, filters={"q": "lovelace"})
    assert search_sql.FUNCTION in str(search.query)
    assert list(search) == [ada]
    # The API's q is the same selector.
    response = api_a.get("/api/v1/contacts", {"q": "LOVELACE"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(ada.pk)]


def test_the_search_function_answers_only_what_the_callers_scope_may_see(workspace_a, workspace_b):
    """It runs as the owner, so it applies the policies itself: a workspace's ids only to a
    scope that may see that workspace (its own, or an operator path), none with no scope."""
    ada = contact_make(workspace_a, email="ada@example.com", name="Ada Lovelace")
    bea = contact_make(workspace_b, email="bea@example.com", name="Bea Lovelace")

    def found(workspace):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT * FROM {search_sql.FUNCTION}(%s, %s)", [workspace.pk, "%LOVELACE%"])
            return [row[0] for row in cursor.fetchall()]

    with tenant_scope(workspace_a.pk):
        assert found(workspace_a) == [ada.pk]
        assert found(workspace_b) == []  # asked for B's, from A's scope
        assert [c.pk for c in contacts_list(workspace=workspace_a, filters={"q": "lovelace"})] == [ada.pk]
    with tenant_scope(workspace_b.pk):
        assert found(workspace_b) == [bea.pk]
        assert found(workspace_a) == []
    with no_scope():
        assert found(workspace_a) == found(workspace_b) == []
    with operator_scope("tests"):
        assert found(workspace_b) == [bea.pk]


def test_like_wildcards_in_the_search_are_literal(workspace_a):
    percent = contact_make(workspace_a, email="p@example.com", name="100% Dental")
    contact_make(workspace_a, email="q@example.com", name="1000 Dental")
    under = contact_make(workspace_a, email="u@example.com", name="a_b Clinic")
    contact_make(workspace_a, email="v@example.com", name="axb Clinic")
    assert [c.pk for c in contacts_list(workspace=workspace_a, filters={"q": "100%"})] == [percent.pk]
    assert [c.pk for c in contacts_list(workspace=workspace_a, filters={"q": "a_b"})] == [under.pk]
