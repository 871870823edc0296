"""Rate limits: per credential at the plan's rate or the workspace's override, per IP on public endpoints."""

from unittest import mock

import pytest
from django.core.management import call_command

from accounts.scopes import ALL_SCOPES
from accounts.services import oauth_application_create, workspace_set_limits

pytestmark = pytest.mark.django_db
URL = "/api/v1/workspace"


def move_clock(seconds):
    """django-ratelimit's windows follow time.time(): move it instead of sleeping."""
    import time

    real = time.time
    return mock.patch("django_ratelimit.core.time.time", lambda: real() + seconds)


def test_every_response_carries_ratelimit_headers(api_a):
    first, second = api_a.get(URL), api_a.get(URL)
    assert first["RateLimit-Limit"] == "120"
    assert first["RateLimit-Remaining"] == "119"
    assert second["RateLimit-Remaining"] == "118"
    assert 1 <= int(first["RateLimit-Reset"]) <= 60


def test_over_the_limit_is_429_with_retry_after_and_the_window_resets(api_a, workspace_a):
    workspace_set_limits(workspace=workspace_a, api_rate_per_minute=3)
    for remaining in ("2", "1", "0"):
        response = api_a.get(URL)
        assert response.status_code == 200
        assert response["RateLimit-Remaining"] == remaining

    refused = api_a.get(URL)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "RATE_LIMITED"
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    assert f"Retry in {wait} seconds" in error["message"]
    assert refused["RateLimit-Limit"] == "3"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == str(wait)

    with move_clock(61):
        assert api_a.get(URL).status_code == 200


def test_each_credential_has_its_own_count(workspace_a, make_key, client_for):
    workspace_set_limits(workspace=workspace_a, api_rate_per_minute=1)
    first, second = client_for(make_key(workspace_a)), client_for(make_key(workspace_a))
    assert first.get(URL).status_code == 200
    assert first.get(URL).status_code == 429
    assert second.get(URL).status_code == 200


def test_oauth_client_shares_one_count_across_its_tokens(client, workspace_a):
    from tests.leadhub.test_oauth import get_token

    workspace_set_limits(workspace=workspace_a, api_rate_per_minute=1)
    app = oauth_application_create(workspace=workspace_a, name="Partner", scopes=ALL_SCOPES)
    tokens = [get_token(client, app.application.client_id, app.client_secret).json()["access_token"] for _ in range(2)]
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {tokens[0]}").status_code == 200
    assert client.get(URL, HTTP_AUTHORIZATION=f"Bearer {tokens[1]}").status_code == 429


def test_the_plan_sets_the_rate_and_an_override_lifts_it(api_a, workspace_a):
    assert api_a.get(URL)["RateLimit-Limit"] == "120"
    call_command("setlimits", str(workspace_a.id), "--api-rate", "5000")
    assert api_a.get(URL)["RateLimit-Limit"] == "5000"


def test_token_endpoint_is_limited_per_ip_with_an_rfc6749_body(client, settings, oauth_app_a):
    settings.PUBLIC_RATE_PER_MINUTE = 2
    data = {"grant_type": "client_credentials"}
    for _ in range(2):
        assert client.post("/o/token/", data, REMOTE_ADDR="203.0.113.9").status_code == 401  # no client auth
    refused = client.post("/o/token/", data, REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert client.post("/o/token/", data, REMOTE_ADDR="203.0.113.10").status_code == 401


def test_a_cache_outage_lets_requests_through_uncounted(api_a, settings):
    down = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
    counting = {**down, "OPTIONS": {**down["OPTIONS"], "CLIENT_CLASS": "leadhub.api.ratelimit.CountingRedisClient"}}
    settings.CACHES = {"default": down, "ratelimit": counting}
    response = api_a.get(URL)
    assert response.status_code == 200
    assert "RateLimit-Limit" not in response
