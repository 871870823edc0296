"""Strict input on the native API (SPEC §4): unknown query parameters and body fields are a 400
VALIDATION_ERROR naming them, choice errors list the choices, and every path answers with and
without its trailing slash.

The route-wide tests walk the URLconf itself, so an endpoint added later is held to the same
rules without a line here."""

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from accounts.models import Plan
from accounts.scopes import ALL_SCOPES
from accounts.services import api_key_create, workspace_create
from crm.models import Contact

pytestmark = pytest.mark.django_db

# The §5.1 intake is the one native route that ignores what it does not know (form tools post
# whole forms). Nothing else may opt out.
LENIENT = {"lead-intake"}
API_PREFIXES = ("api/v1/", "api/zapier-webhook")
UNKNOWN = "unknown_param_xyz"
_METHODS = ("get", "post", "put", "patch", "delete")


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _concrete(route: str) -> str:
    """A real path for a route: every <converter:name> becomes an id that names nothing."""
    path, rest = "", route
    while "<" in rest:
        head, _, tail = rest.partition("<")
        spec, _, rest = tail.partition(">")
        converter = spec.split(":")[0] if ":" in spec else "str"
        path += head + ("12345" if converter == "int" else str(uuid.uuid4()))
    return "/" + path + rest


def api_routes():
    """(route name or path, concrete path, view class, HTTP methods) of every native API route."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith(API_PREFIXES):
            continue
        view = getattr(pattern.callback, "cls", None)
        if view is None:
            continue
        actions = getattr(pattern.callback, "actions", None)
        methods = sorted(actions) if actions else [m for m in _METHODS if hasattr(view, m)]
        found.append((pattern.name or route, _concrete(route), view, methods))
    return found


def routes_taking_a_body(prefixes: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(concrete path, methods among post/put/patch) of every route under the prefixes that takes
    a body: the native API, the public endpoints (/api/...) and OAuth (/o/...)."""
    found = []
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.startswith(prefixes):
            continue
        view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
        actions = getattr(pattern.callback, "actions", None)
        methods = sorted(actions) if actions else [m for m in _METHODS if view is not None and hasattr(view, m)]
        taking = sorted(set(methods) & {"post", "put", "patch"})
        if taking:
            found.append((_concrete(route), taking))
    return found


@pytest.fixture
def api():
    # Every plan feature and scope, and no rate limit in the way: only strictness answers.
    workspace = workspace_create(name="Strict Co", plan_code=Plan.ENTERPRISE, api_rate_per_minute=100_000)
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_create(workspace=workspace, name='all', scopes=ALL_SCOPES).secret}"
    )
    return client


def test_the_walk_finds_the_native_api():
    names = {name for name, *_ in api_routes()}
    assert {"contacts", "contact", "stats", "workspace", "webhook-list", "hooks", "zapier-webhook"} <= names


def test_only_the_intake_is_lenient():
    for name, path, view, _ in api_routes():
        assert getattr(view, "strict_input", False) is (name not in LENIENT), (name, path, view)


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_route_refuses_an_unknown_query_parameter(api, slash):
    for name, path, _, methods in api_routes():
        if name in LENIENT:
            continue
        for method in methods:
            response = getattr(api, method)(f"{path.rstrip('/')}{slash}?{UNKNOWN}=1", format="json")
            assert response.status_code == 400, (method, path, response.status_code, response.content)
            if method == "head":
                continue  # no body
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR", (method, path)
            assert UNKNOWN in error["details"], (method, path, error)
            assert UNKNOWN in error["message"], (method, path, error)


@pytest.mark.parametrize("slash", ["", "/"])
def test_every_route_refuses_an_unknown_body_field(api, slash):
    for name, path, _, methods in api_routes():
        if name in LENIENT:
            continue
        for method in set(methods) & {"post", "put", "patch"}:
            url = f"{path.rstrip('/')}{slash}"
            if name == "zapier-webhook":
                url += "?action=create-note"
            response = getattr(api, method)(url, {UNKNOWN: 1}, format="json")
            assert response.status_code == 400, (method, path, response.status_code, response.content)
            error = response.json()["error"]
            assert error["code"] == "VALIDATION_ERROR", (method, path)
            assert UNKNOWN in error["details"], (method, path, error)


# --- What a client sees, endpoint by endpoint ------------------------------------------------------


def test_a_typo_in_a_body_field_is_named_with_a_suggestion(api_a):
    response = api_a.post("/api/v1/contacts", {"phone_numbr": "+18187405020", "name": "Ada"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error == {
        "code": "VALIDATION_ERROR",
        "message": "Received unknown parameter: phone_numbr.",
        "details": {"phone_numbr": ["Unknown field. Did you mean phone_number?"]},
    }
    assert not Contact.objects.exists()


def test_an_unknown_nested_field_is_named_by_its_path(api_a):
    response = api_a.post(
        "/api/v1/ring-groups", {"name": "Sales", "members": [{"user_id": 1, "is_availble": True}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "members.0.is_availble": ["Unknown field. Did you mean is_available?"]
    }


def test_several_unknown_parameters_are_all_named(api_a):
    response = api_a.get("/api/v1/contacts?colour=red&hott=true")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "Received unknown parameters: colour, hott."
    assert error["details"]["hott"] == ["Unknown query parameter. Did you mean hot?"]
    assert error["details"]["colour"][0].startswith("Unknown query parameter. Known parameters: ")
    assert "created_after" in error["details"]["colour"][0]


def test_a_body_on_an_action_that_takes_none_is_refused(api_a):
    # Refused before the delivery is even looked up: the request itself is wrong.
    response = api_a.post(f"/api/v1/deliveries/{uuid.uuid4()}/replay", {"event": "lead.created"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"event": ["Unknown field. This request takes no body."]}


def test_an_invalid_boolean_filter_is_refused_not_ignored(api_a, workspace_a):
    Contact.objects.create(workspace=workspace_a, phone_number="+18187405020", name="Ada")
    response = api_a.get("/api/v1/contacts?hot=maybe")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"hot": ['"maybe" is not a boolean: use true or false.']}
    assert api_a.get("/api/v1/contacts?hot=false").json()["results"][0]["name"] == "Ada"
    assert api_a.get("/api/v1/contacts?hot=true").json()["results"] == []


def test_an_invalid_number_filter_is_refused(api_a):
    response = api_a.get("/api/v1/contacts?owner=me")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"owner": ['"me" is not a whole number.']}


def test_a_choice_filter_error_lists_the_choices(api_a):
    response = api_a.get("/api/v1/contacts?status=hot")
    assert response.status_code == 400
    (message,) = response.json()["error"]["details"]["status"]
    assert message.endswith("Valid choices: booked, lost, new, qualified, won.")


def test_a_choice_field_error_lists_the_choices(api_a, workspace_a):
    contact = Contact.objects.create(workspace=workspace_a, phone_number="+18187405020", name="Ada")
    response = api_a.patch(f"/api/v1/contacts/{contact.id}", {"status": "hot"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {
        "status": ['"hot" is not a valid choice. Valid choices: new, qualified, booked, won, lost.']
    }


def test_a_choice_error_inside_a_list_lists_the_choices(api_a):
    response = api_a.post(
        "/api/v1/webhooks", {"url": "https://hooks.example.com/x", "event_types": ["lead.made"]}, format="json"
    )
    assert response.status_code == 400
    (message,) = response.json()["error"]["details"]["event_types"]["0"]
    assert message.startswith('"lead.made" is not a valid choice. Valid choices: lead.created, lead.updated')


def test_documented_parameters_still_work(api_a):
    assert api_a.get("/api/v1/contacts?limit=5&q=ada&status=new&hot=false").status_code == 200
    assert api_a.get("/api/v1/stats?from=2026-11-01&to=2026-11-02").status_code == 200
    assert api_a.get("/api/zapier-webhook?action=leads").status_code == 200


def test_the_intake_still_ignores_fields_it_does_not_know(workspace_a, make_key, client):
    response = client.post(
        "/api/v1/webhook/forms?utm_whatever=1",
        {"phone_number": "+18187405020", "favourite_colour": "blue"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {make_key(workspace_a, scopes=['intake'])}",
    )
    assert response.status_code == 201


# --- Trailing slashes --------------------------------------------------------------------------------


def test_paths_answer_with_and_without_the_slash_without_a_redirect(api_a):
    for path in ("/api/v1/contacts", "/api/v1/contacts/", "/api/v1/workspace/", "/api/schema", "/api/docs"):
        assert api_a.get(path).status_code == 200, path


def test_a_post_to_a_path_with_a_slash_keeps_its_body(api_a):
    response = api_a.post("/api/v1/tags/", {"name": "vip"}, format="json")
    assert response.status_code == 201
    assert response.json()["name"] == "vip"


def test_next_links_use_the_declared_path(api_a, workspace_a):
    for index in range(3):
        Contact.objects.create(workspace=workspace_a, phone_number=f"+1818740502{index}")
    body = api_a.get("/api/v1/contacts/?limit=2").json()
    assert body["next"].startswith("http://testserver/api/v1/contacts?")
    assert len(api_a.get(body["next"]).json()["results"]) == 1


@pytest.mark.parametrize("path", ["/o/token", "/o/token/"])
def test_oauth_token_answers_a_post_with_and_without_the_slash(client, oauth_app_a, path):
    from base64 import b64encode

    basic = b64encode(f"{oauth_app_a.application.client_id}:{oauth_app_a.client_secret}".encode()).decode()
    response = client.post(
        path,
        {"grant_type": "client_credentials", "scope": "contacts:read"},
        HTTP_AUTHORIZATION=f"Basic {basic}",
    )
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_an_unknown_api_path_is_still_a_404_envelope(api_a):
    for path in ("/api/v1/nothing", "/api/v1/nothing/"):
        response = api_a.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
