"""What operators and admins do with deliveries: give up, read an endpoint's figures, replay in
bulk within its limits, see failed attempts in the log; and the plan's endpoint limit."""

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.services import deliveries_replay_failed, endpoint_create, event_emit
from webhooks.tasks import deliveries_dispatch

pytestmark = pytest.mark.django_db


def emit(workspace):
    with transaction.atomic():
        return event_emit(workspace=workspace, type="lead.created", data={"id": "1"})


# --- Give up -----------------------------------------------------------------------------------


def test_give_up_fails_a_pending_delivery_at_once_and_it_can_be_replayed(api_a, endpoint_a, receiver):
    receiver.respond(503)
    delivery = emit(endpoint_a.workspace).deliveries.get()
    deliveries_dispatch([str(delivery.id)])
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at is not None

    response = api_a.post(f"/api/v1/deliveries/{delivery.id}/give-up")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "failed"
    assert body["next_attempt_at"] is None
    assert body["attempt_count"] == 1
    assert body["last_error"].startswith("Given up by api_key:")
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED

    replay = api_a.post(f"/api/v1/deliveries/{delivery.id}/replay")
    assert replay.status_code == 202
    deliveries_dispatch([replay.json()["id"]])
    assert Delivery.objects.get(pk=replay.json()["id"]).status == Delivery.Status.SUCCEEDED


def test_give_up_of_a_delivery_that_is_not_pending_is_409(api_a, endpoint_a, receiver):
    delivery = emit(endpoint_a.workspace).deliveries.get()
    deliveries_dispatch([str(delivery.id)])

    response = api_a.post(f"/api/v1/deliveries/{delivery.id}/give-up")

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": "Only a pending delivery can be given up; this one is succeeded.",
        "details": {},
    }
    assert Delivery.objects.get(pk=delivery.pk).status == Delivery.Status.SUCCEEDED


# --- Failed attempts in the log ----------------------------------------------------------------


def test_each_failed_attempt_logs_a_warning_with_the_endpoint_status_and_next_retry(endpoint_a, receiver, caplog):
    receiver.respond(503)
    delivery = emit(endpoint_a.workspace).deliveries.get()
    with caplog.at_level(logging.WARNING, logger="webhooks.engine"):
        deliveries_dispatch([str(delivery.id)])

    delivery.refresh_from_db()
    (record,) = [record for record in caplog.records if record.name == "webhooks.engine"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert f"to endpoint {endpoint_a.id} ({endpoint_a.url})" in message
    assert "answered 503" in message
    assert f"next retry at {delivery.next_attempt_at.isoformat().replace('+00:00', 'Z')}" in message


def test_a_success_logs_no_warning(endpoint_a, receiver, caplog):
    delivery = emit(endpoint_a.workspace).deliveries.get()
    with caplog.at_level(logging.WARNING, logger="webhooks.engine"):
        deliveries_dispatch([str(delivery.id)])
    assert [record for record in caplog.records if record.name == "webhooks.engine"] == []


# --- Figures -----------------------------------------------------------------------------------


def test_figures_give_success_rate_latency_and_what_is_pending(api_a, endpoint_a, receiver):
    receiver.respond(200, 200, 200, 500)
    deliveries = [emit(endpoint_a.workspace).deliveries.get() for _ in range(4)]
    for delivery in deliveries:
        deliveries_dispatch([str(delivery.id)])
    Attempt.objects.filter(delivery=deliveries[0]).update(duration_ms=10)
    Attempt.objects.filter(delivery=deliveries[1]).update(duration_ms=20)
    Attempt.objects.filter(delivery=deliveries[2]).update(duration_ms=30)
    Attempt.objects.filter(delivery=deliveries[3]).update(duration_ms=400)

    response = api_a.get(f"/api/v1/webhooks/{endpoint_a.id}/figures")

    assert response.status_code == 200
    figures = response.json()
    retry = Delivery.objects.get(pk=deliveries[3].pk).next_attempt_at
    assert figures == {
        "window_hours": 24,
        "attempts": 4,
        "success_rate": 0.75,
        "latency_p50_ms": 30,
        "latency_p95_ms": 400,
        "in_flight": 0,
        "pending": 1,
        "failed": 0,
        "next_retry_at": retry.isoformat().replace("+00:00", "Z"),
        "enabled": True,
        "disabled_reason": "",
        "failing_since": figures["failing_since"],
        "last_success_at": figures["last_success_at"],
        "backoff_until": None,
    }
    assert figures["failing_since"] is not None  # the last attempt failed


def test_figures_of_an_endpoint_without_attempts(api_a, endpoint_a):
    figures = api_a.get(f"/api/v1/webhooks/{endpoint_a.id}/figures").json()
    assert (figures["attempts"], figures["success_rate"], figures["latency_p95_ms"]) == (0, None, None)


# --- Bulk replay limits ------------------------------------------------------------------------


def _fail(deliveries):
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(status=Delivery.Status.FAILED)


def test_bulk_replay_runs_one_at_a_time_per_endpoint(api_a, endpoint_a, receiver):
    failed = [emit(endpoint_a.workspace).deliveries.get() for _ in range(3)]
    _fail(failed)
    since = (timezone.now() - timedelta(hours=1)).isoformat()

    first = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/replay", {"since": since}, format="json")
    assert first.status_code == 202
    assert first.json()["replayed"] == 3

    second = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/replay", {"since": since}, format="json")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "CONFLICT"
    assert "still running (3 replayed deliveries pending)" in second.json()["error"]["message"]
    assert Delivery.objects.filter(replay_of__isnull=False).count() == 3

    deliveries_dispatch(first.json()["delivery_ids"])  # the replay finishes ...
    third = api_a.post(f"/api/v1/webhooks/{endpoint_a.id}/replay", {"since": since}, format="json")
    assert third.status_code == 202  # ... so another may run


def test_bulk_replay_skips_events_already_pending_and_replays_each_event_once(workspace_a, endpoint_a, receiver):
    def failed_delivery(event):
        return Delivery.objects.create(
            workspace=workspace_a, event=event, endpoint=endpoint_a, status=Delivery.Status.FAILED
        )

    # Failed once, and pending again (a replay not yet delivered): not replayed a second time.
    pending_again = emit(workspace_a)
    _fail([pending_again.deliveries.get()])
    Delivery.objects.create(workspace=workspace_a, event=pending_again, endpoint=endpoint_a)
    # Failed twice (an earlier replay failed too): replayed once.
    twice = emit(workspace_a)
    _fail([twice.deliveries.get()])
    failed_delivery(twice)

    replays = deliveries_replay_failed(
        workspace=workspace_a, endpoint=endpoint_a, since=timezone.now() - timedelta(hours=1)
    )

    assert [replay.event_id for replay in replays] == [twice.id]


# --- The plan's endpoint limit -----------------------------------------------------------------


def test_a_workspace_has_at_most_its_plans_endpoints(api_a, workspace_a, receiver):
    plan = workspace_a.plan
    plan.max_webhook_endpoints = 2
    plan.save()
    for _ in range(2):
        assert api_a.post("/api/v1/webhooks", {"url": receiver.url}, format="json").status_code == 201

    response = api_a.post("/api/v1/webhooks", {"url": receiver.url}, format="json")

    assert response.status_code == 403
    assert response.json()["error"] == {
        "code": "FORBIDDEN",
        "message": ("Your plan allows 2 webhook endpoints per workspace. Delete one, or ask us to lift the limit."),
        "details": {},
    }
    hook = api_a.post("/api/v1/hooks", {"target_url": receiver.url, "event": "lead.created"}, format="json")
    assert hook.status_code == 403
    assert Endpoint.objects.filter(workspace=workspace_a).count() == 2


def test_the_default_limit_is_50(workspace_a):
    assert workspace_a.plan.max_webhook_endpoints == 50
    with pytest.raises(Exception, match="allows 1 webhook"):
        workspace_a.plan.max_webhook_endpoints = 1
        workspace_a.plan.save()
        endpoint_create(workspace=workspace_a, url="https://8.8.8.8/a")
        endpoint_create(workspace=workspace_a, url="https://8.8.8.8/b")
