"""End to end: leads from every channel reach a subscriber that verifies as consumers do."""

import pytest
from standardwebhooks import Webhook

from crm.models import Contact
from webhooks.models import Delivery, Event
from webhooks.tasks import deliveries_sweep

pytestmark = pytest.mark.django_db


def delivered(endpoint, receiver):
    """Run the sweep as beat would, then what the subscriber verified, by type."""
    while deliveries_sweep():
        pass
    receiver.wait_for(Delivery.objects.filter(endpoint=endpoint).count())
    payloads = [Webhook(endpoint.secret).verify(item.body, item.headers) for item in receiver.received]
    return payloads


def test_intake_widget_api_and_notes_reach_the_subscriber(
    client, workspace_a, endpoint_a, receiver, make_key, client_for
):
    key = make_key(workspace_a)
    intake = client.post(
        "/api/v1/webhook/forms",
        {"phone_number": "(818) 740 5020", "name": "Ada Lovelace"},
        content_type="application/json",
        HTTP_X_LEADHUB_KEY=key,  # an all-scopes key goes in a header; in the body only intake keys
    )
    assert intake.status_code == 201
    client.post(
        "/api/v1/webhook/forms",
        {"phone_number": "8187405020", "city": "London", "force_update": True},
        content_type="application/json",
        HTTP_X_LEADHUB_KEY=key,
    )
    contact_id = intake.json()["contact_id"]
    api = client_for(key)
    assert api.post(f"/api/v1/contacts/{contact_id}/notes", {"body": "Called back"}, format="json").status_code == 201

    payloads = delivered(endpoint_a, receiver)
    by_type = {}
    for payload in payloads:
        by_type.setdefault(payload["type"], []).append(payload)
    assert sorted(by_type) == ["lead.created", "lead.qualified", "lead.updated", "note.created"]
    assert by_type["lead.created"][0]["data"]["id"] == contact_id
    assert by_type["lead.created"][0]["data"]["phone"] == "+18187405020"
    assert by_type["lead.updated"][0]["data"]["city"] == "London"
    assert by_type["note.created"][0]["data"]["contact_id"] == contact_id
    assert all(payload["workspace_id"] == str(workspace_a.id) for payload in payloads)
    assert len({item.headers["webhook-id"] for item in receiver.received}) == len(payloads)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SUCCEEDED}


def test_another_workspaces_leads_never_reach_the_subscriber(client, workspace_b, endpoint_a, receiver, make_key):
    key_b = make_key(workspace_b, scopes=["intake"])
    client.post(
        "/api/v1/webhook/forms", {"api_token": key_b, "phone_number": "8187405020"}, content_type="application/json"
    )
    assert Contact.objects.filter(workspace=workspace_b).exists()
    assert deliveries_sweep() == 0
    assert receiver.received == []


def test_the_outbox_chooses_the_endpoints_that_subscribes_to_chooses(workspace_a, workspace_b, local_webhooks):
    """events_emit picks the subscribed endpoints in the database on PostgreSQL (one statement)
    and in Python elsewhere: both must choose exactly as Endpoint.subscribes_to does."""
    from django.db import transaction

    from webhooks.endpoints.services import endpoint_create
    from webhooks.models import Endpoint
    from webhooks.outbox.services import events_emit

    def make(workspace, **kwargs):
        return endpoint_create(workspace=workspace, url="http://127.0.0.1:9/hook", **kwargs).endpoint

    make(workspace_a, event_types=[])
    make(workspace_a, event_types=["lead.created"])
    make(workspace_a, event_types=["lead.updated", "lead.qualified"])
    make(workspace_a, event_types=[], enabled=False)
    make(workspace_a, event_types=[], data_filter={"campaign_id": "c-1"})
    make(workspace_a, event_types=[], data_filter={"campaign_id": "c-2"})
    make(workspace_a, event_types=[], data_filter={"campaign_id": "c-1", "kind": "reply"})
    make(workspace_a, event_types=[], data_filter={"missing": None})  # null matches only a null that is there
    make(workspace_a, event_types=[], data_filter={"flag": True})  # true is not 1
    make(workspace_a, event_types=[], data_filter={"count": 1})  # 1 is 1.0
    make(workspace_b, event_types=[])
    events = [
        ("lead.created", {"id": "x", "campaign_id": "c-1"}),
        ("lead.qualified", {"id": "x", "campaign_id": "c-1", "kind": "reply"}),
        ("lead.updated", {"id": "x", "flag": 1, "count": 1.0}),
    ]
    with transaction.atomic():
        rows = events_emit(workspace=workspace_a, events=events)
    endpoints = list(Endpoint.objects.all())
    expected = {
        (event.id, endpoint.id)
        for event in rows
        for endpoint in endpoints
        if endpoint.workspace_id == workspace_a.pk
        and endpoint.enabled
        and endpoint.subscribes_to(event.type, event.data)
    }
    stored = set(Delivery.objects.values_list("event_id", "endpoint_id"))
    assert stored == expected
    # all 3 + lead.created 1 + updated/qualified 2 + campaign c-1 2 + c-1 replies 1 + count 1.0: not
    # all, not none; the null and the true filters match nothing
    assert len(expected) == 10
    assert all(delivery.next_attempt_at and delivery.status == "pending" for delivery in Delivery.objects.all())
    assert sorted(Event.objects.values_list("type", flat=True)) == sorted(type_ for type_, _ in events)


def test_events_emitted_in_bulk_are_stored_whole_and_delivered(workspace_a, endpoint_a, receiver):
    """event_emit_many builds its events positionally (a campaign's 10,000 lead.created): each
    keeps its workspace, type, bot, data and time, and reaches the subscriber."""
    from django.db import transaction

    from leadhub.tenancy import tenant_scope
    from webhooks.services import event_emit_many

    datas = [{"id": f"contact-{n}", "phone": f"+1818740502{n}"} for n in range(3)]
    with tenant_scope(workspace_a.pk), transaction.atomic():
        events = event_emit_many(workspace=workspace_a, type="lead.created", datas=datas, bot_id="bot-1")
    stored = list(Event.objects.filter(pk__in=[event.pk for event in events]).order_by("data__id"))
    assert [event.data for event in stored] == datas
    assert {(event.workspace_id, event.type, event.bot_id) for event in stored} == {
        (workspace_a.pk, "lead.created", "bot-1")
    }
    assert all(event.created_at is not None for event in stored)
    assert sorted(payload["data"]["id"] for payload in delivered(endpoint_a, receiver)) == [d["id"] for d in datas]
