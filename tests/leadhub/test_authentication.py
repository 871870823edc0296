"""Authentication, plan and scope permissions on the native API."""

import pytest
from django.utils import timezone

from accounts.models import ApiKey
from accounts.services import api_key_revoke

URL = "/api/v1/workspace"
pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert isinstance(body["error"]["details"], dict)
    assert "Traceback" not in response.content.decode()
    return body["error"]


def test_bearer_api_key_reads_its_workspace(api_a, workspace_a):
    response = api_a.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(workspace_a.id)
    assert body["plan"]["code"] == "business"
    assert body["plan"]["features"] == {"api_access": True, "webhooks": True, "campaigns": False}
    assert body["credential"]["type"] == "api_key"
    assert "contacts:read" in body["credential"]["scopes"]
    assert body["rate_limit"]["limit"] == 120
    assert body["rate_limit"]["remaining"] == 119


def test_x_leadhub_key_header_works(client, workspace_a, make_key):
    response = client.get(URL, HTTP_X_LEADHUB_KEY=make_key(workspace_a))
    assert response.status_code == 200
    assert response.json()["id"] == str(workspace_a.id)


def test_missing_credential_is_401_with_challenge(client):
    response = client.get(URL)
    error = assert_envelope(response, 401, "UNAUTHORIZED")
    assert "not provided" in error["message"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_AUTHORIZATION": "Bearer lh_not-a-real-key"},
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_AUTHORIZATION": "Bearer not-a-token"},
        {"HTTP_X_LEADHUB_KEY": "garbage"},
        {"HTTP_X_LEADHUB_KEY": ""},
    ],
    ids=["unknown-key", "empty-bearer", "unknown-token", "malformed-header-key", "empty-header-key"],
)
def test_malformed_or_unknown_credential_is_401(client, headers):
    assert_envelope(client.get(URL, **headers), 401, "UNAUTHORIZED")


def test_revoked_key_is_401(client_for, workspace_a, make_key):
    secret = make_key(workspace_a)
    api_key_revoke(api_key=ApiKey.objects.get(workspace=workspace_a))
    error = assert_envelope(client_for(secret).get(URL), 401, "UNAUTHORIZED")
    assert "revoked" in error["message"]


def test_key_is_stored_only_as_hash_with_prefix(workspace_a, make_key):
    secret = make_key(workspace_a)
    api_key = ApiKey.objects.get(workspace=workspace_a)
    assert secret.startswith("lh_") and len(secret) >= 35
    assert api_key.prefix == secret[:11]
    stored = [str(value) for value in ApiKey.objects.values_list(flat=False).get()]
    assert not any(secret in value for value in stored)


def test_last_used_at_is_recorded(api_a, workspace_a):
    before = timezone.now()
    api_a.get(URL)
    assert ApiKey.objects.get(workspace=workspace_a).last_used_at >= before


def test_plan_without_api_is_403(free_workspace, make_key, client_for):
    error = assert_envelope(client_for(make_key(free_workspace)).get(URL), 403, "FORBIDDEN")
    assert error["message"] == "REST API is not available on your current plan."


@pytest.mark.urls("tests.leadhub.urls")
def test_missing_scope_is_403(workspace_a, make_key, client_for):
    client = client_for(make_key(workspace_a, scopes=["stats:read"]))
    error = assert_envelope(client.get("/api/v1/test/scoped"), 403, "FORBIDDEN")
    assert "contacts:read" in error["message"]


@pytest.mark.urls("tests.leadhub.urls")
def test_granted_scope_passes(workspace_a, make_key, client_for):
    client = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    assert client.get("/api/v1/test/scoped").status_code == 200


@pytest.mark.urls("tests.leadhub.urls")
def test_contacts_write_implies_intake(workspace_a, make_key, client_for):
    client = client_for(make_key(workspace_a, scopes=["contacts:write"]))
    assert "intake" in client.get(URL).json()["credential"]["scopes"]


def test_outsider_key_sees_only_its_own_workspace(api_b, workspace_a, workspace_b):
    body = api_b.get(URL).json()
    assert body["id"] == str(workspace_b.id)
    assert str(workspace_a.id) not in str(body)


@pytest.mark.urls("tests.leadhub.urls")
def test_another_workspaces_object_is_404_like_a_missing_one(api_b, workspace_a, make_key):
    make_key(workspace_a, name="A's key")
    key_of_a = ApiKey.objects.get(workspace=workspace_a, name="A's key")
    foreign = api_b.get(f"/api/v1/test/keys/{key_of_a.id}")
    missing = api_b.get("/api/v1/test/keys/00000000-0000-0000-0000-000000000000")
    garbage = api_b.get("/api/v1/test/keys/not-a-uuid")
    for response in (foreign, missing, garbage):
        assert_envelope(response, 404, "NOT_FOUND")
    assert foreign.json() == missing.json()


def test_a_key_revoked_after_use_stops_working_at_once(client_for, workspace_a, make_key):
    secret = make_key(workspace_a)
    client = client_for(secret)
    assert client.get(URL).status_code == 200  # now cached
    api_key_revoke(api_key=ApiKey.objects.get(workspace=workspace_a))
    assert client.get(URL).status_code == 401


def test_changed_scopes_apply_at_once(client_for, workspace_a, make_key):
    from accounts.services import api_key_update

    client = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    assert client.get(URL).json()["credential"]["scopes"] == ["contacts:read"]
    api_key_update(api_key=ApiKey.objects.get(workspace=workspace_a), name="renamed", scopes=["stats:read"])
    assert client.get(URL).json()["credential"]["scopes"] == ["stats:read"]


def test_a_cached_key_needs_no_query(api_a, django_assert_num_queries):
    api_a.get(URL)
    with django_assert_num_queries(0):
        assert api_a.get(URL).status_code == 200


def test_the_response_matches_its_documented_serializer(api_a):
    from accounts.api import WorkspaceSerializer

    body = api_a.get(URL).json()
    serializer = WorkspaceSerializer(data=body)
    assert serializer.is_valid(), serializer.errors

    def shape(fields):
        return {name: shape(field.fields) if hasattr(field, "fields") else None for name, field in fields.items()}

    def body_shape(value, documented):
        return {
            name: body_shape(value[name], sub) if isinstance(sub, dict) and isinstance(value[name], dict) else None
            for name, sub in documented.items()
        } | {name: "undocumented" for name in value if name not in documented}

    documented = shape(WorkspaceSerializer().fields)
    assert body_shape(body, documented) == documented
