"""The delivery engine against a real HTTP server on 127.0.0.1: signing, retries, failure,
replay, 410, endpoint health, leases. The clock is moved, never slept on."""

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks.engine import MAX_ATTEMPTS, RETRY_DELAYS, deliveries_claim, deliveries_run, delivery_attempt
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.services import (
    delivery_replay,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
    event_emit,
)
from webhooks.tasks import deliveries_dispatch, deliveries_sweep
from webhooks.transport import http

pytestmark = pytest.mark.django_db

LEAD = {"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Ada Lovelace", "phone": "+18187405020"}


def emit(workspace, type="lead.created", data=None):
    with transaction.atomic():
        event = event_emit(workspace=workspace, type=type, data=data or LEAD)
    return event, list(Delivery.objects.filter(event=event))


def at(moment):
    """Run with timezone.now() answering `moment`."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_delivery_verifies_with_standardwebhooks_and_the_raw_body_hmac(workspace_a, endpoint_a, receiver):
    event, (delivery,) = emit(workspace_a, "lead.qualified")

    assert deliveries_dispatch([str(delivery.id)]) == 1

    (request,) = receiver.received
    payload = Webhook(endpoint_a.secret).verify(request.body, request.headers)
    assert payload == {
        "id": str(event.id),
        "type": "lead.qualified",
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "workspace_id": str(workspace_a.id),
        "bot_id": None,
        "data": LEAD,
    }
    assert request.headers["webhook-id"] == str(event.id)
    key = base64.b64decode(endpoint_a.secret.removeprefix("whsec_"))
    expected = "sha256=" + hmac.new(key, request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-LeadHub-Signature"] == expected
    assert request.headers["User-Agent"] == "LeadHub-Webhooks/1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Host"] == f"127.0.0.1:{receiver.server.server_address[1]}"
    assert request.path == "/hooks/leadhub"

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    assert delivery.lease_token is None
    (attempt,) = delivery.attempts.all()
    assert attempt.status_code == 200
    assert attempt.response_excerpt == '{"ok": true}'
    assert attempt.error == ""


def test_a_tampered_body_does_not_verify(workspace_a, endpoint_a, receiver):
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])
    (request,) = receiver.received
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoint_a.secret).verify(request.body.replace(b"Ada", b"Eve"), request.headers)


def test_emit_enqueues_dispatch_only_on_commit(workspace_a, endpoint_a, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        event_emit(workspace=workspace_a, type="lead.created", data=LEAD)
        assert callbacks == []
    assert len(callbacks) == 1


def test_emit_skips_disabled_and_unsubscribed_endpoints(workspace_a, workspace_b, receiver):
    subscribed = endpoint_create(workspace=workspace_a, url=receiver.url, event_types=["lead.booked"]).endpoint
    endpoint_create(workspace=workspace_a, url=receiver.url, event_types=["note.created"])
    endpoint_create(workspace=workspace_a, url=receiver.url, enabled=False)
    endpoint_create(workspace=workspace_b, url=receiver.url)

    _, deliveries = emit(workspace_a, "lead.booked")

    assert [delivery.endpoint_id for delivery in deliveries] == [subscribed.id]


def test_receiver_down_then_up_is_delivered_at_the_scheduled_time(workspace_a, endpoint_a, receiver):
    receiver.respond(503)
    event, (delivery,) = emit(workspace_a)
    first_at = timezone.now()

    deliveries_dispatch([str(delivery.id)])

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempt_count == 1
    assert delivery.last_status_code == 503
    # 30 s ± 10 % jitter from when the outcome was recorded (not from the wall clock here,
    # which a loaded machine moves on by any amount meanwhile)
    wait = delivery.next_attempt_at - delivery.updated_at
    assert timedelta(seconds=27) <= wait <= timedelta(seconds=33)
    assert delivery.updated_at >= first_at

    with at(delivery.next_attempt_at - timedelta(seconds=1)):
        assert deliveries_sweep() == 0
    assert len(receiver.received) == 1

    with at(delivery.next_attempt_at):
        assert deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert [attempt.status_code for attempt in delivery.attempts.all()] == [503, 200]
    assert receiver.webhook_ids() == [str(event.id), str(event.id)]


def test_eight_failures_fail_the_delivery_and_a_replay_delivers_the_same_webhook_id(workspace_a, endpoint_a, receiver):
    receiver.status = 500
    event, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    waits = []
    for _ in range(MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        previous = delivery.attempts.last().attempted_at
        waits.append(delivery.next_attempt_at - previous)
        with at(delivery.next_attempt_at):
            assert deliveries_sweep() == 1

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempt_count == 8
    assert delivery.next_attempt_at is None
    assert delivery.attempts.count() == 8
    for wait, scheduled in zip(waits, RETRY_DELAYS, strict=True):
        assert scheduled * 0.89 < wait < scheduled * 1.11 + timedelta(seconds=1)

    with at(timezone.now() + timedelta(days=3)):
        assert deliveries_sweep() == 0
    assert len(receiver.received) == 8

    receiver.status = 200
    replay = delivery_replay(workspace=workspace_a, delivery=delivery, actor="test")
    deliveries_dispatch([str(replay.id)])

    replay.refresh_from_db()
    assert replay.status == Delivery.Status.SUCCEEDED
    assert replay.replay_of == delivery
    assert replay.event_id == event.id
    assert set(receiver.webhook_ids()) == {str(event.id)}
    assert len(receiver.received) == 9
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED  # the original keeps its history


def test_redirects_are_not_followed(workspace_a, endpoint_a, receiver):
    receiver.respond(302)
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    assert len(receiver.received) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_status_code == 302


def test_connections_are_reused_per_endpoint(workspace_a, endpoint_a, receiver):
    for _ in range(3):
        _, (delivery,) = emit(workspace_a)
        deliveries_dispatch([str(delivery.id)])

    assert len(receiver.received) == 3
    assert len({request.client_port for request in receiver.received}) == 1


def test_the_response_excerpt_is_bounded(workspace_a, endpoint_a, receiver):
    receiver.response_body = b"x" * 200_000
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200
    assert len(attempt.response_excerpt) == Attempt.RESPONSE_EXCERPT_LIMIT == http.EXCERPT_LIMIT


def test_an_unreachable_receiver_records_the_error(workspace_a, receiver):
    port = receiver.server.server_address[1]
    receiver.stop()
    endpoint_create(workspace=workspace_a, url=f"http://127.0.0.1:{port}/gone")
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    attempt = Attempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert "Connect" in attempt.error or "refused" in attempt.error.lower()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.attempt_count == 1


def test_410_disables_the_endpoint_and_keeps_the_delivery(workspace_a, endpoint_a, receiver):
    receiver.respond(410)
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    endpoint_a.refresh_from_db()
    assert endpoint_a.enabled is False
    assert "410" in endpoint_a.disabled_reason
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING
    with at(delivery.next_attempt_at):
        assert deliveries_sweep() == 0  # a disabled endpoint gets nothing

    endpoint_update(workspace=workspace_a, endpoint=endpoint_a, enabled=True)
    with at(delivery.next_attempt_at):
        assert deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED


def test_410_deletes_a_rest_hook(workspace_a, receiver):
    hook = endpoint_create(workspace=workspace_a, url=receiver.url, is_rest_hook=True).endpoint
    receiver.respond(410)
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])

    assert not Endpoint.objects.filter(pk=hook.pk).exists()
    assert not Delivery.objects.filter(pk=delivery.pk).exists()


def test_rotation_signs_with_both_secrets_for_24_hours(workspace_a, endpoint_a, receiver):
    old = endpoint_a.secret
    new = endpoint_rotate_secret(workspace=workspace_a, endpoint=endpoint_a).secret
    assert new != old

    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(request.body, request.headers)
    Webhook(new).verify(request.body, request.headers)

    with at(timezone.now() + timedelta(hours=24, seconds=1)):
        _, (later,) = emit(workspace_a)
        deliveries_dispatch([str(later.id)])
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(request.body, request.headers)
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(request.body, request.headers)


def test_a_worker_that_lost_its_lease_records_nothing(workspace_a, endpoint_a, receiver):
    receiver.respond(500, 200)
    _, (delivery,) = emit(workspace_a)
    (stale,) = deliveries_claim()
    with at(stale.lease_expires_at + timedelta(seconds=1)):
        (current,) = deliveries_claim()  # the lease expired: another worker takes over
    assert current.lease_token != stale.lease_token

    assert delivery_attempt(delivery=stale) is None  # its 500 is not recorded
    assert delivery_attempt(delivery=current).status_code == 200

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert delivery.attempt_count == 1
    assert [attempt.status_code for attempt in delivery.attempts.all()] == [200]


def test_a_leased_delivery_is_not_claimed_twice(workspace_a, endpoint_a, receiver):
    emit(workspace_a)
    assert len(deliveries_claim()) == 1
    assert deliveries_claim() == []
    assert deliveries_sweep() == 0


def test_an_endpoint_failing_for_5_days_is_disabled_and_its_admins_told(
    workspace_a, owner_a, agent_a, receiver, django_capture_on_commit_callbacks
):
    owner_a.email = "owner@acme.test"
    owner_a.save()
    agent_a.email = "agent@acme.test"
    agent_a.save()
    endpoint = endpoint_create(workspace=workspace_a, url=receiver.url).endpoint
    receiver.status = 500
    start = timezone.now()
    _, (first,) = emit(workspace_a)
    deliveries_dispatch([str(first.id)])
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None

    with at(start + timedelta(days=4, hours=23)):
        _, (second,) = emit(workspace_a)
        deliveries_dispatch([str(second.id)])
    endpoint.refresh_from_db()
    assert endpoint.enabled

    with at(start + timedelta(days=5, minutes=1)):
        _, (third,) = emit(workspace_a)
        with django_capture_on_commit_callbacks(execute=True):  # the e-mail goes after commit
            deliveries_dispatch([str(third.id)])
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "5 days" in endpoint.disabled_reason
    (message,) = mail.outbox
    assert message.to == ["owner@acme.test"]
    assert endpoint.url in message.body

    # Re-enabling resumes: the kept deliveries go out at their scheduled times.
    receiver.status = 200
    endpoint_update(workspace=workspace_a, endpoint=endpoint, enabled=True)
    with at(timezone.now() + timedelta(days=6)):
        assert deliveries_sweep() == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}


def test_a_success_resets_the_health_clock(workspace_a, endpoint_a, receiver):
    receiver.respond(500)
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])
    endpoint_a.refresh_from_db()
    assert endpoint_a.failing_since is not None

    delivery.refresh_from_db()
    with at(delivery.next_attempt_at):
        assert deliveries_sweep() == 1
    endpoint_a.refresh_from_db()
    assert endpoint_a.failing_since is None
    assert endpoint_a.last_success_at is not None


def test_the_envelope_carries_the_bot_id(workspace_a, endpoint_a, receiver):
    with transaction.atomic():
        event = event_emit(workspace=workspace_a, type="message.received", data={"body": "hi"}, bot_id="bot_123")
    deliveries_dispatch([str(d.id) for d in event.deliveries.all()])
    assert json.loads(receiver.received[0].body)["bot_id"] == "bot_123"


def test_the_retry_scale_shrinks_the_schedule(workspace_a, endpoint_a, receiver, settings):
    settings.WEBHOOK_RETRY_SCALE = 0.01
    receiver.respond(500)
    _, (delivery,) = emit(workspace_a)
    deliveries_dispatch([str(delivery.id)])
    delivery.refresh_from_db()
    # 30 s × 0.01, ±10 % jitter, from when the outcome was recorded (both times are the
    # recorder's one `now`, so the machine's speed does not enter)
    assert timedelta(seconds=0.27) <= delivery.next_attempt_at - delivery.updated_at <= timedelta(seconds=0.33)


def test_a_nul_in_the_receivers_answer_is_recorded_not_fatal(workspace_a, endpoint_a, receiver):
    receiver.response_body = b"ok\x00then"
    _, (delivery,) = emit(workspace_a)
    assert deliveries_dispatch([str(delivery.id)]) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SUCCEEDED
    assert "\x00" not in delivery.attempts.get().response_excerpt


def test_a_loop_whose_window_closes_on_a_backlog_says_so_once(workspace_a, endpoint_a, receiver, settings):
    settings.WEBHOOK_ENDPOINT_MAX_IN_FLIGHT = 1
    receiver.delay = 0.3  # every answer comes after the 0.1 s claiming window has closed
    for _ in range(3):
        emit(workspace_a)
    told = []

    assert deliveries_run(max_seconds=0.1, on_time_up=lambda: told.append("more")) == 1

    assert told == ["more"]  # the task then queues the next loop rather than wait for a sweep
    assert Delivery.objects.filter(status=Delivery.Status.PENDING, attempt_count=0).count() == 2


def test_a_loop_that_drains_everything_does_not_ask_for_more(workspace_a, endpoint_a, receiver):
    for _ in range(3):
        emit(workspace_a)
    told = []

    assert deliveries_run(max_seconds=30, on_time_up=lambda: told.append("more")) == 3

    assert told == []
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}
