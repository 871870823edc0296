"""The CRM's reads: the contact access gate and the list's search and filters."""

import uuid

import pytest
from django.http import Http404

from crm.contacts import selectors

from .support import contact_make

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("make_id", [lambda c: uuid.uuid4(), lambda c: "not-a-uuid", lambda c: None, lambda c: 12])
def test_contact_get_answers_404_for_missing_or_malformed_ids(workspace_a, make_id):
    contact = contact_make(workspace_a, email="a@example.com")
    with pytest.raises(Http404):
        selectors.contact_get(workspace=workspace_a, contact_id=make_id(contact))


def test_contact_get_answers_404_for_another_workspaces_contact(workspace_a, workspace_b):
    contact = contact_make(workspace_a, email="a@example.com")
    assert selectors.contact_get(workspace=workspace_a, contact_id=str(contact.id)) == contact
    with pytest.raises(Http404):
        selectors.contact_get(workspace=workspace_b, contact_id=contact.id)


def test_contact_get_by_session_is_scoped_too(workspace_a, workspace_b):
    contact = contact_make(workspace_a, session_id="s1")
    assert selectors.contact_get_by_session(workspace=workspace_a, session_id="s1") == contact
    with pytest.raises(Http404):
        selectors.contact_get_by_session(workspace=workspace_b, session_id="s1")


def test_a_phone_search_in_the_workspaces_country(workspace_a):
    workspace_a.country = "GB"
    workspace_a.save(update_fields=["country"])
    london = contact_make(workspace_a, phone="020 7946 0958")
    found = selectors.contacts_list(workspace=workspace_a, filters={"q": "020 7946 0958"})
    assert list(found) == [london]
    assert london.phone_number == "+442079460958"


def test_a_phone_or_email_search_uses_the_exact_column(workspace_a):
    sql_phone = str(selectors.contacts_list(workspace=workspace_a, filters={"q": "(818) 740 5020"}).query)
    assert "LIKE" not in sql_phone.upper()
    assert "+18187405020" in sql_phone
    sql_email = str(selectors.contacts_list(workspace=workspace_a, filters={"q": "A@B.com"}).query)
    assert "LIKE" not in sql_email.upper()
    assert "a@b.com" in sql_email


def test_a_contact_list_ignores_unknown_filters(workspace_a):
    contact = contact_make(workspace_a, email="a@example.com")
    assert list(selectors.contacts_list(workspace=workspace_a, filters={"colour": "red"})) == [contact]


def test_a_partial_email_search_matches_a_part(workspace_a):
    contact = contact_make(workspace_a, email="ada@example.com")
    assert list(selectors.contacts_list(workspace=workspace_a, filters={"q": "ada@"})) == [contact]
