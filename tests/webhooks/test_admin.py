"""The admin console: a delivery that failed 8 times is visible by status and endpoint with its
attempts, and a replay (single or bulk) delivers it again with the same webhook-id."""

import re
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import transaction

from webhooks.engine import MAX_ATTEMPTS
from webhooks.models import Delivery, Endpoint
from webhooks.services import endpoint_create, event_emit
from webhooks.tasks import deliveries_dispatch, deliveries_sweep

pytestmark = pytest.mark.django_db


def emit(workspace):
    with transaction.atomic():
        event = event_emit(workspace=workspace, type="lead.created", data={"id": "1"})
    return event.deliveries.get()


def fail_eight_times(delivery):
    deliveries_dispatch([str(delivery.id)])
    for _ in range(MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        with mock.patch("django.utils.timezone.now", return_value=delivery.next_attempt_at):
            assert deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED
    return delivery


@pytest.fixture
def failed(workspace_a, endpoint_a, receiver):
    receiver.status = 500
    delivery = fail_eight_times(emit(workspace_a))
    receiver.status = 200
    return delivery


def test_a_failed_delivery_is_listed_by_status_and_endpoint_with_its_attempts(
    admin_client, workspace_a, endpoint_a, failed, receiver
):
    other = endpoint_create(workspace=workspace_a, url=receiver.url + "/other").endpoint
    with transaction.atomic():  # pending deliveries to both endpoints
        event_emit(workspace=workspace_a, type="lead.created", data={"id": "2"})

    page = admin_client.get(f"/admin/webhooks/delivery/?status=failed&endpoint__id__exact={endpoint_a.id}")
    assert page.status_code == 200
    assert str(failed.id) in page.content.decode()
    assert page.context["cl"].result_count == 1
    page = admin_client.get(f"/admin/webhooks/delivery/?endpoint__id__exact={other.id}")
    assert page.context["cl"].result_count == 1

    detail = admin_client.get(f"/admin/webhooks/delivery/{failed.id}/change/")
    assert detail.status_code == 200
    content = detail.content.decode()
    assert len(re.findall(r"field-status_code[^>]*>\s*<p>500</p>", content)) == 8, content
    assert f"/admin/webhooks/delivery/{failed.id}/replay/" in content


def test_the_replay_button_delivers_with_the_same_webhook_id(admin_client, failed, receiver):
    response = admin_client.post(f"/admin/webhooks/delivery/{failed.id}/replay/")
    assert response.status_code == 302
    replay = Delivery.objects.get(replay_of=failed)
    assert response["Location"] == f"/admin/webhooks/delivery/{replay.id}/change/"

    deliveries_dispatch([str(replay.id)])
    replay.refresh_from_db()
    assert replay.status == Delivery.Status.SUCCEEDED
    ids = receiver.webhook_ids()
    assert len(ids) == 9 and set(ids) == {str(failed.event_id)}

    assert admin_client.get(f"/admin/webhooks/delivery/{failed.id}/replay/").status_code == 405


def test_the_bulk_replay_action_replays_the_selection(admin_client, workspace_a, endpoint_a, failed, receiver):
    receiver.status = 500
    second = fail_eight_times(emit(workspace_a))
    receiver.status = 200
    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "replay", "_selected_action": [str(failed.id), str(second.id)]},
        follow=True,
    )
    assert response.status_code == 200
    assert "2 deliveries replayed." in [str(m) for m in get_messages(response.wsgi_request)]
    replays = list(Delivery.objects.filter(replay_of__isnull=False))
    assert {r.replay_of_id for r in replays} == {failed.id, second.id}

    deliveries_dispatch([str(r.id) for r in replays])
    assert sorted(receiver.webhook_ids()[-2:]) == sorted([str(failed.event_id), str(second.event_id)])


def test_the_endpoint_action_replays_its_failed_deliveries(admin_client, endpoint_a, failed):
    response = admin_client.post(
        "/admin/webhooks/endpoint/",
        {"action": "replay_failed_last_day", "_selected_action": [str(endpoint_a.id)]},
        follow=True,
    )
    assert "1 failed deliveries replayed." in [str(m) for m in get_messages(response.wsgi_request)]
    assert Delivery.objects.filter(replay_of=failed).count() == 1


def test_adding_an_endpoint_vets_the_url_and_shows_the_secret_once(admin_client, workspace_a, receiver):
    response = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {"workspace": workspace_a.pk, "url": "https://10.0.0.8/hook", "description": "", "enabled": "on"},
    )
    assert response.status_code == 200
    assert "not a public address" in response.content.decode()
    assert not Endpoint.objects.exists()

    response = admin_client.post(
        "/admin/webhooks/endpoint/add/",
        {
            "workspace": workspace_a.pk,
            "url": receiver.url,
            "description": "from the admin",
            "event_types": ["lead.created"],
            "enabled": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert re.search(r"<code>(whsec_\S+)</code>", text).group(1) == endpoint.secret
    assert endpoint.event_types == ["lead.created"]
    page = admin_client.get(f"/admin/webhooks/endpoint/{endpoint.id}/change/").content.decode()
    assert endpoint.secret not in page


def test_the_disable_and_enable_actions(admin_client, endpoint_a):
    admin_client.post("/admin/webhooks/endpoint/", {"action": "disable", "_selected_action": [str(endpoint_a.id)]})
    endpoint_a.refresh_from_db()
    assert endpoint_a.enabled is False
    admin_client.post("/admin/webhooks/endpoint/", {"action": "enable", "_selected_action": [str(endpoint_a.id)]})
    endpoint_a.refresh_from_db()
    assert endpoint_a.enabled is True


def test_every_page_loads(admin_client, workspace_a, endpoint_a):
    delivery = emit(workspace_a)
    for url in (
        "/admin/webhooks/endpoint/",
        f"/admin/webhooks/endpoint/{endpoint_a.id}/change/",
        "/admin/webhooks/endpoint/add/",
        "/admin/webhooks/delivery/",
        "/admin/webhooks/delivery/?status=pending",
        f"/admin/webhooks/delivery/{delivery.id}/change/",
        "/admin/webhooks/event/",
        f"/admin/webhooks/event/{delivery.event_id}/change/",
    ):
        assert admin_client.get(url).status_code == 200, url


def test_giving_up_marks_pending_deliveries_failed(admin_client, workspace_a, endpoint_a, failed):
    pending = emit(workspace_a)
    response = admin_client.post(
        "/admin/webhooks/delivery/",
        {"action": "give_up", "_selected_action": [str(pending.id), str(failed.id)]},
        follow=True,
    )
    assert "1 pending deliveries given up." in [str(m) for m in get_messages(response.wsgi_request)]
    pending.refresh_from_db()
    assert pending.status == Delivery.Status.FAILED
    assert pending.last_error == "Given up by admin:admin."
    assert deliveries_sweep() == 0


def test_an_endpoints_page_shows_its_figures(admin_client, workspace_a, endpoint_a, receiver):
    receiver.respond(500)
    retried = emit(workspace_a)
    deliveries_dispatch([str(retried.id)])  # failed: retried later
    deliveries_dispatch([str(emit(workspace_a).id)])  # succeeded
    retried.refresh_from_db()
    page = admin_client.get(f"/admin/webhooks/endpoint/{endpoint_a.id}/change/")

    assert page.status_code == 200
    content = page.content.decode()
    assert "50.0 % of 2 attempts" in content
    assert re.search(r"latency p50 / p95</th><td>\d+ ms / \d+ ms<", content), content
    assert "in flight</th><td>0<" in content
    assert "pending / failed</th><td>1 / 0<" in content
    assert retried.next_attempt_at.isoformat(timespec="seconds").replace("+00:00", "Z") in content
    assert "enabled</th><td>yes<" in content

    Endpoint.objects.filter(pk=endpoint_a.pk).update(enabled=False, disabled_reason="The endpoint answered 410 Gone.")
    content = admin_client.get(f"/admin/webhooks/endpoint/{endpoint_a.id}/change/").content.decode()
    assert "enabled</th><td>no: The endpoint answered 410 Gone.<" in content
    assert admin_client.get("/admin/webhooks/endpoint/add/").status_code == 200  # no figures yet
