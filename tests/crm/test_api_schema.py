"""The CRM's and the widget's endpoints in the OpenAPI schema: each with an example, the
native ones with their auth, the widget's public (no 401/403, no Idempotency-Key)."""

import pytest
import yaml

from crm.contacts.fields import REPRESENTATION

from .support import contact_make

pytestmark = pytest.mark.django_db

PATHS = [
    "/api/v1/contacts",
    "/api/v1/contacts/{id}",
    "/api/v1/contacts/{id}/notes",
    "/api/v1/contacts/{id}/timeline",
    "/api/v1/tags",
    "/api/v1/lines",
    "/api/v1/ring-groups",
    "/api/v1/sequences",
    "/api/v1/sequences/{id}/enrollments",
    "/api/v1/sequences/{id}/enrollments/{contact_id}",
    "/api/v1/stats",
    "/api/zapier-webhook",
    "/api/save-lead",
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return yaml.safe_load(Client().get("/api/schema/").content)


def _has_example(operation) -> bool:
    for response in operation["responses"].values():
        for content in response.get("content", {}).values():
            if content.get("examples"):
                return True
    return False


@pytest.mark.parametrize("path", PATHS)
def test_every_operation_has_an_example(schema, path):
    operations = schema["paths"][path]
    assert operations
    for method, operation in operations.items():
        assert _has_example(operation) or method == "delete", (path, method)


def test_native_operations_name_their_auth_and_errors(schema):
    for path in PATHS[:-1]:
        for operation in schema["paths"][path].values():
            assert {"apiKeyBearer": []} in operation["security"], path
            assert {"401", "403", "429"} <= set(operation["responses"]), path


def test_duplicate_create_is_documented_as_409(schema):
    operation = schema["paths"]["/api/v1/contacts"]["post"]
    assert "409" in operation["responses"]
    assert "409 CONFLICT" in operation["description"]


def test_enrolling_twice_is_documented_as_409(schema):
    operation = schema["paths"]["/api/v1/sequences/{id}/enrollments"]["post"]
    assert {"201", "404", "409"} <= set(operation["responses"])
    assert "409 CONFLICT" in operation["description"]


def test_the_widget_endpoint_is_public(schema):
    operation = schema["paths"]["/api/save-lead"]["post"]
    assert not operation.get("security")
    assert "401" not in operation["responses"] and "403" not in operation["responses"]
    assert not any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))


def test_the_contact_example_shows_the_representation(schema, api_a, workspace_a):
    """The documented contact has exactly the fields the API answers, in its order, each of the
    JSON type the API gives it (null aside)."""
    content = schema["paths"]["/api/v1/contacts/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    (example,) = [example["value"] for example in content["examples"].values()]
    assert list(example) == list(REPRESENTATION)
    contact = contact_make(workspace_a, phone="8187405020")
    answered = api_a.get(f"/api/v1/contacts/{contact.id}").json()
    for name, value in example.items():
        if value is not None and answered[name] is not None:
            assert type(value) is type(answered[name]), name
