"""The OpenAPI schema: valid, complete for the native API, and served with its docs."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert out.stat().st_size > 0


def test_schema_describes_auth_errors_and_rate_limits(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    schemes = schema["components"]["securitySchemes"]
    assert schemes["apiKeyBearer"]["scheme"] == "bearer"
    assert schemes["apiKeyHeader"]["name"] == "X-LeadHub-Key"
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == "/o/token/"
    assert "contacts:read" in schemes["oauth2"]["flows"]["clientCredentials"]["scopes"]

    operation = schema["paths"]["/api/v1/workspace"]["get"]
    assert {"apiKeyBearer": []} in operation["security"]
    for status in ("200", "400", "401", "403", "429"):
        assert status in operation["responses"]
    assert operation["responses"]["401"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
    assert "RateLimit-Remaining" in operation["responses"]["200"]["headers"]
    assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert operation["responses"]["200"]["content"]["application/json"]["examples"]


def test_docs_page_is_served_with_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr.net" not in page


def test_the_schema_is_built_once_per_process_and_format(client, monkeypatch):
    from drf_spectacular.generators import SchemaGenerator

    from leadhub.views import SchemaView

    monkeypatch.setattr(SchemaView, "_built", {})
    builds = []
    build = SchemaGenerator.get_schema

    def counted(self, *args, **kwargs):
        builds.append(1)
        return build(self, *args, **kwargs)

    monkeypatch.setattr(SchemaGenerator, "get_schema", counted)
    first, second = client.get("/api/schema/"), client.get("/api/schema/")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    assert first["Content-Type"] == second["Content-Type"]
    assert yaml.safe_load(second.content)["openapi"].startswith("3.")
    assert len(builds) == 1
    as_json = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert as_json.json()["paths"]
    assert client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").content == as_json.content
    assert len(builds) == 2


def test_what_a_client_sends_never_grows_the_schema_cache(client, monkeypatch):
    """?version= and Accept parameters are the client's: each new value must not build (and keep)
    another copy of the schema."""
    from leadhub.views import SchemaView

    monkeypatch.setattr(SchemaView, "_built", {})
    for n in range(5):
        assert client.get("/api/schema/", {"version": f"v{n}"}).status_code == 200
        client.get("/api/schema/", HTTP_ACCEPT=f"application/vnd.oai.openapi+json; x={n}")
    assert len(SchemaView._built) <= 2  # YAML and JSON
