"""A part of a phone number finds its contacts however it is written: `q` made only of digits and
the separators people write numbers with matches a part of the phone's digits (numbers are
stored in E.164), on SQLite and on PostgreSQL (the search function, through the trigram index)."""

import pytest
from django.db import connection

from crm.contacts import search as search_sql
from crm.contacts.selectors import contacts_list
from crm.models import Contact
from tests.conftest import as_database_owner

from .support import contact_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(workspace_a):
    return {
        "ada": contact_make(workspace_a, phone="+1 650-555-1234", email="ada@example.com", name="Ada Lovelace"),
        "bea": contact_make(workspace_a, phone="+1 650-555-9876", email="bea@example.com", name="Bea"),
        "cy": contact_make(workspace_a, phone="+1 818-740-5020", email="cy@example.com", name="Cy"),
        # A company whose name is written like a part of a number: found by its text too.
        "shop": contact_make(workspace_a, email="shop@example.com", name="Shop", company_name="Open 7-11"),
    }


def _found(workspace, q):
    return {contact.name for contact in contacts_list(workspace=workspace, filters={"q": q})}


@pytest.mark.parametrize(
    ("q", "names"),
    [
        ("650-555", {"Ada Lovelace", "Bea"}),
        ("(650) 555", {"Ada Lovelace", "Bea"}),
        ("650.555", {"Ada Lovelace", "Bea"}),
        ("650 555", {"Ada Lovelace", "Bea"}),
        ("650555", {"Ada Lovelace", "Bea"}),
        ("555-1234", {"Ada Lovelace"}),
        ("555 12", {"Ada Lovelace"}),
        ("+1 (650) 555-98", {"Bea"}),
        ("740 50", {"Cy"}),
        ("7-11", {"Shop"}),  # no phone holds 711; the company's text is 7-11
        ("650-556", set()),
    ],
)
def test_a_partial_phone_number_finds_its_contacts_with_or_without_separators(workspace_a, people, q, names):
    assert _found(workspace_a, q) == names


def test_another_workspaces_numbers_are_not_found(workspace_a, workspace_b, people):
    contact_make(workspace_b, phone="+1 650-555-4444", name="Other")
    assert _found(workspace_b, "650-555") == {"Other"}
    assert "Other" not in _found(workspace_a, "650-555")


def test_the_api_finds_a_partial_number_newest_first(api_a, people):
    response = api_a.get("/api/v1/contacts", {"q": "(650) 555"})
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(people["bea"].id), str(people["ada"].id)]


@pytest.mark.parametrize(
    ("text", "digits"),
    [("650-555", "650555"), ("(650) 555", "650555"), ("+1 650", "1650"), ("12", "12"), ("ada", None), ("-", None)],
)
def test_phone_digits_reads_a_written_partial_number(text, digits):
    assert search_sql.phone_digits(text) == digits


@pytest.mark.postgres
def test_the_digits_are_matched_through_the_trigram_index(workspace_a):
    Contact.objects.bulk_create(
        Contact(workspace=workspace_a, name=f"Lead {n}", phone_number=f"+1650{n:07d}") for n in range(3000)
    )
    assert len(_found(workspace_a, "(650) 000-12")) == 100  # +16500001200 to +16500001299
    with as_database_owner(), connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('contact_trgm'::regclass)")
        cursor.execute("ANALYZE crm_contact")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a few thousand rows: see test_contact_search_index
        # The function's query as it runs for "(650) 000-12": the phone column by its digits.
        match = search_sql.QUERY.split(" AND ", 1)[1].replace("$2", "%(text)s").replace("$3", "%(digits)s")
        patterns = {"text": "%(650) 000-12%", "digits": "%65000012%"}
        cursor.execute("EXPLAIN SELECT c.id FROM crm_contact c WHERE " + match, patterns)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on contact_trgm" in plan, plan
    assert "(upper((phone_number)::text) ~~ '%65000012%'::text)" in plan, plan
    assert "Seq Scan" not in plan, plan
