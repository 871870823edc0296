"""Webhooks in the dashboard: endpoints, the delivery log by status, attempts with the response
excerpt, replay of one, of the picked ones and of all failed since a time, give up, re-enable."""

import pytest
from django.db import transaction

from webhooks.models import Delivery, Endpoint
from webhooks.services import event_emit

from .conftest import failed_delivery

pytestmark = pytest.mark.django_db


def url(workspace, rest=""):
    return f"/w/{workspace.pk}/webhooks/{rest}"


def test_the_endpoint_list_shows_health_of_the_last_week(owner_client, workspace_a, endpoint_a, receiver):
    failed_delivery(workspace_a, endpoint_a, receiver)
    page = owner_client.get(url(workspace_a)).content.decode()
    assert receiver.url in page
    assert "1 failed" in page and "0 ok" in page


def test_no_endpoint_yet_is_an_empty_state(owner_client, workspace_a):
    assert b"No webhook endpoints yet" in owner_client.get(url(workspace_a)).content


def test_adding_an_endpoint_shows_its_secret_once(owner_client, workspace_a, receiver):
    response = owner_client.post(url(workspace_a), {"url": receiver.url, "event_types": ["lead.created"]})
    assert response.status_code == 200
    endpoint = Endpoint.objects.get(workspace=workspace_a)
    assert endpoint.event_types == ["lead.created"]
    secret = response.context["new"].secret
    assert secret.startswith("whsec_") and secret in response.content.decode()
    assert secret not in owner_client.get(url(workspace_a)).content.decode()


def test_an_unsafe_url_is_refused_with_the_reason(owner_client, workspace_a):
    response = owner_client.post(url(workspace_a), {"url": "http://127.0.0.1:9/hook"})
    assert response.status_code == 400
    assert not Endpoint.objects.exists()
    assert b'class="notice error"' in response.content


def test_the_delivery_log_filters_by_status(owner_client, workspace_a, endpoint_a, receiver):
    failed_delivery(workspace_a, endpoint_a, receiver)
    with transaction.atomic():
        event_emit(workspace=workspace_a, type="note.created", data={"id": "n"})
    all_page = owner_client.get(url(workspace_a, f"{endpoint_a.pk}/")).content.decode()
    assert "lead.created" in all_page and "note.created" in all_page
    failed_page = owner_client.get(url(workspace_a, f"{endpoint_a.pk}/"), {"status": "failed"}).content.decode()
    assert "lead.created" in failed_page and "note.created" not in failed_page
    succeeded = owner_client.get(url(workspace_a, f"{endpoint_a.pk}/"), {"status": "succeeded"}).content
    assert b"No succeeded deliveries" in succeeded


def test_a_delivery_shows_its_attempts_with_the_response_excerpt(owner_client, workspace_a, endpoint_a, receiver):
    delivery = failed_delivery(workspace_a, endpoint_a, receiver, status=503, body=b"upstream is on fire")
    page = owner_client.get(url(workspace_a, f"deliveries/{delivery.pk}/")).content.decode()
    assert "HTTP 503" in page
    assert "upstream is on fire" in page
    assert str(delivery.event_id) in page


def test_replaying_one_delivery_makes_a_new_series_of_the_same_event(owner_client, workspace_a, endpoint_a, receiver):
    delivery = failed_delivery(workspace_a, endpoint_a, receiver)
    response = owner_client.post(url(workspace_a, f"deliveries/{delivery.pk}/replay"))
    replay = Delivery.objects.get(replay_of=delivery)
    assert response.status_code == 302
    assert response["Location"] == url(workspace_a, f"deliveries/{replay.pk}/")
    assert (replay.event_id, replay.status) == (delivery.event_id, "pending")


def test_bulk_replay_of_every_failed_delivery_since_a_time(owner_client, workspace_a, endpoint_a, receiver):
    first = failed_delivery(workspace_a, endpoint_a, receiver)
    second = failed_delivery(workspace_a, endpoint_a, receiver)
    response = owner_client.post(url(workspace_a, f"{endpoint_a.pk}/replay"), {"since": "2020-01-01T00:00"})
    assert response.status_code == 302
    assert set(Delivery.objects.filter(replay_of__isnull=False).values_list("replay_of", flat=True)) == {
        first.pk,
        second.pk,
    }
    assert b"2 deliveries replayed" in owner_client.get(response["Location"]).content


def test_bulk_replay_of_the_picked_deliveries(owner_client, workspace_a, endpoint_a, receiver):
    first = failed_delivery(workspace_a, endpoint_a, receiver)
    failed_delivery(workspace_a, endpoint_a, receiver)
    owner_client.post(url(workspace_a, f"{endpoint_a.pk}/replay"), {"delivery": [str(first.pk), "junk"]})
    assert list(Delivery.objects.filter(replay_of__isnull=False).values_list("replay_of", flat=True)) == [first.pk]


def test_give_up_makes_a_pending_delivery_failed(owner_client, workspace_a, endpoint_a):
    with transaction.atomic():
        event_emit(workspace=workspace_a, type="lead.created", data={"id": "x"})
    delivery = Delivery.objects.get(workspace=workspace_a)
    owner_client.post(url(workspace_a, f"deliveries/{delivery.pk}/give-up"))
    delivery.refresh_from_db()
    assert delivery.status == "failed"


def test_re_enabling_a_disabled_endpoint(owner_client, workspace_a, endpoint_a):
    Endpoint.objects.filter(pk=endpoint_a.pk).update(enabled=False, disabled_reason="Failing for 5 days.")
    page = owner_client.get(url(workspace_a, f"{endpoint_a.pk}/")).content.decode()
    assert "Failing for 5 days." in page and "Re-enable" in page
    owner_client.post(url(workspace_a, f"{endpoint_a.pk}/enabled"), {"enabled": "true"})
    endpoint_a.refresh_from_db()
    assert endpoint_a.enabled and endpoint_a.disabled_reason == ""


def test_the_delivery_log_costs_the_same_queries_for_many_deliveries(
    owner_client, workspace_a, endpoint_a, django_assert_max_num_queries
):
    with transaction.atomic():
        for _ in range(60):
            event_emit(workspace=workspace_a, type="lead.created", data={"id": "x"})
    with django_assert_max_num_queries(8):
        response = owner_client.get(url(workspace_a, f"{endpoint_a.pk}/"))
    assert response.content.decode().count("data-row href=") == 50
