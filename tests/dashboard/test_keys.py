"""API keys in the dashboard: the secret is shown once and works; revoking stops it at once."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey

pytestmark = pytest.mark.django_db


def keys_url(workspace, rest=""):
    return f"/w/{workspace.pk}/keys/{rest}"


def test_a_new_key_shows_its_secret_once_and_it_works(owner_client, owner_a, workspace_a):
    response = owner_client.post(keys_url(workspace_a), {"name": "Zapier", "scopes": ["contacts:read"]})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["new_key"].secret
    assert secret.startswith("lh_") and secret in response.content.decode()
    key = ApiKey.objects.get(workspace=workspace_a)
    assert (key.name, key.scopes, key.created_by) == ("Zapier", ["contacts:read"], owner_a)
    assert secret not in key.key_hash
    # The secret answers the API with exactly the scopes ticked.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get("/api/v1/contacts").status_code == 200
    assert api.post("/api/v1/contacts", {"phone_number": "+18187405020"}, format="json").status_code == 403
    # Never again: the list shows the prefix only.
    page = owner_client.get(keys_url(workspace_a)).content.decode()
    assert secret not in page
    assert key.prefix in page


def test_a_key_needs_a_name_and_at_least_one_scope(owner_client, workspace_a):
    response = owner_client.post(keys_url(workspace_a), {"name": "", "scopes": []})
    assert response.status_code == 400
    assert b"Give the key a name" in response.content and b"Tick at least one scope" in response.content
    assert not ApiKey.objects.exists()


def test_an_unknown_scope_is_refused(owner_client, workspace_a):
    response = owner_client.post(keys_url(workspace_a), {"name": "x", "scopes": ["everything"]})
    assert response.status_code == 400
    assert not ApiKey.objects.exists()


def test_revoking_stops_the_key_at_once(owner_client, workspace_a, make_key, client_for):
    secret = make_key(workspace_a)
    api = client_for(secret)
    assert api.get("/api/v1/contacts").status_code == 200  # now cached as valid
    key = ApiKey.objects.get(workspace=workspace_a)
    response = owner_client.post(keys_url(workspace_a, f"{key.pk}/revoke"))
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/v1/contacts").status_code == 401
    assert b"revoked" in owner_client.get(keys_url(workspace_a)).content


def test_an_empty_key_list_says_what_keys_are_for(owner_client, workspace_a):
    assert b"No API keys yet" in owner_client.get(keys_url(workspace_a)).content
