"""The one gate of /w/<workspace_id>/: every page and action of the dashboard, for the owner, an
agent, agency staff, an outsider and nobody. One table drives them all, and a test holds the
table to the URL map so a new page cannot skip it."""

import pytest
from django.test import Client
from django.urls import URLPattern

from accounts.models import ApiKey
from accounts.services import api_key_create
from booking.models import Booking
from crm.models import Note
from dashboard import urls as dashboard_urls
from dashboard.imports import contact_import_create
from messaging.campaigns.models import Campaign
from messaging.models import Conversation, KnowledgeDocument, Message
from webhooks.models import Delivery

from .conftest import failed_delivery, logged_in

pytestmark = pytest.mark.django_db

CSV = b"name,phone\nAda,+18187405020\n"


@pytest.fixture
def objects(workspace_a, owner_a, lead_a, endpoint_a, receiver, campaign_a, booking_a, conversation_a, brain_a):
    delivery = failed_delivery(workspace_a, endpoint_a, receiver)
    key = api_key_create(workspace=workspace_a, name="zapier", scopes=["contacts:read"]).api_key
    contact_import = contact_import_create(workspace=workspace_a, user=owner_a, filename="a.csv", raw=CSV)
    return {
        "lead": lead_a,
        "endpoint": endpoint_a,
        "delivery": delivery,
        "key": key,
        "import": contact_import,
        "campaign": campaign_a,
        "booking": booking_a,
        "conversation": conversation_a,
        "brain": brain_a,
        "document": KnowledgeDocument.objects.filter(brain=brain_a).first(),
    }


def routes(o):
    """(name, method, path under /w/<id>/, admin only, POST data)."""
    lead, endpoint, delivery, key, imp = o["lead"], o["endpoint"], o["delivery"], o["key"], o["import"]
    campaign, booking = o["campaign"], o["booking"]
    conversation, brain, document = o["conversation"], o["brain"], o["document"]
    knowledge = {"brain": brain.pk, "title": "Parking", "content": "Free parking behind the building."}
    return [
        ("workspace", "GET", "", False, None),
        ("leads", "GET", "leads/", False, None),
        ("leads-export", "GET", "leads/export.csv", False, None),
        ("leads-import", "GET", "leads/import/", False, None),
        ("leads-import-detail", "GET", f"leads/import/{imp.pk}/", False, None),
        ("leads-import-progress", "GET", f"leads/import/{imp.pk}/progress", False, None),
        ("leads-import-rejected", "GET", f"leads/import/{imp.pk}/rejected.csv", False, None),
        ("lead", "GET", f"leads/{lead.pk}/", False, None),
        ("lead-note", "POST", f"leads/{lead.pk}/notes", False, {"body": "Called back"}),
        ("lead-tags", "POST", f"leads/{lead.pk}/tags", False, {}),
        ("lead-update", "POST", f"leads/{lead.pk}/update", False, {"status": "won", "owner": ""}),
        ("contact-bookings", "GET", f"leads/{lead.pk}/bookings", False, None),
        ("contact-conversations", "GET", f"leads/{lead.pk}/conversation", False, None),
        ("lead-send", "POST", f"leads/{lead.pk}/messages", False, {"content": "Hello", "channel": "whatsapp"}),
        ("conversations", "GET", "conversations/", False, None),
        ("conversation", "GET", f"conversations/{conversation.pk}/", False, None),
        ("conversation-send", "POST", f"conversations/{conversation.pk}/messages", False, {"content": "Hi"}),
        ("conversation-takeover", "POST", f"conversations/{conversation.pk}/takeover", False, {}),
        ("conversation-handback", "POST", f"conversations/{conversation.pk}/handback", False, {}),
        ("knowledge", "GET", "knowledge/", False, None),
        ("knowledge-create", "POST", "knowledge/new", True, knowledge),
        ("knowledge-document", "GET", f"knowledge/{document.pk}/", False, None),
        ("knowledge-update", "POST", f"knowledge/{document.pk}/edit", True, knowledge),
        ("knowledge-delete", "POST", f"knowledge/{document.pk}/delete", True, {}),
        ("bookings", "GET", "bookings/", False, None),
        ("booking-cancel", "POST", f"bookings/{booking.pk}/cancel", False, {}),
        ("stats", "GET", "stats/", False, None),
        ("webhooks", "GET", "webhooks/", True, None),
        ("delivery", "GET", f"webhooks/deliveries/{delivery.pk}/", True, None),
        ("delivery-replay", "POST", f"webhooks/deliveries/{delivery.pk}/replay", True, {}),
        ("delivery-give-up", "POST", f"webhooks/deliveries/{delivery.pk}/give-up", True, {}),
        ("webhook", "GET", f"webhooks/{endpoint.pk}/", True, None),
        ("webhook-enabled", "POST", f"webhooks/{endpoint.pk}/enabled", True, {"enabled": "false"}),
        ("webhook-replay", "POST", f"webhooks/{endpoint.pk}/replay", True, {"since": "2020-01-01T00:00"}),
        ("campaigns", "GET", "campaigns/", False, None),
        ("campaign-cancel", "POST", f"campaigns/{campaign.pk}/cancel", False, {}),
        ("keys", "GET", "keys/", True, None),
        ("key-revoke", "POST", f"keys/{key.pk}/revoke", True, {}),
    ]


def call(client: Client, workspace, method, path, data):
    url = f"/w/{workspace.pk}/{path}"
    return client.get(url) if method == "GET" else client.post(url, data or {})


def state(workspace):
    """What an action could change, to assert that a refused one changed nothing."""
    return (
        Note.objects.filter(workspace=workspace).count(),
        Delivery.objects.filter(workspace=workspace).count(),
        list(Delivery.objects.filter(workspace=workspace).order_by("pk").values_list("status", flat=True)),
        list(ApiKey.objects.filter(workspace=workspace).values_list("revoked_at", flat=True)),
        list(workspace.webhook_endpoints.values_list("enabled", flat=True)),
        list(workspace.contacts.values_list("status", flat=True)),
        list(Campaign.objects.filter(workspace=workspace).values_list("status", flat=True)),
        list(Booking.objects.filter(workspace=workspace).values_list("status", flat=True)),
        Message.objects.filter(workspace=workspace).count(),
        list(Conversation.objects.filter(workspace=workspace).values_list("taken_over_at", flat=True)),
        sorted(KnowledgeDocument.objects.filter(workspace=workspace).values_list("title", "content")),
    )


def test_the_table_covers_every_workspace_page(objects):
    names = {name for name, *_ in routes(objects)}
    patterns = [p for p in dashboard_urls.workspace_patterns if isinstance(p, URLPattern)]
    assert {p.name for p in patterns} == names
    for pattern in patterns:
        gate = getattr(pattern.callback, "workspace_gate", None)
        assert gate is not None, f"{pattern.name} is not behind workspace_page"
    admin_names = {name for name, _, _, admin, _ in routes(objects) if admin}
    assert {p.name for p in patterns if p.callback.workspace_gate["admin"]} == admin_names


def test_outsider_gets_404_everywhere_and_changes_nothing(objects, workspace_a, outsider):
    client = logged_in(outsider)
    before = state(workspace_a)
    for name, method, path, _admin, data in routes(objects):
        response = call(client, workspace_a, method, path, data)
        assert response.status_code == 404, name
        assert b"Not found" in response.content, name
    assert state(workspace_a) == before


def test_agent_gets_403_on_admin_pages_and_changes_nothing(objects, workspace_a, agent_a):
    client = logged_in(agent_a)
    before = state(workspace_a)
    for name, method, path, admin, data in routes(objects):
        if not admin:
            continue
        response = call(client, workspace_a, method, path, data)
        assert response.status_code == 403, name
        assert b"You may not do this" in response.content
    assert state(workspace_a) == before


def test_agent_may_work_the_leads(objects, workspace_a, agent_a):
    client = logged_in(agent_a)
    for name, method, path, admin, data in routes(objects):
        if admin:
            continue
        response = call(client, workspace_a, method, path, data)
        assert response.status_code in (200, 302), (name, response.status_code)
        if response.status_code == 302:
            assert f"/w/{workspace_a.pk}/" in response["Location"], name


def test_agency_staff_enter_every_workspace_of_their_agency(objects, workspace_a, staff_a):
    client = logged_in(staff_a)
    assert client.get(f"/w/{workspace_a.pk}/leads/").status_code == 200
    # Staff with the agent role: admin pages are refused like an agent's.
    assert client.get(f"/w/{workspace_a.pk}/keys/").status_code == 403


def test_agency_staff_do_not_enter_another_agencys_workspace(objects, workspace_b, staff_a):
    assert logged_in(staff_a).get(f"/w/{workspace_b.pk}/leads/").status_code == 404


def test_nobody_logged_in_is_sent_to_the_login_page(objects, workspace_a):
    client = Client()
    before = state(workspace_a)
    for name, method, path, _admin, data in routes(objects):
        response = call(client, workspace_a, method, path, data)
        assert response.status_code == 302, name
        assert response["Location"].startswith("/login/?next="), name
    assert state(workspace_a) == before


@pytest.mark.parametrize("workspace_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_a_malformed_or_missing_workspace_is_the_same_404(owner_client, workspace_id):
    response = owner_client.get(f"/w/{workspace_id}/leads/")
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_a_lead_of_another_workspace_is_404_inside_ones_own(owner_client, workspace_a, lead_b):
    assert owner_client.get(f"/w/{workspace_a.pk}/leads/{lead_b.pk}/").status_code == 404
    response = owner_client.post(f"/w/{workspace_a.pk}/leads/{lead_b.pk}/notes", {"body": "x"})
    assert response.status_code == 404
    assert not Note.objects.filter(contact=lead_b).exists()


def test_a_delivery_of_another_workspace_is_404_inside_ones_own(
    owner_client, workspace_a, workspace_b, endpoint_b, receiver
):
    foreign = failed_delivery(workspace_b, endpoint_b, receiver)
    assert owner_client.get(f"/w/{workspace_a.pk}/webhooks/deliveries/{foreign.pk}/").status_code == 404
    response = owner_client.post(f"/w/{workspace_a.pk}/webhooks/deliveries/{foreign.pk}/replay")
    assert response.status_code == 404
    assert Delivery.objects.filter(workspace=workspace_b).count() == 1


def test_every_form_needs_its_csrf_token(objects, workspace_a, owner_a):
    client = logged_in(owner_a, enforce_csrf=True)
    before = state(workspace_a)
    for name, method, path, _admin, data in routes(objects):
        if method != "POST":
            continue
        response = call(client, workspace_a, method, path, data)
        assert response.status_code == 403, name
    assert state(workspace_a) == before
    # With the token the page gives, the same action goes through.
    page = client.get(f"/w/{workspace_a.pk}/leads/{objects['lead'].pk}/")
    token = page.context["csrf_token"]
    response = client.post(
        f"/w/{workspace_a.pk}/leads/{objects['lead'].pk}/notes", {"body": "With a token", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Note.objects.filter(body="With a token").exists()


def test_htmx_requests_carry_the_token_in_a_header(objects, workspace_a, owner_a):
    client = logged_in(owner_a, enforce_csrf=True)
    page = client.get(f"/w/{workspace_a.pk}/leads/{objects['lead'].pk}/")
    token = str(page.context["csrf_token"])
    # base.html puts the token in hx-headers on <body>, which htmx sends with every request.
    assert f'"X-CSRFToken": "{token}"'.encode() in page.content
    response = client.post(
        f"/w/{workspace_a.pk}/leads/{objects['lead'].pk}/notes",
        {"body": "From htmx"},
        HTTP_X_CSRFTOKEN=token,
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert b"From htmx" in response.content
