"""The per-IP limits of public endpoints: the client's address behind TRUSTED_PROXIES, the counts
per (address, bot_id) and (address, client_id), and what each limit does when Redis is down."""

import base64
import socket

import pytest
from django.test import RequestFactory

from accounts.services import api_key_create, oauth_application_create
from leadhub.api.proxies import client_ip
from messaging.brains.services import brain_create
from messaging.models import Conversation

pytestmark = pytest.mark.django_db

SAVE_LEAD = "/api/save-lead"


def _request(remote, forwarded=None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "client"),
    [
        ([], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # no proxy trusted: the header is ignored
        (["10.0.0.0/8"], "203.0.113.9", "198.51.100.1", "203.0.113.9"),  # not from a trusted proxy
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a client's own hop is ignored
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.1.1.1", "198.51.100.1"),  # two proxies
        (["10.0.0.0/8"], "10.0.0.2", "10.3.3.3, 10.1.1.1", "10.3.3.3"),  # every hop trusted: the left-most
        (["10.0.0.0/8"], "10.0.0.2", "", "10.0.0.2"),
        (["10.0.0.0/8"], "10.0.0.2", "garbage, 198.51.100.1", "198.51.100.1"),
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1, garbage", "10.0.0.2"),  # unreadable: stop at our proxy
        (["10.0.0.0/8"], "10.0.0.2", "198.51.100.1:5678", "198.51.100.1"),
        (["fd00::/8"], "fd00::1", "[2001:db8::7]:443, fd00::2", "2001:db8::7"),
    ],
)
def test_the_client_is_the_right_most_untrusted_hop(settings, trusted, remote, forwarded, client):
    settings.TRUSTED_PROXIES = trusted
    assert client_ip(_request(remote, forwarded)) == client


@pytest.fixture
def brains(workspace_a):
    return brain_create(workspace=workspace_a, name="Desk"), brain_create(workspace=workspace_a, name="Sales")


def _save(client, bot_id, session_id, **extra):
    return client.post(
        SAVE_LEAD, {"bot_id": bot_id, "session_id": session_id}, content_type="application/json", **extra
    )


def test_behind_a_trusted_proxy_the_widget_counts_the_forwarded_client(client, settings, brains):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.PUBLIC_RATE_PER_MINUTE = 2
    bot = brains[0].bot_id
    via_proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for spoof in ("1.1.1.1", "2.2.2.2"):  # a client varying the hops it writes itself changes nothing
        assert _save(client, bot, "s", HTTP_X_FORWARDED_FOR=f"{spoof}, 198.51.100.1", **via_proxy).status_code in {
            200,
            201,
        }
    refused = _save(client, bot, "s", HTTP_X_FORWARDED_FOR="3.3.3.3, 198.51.100.1", **via_proxy)
    assert refused.status_code == 429
    # Another client behind the same proxy has its own count.
    assert _save(client, bot, "s", HTTP_X_FORWARDED_FOR="198.51.100.2", **via_proxy).status_code == 200


def test_without_trusted_proxies_x_forwarded_for_moves_no_limit(client, settings, brains):
    settings.PUBLIC_RATE_PER_MINUTE = 2
    bot = brains[0].bot_id
    for n in range(2):
        assert _save(client, bot, "s", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code in {200, 201}
    assert _save(client, bot, "s", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429


def test_the_widget_counts_per_address_and_brain(client, settings, brains):
    settings.PUBLIC_RATE_PER_MINUTE = 1
    first, second = (brain.bot_id for brain in brains)
    assert _save(client, first, "s1").status_code == 201
    assert _save(client, first, "s1").status_code == 429
    assert _save(client, second, "s2").status_code == 201


def _basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_the_token_endpoint_counts_per_address_and_client_id(client, settings, workspace_a):
    settings.PUBLIC_RATE_PER_MINUTE = 1
    apps = [oauth_application_create(workspace=workspace_a, name=n, scopes=["stats:read"]) for n in ("A", "B")]

    def token(app, remote="203.0.113.9"):
        auth = _basic(app.application.client_id, app.client_secret)
        return client.post(
            "/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth, REMOTE_ADDR=remote
        )

    assert token(apps[0]).status_code == 200
    assert token(apps[0]).status_code == 429
    assert token(apps[1]).status_code == 200  # another client from the same address
    assert token(apps[0], remote="203.0.113.10").status_code == 200  # the same client from another address


def test_made_up_client_ids_do_not_multiply_an_addresss_allowance(client, settings, db):
    """Each client_id has its own allowance, but an address as a whole gets ADDRESS_BUCKETS of them."""
    from leadhub.api.ratelimit import ADDRESS_BUCKETS

    settings.PUBLIC_RATE_PER_MINUTE = 1
    statuses = [
        client.post(
            "/o/token/",
            {"grant_type": "client_credentials"},
            HTTP_AUTHORIZATION=_basic(f"made-up-{n}", "secret"),
            REMOTE_ADDR="203.0.113.50",
        ).status_code
        for n in range(ADDRESS_BUCKETS + 3)
    ]
    assert 429 not in statuses[:ADDRESS_BUCKETS]  # unknown clients: refused, but counted apart
    assert set(statuses[ADDRESS_BUCKETS:]) == {429}


@pytest.fixture
def redis_down(settings):
    """The cache and the rate-limit counters on a Redis URL whose port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    down = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": f"redis://127.0.0.1:{port}/0", "OPTIONS": options}
    counting = {**down, "OPTIONS": {**options, "CLIENT_CLASS": "leadhub.api.ratelimit.CountingRedisClient"}}
    settings.CACHES = {"default": down, "ratelimit": counting}
    settings.RATELIMIT_USE_CACHE = "ratelimit"


def test_with_redis_down_the_widget_refuses_writes_with_503_and_stores_nothing(client, brains, redis_down):
    response = _save(client, brains[0].bot_id, "s1")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(response["Retry-After"]) >= 1
    assert not Conversation.objects.exists()


def test_with_redis_down_a_booking_is_refused_and_availability_answered(client, brains, redis_down):
    bot = brains[0].bot_id
    booking = client.post(
        "/api/book-meeting", {"bot_id": bot, "name": "Ada", "email": "ada@example.com"}, content_type="application/json"
    )
    assert booking.status_code == 503
    assert booking.json()["ok"] is False
    assert client.get("/api/book-meeting", {"action": "availability", "bot_id": bot}).status_code == 200


def test_with_redis_down_the_token_endpoint_is_503_in_rfc6749_shape(client, oauth_app_a, redis_down):
    auth = _basic(oauth_app_a.application.client_id, oauth_app_a.client_secret)
    response = client.post("/o/token/", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"


def test_with_redis_down_the_login_page_refuses_with_503(client, owner_a, redis_down):
    response = client.post("/login/", {"username": "owner-a", "password": "owner-a-pass"})
    assert response.status_code == 503
    assert "_auth_user_id" not in client.session


def test_with_redis_down_credentials_go_through_uncounted(client, workspace_a, redis_down):
    key = api_key_create(workspace=workspace_a, name="k", scopes=["contacts:read", "intake"]).secret
    listed = client.get("/api/v1/contacts", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert listed.status_code == 200
    assert "RateLimit-Limit" not in listed
    posted = client.post(
        "/api/v1/webhook/forms",
        {"phone_number": "(818) 740 5020"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert posted.status_code == 201


def test_the_admin_login_is_limited_per_address(client, settings, db):
    settings.PUBLIC_RATE_PER_MINUTE = 2
    wrong = {"username": "nobody", "password": "guess"}
    for _ in range(2):
        assert client.post("/admin/login/", wrong).status_code == 200  # the form again, with its error
    refused = client.post("/admin/login/", wrong)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert client.post("/admin/login/", wrong, REMOTE_ADDR="203.0.113.10").status_code == 200


def test_with_redis_down_the_admin_login_refuses_with_503(client, admin_user, redis_down):
    response = client.post("/admin/login/", {"username": admin_user.username, "password": "password"})
    assert response.status_code == 503
    assert "_auth_user_id" not in client.session
