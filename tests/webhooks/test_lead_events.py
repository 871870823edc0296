"""End to end: leads from every channel reach a subscriber that verifies as consumers do."""

import pytest
from standardwebhooks import Webhook

from crm.models import Contact
from webhooks.models import Delivery
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
