"""The webhooks API: endpoints, rotation, test pings, the delivery log, replays, events, REST
hooks; the outsider gets 404 and a credential without the scope 403 on every endpoint."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from accounts.models import Plan
from accounts.services import workspace_create
from webhooks.events import EVENT_TYPES
from webhooks.models import Delivery, Endpoint, Event
from webhooks.services import endpoint_create, event_emit
from webhooks.tasks import deliveries_dispatch
from webhooks.transport import signing as http

pytestmark = pytest.mark.django_db


def emit(workspace, type="lead.created", data=None):
    with transaction.atomic():
        return event_emit(workspace=workspace, type=type, data=data or {"id": "1"})


@pytest.fixture
def failed_delivery(workspace_a, endpoint_a):
    event = emit(workspace_a)
    delivery = event.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, attempt_count=8, next_attempt_at=None)
    delivery.refresh_from_db()
    return delivery


# --- Endpoints ---------------------------------------------------------------------------------


def test_create_answers_the_secret_once(api_a, workspace_a, receiver):
    response = api_a.post(
        "/api/v1/webhooks",
        {"url": receiver.url, "event_types": ["lead.created"], "description": "CRM"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["url"] == receiver.url
    assert body["event_types"] == ["lead.created"]
    assert body["enabled"] is True
    assert len(http.secret_decode(body["secret"])) == http.SECRET_DEFAULT_BYTES
    endpoint = Endpoint.objects.get(pk=body["id"], workspace=workspace_a)
    assert endpoint.secret == body["secret"]

    assert "secret" not in api_a.get(f"/api/v1/webhooks/{body['id']}").json()
    assert "secret" not in api_a.get("/api/v1/webhooks").json()["results"][0]


def test_create_refuses_private_addresses_and_plain_http(api_a):
    for url in ("https://10.0.0.1/hook", "https://169.254.169.254/", "https://localhost/hook", "http://8.8.8.8/"):
        response = api_a.post("/api/v1/webhooks", {"url": url}, format="json")
        assert response.status_code == 400, url
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert list(error["details"]) == ["url"]
    assert not Endpoint.objects.exists()


def test_a_supplied_secret_is_checked(api_a, receiver):
    for bad in ("not-a-secret", "whsec_" + "A" * 8, "whsec_!!!!", "whsec_" + "QUFB" * 30):
        response = api_a.post("/api/v1/webhooks", {"url": receiver.url, "secret": bad}, format="json")
        assert response.status_code == 400, bad
        assert list(response.json()["error"]["details"]) == ["secret"]
    good = http.secret_generate()
    response = api_a.post("/api/v1/webhooks", {"url": receiver.url, "secret": good}, format="json")
    assert response.status_code == 201
    assert response.json()["secret"] == good


def test_unknown_event_types_are_refused_with_the_valid_ones(api_a, receiver):
    response = api_a.post("/api/v1/webhooks", {"url": receiver.url, "event_types": ["lead.exploded"]}, format="json")
    assert response.status_code == 400
    (message,) = response.json()["error"]["details"]["event_types"]["0"]
    assert message.startswith('"lead.exploded" is not a valid choice. Valid choices: lead.created, lead.updated,')
    assert all(event_type in message for event_type in EVENT_TYPES)

    response = api_a.post("/api/v1/hooks", {"target_url": receiver.url, "event": "lead.exploded"}, format="json")
    assert response.status_code == 400
    assert "Valid choices: lead.created" in response.json()["error"]["details"]["event"][0]


def test_list_is_newest_first_without_a_query_per_row(api_a, workspace_a, receiver, django_assert_max_num_queries):
    ids = [endpoint_create(workspace=workspace_a, url=receiver.url).endpoint.id for _ in range(5)]
    endpoint_create(workspace=workspace_create(name="Elsewhere"), url=receiver.url)
    with django_assert_max_num_queries(6):
        response = api_a.get("/api/v1/webhooks")
    assert response.status_code == 200
    assert [item["id"] for item in response.json()["results"]] == [str(pk) for pk in reversed(ids)]


def test_patch_disables_and_re_enables(api_a, endpoint_a, receiver):
    response = api_a.patch(f"/api/v1/webhooks/{endpoint_a.id}", {"enabled": False}, format="json")
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    assert response.json()["disabled_reason"] == "Disabled by an admin."

    response = api_a.patch(f"/api/v1/webhooks/{endpoint_a.id}", {"enabled": True, "description": "back"}, format="json")
    assert response.json()["enabled"] is True
    assert response.json()["description"] == "back"
    response = api_a.patch(f"/api/v1/webhooks/{endpoint_a.id}", {"url": "https://192.168.0.1/"}, format="json")
    assert response.status_code == 400
    assert "url" in response.json()["error"]["details"]


def test_delete_removes_the_endpoint(api_a, endpoint_a):
    assert api_a.delete(f"/api/v1/webhooks/{endpoint_a.id}").status_code == 204
    assert not Endpoint.objects.filter(pk=endpoint_a.pk).exists()


def test_rotation_answers_the_new_secret_and_both_sign(api_a, workspace_a, endpoint_a, receiver):
    old = endpoint_a.secret
    response = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/rotate-secret", {}, format="json")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new != old

    event = emit(workspace_a)
    deliveries_dispatch([str(d.id) for d in event.deliveries.all()])
    request = receiver.received[-1]
    assert Webhook(old).verify(request.body, request.headers)["id"] == str(event.id)
    assert Webhook(new).verify(request.body, request.headers)["id"] == str(event.id)


def test_test_sends_a_ping(api_a, endpoint_a, receiver):
    response = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/test", format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["event_type"] == "webhook.ping"
    assert body["status"] == "pending"

    deliveries_dispatch([body["id"]])
    payload = Webhook(endpoint_a.secret).verify(receiver.received[0].body, receiver.received[0].headers)
    assert payload["type"] == "webhook.ping"
    assert payload["data"]["endpoint_id"] == str(endpoint_a.id)


# --- Deliveries, replay, events ----------------------------------------------------------------


def test_the_delivery_log_filters_by_status_and_shows_attempts(
    api_a, workspace_a, endpoint_a, receiver, django_assert_max_num_queries
):
    receiver.respond(500)
    first = emit(workspace_a).deliveries.get()
    deliveries_dispatch([str(first.id)])
    second = emit(workspace_a).deliveries.get()
    deliveries_dispatch([str(second.id)])
    for _ in range(3):
        emit(workspace_a)

    with django_assert_max_num_queries(6):
        response = api_a.get(f"/api/v1/webhooks/{endpoint_a.id}/deliveries")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 5
    response = api_a.get(f"/api/v1/webhooks/{endpoint_a.id}/deliveries?status=succeeded")
    assert [item["id"] for item in response.json()["results"]] == [str(second.id)]
    response = api_a.get(f"/api/v1/deliveries?endpoint={endpoint_a.id}&status=pending")
    assert len(response.json()["results"]) == 4
    assert api_a.get("/api/v1/deliveries?status=lost").status_code == 400

    detail = api_a.get(f"/api/v1/deliveries/{first.id}").json()
    assert detail["status"] == "pending"
    assert detail["attempt_count"] == 1
    assert detail["event_id"] == str(first.event_id)
    (attempt,) = detail["attempts"]
    assert attempt["status_code"] == 500
    assert attempt["response_excerpt"] == '{"ok": true}'


def test_replay_of_one_delivery_keeps_the_webhook_id(api_a, failed_delivery, endpoint_a, receiver):
    response = api_a.post(f"/api/v1/deliveries/{failed_delivery.id}/replay", format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["replay_of"] == str(failed_delivery.id)
    assert body["event_id"] == str(failed_delivery.event_id)

    deliveries_dispatch([body["id"]])
    assert receiver.webhook_ids() == [str(failed_delivery.event_id)]
    assert Delivery.objects.get(pk=body["id"]).status == Delivery.Status.SUCCEEDED


def test_bulk_replay_takes_the_failed_since_a_time(api_a, workspace_a, endpoint_a, receiver):
    old = emit(workspace_a).deliveries.get()
    recent = [emit(workspace_a).deliveries.get() for _ in range(2)]
    still_pending = emit(workspace_a).deliveries.get()
    Delivery.objects.filter(pk__in=[old.pk, *[d.pk for d in recent]]).update(status=Delivery.Status.FAILED)
    since = timezone.now() - timedelta(hours=1)
    Delivery.objects.filter(pk=old.pk).update(created_at=since - timedelta(hours=1))

    response = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/replay", {"since": since.isoformat()}, format="json")
    assert response.status_code == 202
    assert response.json()["replayed"] == 2
    replays = Delivery.objects.filter(replay_of__isnull=False)
    assert {d.replay_of_id for d in replays} == {d.pk for d in recent}
    assert still_pending.pk not in {d.replay_of_id for d in replays}

    deliveries_dispatch(response.json()["delivery_ids"])
    assert sorted(receiver.webhook_ids()) == sorted(str(d.event_id) for d in recent)

    assert api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/replay", {}, format="json").status_code == 400


def test_events_are_listed_newest_first_and_by_type(api_a, workspace_a, workspace_b, django_assert_max_num_queries):
    created = emit(workspace_a, "lead.created")
    booked = emit(workspace_a, "lead.booked", {"id": "2"})
    emit(workspace_b, "lead.created")

    with django_assert_max_num_queries(5):
        response = api_a.get("/api/v1/events")
    assert [item["id"] for item in response.json()["results"]] == [str(booked.id), str(created.id)]
    response = api_a.get("/api/v1/events?type=lead.booked")
    assert [item["id"] for item in response.json()["results"]] == [str(booked.id)]
    assert api_a.get("/api/v1/events?type=nope").status_code == 400
    detail = api_a.get(f"/api/v1/events/{created.id}").json()
    assert detail == created.envelope() | {"workspace_id": str(workspace_a.id)}


def test_lists_paginate_with_a_cursor(api_a, workspace_a):
    for _ in range(3):
        emit(workspace_a)
    page = api_a.get("/api/v1/events?limit=2").json()
    assert len(page["results"]) == 2
    rest = api_a.get(page["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None


# --- REST hooks --------------------------------------------------------------------------------


def test_rest_hook_subscribe_and_unsubscribe(api_a, workspace_a, receiver):
    response = api_a.post("/api/v1/hooks", {"target_url": receiver.url, "event": "lead.created"}, format="json")
    assert response.status_code == 201
    hook_id = response.json()["id"]
    assert set(response.json()) == {"id"}
    hook = Endpoint.objects.get(pk=hook_id, workspace=workspace_a)
    assert hook.is_rest_hook and hook.event_types == ["lead.created"]

    event = emit(workspace_a, "lead.created")
    emit(workspace_a, "lead.booked")
    assert [d.endpoint_id for d in Delivery.objects.filter(event=event)] == [hook.pk]
    assert Delivery.objects.count() == 1

    assert api_a.delete(f"/api/v1/hooks/{hook_id}").status_code == 204
    assert not Endpoint.objects.filter(pk=hook_id).exists()


def test_rest_hook_input_is_checked(api_a, endpoint_a):
    response = api_a.post("/api/v1/hooks", {"target_url": "https://10.1.2.3/", "event": "lead.created"}, format="json")
    assert list(response.json()["error"]["details"]) == ["target_url"]
    response = api_a.post("/api/v1/hooks", {"target_url": "https://8.8.8.8/", "event": "nope"}, format="json")
    assert list(response.json()["error"]["details"]) == ["event"]
    # A plain endpoint is not a REST hook.
    assert api_a.delete(f"/api/v1/hooks/{endpoint_a.id}").status_code == 404


# --- Access: outsider, scopes, plan ------------------------------------------------------------


def _routes(endpoint_id, delivery_id, event_id):
    return [
        ("get", f"/api/v1/webhooks/{endpoint_id}", None),
        ("patch", f"/api/v1/webhooks/{endpoint_id}", {"description": "x"}),
        ("delete", f"/api/v1/webhooks/{endpoint_id}", None),
        ("post", f"/api/v1/webhooks/{endpoint_id}/rotate-secret", {}),
        ("post", f"/api/v1/webhooks/{endpoint_id}/test", {}),
        ("get", f"/api/v1/webhooks/{endpoint_id}/deliveries", None),
        ("post", f"/api/v1/webhooks/{endpoint_id}/replay", {"since": "2026-01-01T00:00:00Z"}),
        ("get", f"/api/v1/deliveries?endpoint={endpoint_id}", None),
        ("get", f"/api/v1/deliveries/{delivery_id}", None),
        ("post", f"/api/v1/deliveries/{delivery_id}/replay", {}),
        ("post", f"/api/v1/deliveries/{delivery_id}/give-up", {}),
        ("get", f"/api/v1/webhooks/{endpoint_id}/figures", None),
        ("get", f"/api/v1/events/{event_id}", None),
        ("delete", f"/api/v1/hooks/{endpoint_id}", None),
    ]


def test_the_outsider_gets_404_on_every_endpoint(api_b, workspace_a, receiver):
    hook = endpoint_create(workspace=workspace_a, url=receiver.url, is_rest_hook=True).endpoint
    event = emit(workspace_a)
    delivery = event.deliveries.get()
    for method, path, data in _routes(hook.id, delivery.id, event.id):
        response = getattr(api_b, method)(path, data, format="json")
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    assert Endpoint.objects.filter(pk=hook.pk, description="").exists()
    assert Delivery.objects.count() == 1
    # ... and sees none of A's objects in its lists.
    for path in ("/api/v1/webhooks", "/api/v1/deliveries", "/api/v1/events"):
        assert api_b.get(path).json()["results"] == []


def test_a_missing_id_is_404(api_a):
    missing = uuid.uuid4()
    for method, path, data in _routes(missing, missing, missing):
        assert getattr(api_a, method)(path, data, format="json").status_code == 404, path


def test_a_credential_without_the_scope_gets_403(workspace_a, make_key, client_for, receiver):
    hook = endpoint_create(workspace=workspace_a, url=receiver.url, is_rest_hook=True).endpoint
    event = emit(workspace_a)
    delivery = event.deliveries.get()
    reader = client_for(make_key(workspace_a, scopes=["webhooks:read"]))
    nobody = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    routes = [
        *_routes(hook.id, delivery.id, event.id),
        ("get", "/api/v1/webhooks", None),
        ("post", "/api/v1/webhooks", {"url": receiver.url}),
        ("get", "/api/v1/deliveries", None),
        ("get", "/api/v1/events", None),
        ("post", "/api/v1/hooks", {"target_url": receiver.url, "event": "lead.created"}),
    ]
    for method, path, data in routes:
        response = getattr(nobody, method)(path, data, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "FORBIDDEN"
        if method != "get":
            response = getattr(reader, method)(path, data, format="json")
            assert response.status_code == 403, (method, path)
            assert "webhooks:write" in response.json()["error"]["message"]
        else:
            assert getattr(reader, method)(path, data, format="json").status_code == 200, path
    assert Endpoint.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_plan_without_webhooks_gets_403(make_key, client_for):
    plan = Plan.objects.create(code="starter", name="Starter", api_access=True, webhooks=False)
    workspace = workspace_create(name="Starter Co", plan_code=plan.code)
    client = client_for(make_key(workspace))
    for method, path in (("get", "/api/v1/webhooks"), ("get", "/api/v1/events"), ("post", "/api/v1/hooks")):
        response = getattr(client, method)(path, {}, format="json")
        assert response.status_code == 403
        assert response.json()["error"]["message"] == "Webhooks are not available on your current plan."


def test_no_credential_is_401(client):
    assert client.get("/api/v1/webhooks").status_code == 401
    assert not Event.objects.exists()
