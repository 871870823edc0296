"""The native contacts API: /api/v1/contacts, its notes and timeline (SPEC §5.4)."""

import base64
import json
import uuid

import pytest

from crm.catalog.services import tag_create
from crm.contacts.fields import REPRESENTATION
from crm.models import Contact, DispositionStatus, Line, Note
from webhooks.models import Event

from .support import contact_make, error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(workspace_a):
    return contact_make(
        workspace_a, phone="+1 818-740-5020", email="ada@example.com", name="Ada Lovelace", company_name="Engines"
    )


@pytest.fixture
def reader_a(workspace_a, make_key, client_for):
    return client_for(make_key(workspace_a, scopes=["contacts:read"]))


# --- list and search -------------------------------------------------------------------------


def test_list_shows_the_workspaces_contacts_newest_first(api_a, workspace_a, workspace_b):
    first = contact_make(workspace_a, email="first@example.com")
    second = contact_make(workspace_a, email="second@example.com")
    contact_make(workspace_b, email="other@example.com")
    body = api_a.get("/api/v1/contacts").json()
    assert [item["id"] for item in body["results"]] == [str(second.id), str(first.id)]
    assert "next" in body


def test_list_never_shows_another_workspaces_contacts(api_b, ada):
    assert api_b.get("/api/v1/contacts").json()["results"] == []
    assert api_b.get("/api/v1/contacts", {"q": "ada@example.com"}).json()["results"] == []


def test_contact_shows_every_field(api_a, workspace_a, ada, owner_a):
    tag = tag_create(workspace=workspace_a, name="vip")
    ada.tags.add(tag)
    body = api_a.get(f"/api/v1/contacts/{ada.id}").json()
    assert list(body) == list(REPRESENTATION)
    # Every stored field of a contact is shown, by its API name (the workspace is the caller's).
    api_names = {"owner": "owner_id", "line": "line_id", "first_touch": "attribution", "latest_touch": "attribution"}
    stored = [field.name for field in Contact._meta.concrete_fields if field.name != "workspace"]
    assert {api_names.get(name, name) for name in stored} <= set(body)
    assert "tags" in body
    assert body["tags"] == ["vip"]
    assert body["phone_number"] == "+18187405020"
    assert body["hot"] is False
    assert body["created_at"].endswith("Z")
    assert set(body["attribution"]) == {"first_touch", "latest_touch"}


@pytest.mark.parametrize("q", ["(818) 740 5020", "8187405020", "+1 818-740-5020", "ADA@example.com", "Ada", "ngine"])
def test_search_finds_by_phone_in_any_form_email_name_or_company(api_a, workspace_a, ada, q):
    contact_make(workspace_a, email="someone@else.com", name="Bob")
    ids = [item["id"] for item in api_a.get("/api/v1/contacts", {"q": q}).json()["results"]]
    assert ids == [str(ada.id)]


def test_an_exact_email_or_phone_search_matches_exactly(api_a, workspace_a, ada):
    contact_make(workspace_a, email="xada@example.com")
    ids = [item["id"] for item in api_a.get("/api/v1/contacts", {"q": "ada@example.com"}).json()["results"]]
    assert ids == [str(ada.id)]


@pytest.mark.parametrize("q", ["ADA@example.com", "(818) 740 5020"])
def test_an_exact_lookup_answers_as_the_general_search(api_a, workspace_a, ada, q, django_assert_max_num_queries):
    tag = tag_create(workspace=workspace_a, name="vip")
    ada.tags.add(tag)
    Contact.objects.filter(pk=ada.pk).update(
        disposition_status=DispositionStatus.objects.create(workspace=workspace_a, name="Call back")
    )
    contact_make(workspace_a, email="xada@example.com", phone="+1 818-740-5021")
    api_a.get("/api/v1/workspace")  # the credential, now remembered
    # `?q=` alone takes the exact lookup: the contact with its tags, nothing else.
    with django_assert_max_num_queries(1):
        exact = api_a.get("/api/v1/contacts", {"q": q})
    # With another parameter (an empty filter filters nothing) the same search takes the filter
    # set and the paginator.
    general = api_a.get("/api/v1/contacts", {"q": q, "status": ""})
    assert exact.status_code == general.status_code == 200
    assert exact.json() == general.json()
    assert exact.json()["results"][0]["id"] == str(ada.id)
    assert exact.json()["results"][0]["tags"] == ["vip"]
    assert exact.json()["results"][0]["disposition_status"]["name"] == "Call back"
    assert list(exact.json()) == ["next", "previous", "results"]


@pytest.mark.parametrize("q", ["nobody@example.com", "+1 213-555-0100"])
def test_an_exact_lookup_of_nobody_is_an_empty_page(api_a, ada, q):
    assert api_a.get("/api/v1/contacts", {"q": q}).json() == {"next": None, "previous": None, "results": []}


def test_an_exact_lookup_with_more_than_a_page_of_matches_has_a_next_link(api_a, workspace_a):
    # An e-mail identifies only contacts without a phone; contacts with phones may share one.
    made = [contact_make(workspace_a, email="shared@example.com", phone=f"+1 818-740-{5000 + n}") for n in range(21)]
    first = api_a.get("/api/v1/contacts", {"q": "shared@example.com"}).json()
    assert [item["id"] for item in first["results"]] == [str(c.id) for c in reversed(made)][:20]
    assert first["next"]
    rest = api_a.get(first["next"]).json()
    assert [item["id"] for item in rest["results"]] == [str(made[0].id)]


@pytest.mark.parametrize("limit", [None, 3, 20, 100])
def test_an_exact_lookup_pages_as_the_general_search(api_a, workspace_a, limit, django_assert_max_num_queries):
    made = [contact_make(workspace_a, email="shared@example.com", phone=f"+1 818-740-{5000 + n}") for n in range(22)]
    vip, early = tag_create(workspace=workspace_a, name="vip"), tag_create(workspace=workspace_a, name="Early")
    for contact in made[::2]:
        contact.tags.add(vip, early)
    params = {"q": "shared@example.com"} if limit is None else {"q": "shared@example.com", "limit": limit}
    api_a.get("/api/v1/workspace")  # the credential, now remembered
    with django_assert_max_num_queries(1):  # the contacts with their tags
        exact = api_a.get("/api/v1/contacts", params)
    general = api_a.get("/api/v1/contacts", {**params, "status": ""})
    assert exact.status_code == general.status_code == 200
    body, expected = exact.json(), general.json()
    assert list(body) == ["next", "previous", "results"]
    assert body["results"] == expected["results"]
    assert body["previous"] is None
    assert (body["next"] is None) == (expected["next"] is None) == (len(made) <= (limit or 20))
    if body["next"]:
        rest = api_a.get(body["next"]).json()["results"]
        assert rest == api_a.get(expected["next"]).json()["results"]
        assert len(body["results"]) + len(rest) == min(len(made), 2 * (limit or 20))
    assert body["results"][0]["tags"] == []  # the newest, made[21]
    assert body["results"][1]["tags"] == ["Early", "vip"]  # sorted as Python sorts them


@pytest.mark.parametrize("limit", ["0", "101", "x"])
def test_an_exact_lookup_with_a_bad_limit_is_a_400_on_limit(api_a, ada, limit):
    error = error_of(api_a.get("/api/v1/contacts", {"q": "ada@example.com", "limit": limit}), 400, "VALIDATION_ERROR")
    assert "limit" in error["details"]


@pytest.mark.parametrize("q", ["1" * 201, "(818) 740 5020\x00"])
def test_a_search_the_filter_refuses_is_a_400_on_q(api_a, ada, q):
    # Too long, or with a NUL character (which the phone parser would skip): the exact lookup
    # leaves it to the filter set, whose answer it is.
    error = error_of(api_a.get("/api/v1/contacts", {"q": q}), 400, "VALIDATION_ERROR")
    assert "q" in error["details"]


def test_filters_by_status_tag_owner_source_hot_and_created_range(api_a, workspace_a, owner_a, ada):
    tag = tag_create(workspace=workspace_a, name="vip")
    hot = contact_make(workspace_a, email="hot@example.com", source="widget", message_count=7)
    hot.tags.add(tag)
    Contact.objects.filter(pk=hot.pk).update(owner=owner_a, status="booked")

    def ids(**params):
        return {item["id"] for item in api_a.get("/api/v1/contacts", params).json()["results"]}

    assert ids(status="booked") == {str(hot.id)}
    assert ids(tag="vip") == {str(hot.id)}
    assert ids(owner=owner_a.pk) == {str(hot.id)}
    assert ids(source="widget") == {str(hot.id)}
    assert ids(hot="true") == {str(hot.id)}
    assert ids(hot="false") == {str(ada.id)}
    assert ids(created_after="2000-01-01T00:00:00Z") == {str(hot.id), str(ada.id)}
    assert ids(created_before="2000-01-01T00:00:00Z") == set()


def test_a_forged_cursor_is_a_400_on_cursor(api_a):
    forged = base64.b64encode(b"p=not-a-date").decode()
    response = api_a.get("/api/v1/contacts", {"cursor": forged})
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["details"]


@pytest.mark.parametrize(
    "params, field",
    [({"status": "nope"}, "status"), ({"owner": "me"}, "owner"), ({"created_after": "yesterday"}, "created_after")],
)
def test_a_bad_filter_is_a_validation_error_naming_it(api_a, params, field):
    error = error_of(api_a.get("/api/v1/contacts", params), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_list_queries_do_not_grow_with_the_page(api_a, workspace_a, django_assert_max_num_queries):
    tags = [tag_create(workspace=workspace_a, name=f"t{n}") for n in range(3)]
    disposition = DispositionStatus.objects.create(workspace=workspace_a, name="Call back")
    for n in range(30):
        contact = contact_make(workspace_a, email=f"c{n}@example.com", name=f"C {n}")
        contact.tags.add(*tags)
        Contact.objects.filter(pk=contact.pk).update(disposition_status=disposition)
    with django_assert_max_num_queries(6):
        body = api_a.get("/api/v1/contacts", {"limit": 100}).json()
    assert len(body["results"]) == 30
    assert body["results"][0]["disposition_status"]["name"] == "Call back"
    assert len(body["results"][0]["tags"]) == 3


# --- create ----------------------------------------------------------------------------------


def test_create_answers_201_with_the_contact_and_emits_lead_created(api_a, workspace_a, owner_a):
    tag_create(workspace=workspace_a, name="vip")
    line = Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18185550100")
    response = api_a.post(
        "/api/v1/contacts",
        {
            "phone_number": "(818) 740 5020",
            "email": "Ada@Example.com",
            "name": "Ada",
            "status": "won",
            "owner_id": owner_a.pk,
            "line_id": line.pk,
            "tags": ["vip"],
            "utm_source": "google",
            "custom_fields": {"interest": "implants"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone_number"] == "+18187405020"
    assert body["email"] == "ada@example.com"
    assert body["status"] == "won"
    assert body["owner_id"] == owner_a.pk
    assert body["line_id"] == line.pk
    assert body["tags"] == ["vip"]
    assert body["attribution"]["first_touch"]["utm_source"] == "google"
    assert response["Location"] == f"/api/v1/contacts/{body['id']}"
    assert Event.objects.filter(workspace=workspace_a, type="lead.created").count() == 1


def test_create_of_an_existing_person_is_409_with_its_id_and_changes_nothing(api_a, workspace_a, ada):
    before = Contact.objects.get(pk=ada.pk)
    events = Event.objects.count()
    response = api_a.post(
        "/api/v1/contacts", {"phone_number": "8187405020", "name": "Other", "utm_source": "fb"}, format="json"
    )
    error = error_of(response, 409, "CONFLICT")
    assert error["details"] == {"id": str(ada.id), "field": "phone_number"}
    after = Contact.objects.get(pk=ada.pk)
    assert (after.name, after.latest_touch) == (before.name, before.latest_touch)
    assert Event.objects.count() == events
    assert Contact.objects.filter(workspace=workspace_a).count() == 1


def test_create_of_an_existing_email_without_phone_is_409(api_a, workspace_a):
    existing = contact_make(workspace_a, email="solo@example.com")
    error = error_of(api_a.post("/api/v1/contacts", {"email": "SOLO@example.com"}, format="json"), 409, "CONFLICT")
    assert error["details"]["id"] == str(existing.id)


def test_the_same_person_in_another_workspace_is_a_new_contact(api_b, ada):
    assert api_b.post("/api/v1/contacts", {"phone_number": "8187405020"}, format="json").status_code == 201


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "No identity"}, "phone_number"),
        ({"phone_number": "12"}, "phone_number"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@example.com", "status": "hot"}, "status"),
        ({"email": "a@example.com", "tags": ["missing"]}, "tags"),
        ({"email": "a@example.com", "owner_id": 999999}, "owner_id"),
        ({"email": "a@example.com", "owner_id": 10**30}, "owner_id"),
        ({"email": "a@example.com", "line_id": "x"}, "line_id"),
        ({"email": "a@example.com", "custom_fields": {"a": "\x00"}}, "custom_fields"),
        ({"email": "a@example.com", "name": "x" * 201}, "name"),
    ],
)
def test_invalid_create_is_400_naming_the_field(api_a, body, field):
    error = error_of(api_a.post("/api/v1/contacts", body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_foreign_ids_are_not_found_on_create(api_a, workspace_b, outsider):
    line_b = Line.objects.create(workspace=workspace_b, name="B", phone_number="+18185550199")
    for body, field in (({"owner_id": outsider.pk}, "owner_id"), ({"line_id": line_b.pk}, "line_id")):
        response = api_a.post("/api/v1/contacts", {"email": "x@example.com", **body}, format="json")
        assert field in error_of(response, 400, "VALIDATION_ERROR")["details"]


def test_create_honours_idempotency_key(api_a, workspace_a):
    first = api_a.post("/api/v1/contacts", {"email": "idem@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api_a.post("/api/v1/contacts", {"email": "idem@example.com"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Contact.objects.filter(workspace=workspace_a).count() == 1


# --- retrieve, update, delete ---------------------------------------------------------------


def test_outsider_gets_404_on_every_contact_endpoint(api_b, ada):
    for method, url, body in (
        ("get", f"/api/v1/contacts/{ada.id}", None),
        ("patch", f"/api/v1/contacts/{ada.id}", {"name": "x"}),
        ("delete", f"/api/v1/contacts/{ada.id}", None),
        ("get", f"/api/v1/contacts/{ada.id}/notes", None),
        ("post", f"/api/v1/contacts/{ada.id}/notes", {"body": "x"}),
        ("get", f"/api/v1/contacts/{ada.id}/timeline", None),
    ):
        response = getattr(api_b, method)(url, body, format="json")
        error_of(response, 404, "NOT_FOUND")
    assert Contact.objects.get(pk=ada.pk).name == "Ada Lovelace"
    assert not Note.objects.exists()


@pytest.mark.parametrize("contact_id", ["not-a-uuid", str(uuid.uuid4()), "1"])
def test_missing_or_malformed_id_is_404(api_a, contact_id):
    error_of(api_a.get(f"/api/v1/contacts/{contact_id}"), 404, "NOT_FOUND")


def test_a_key_without_contacts_write_gets_403(reader_a, ada):
    assert reader_a.get(f"/api/v1/contacts/{ada.id}").status_code == 200
    for method, url, body in (
        ("post", "/api/v1/contacts", {"email": "x@example.com"}),
        ("patch", f"/api/v1/contacts/{ada.id}", {"name": "x"}),
        ("delete", f"/api/v1/contacts/{ada.id}", None),
        ("post", f"/api/v1/contacts/{ada.id}/notes", {"body": "x"}),
    ):
        error_of(getattr(reader_a, method)(url, body, format="json"), 403, "FORBIDDEN")


def test_a_key_without_contacts_read_gets_403(workspace_a, make_key, client_for, ada):
    client = client_for(make_key(workspace_a, scopes=["stats:read"]))
    for url in ("/api/v1/contacts", f"/api/v1/contacts/{ada.id}", f"/api/v1/contacts/{ada.id}/timeline"):
        error_of(client.get(url), 403, "FORBIDDEN")


def test_patch_sets_exactly_the_given_fields(api_a, workspace_a, ada, owner_a):
    tag_create(workspace=workspace_a, name="vip")
    response = api_a.patch(
        f"/api/v1/contacts/{ada.id}",
        {"company_name": "", "status": "lost", "owner_id": owner_a.pk, "tags": ["vip"], "phone_number": "8187405021"},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["company_name"] == ""
    assert body["name"] == "Ada Lovelace"
    assert body["status"] == "lost"
    assert body["owner_id"] == owner_a.pk
    assert body["tags"] == ["vip"]
    assert body["phone_number"] == "+18187405021"
    assert Event.objects.filter(type="lead.updated").exists()
    assert api_a.patch(f"/api/v1/contacts/{ada.id}", {"tags": []}, format="json").json()["tags"] == []


def test_patch_to_another_contacts_phone_is_409_naming_it(api_a, workspace_a, ada):
    other = contact_make(workspace_a, phone="8185550123")
    error = error_of(
        api_a.patch(f"/api/v1/contacts/{other.id}", {"phone_number": "(818) 740-5020"}, format="json"),
        409,
        "CONFLICT",
    )
    assert error["details"] == {"field": "phone_number", "id": str(ada.id)}
    assert Contact.objects.get(pk=other.pk).phone_number == "+18185550123"


def test_patch_to_another_phoneless_contacts_email_is_409(api_a, workspace_a):
    one = contact_make(workspace_a, email="one@example.com")
    two = contact_make(workspace_a, email="two@example.com")
    error = error_of(
        api_a.patch(f"/api/v1/contacts/{two.id}", {"email": "one@example.com"}, format="json"), 409, "CONFLICT"
    )
    assert error["details"] == {"field": "email", "id": str(one.id)}


def test_patch_clearing_the_phone_onto_a_taken_email_is_409_not_500(api_a, workspace_a):
    contact_make(workspace_a, email="shared@example.com")
    with_phone = Contact.objects.create(workspace=workspace_a, phone_number="+18185550124", email="shared@example.com")
    response = api_a.patch(f"/api/v1/contacts/{with_phone.id}", {"phone_number": None}, format="json")
    error_of(response, 409, "CONFLICT")


def test_patch_cannot_remove_both_phone_and_email(api_a, ada):
    response = api_a.patch(f"/api/v1/contacts/{ada.id}", {"phone_number": "", "email": ""}, format="json")
    assert "phone_number" in error_of(response, 400, "VALIDATION_ERROR")["details"]


def test_delete_answers_204_and_removes_the_contact(api_a, ada):
    assert api_a.delete(f"/api/v1/contacts/{ada.id}").status_code == 204
    assert not Contact.objects.filter(pk=ada.pk).exists()
    error_of(api_a.get(f"/api/v1/contacts/{ada.id}"), 404, "NOT_FOUND")


# --- notes and timeline ----------------------------------------------------------------------


def test_notes_are_added_and_listed_newest_first(api_a, workspace_a, ada):
    for text in ("first", "second"):
        response = api_a.post(f"/api/v1/contacts/{ada.id}/notes", {"body": text}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["contact_id"] == str(ada.id)
    bodies = [note["body"] for note in api_a.get(f"/api/v1/contacts/{ada.id}/notes").json()["results"]]
    assert bodies == ["second", "first"]
    assert Event.objects.filter(workspace=workspace_a, type="note.created").count() == 2


def test_an_empty_note_is_400_on_body(api_a, ada):
    error = error_of(
        api_a.post(f"/api/v1/contacts/{ada.id}/notes", {"body": "  "}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "body" in error["details"]


def test_timeline_lists_what_happened_newest_first(api_a, ada):
    api_a.post(f"/api/v1/contacts/{ada.id}/notes", {"body": "hello"}, format="json")
    body = api_a.get(f"/api/v1/contacts/{ada.id}/timeline", {"limit": 1}).json()
    assert [entry["kind"] for entry in body["results"]] == ["note"]
    assert body["next"]
    kinds = []
    while body["next"]:
        body = api_a.get(body["next"]).json()
        kinds += [entry["kind"] for entry in body["results"]]
    assert kinds[-1] == "created"


def test_notes_and_timeline_keep_their_queries_fixed(api_a, ada, django_assert_max_num_queries):
    for n in range(25):
        api_a.post(f"/api/v1/contacts/{ada.id}/notes", {"body": f"n{n}"}, format="json")
    with django_assert_max_num_queries(5):
        assert len(api_a.get(f"/api/v1/contacts/{ada.id}/notes", {"limit": 100}).json()["results"]) == 25
    with django_assert_max_num_queries(5):
        assert len(api_a.get(f"/api/v1/contacts/{ada.id}/timeline", {"limit": 100}).json()["results"]) >= 25


@pytest.mark.parametrize("label", ["\x00", "\ud800"])
def test_a_label_the_database_cannot_store_is_400_not_500(api_a, label):
    body = {"email": "a@example.com", "other_phone_numbers": [{"label": label, "phone_number": "8187405021"}]}
    response = api_a.post("/api/v1/contacts", json.dumps(body), content_type="application/json")
    if label == "\ud800":  # not valid Unicode at all: the JSON parser refuses the body
        assert "body" in error_of(response, 400, "BAD_REQUEST")["details"]
    else:
        assert "other_phone_numbers" in error_of(response, 400, "VALIDATION_ERROR")["details"]
