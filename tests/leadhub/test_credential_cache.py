"""The authenticated path, the same for API keys and OAuth tokens: credentials remembered per
process for at most 5 seconds and in the shared cache for longer, so a revoked key or token, a
changed scope, a deleted key or a changed plan stops working everywhere within 5 s (at once in
the process that made the change); in the steady state a request asks nothing of the database
and makes one Redis round trip (its rate-limit count)."""

import base64
import hashlib
import json
import pickle
import uuid
from contextlib import contextmanager

import pytest
import redis
import redis.connection
from django.core.cache import cache, caches
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from accounts import credentials as account_credentials
from accounts.credentials import CREDENTIAL_LOCAL_SECONDS
from accounts.models import ApiKey, Plan
from accounts.services import (
    api_key_create,
    api_key_revoke,
    oauth_application_create,
    oauth_application_update,
    workspace_set_limits,
)
from leadhub.api import ratelimit

URL = "/api/v1/workspace"
pytestmark = pytest.mark.django_db


@pytest.fixture
def clock(monkeypatch):
    """The processes' clock for remembered credentials, moved by hand."""
    now = [1000.0]
    monkeypatch.setattr(account_credentials, "_clock", lambda: now[0])

    class Clock:
        def advance(self, seconds):
            now[0] += seconds

    return Clock()


def _as_another_process_would(api_key: ApiKey, **changes) -> None:
    """Change the key's row and drop it from the shared cache, as a revoke or an update in another
    process does: that process forgets its own memory, not this one's."""
    ApiKey.objects.filter(pk=api_key.pk).update(**changes)
    cache.delete(account_credentials._credential_cache_key(api_key.key_hash))


@contextmanager
def another_process():
    """What runs inside is done by another process: with a memory of credentials of its own, so
    that this one's is left as it was (only the shared cache and the database are common)."""
    saved = account_credentials._local_keys, account_credentials._local_tokens
    account_credentials._local_keys, account_credentials._local_tokens = {}, {}
    try:
        yield
    finally:
        account_credentials._local_keys, account_credentials._local_tokens = saved


def test_a_key_revoked_elsewhere_stops_working_within_5_seconds(client_for, workspace_a, clock):
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    api = client_for(new.secret)
    assert api.get(URL).status_code == 200
    _as_another_process_would(new.api_key, revoked_at=timezone.now())
    assert api.get(URL).status_code == 200  # remembered here for a moment
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get(URL).status_code == 401


def test_a_key_revoked_in_this_process_stops_working_at_once(client_for, workspace_a, clock):
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    api = client_for(new.secret)
    assert api.get(URL).status_code == 200
    api_key_revoke(api_key=new.api_key)
    assert api.get(URL).status_code == 401


def test_a_scope_removed_elsewhere_is_refused_within_5_seconds(client_for, workspace_a, clock):
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    api = client_for(new.secret)
    assert api.get("/api/v1/contacts").status_code == 200
    _as_another_process_would(new.api_key, scopes=["stats:read"])
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get("/api/v1/contacts").status_code == 403


def test_a_key_deleted_in_the_admin_elsewhere_stops_working_within_5_seconds(
    admin_client, client_for, workspace_a, clock
):
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    api = client_for(new.secret)
    assert api.get(URL).status_code == 200
    with another_process():
        response = admin_client.post(f"/admin/accounts/apikey/{new.api_key.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiKey.objects.filter(pk=new.api_key.pk).exists()
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get(URL).status_code == 401


def test_a_key_deleted_with_its_workspace_elsewhere_stops_working_within_5_seconds(client_for, workspace_a, clock):
    api = client_for(api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"]).secret)
    assert api.get(URL).status_code == 200
    with another_process():
        workspace_a.delete()
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get(URL).status_code == 401


def test_a_plan_that_loses_api_access_in_the_admin_refuses_cached_keys_within_5_seconds(
    admin_client, client_for, workspace_a, clock
):
    api = client_for(api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"]).secret)
    assert api.get("/api/v1/contacts").status_code == 200
    plan = workspace_a.plan
    form = {
        "code": plan.code,
        "name": plan.name,
        "webhooks": "on",
        "campaigns": "on",
        "api_rate_per_minute": plan.api_rate_per_minute,
        "intake_rate_per_minute": plan.intake_rate_per_minute,
        "max_webhook_endpoints": plan.max_webhook_endpoints,
    }  # api_access left unticked
    with another_process():
        assert admin_client.post(f"/admin/accounts/plan/{plan.pk}/change/", form).status_code == 302
    assert Plan.objects.get(pk=plan.pk).api_access is False
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    response = api.get("/api/v1/contacts")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "REST API is not available on your current plan."


def _basic(application, secret) -> str:
    return "Basic " + base64.b64encode(f"{application.client_id}:{secret}".encode()).decode()


def _token(client, new_application) -> str:
    response = client.post(
        "/o/token/",
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=_basic(new_application.application, new_application.client_secret),
    )
    return response.json()["access_token"]


def _revoke_at_the_endpoint(client, admin_client, app, token):
    assert (
        client.post(
            "/o/revoke_token/", {"token": token}, HTTP_AUTHORIZATION=_basic(app.application, app.client_secret)
        ).status_code
        == 200
    )


def _revoke_in_the_token_admin(client, admin_client, app, token):
    pks = list(get_access_token_model().objects.values_list("pk", flat=True))
    admin_client.post("/admin/oauth2_provider/accesstoken/", {"action": "revoke_tokens", "_selected_action": pks})


def _revoke_in_the_application_admin(client, admin_client, app, token):
    admin_client.post(
        "/admin/accounts/oauthapplication/", {"action": "revoke_tokens", "_selected_action": [app.application.pk]}
    )


def _disable_the_application(client, admin_client, app, token):
    application = app.application
    oauth_application_update(
        application=application, name=application.name, scopes=application.scopes, disabled_at=timezone.now()
    )


@pytest.mark.parametrize(
    "revoke",
    [
        _revoke_at_the_endpoint,
        _revoke_in_the_token_admin,
        _revoke_in_the_application_admin,
        _disable_the_application,
    ],
)
def test_an_oauth_token_revoked_elsewhere_stops_working_within_5_seconds(
    client, admin_client, client_for, oauth_app_a, clock, revoke
):
    token = _token(client, oauth_app_a)
    api = client_for(token)
    assert api.get(URL).status_code == 200
    with another_process():
        revoke(client, admin_client, oauth_app_a, token)
    assert api.get(URL).status_code == 200  # remembered here for a moment
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get(URL).status_code == 401


def test_a_scope_taken_from_an_oauth_application_elsewhere_is_refused_within_5_seconds(
    client, client_for, workspace_a, clock
):
    app = oauth_application_create(workspace=workspace_a, name="Partner", scopes=["contacts:read", "stats:read"])
    api = client_for(_token(client, app))
    assert api.get("/api/v1/contacts").status_code == 200
    with another_process():
        oauth_application_update(application=app.application, name="Partner", scopes=["stats:read"])
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get("/api/v1/contacts").status_code == 403
    assert api.get("/api/v1/stats").status_code == 200


def test_an_oauth_client_s_rate_changed_elsewhere_applies_within_5_seconds(client, client_for, oauth_app_a, clock):
    api = client_for(_token(client, oauth_app_a))
    assert api.get(URL).json()["rate_limit"]["limit"] == 120
    with another_process():
        workspace_set_limits(workspace=oauth_app_a.application.workspace, api_rate_per_minute=500)
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    assert api.get(URL).json()["rate_limit"]["limit"] == 500


def _credential(kind: str, client, workspace) -> str:
    """A bearer secret of this kind, with the scope contacts:read."""
    if kind == "api_key":
        return api_key_create(workspace=workspace, name="k", scopes=["contacts:read"]).secret
    return _token(client, oauth_application_create(workspace=workspace, name="Partner", scopes=["contacts:read"]))


def _redis_commands(monkeypatch) -> list[str]:
    """The commands sent to Redis from here on, by name, whatever path wrote them (redis-py's
    execute_command or the rate limit's own EVALSHA): one per round trip."""
    sent: list[str] = []
    send = redis.connection.Connection.send_packed_command

    def recording(self, command, check_health=True):
        packed = command if isinstance(command, bytes) else b"".join(command)
        sent.append(packed.split(b"\r\n")[2].decode().upper())  # *N, $len, then the name
        return send(self, command, check_health=check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", recording)
    return sent


@pytest.mark.parametrize("kind", ["api_key", "oauth"])
def test_the_steady_state_asks_nothing_of_the_database_and_counts_in_one_redis_round_trip(
    kind, client, client_for, workspace_a, django_assert_num_queries, monkeypatch
):
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs Redis (runs in the REDIS_URL pass)")
    api = client_for(_credential(kind, client, workspace_a))
    assert api.get(URL).status_code == 200  # the first request reads the credential
    commands = _redis_commands(monkeypatch)
    for remaining in (118, 117):
        commands.clear()
        with django_assert_num_queries(0):
            response = api.get(URL)
        assert response.status_code == 200
        assert response.json()["rate_limit"]["remaining"] == remaining
        assert commands == ["EVALSHA"]


@pytest.mark.parametrize("kind", ["api_key", "oauth"])
def test_past_its_moment_in_the_process_a_credential_comes_from_the_shared_cache_not_the_database(
    kind, client, client_for, workspace_a, django_assert_num_queries, clock
):
    api = client_for(_credential(kind, client, workspace_a))
    assert api.get(URL).status_code == 200  # the first request reads the credential
    clock.advance(CREDENTIAL_LOCAL_SECONDS)
    with django_assert_num_queries(0):
        response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(workspace_a.id)
    assert body["credential"]["type"] == kind
    assert body["credential"]["scopes"] == ["contacts:read"]
    with django_assert_num_queries(0):  # and remembered in the process again
        assert api.get(URL).status_code == 200


def _a_script_redis_has_never_seen(monkeypatch) -> None:
    """The counting script as a Redis that does not know it yet (restarted, or its scripts
    flushed) sees it: the same Lua with a comment of its own, so a SHA-1 never loaded before.
    SCRIPT FLUSH would do it too, but it empties the scripts of the whole server, every other
    database's (other test runs, a bench) with them."""
    source = ratelimit._COUNT + f"-- {uuid.uuid4()}\n"
    monkeypatch.setattr(ratelimit, "_COUNT", source)
    monkeypatch.setattr(
        ratelimit, "_COUNT_SHA", hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest().encode()
    )
    assert caches["ratelimit"].client.get_client(write=True).script_exists(ratelimit._COUNT_SHA.decode()) == [False]


def test_redis_without_the_counting_script_is_given_it_and_counts_on(client_for, workspace_a, monkeypatch):
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs Redis (runs in the REDIS_URL pass)")
    api = client_for(api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"]).secret)
    assert api.get(URL).json()["rate_limit"]["remaining"] == 119
    redis_client = caches["ratelimit"].client.get_client(write=True)
    elsewhere = redis_client.script_load("return 'another database'")  # as another run on this server
    _a_script_redis_has_never_seen(monkeypatch)
    commands = _redis_commands(monkeypatch)
    assert api.get(URL).json()["rate_limit"]["remaining"] == 118
    assert commands == ["EVALSHA", "EVAL"]  # NOSCRIPT, then the source, which Redis keeps
    commands.clear()
    assert api.get(URL).json()["rate_limit"]["remaining"] == 117
    assert commands == ["EVALSHA"]
    assert redis_client.script_exists(elsewhere) == [True]  # the server's other scripts untouched


def test_the_rate_limit_still_refuses_past_the_limit_when_counted_in_one_round_trip(client_for, workspace_a):
    workspace_set_limits(workspace=workspace_a, api_rate_per_minute=2)
    api = client_for(api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"]).secret)
    assert [api.get(URL).status_code for _ in range(3)] == [200, 200, 429]


def test_the_shared_cache_holds_a_key_as_json_data_and_gives_it_back(
    client_for, workspace_a, django_assert_num_queries
):
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    api = client_for(new.secret)
    assert api.get(URL).status_code == 200
    row = cache.get(account_credentials._credential_cache_key(new.api_key.key_hash))
    assert isinstance(row, dict)
    json.dumps(row, cls=DjangoJSONEncoder)  # data, not an object: no pickle in the cache
    account_credentials._local_keys.clear()  # another process: only the shared cache knows the key
    with django_assert_num_queries(0):
        response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(workspace_a.id)
    assert body["credential"]["scopes"] == ["contacts:read"]


def test_nothing_in_redis_is_a_pickle(client, client_for, workspace_a, oauth_app_a, settings):
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs Redis (runs in the REDIS_URL pass)")
    for alias in ("default", "ratelimit"):
        assert settings.CACHES[alias]["OPTIONS"]["SERIALIZER"] == "django_redis.serializers.json.JSONSerializer"
    key = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read", "intake"]).secret
    api = client_for(key)
    assert api.get(URL).status_code == 200
    assert api.post("/api/v1/webhook/forms", {"phone_number": "(818) 740 5020"}, format="json").status_code == 201
    credentials = base64.b64encode(f"{oauth_app_a.application.client_id}:{oauth_app_a.client_secret}".encode()).decode()
    token = client.post(
        "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=f"Basic {credentials}"
    ).json()["access_token"]
    assert client_for(token).get(URL).status_code == 200  # the token's grant in the shared cache
    assert cache.get(account_credentials._token_cache_key(hashlib.sha256(token.encode()).hexdigest()))
    assert client.get("/healthz").status_code == 200
    redis_client = cache.client.get_client()
    keys = list(redis_client.scan_iter(match="leadhub:*"))
    assert keys
    for stored in keys:
        if redis_client.type(stored) != b"string":
            continue
        value = redis_client.get(stored)
        assert not value.startswith(b"\x80"), stored  # pickle's protocol marker
        json.loads(value)  # JSON (a counter is a JSON number too)


def test_a_pickle_left_in_redis_by_the_previous_release_is_never_read(client_for, workspace_a):
    if not hasattr(cache, "delete_pattern"):
        pytest.skip("needs Redis (runs in the REDIS_URL pass)")
    new = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read"])
    old_key = cache.make_key(account_credentials._credential_cache_key(new.api_key.key_hash), version=1)
    cache.client.get_client().set(old_key, pickle.dumps(new.api_key), ex=60)  # as the pickling release stored it
    assert client_for(new.secret).get(URL).status_code == 200
