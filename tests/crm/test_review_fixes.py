"""Inputs a review found could reach the database unchecked: each is a clear 4xx, never a 500."""

import base64

import pytest

from crm.models import Contact, TimelineEntry

pytestmark = pytest.mark.django_db
INTAKE = "/api/v1/webhook/forms"


@pytest.fixture
def post(client, workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])

    def send(body, **extra):
        return client.post(INTAKE, {"api_token": key, **body}, content_type="application/json", **extra)

    return send


def test_a_workspace_without_agency_cannot_make_a_stranger_the_owner(client, workspace_b, make_key, owner_a):
    assert workspace_b.agency_id is None
    key = make_key(workspace_b, scopes=["intake"])
    response = client.post(
        INTAKE, {"api_token": key, "phone_number": "8187405020", "user_id": owner_a.pk}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "user_id" in response.json()["errors"]
    assert not Contact.objects.exists()


def test_a_name_joined_from_long_first_and_last_names_fits(post):
    response = post({"phone_number": "8187405020", "first_name": "a" * 100, "last_name": "b" * 100})
    assert response.status_code == 201
    assert len(Contact.objects.get().name) == 200


def test_unknown_field_names_are_not_stored(post):
    response = post({"phone_number": "8187405020", "\u0000": 1, "name": "Ada", "junk": 2})
    assert response.status_code == 201
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.CREATED)
    assert entry.data["fields"] == ["name", "phone_number"]


@pytest.mark.parametrize("field", ["name", "notes", "city"])
def test_a_lone_surrogate_is_a_400_not_a_500(client, workspace_a, make_key, field):
    key = make_key(workspace_a, scopes=["intake"])
    raw = '{"api_token": "' + key + '", "phone_number": "8187405020", "' + field + '": "x\\ud800y"}'
    response = client.post(INTAKE, raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["message"] == "The given data was invalid."


def test_a_lone_surrogate_in_the_token_is_a_401(client):
    response = client.post(
        INTAKE, '{"api_token": "lh_\\ud800", "phone_number": "8187405020"}', content_type="application/json"
    )
    assert response.status_code in (400, 401)


def test_a_forged_cursor_is_a_400_on_cursor(api_a):
    forged = base64.b64encode(b"p=not-a-date").decode()
    response = api_a.get("/api/v1/contacts", {"cursor": forged})
    assert response.status_code == 400
    assert "cursor" in response.json()["error"]["details"]


def test_a_nul_bot_id_on_the_preflight_is_refused_quietly(client):
    response = client.options("/api/save-lead?bot_id=%00", HTTP_ORIGIN="https://example.com")
    assert response.status_code < 500
    assert "Access-Control-Allow-Origin" not in response
