"""The §4 error envelope for every failure a client can cause, and cursor pagination."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings

from accounts.services import api_key_create
from booking.bookings.services import SlotUnavailable
from leadhub.api.errors import error_body, exception_handler
from messaging.brains.services import DefaultBrainProtected, SlugTaken
from messaging.campaigns.services import CampaignStarted
from messaging.lines.services import LineExists, LineInUse
from webhooks.services import DeliveryNotPending, ReplayRunning

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.leadhub.urls")]


def error_of(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code
    text = response.content.decode()
    assert "Traceback" not in text and 'File "' not in text
    return body["error"]


def test_malformed_json_is_400_bad_request(api_a):
    response = api_a.post("/api/v1/test/scoped", data='{"name": ', content_type="application/json")
    error = error_of(response, 400, "BAD_REQUEST")
    assert "body" in error["details"]


def test_field_errors_are_400_validation_error_naming_the_field(api_a):
    response = api_a.post("/api/v1/test/scoped", {"name": "x" * 101}, format="json")
    error = error_of(response, 400, "VALIDATION_ERROR")
    assert list(error["details"]) == ["name"]
    assert isinstance(error["details"]["name"], list)
    assert "name" in error["message"]


def test_a_json_array_body_is_a_validation_error_not_a_crash(api_a):
    response = api_a.post("/api/v1/test/scoped", data="[1, 2]", content_type="application/json")
    error_of(response, 400, "VALIDATION_ERROR")


def test_unknown_url_under_the_api_is_404_envelope(api_a):
    error = error_of(api_a.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")
    assert "/api/v1/no-such-thing" in error["message"]


def test_unknown_url_without_credentials_is_404_envelope_too(client):
    error_of(client.get("/api/v1/no-such-thing"), 404, "NOT_FOUND")


def test_wrong_method_is_405_envelope(api_a):
    error = error_of(api_a.delete("/api/v1/workspace"), 405, "METHOD_NOT_ALLOWED")
    assert error["details"] == {"method": ["DELETE"]}


def test_unsupported_media_type_is_415_envelope(api_a):
    response = api_a.post("/api/v1/test/scoped", data="name=x", content_type="text/plain")
    error_of(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_an_unexpected_error_is_500_envelope_without_a_trace(api_a):
    api_a.raise_request_exception = False
    response = api_a.post("/api/v1/test/scoped", {"name": "x", "explode": True}, format="json")
    error = error_of(response, 500, "SERVER_ERROR")
    assert "boom" not in response.content.decode()
    assert error["message"]


def test_an_oversized_body_is_413_envelope(api_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = api_a.post(
        "/api/v1/test/scoped", {"name": "x" * 50, "pad": "y" * 500}, format="json", HTTP_IDEMPOTENCY_KEY="big"
    )
    error = error_of(response, 413, "PAYLOAD_TOO_LARGE")
    assert "100 bytes" in error["message"]


def test_pages_are_newest_first_with_next_links(api_a, workspace_a, django_assert_max_num_queries):
    for n in range(5):
        api_key_create(workspace=workspace_a, name=f"key {n}", scopes=["contacts:read"])
    first = api_a.get("/api/v1/test/keys", {"limit": 2}).json()
    names = [item["name"] for item in first["results"]]
    assert names == ["key 4", "key 3"]
    second = api_a.get(first["next"]).json()
    assert [item["name"] for item in second["results"]] == ["key 2", "key 1"]
    assert second["previous"]


def test_page_queries_do_not_grow_with_the_page(api_a, workspace_a, django_assert_max_num_queries):
    for n in range(30):
        api_key_create(workspace=workspace_a, name=f"key {n}", scopes=["contacts:read"])
    with django_assert_max_num_queries(4):
        assert len(api_a.get("/api/v1/test/keys", {"limit": 100}).json()["results"]) == 31


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
def test_a_bad_limit_is_a_validation_error_on_limit(api_a, limit):
    error = error_of(api_a.get("/api/v1/test/keys", {"limit": limit}), 400, "VALIDATION_ERROR")
    assert "limit" in error["details"]


def test_a_bad_cursor_is_a_validation_error_on_cursor(api_a):
    error = error_of(api_a.get("/api/v1/test/keys", {"cursor": "%%%not-a-cursor"}), 400, "VALIDATION_ERROR")
    assert "cursor" in error["details"]


def test_lists_hold_only_the_callers_workspace(api_b, workspace_a, workspace_b):
    api_key_create(workspace=workspace_a, name="secret of A", scopes=["contacts:read"])
    names = [item["name"] for item in api_b.get("/api/v1/test/keys").json()["results"]]
    assert "secret of A" not in names


CONFLICTS = [
    (
        LineExists(SimpleNamespace(pk=7)),
        "This number is a line of this workspace already.",
        {"field": "phone_number", "id": "7"},
    ),
    (SlugTaken(SimpleNamespace(pk=3)), "A brain with this slug exists already.", {"field": "slug", "id": "3"}),
    (SlugTaken(None), "A brain with this slug exists already.", {"field": "slug"}),
    (
        DefaultBrainProtected("Make another brain the default."),
        "Make another brain the default.",
        {"field": "is_default"},
    ),
    (
        LineInUse(["c1", "c2"]),
        "This line sent (or is to send) campaigns, which keep it: it cannot be deleted.",
        {"campaigns": ["c1", "c2"]},
    ),
    (
        CampaignStarted(SimpleNamespace(status="sending")),
        "The campaign is sending; only a scheduled campaign can be cancelled.",
        {"status": ["sending"]},
    ),
    (SlotUnavailable(), "This time is no longer available. Pick another slot.", {}),
    (
        DeliveryNotPending(SimpleNamespace(status="delivered")),
        "Only a pending delivery can be given up; this one is delivered.",
        {},
    ),
    (
        ReplayRunning(4),
        "A replay of this endpoint is still running (4 replayed deliveries pending); try again once it has "
        "finished, or give those deliveries up.",
        {},
    ),
]


@pytest.mark.parametrize(("exc", "message", "details"), CONFLICTS, ids=lambda value: type(value).__name__)
def test_a_domain_conflict_is_a_409_by_the_one_handler(exc, message, details):
    response = exception_handler(exc, {})
    assert response.status_code == 409
    assert response.data == error_body("CONFLICT", message, details)


_API_ERRORS_IMPORT = re.compile(r"from leadhub\.api\.errors import (\([^)]*\)|[^\n]*)")


def test_no_app_builds_a_409_of_its_own():
    """STYLE: conflicts are domain exceptions that leadhub/api/errors.py maps once; no app turns
    one into the API's Conflict by hand."""
    root = Path(settings.BASE_DIR)
    packages = [path.parent for path in root.glob("*/__init__.py") if path.parent.name not in {"leadhub", "tests"}]
    offenders = sorted(
        str(path.relative_to(root))
        for package in packages
        for path in package.rglob("*.py")
        if any(re.search(r"\bConflict\b", names) for names in _API_ERRORS_IMPORT.findall(path.read_text()))
    )
    assert offenders == []
