"""Nothing a client sends produces a 500 (SPEC §10): bodies nested deep, too many form fields, a
body over the size limit, on every public and API endpoint, each a 4xx in the endpoint's shape."""

import datetime as dt
import json

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Plan
from accounts.scopes import ALL_SCOPES
from accounts.services import api_key_create, workspace_create
from messaging.brains.services import brain_create
from tests.leadhub.test_strict_input import routes_taking_a_body

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# (name, path, credential): "intake" an intake key, "key" an all-scopes key, None public. The
# Calendly webhook gets a signature header so that the body is read (it is checked after).
ENDPOINTS = [
    ("intake", "/api/v1/webhook/forms", "intake"),
    ("save-lead", "/api/save-lead", None),
    ("book-meeting", "/api/book-meeting", None),
    ("whatsapp-inbound", "/api/whatsapp-inbound", None),
    ("twilio-status", "/api/twilio/status", None),
    ("twilio-gather", "/api/twilio/gather", None),
    ("calendly-webhook", "/api/calendly/webhook", None),
    ("zapier", "/api/zapier-webhook?action=create-note", "key"),
    ("oauth-token", "/o/token/", None),
    ("oauth-revoke", "/o/revoke_token/", None),
    ("contacts", "/api/v1/contacts", "key"),
    ("webhooks", "/api/v1/webhooks", "key"),
    ("tags", "/api/v1/tags", "key"),
    ("knowledge", "/api/v1/knowledge", "key"),
]
# What reads only forms answers a JSON body 415; what reads only JSON answers a form 415.
FORM_ONLY = {"whatsapp-inbound", "twilio-status", "twilio-gather"}
JSON_ONLY = {"zapier", "contacts", "webhooks", "tags", "knowledge"}


@pytest.fixture
def post(workspace_a):
    keys = {
        "intake": api_key_create(workspace=workspace_a, name="intake", scopes=["intake"]).secret,
        "key": api_key_create(
            workspace=workspace_a, name="all", scopes=["contacts:write", "webhooks:write", "knowledge:write"]
        ).secret,
    }

    def send(path, credential, body: bytes, content_type: str):
        headers = {"HTTP_CALENDLY_WEBHOOK_SIGNATURE": "t=1,v1=00"}
        if credential:
            headers["HTTP_AUTHORIZATION"] = f"Bearer {keys[credential]}"
        return Client().post(path, body, content_type=content_type, **headers)

    return send


def _json_body(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:300])
    body = response.json()
    assert isinstance(body, dict) and body, body
    assert "Traceback" not in response.content.decode()
    return body


def _deep(depth: int) -> bytes:
    return b'{"name": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(("name", "path", "credential"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_json_nested_50000_deep_is_a_4xx(post, name, path, credential):
    response = post(path, credential, _deep(50_000), JSON)
    assert response.status_code == (415 if name in FORM_ONLY else 400), response.content[:300]
    _json_body(response)


@pytest.mark.parametrize(("name", "path", "credential"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_more_form_fields_than_django_reads_is_a_400_not_a_page(post, name, path, credential):
    fields = "&".join(f"f{n}=x" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode()
    response = post(path, credential, fields, FORM)
    assert response.status_code == (415 if name in JSON_ONLY else 400), response.content[:300]
    body = _json_body(response)
    if name.startswith("oauth-"):
        assert body["error"] in {"invalid_request", "unsupported_grant_type"}
    elif name not in JSON_ONLY and name not in {"calendly-webhook"}:
        assert "fields" in json.dumps(body), body  # says what was wrong


@pytest.mark.parametrize(("name", "path", "credential"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
def test_a_body_over_the_size_limit_is_413_with_the_envelope(post, name, path, credential):
    limit = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    body = b'{"name": "' + b"x" * limit + b'"}'
    response = post(path, credential, body, FORM if name in FORM_ONLY else JSON)
    assert response.status_code == 413, response.content[:300]
    payload = _json_body(response)
    if name.startswith("oauth-"):
        assert payload["error"] == "payload_too_large"
        assert str(limit) in payload["error_description"]
    else:
        assert payload["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert str(limit) in payload["error"]["message"]


def test_a_body_under_the_limit_of_a_view_with_a_larger_one_is_read(api_a, settings):
    # Campaigns take bodies up to CAMPAIGN_MAX_REQUEST_BYTES: the global limit does not refuse them.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_a.post("/api/v1/campaigns", {"name": "x" * 2000}, format="json")
    assert response.status_code == 403  # the plan (business) has no campaigns: the body got past the size check
    settings.CAMPAIGN_MAX_REQUEST_BYTES = 1500
    response = api_a.post("/api/v1/campaigns", {"name": "x" * 2000}, format="json")
    assert response.status_code == 413


@pytest.mark.parametrize("action", [["create-note"], {"name": "create-note"}, 7])
def test_a_zapier_action_that_is_not_a_string_is_400_on_action(api_a, action):
    response = api_a.post("/api/zapier-webhook", {"action": action, "session_id": "s1", "note": "hello"}, format="json")
    assert response.status_code == 400, response.content
    assert "action" in response.json()["error"]["details"]


def test_intake_takes_at_most_20_other_phone_numbers(client, workspace_a):
    key = api_key_create(workspace=workspace_a, name="intake", scopes=["intake"]).secret
    others = [{"label": f"n{n}", "phone_number": f"+1818740{5100 + n}"} for n in range(21)]
    body = {"api_token": key, "phone_number": "+18187405020", "other_phone_numbers": others}
    response = client.post("/api/v1/webhook/forms", body, content_type=JSON)
    assert response.status_code == 400, response.content
    assert "other_phone_numbers" in response.json()["errors"]
    body["other_phone_numbers"] = others[:20]
    response = client.post("/api/v1/webhook/forms", body, content_type=JSON)
    assert response.status_code == 201, response.content


@pytest.fixture
def bot_id(workspace_a):
    return brain_create(workspace=workspace_a, name="Front desk").bot_id


def _save_lead(client, bot_id, session_id):
    return client.post(
        "/api/save-lead",
        {"bot_id": bot_id, "session_id": session_id, "messages": [{"role": "user", "content": "hi"}]},
        content_type=JSON,
    )


def test_new_widget_conversations_per_brain_per_hour_are_capped(client, bot_id, settings, workspace_a):
    settings.WIDGET_NEW_CONVERSATIONS_PER_HOUR = 3
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False) as clock:
        for n in range(3):
            assert _save_lead(client, bot_id, f"s{n}").status_code == 201
        clock.shift(60 * 20)
        refused = _save_lead(client, bot_id, "s-new")
        assert refused.status_code == 429, refused.content
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert int(refused["Retry-After"]) == 40 * 60 + 1  # when the first of the hour leaves it
        assert _save_lead(client, bot_id, "s0").status_code == 200  # a started session carries on
        other_brain = brain_create(workspace=workspace_a, name="Sales desk").bot_id
        assert _save_lead(client, other_brain, "s-other").status_code == 201  # per brain
        clock.shift(40 * 60 + 1)
        assert _save_lead(client, bot_id, "s-new").status_code == 201


nested = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


@pytest.mark.parametrize(("name", "path", "credential"), ENDPOINTS, ids=[e[0] for e in ENDPOINTS])
@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(min_value=1, max_value=3000), leaf=nested, as_form=st.booleans())
def test_nesting_of_any_depth_never_causes_a_server_error(post, name, path, credential, depth, leaf, as_form):
    raw = '{"name": ' + "[" * depth + json.dumps(leaf) + "]" * depth + "}"
    response = post(path, credential, raw.encode(), FORM if as_form else JSON)
    assert 200 <= response.status_code < 500, (depth, response.content[:300])


# --- Every route that takes a body, found in the URLconf (an endpoint added later is held too) ----

_LIMIT = django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
BAD_BODIES = {
    "nested-50000": (_deep(50_000), JSON),
    "too-many-fields": (
        "&".join(f"f{n}=x" for n in range(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode(),
        FORM,
    ),
    "over-the-limit": (b'{"name": "' + b"x" * _LIMIT + b'"}', JSON),
    "form-over-the-limit": (b"name=" + b"x" * _LIMIT, FORM),
}


def test_the_walk_finds_every_public_endpoint():
    paths = {path for path, _ in routes_taking_a_body(("api/", "o/"))}
    assert {path for _, path, _ in ENDPOINTS} - {"/api/zapier-webhook?action=create-note"} <= paths
    assert "/api/zapier-webhook" in paths


@pytest.mark.parametrize("bad", sorted(BAD_BODIES))
@pytest.mark.parametrize("signed_in", [True, False], ids=["with-a-key", "anonymous"])
def test_no_route_answers_a_bad_body_with_a_server_error(bad, signed_in):
    workspace = workspace_create(name="Limits Co", plan_code=Plan.ENTERPRISE, api_rate_per_minute=100_000)
    headers = {"HTTP_CALENDLY_WEBHOOK_SIGNATURE": "t=1,v1=00"}
    if signed_in:
        headers["HTTP_AUTHORIZATION"] = (
            f"Bearer {api_key_create(workspace=workspace, name='all', scopes=ALL_SCOPES).secret}"
        )
    body, content_type = BAD_BODIES[bad]
    assert len(body) > django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE or bad not in {
        "over-the-limit",
        "form-over-the-limit",
    }
    for path, methods in routes_taking_a_body(("api/", "o/")):
        for method in methods:
            response = getattr(Client(), method)(path, body, content_type=content_type, **headers)
            assert 400 <= response.status_code < 500, (method, path, response.status_code, response.content[:300])
            assert response["Content-Type"].startswith("application/json"), (method, path, response.content[:300])
            assert "Traceback" not in response.content.decode(errors="replace")
