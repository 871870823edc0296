"""/api/zapier-webhook: Zapier's polling triggers and actions (SPEC §5.3)."""

import base64
import datetime
import uuid

import pytest

from crm.models import Contact, Note

from .support import contact_make, error_of

pytestmark = pytest.mark.django_db

URL = "/api/zapier-webhook"


def _leads(workspace, count, **values):
    contacts = []
    base = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    for n in range(count):
        contact = contact_make(
            workspace, email=f"lead{n}@example.com", name=f"Lead {n}", session_id=f"sess-{n}", **values
        )
        Contact.objects.filter(pk=contact.pk).update(created_at=base + datetime.timedelta(minutes=n))
        contacts.append(contact)
    return contacts


def test_leads_are_the_ten_most_recent_with_zapiers_fields(api_a, workspace_a):
    leads = _leads(workspace_a, 12, company_name="Biz", source="widget")
    response = api_a.get(URL, {"action": "leads"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [item["id"] for item in body] == [str(contact.id) for contact in reversed(leads[2:])]
    assert set(body[0]) == {
        "id",
        "session_id",
        "name",
        "email",
        "phone",
        "business",
        "message_count",
        "source",
        "created_at",
    }
    assert body[0]["business"] == "Biz"


def test_hot_leads_have_five_or_more_messages(api_a, workspace_a):
    cold = _leads(workspace_a, 1)[0]
    hot = contact_make(workspace_a, email="hot@example.com", message_count=5)
    ids = [item["id"] for item in api_a.get(URL, {"action": "hot-leads"}).json()]
    assert ids == [str(hot.id)]
    assert str(cold.id) not in ids


def test_leads_never_include_another_workspace(api_b, workspace_a):
    _leads(workspace_a, 2, message_count=9)
    assert api_b.get(URL, {"action": "leads"}).json() == []
    assert api_b.get(URL, {"action": "hot-leads"}).json() == []


def test_create_note_by_session_or_contact_id(api_a, workspace_a):
    contact = contact_make(workspace_a, email="a@example.com", session_id="sess-1")
    by_session = api_a.post(f"{URL}?action=create-note", {"session_id": "sess-1", "note": "from zap"}, format="json")
    assert by_session.status_code == 201, by_session.content
    assert by_session.json()["contact_id"] == str(contact.id)
    by_id = api_a.post(f"{URL}?action=create-note", {"contact_id": str(contact.id), "note": "again"}, format="json")
    assert by_id.status_code == 201
    assert list(Note.objects.filter(contact=contact).values_list("body", flat=True).order_by("created_at")) == [
        "from zap",
        "again",
    ]


def test_create_note_on_another_workspaces_lead_is_404(api_b, workspace_a):
    contact = contact_make(workspace_a, email="a@example.com", session_id="sess-1")
    for body in ({"session_id": "sess-1", "note": "x"}, {"contact_id": str(contact.id), "note": "x"}):
        error_of(api_b.post(f"{URL}?action=create-note", body, format="json"), 404, "NOT_FOUND")
    error_of(
        api_b.post(f"{URL}?action=create-note", {"contact_id": str(uuid.uuid4()), "note": "x"}, format="json"),
        404,
        "NOT_FOUND",
    )
    assert not Note.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [({"note": "x"}, "contact_id"), ({"session_id": "s"}, "note"), ({"contact_id": "nope", "note": "x"}, "contact_id")],
)
def test_create_note_with_bad_fields_is_400_naming_them(api_a, body, field):
    error = error_of(api_a.post(f"{URL}?action=create-note", body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_send_whatsapp_without_a_line_is_400_on_from_number(api_a):
    # Sending itself is tested in tests/messaging/test_outbound.py.
    response = api_a.post(f"{URL}?action=send-whatsapp", {"to": "+18187405020", "message": "hi"}, format="json")
    error = error_of(response, 400, "VALIDATION_ERROR")
    assert "from_number" in error["details"]


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("action", [None, "explode", ""])
def test_an_unknown_or_missing_action_is_400_naming_action(api_a, method, action):
    url = URL if action is None else f"{URL}?action={action}"
    error = error_of(getattr(api_a, method)(url, {}, format="json"), 400, "VALIDATION_ERROR")
    assert "action" in error["details"]


def test_an_action_with_the_wrong_method_is_405(api_a):
    error_of(api_a.get(URL, {"action": "create-note"}), 405, "METHOD_NOT_ALLOWED")
    error_of(api_a.post(f"{URL}?action=leads", {}, format="json"), 405, "METHOD_NOT_ALLOWED")


def test_zapier_needs_a_credential(client):
    error_of(client.get(URL, {"action": "leads"}), 401, "UNAUTHORIZED")


def test_each_action_needs_its_scope(workspace_a, make_key, client_for):
    contact_make(workspace_a, email="a@example.com", session_id="s")
    stats_only = client_for(make_key(workspace_a, scopes=["stats:read"]))
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    error_of(stats_only.get(URL, {"action": "leads"}), 403, "FORBIDDEN")
    error_of(
        reader.post(f"{URL}?action=create-note", {"session_id": "s", "note": "x"}, format="json"), 403, "FORBIDDEN"
    )
    error_of(reader.post(f"{URL}?action=send-whatsapp", {"to": "+1", "message": "x"}, format="json"), 403, "FORBIDDEN")
    assert not Note.objects.exists()


def test_zapier_works_with_an_oauth_token(client, oauth_app_a, workspace_a):
    contact_make(workspace_a, email="a@example.com")
    credentials = base64.b64encode(f"{oauth_app_a.application.client_id}:{oauth_app_a.client_secret}".encode())
    token = client.post(
        "/o/token/",
        {"grant_type": "client_credentials", "scope": "contacts:read"},
        HTTP_AUTHORIZATION="Basic " + credentials.decode(),
    ).json()["access_token"]
    response = client.get(URL, {"action": "leads"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert len(response.json()) == 1
