"""The first page of /api/v1/contacts (no parameter but `limit`): read with its tags by one
compiled statement, it answers exactly as the general path (filter set and paginator)."""

import datetime
import urllib.parse

import pytest

from crm.catalog.services import tag_create
from crm.models import Contact, DispositionStatus

from .support import contact_make, error_of

pytestmark = pytest.mark.django_db


def _cursor(link):
    return urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["cursor"] if link else None


@pytest.fixture
def contacts(workspace_a):
    """25 contacts, the 19th to 23rd newest made at the same instant (the cursor's offset)."""
    made = [contact_make(workspace_a, email=f"c{n}@example.com", name=f"C {n}") for n in range(25)]
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    for n, contact in enumerate(made):
        at = start + datetime.timedelta(minutes=min(n, 2) if 2 <= n <= 6 else n)
        Contact.objects.filter(pk=contact.pk).update(created_at=at)
    return made


@pytest.mark.parametrize("limit", [None, 20, 5, 21, 22, 100])
def test_the_first_page_answers_as_the_general_path(api_a, workspace_a, contacts, limit):
    vip = tag_create(workspace=workspace_a, name="vip")
    early = tag_create(workspace=workspace_a, name="early")
    contacts[-1].tags.add(vip, early)
    Contact.objects.filter(pk=contacts[-2].pk).update(
        disposition_status=DispositionStatus.objects.create(workspace=workspace_a, name="Call back")
    )
    params = {} if limit is None else {"limit": limit}
    first = api_a.get("/api/v1/contacts", params)
    # An empty filter takes the filter set and the paginator and filters nothing.
    general = api_a.get("/api/v1/contacts", {**params, "status": ""})
    assert first.status_code == general.status_code == 200
    body, expected = first.json(), general.json()
    assert list(body) == ["next", "previous", "results"]
    assert body["results"] == expected["results"]
    assert body["previous"] is None
    assert _cursor(body["next"]) == _cursor(expected["next"])
    assert body["results"][0]["tags"] == ["early", "vip"]
    assert body["results"][1]["disposition_status"]["name"] == "Call back"


@pytest.mark.parametrize("limit", [5, 19, 20, 21])
def test_its_next_links_reach_every_contact_once(api_a, contacts, limit):
    body = api_a.get("/api/v1/contacts", {"limit": limit}).json()
    seen = [item["id"] for item in body["results"]]
    while body["next"]:
        body = api_a.get(body["next"]).json()
        seen += [item["id"] for item in body["results"]]
    newest_first = Contact.objects.filter(pk__in=[c.pk for c in contacts]).order_by("-created_at", "-id")
    assert seen == [str(pk) for pk in newest_first.values_list("pk", flat=True)]


def test_the_first_page_takes_one_statement(api_a, workspace_a, contacts, django_assert_max_num_queries):
    tags = [tag_create(workspace=workspace_a, name=f"t{n}") for n in range(3)]
    for contact in contacts:
        contact.tags.add(*tags)
    api_a.get("/api/v1/workspace")  # the credential, now remembered
    with django_assert_max_num_queries(1):  # the contacts with their tag names
        body = api_a.get("/api/v1/contacts").json()
    assert len(body["results"]) == 20
    assert all(item["tags"] == ["t0", "t1", "t2"] for item in body["results"])


def test_an_empty_first_page(api_a):
    assert api_a.get("/api/v1/contacts").json() == {"next": None, "previous": None, "results": []}


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_a_bad_limit_is_a_400_on_limit(api_a, contacts, limit):
    assert "limit" in error_of(api_a.get("/api/v1/contacts", {"limit": limit}), 400, "VALIDATION_ERROR")["details"]


def test_another_workspaces_contacts_are_not_on_it(api_b, contacts):
    assert api_b.get("/api/v1/contacts").json()["results"] == []
