"""/healthz reports database, cache and broker (up or down to the public, details to operators);
/livez only that the process answers."""

import pytest

from leadhub.celery import app as celery_app

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:1/0"


def test_healthz_is_200_when_everything_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body == {"status": "ok", "checks": {"database": "up", "cache": "up", "broker": "up"}}


def test_healthz_is_503_when_the_cache_is_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    response = client.get("/healthz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["cache"] == "down"
    assert checks["database"] == "up"


def test_healthz_is_503_when_the_broker_is_down(client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", DEAD_REDIS)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"] == "down"
    assert "details" not in body
    assert "127.0.0.1" not in response.content.decode()  # no hosts, ports or driver messages


def test_operators_see_what_failed(admin_client, monkeypatch):
    monkeypatch.setattr(celery_app.conf, "broker_url", DEAD_REDIS)
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    details = response.json()["details"]
    assert details["broker"]["ok"] is False
    assert details["broker"]["error"]
    assert details["database"]["ok"] is True
    assert details["database"]["ms"] >= 0


def test_livez_touches_nothing(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
