"""POST /api/save-lead: the widget saves its conversation and lead (SPEC §5.2)."""

import pytest

from crm.models import Contact
from messaging.brains.services import brain_create
from messaging.models import Conversation, Message
from tests.crm.support import contact_make, error_of
from tests.messaging.save_lead_support import ORIGIN, URL, chat, post
from webhooks.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def brain_b(workspace_b):
    return brain_create(workspace=workspace_b, name="Other desk")


def test_first_post_creates_the_conversation_and_lead_201(client, brain, workspace_a):
    response = post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "page_url": "https://acme.example/pricing",
            "messages": chat(("assistant", "Hi!"), ("user", "I'm Ada")),
            "lead_name": "Ada",
            "lead_phone": "(818) 740 5020",
            "lead_email": "ADA@example.com",
            "lead_business": "Engines",
            "message_count": 2,
        },
    )
    assert response.status_code == 201, response.content
    assert response.json() == {"ok": True, "status": 201, "session_token": response.json()["session_token"]}
    conversation = Conversation.objects.get(workspace=workspace_a, session_id="s1")
    contact = conversation.contact
    assert (contact.phone_number, contact.email, contact.name, contact.company_name) == (
        "+18187405020",
        "ada@example.com",
        "Ada",
        "Engines",
    )
    assert (contact.source, contact.session_id, contact.message_count) == ("widget", "s1", 2)
    assert contact.first_touch["page_url"] == "https://acme.example/pricing"
    assert list(conversation.messages.values_list("role", "content")) == [("assistant", "Hi!"), ("user", "I'm Ada")]
    assert set(Event.objects.filter(workspace=workspace_a).values_list("type", flat=True)) == {
        "lead.created",
        "lead.qualified",
    }
    assert Event.objects.filter(type="lead.created").get().bot_id == brain.bot_id


def test_reposting_the_transcript_appends_only_new_messages_200(client, brain):
    first = chat(("assistant", "Hi!"), ("user", "hello"))
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": first})
    ids = list(Message.objects.order_by("position").values_list("id", flat=True))
    again = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": first})
    assert again.status_code == 200
    assert again.json() == {"ok": True, "status": 200}
    longer = post(
        client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": [*first, *chat(("assistant", "How?"))]}
    )
    assert longer.status_code == 200
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["Hi!", "hello", "How?"]
    assert list(Message.objects.order_by("position").values_list("id", flat=True))[:2] == ids
    assert Conversation.objects.count() == 1
    assert Contact.objects.get().message_count == 3


def test_an_older_shorter_transcript_removes_nothing(client, brain):
    full = chat(("user", "a"), ("assistant", "b"), ("user", "c"))
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": full})
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": full[:1]})
    assert Message.objects.count() == 3


def test_a_diverging_transcript_replaces_the_stored_tail(client, brain):
    first = post(
        client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": chat(("user", "a"), ("assistant", "b"))}
    )
    token = first.json()["session_token"]
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "session_token": token,
            "messages": chat(("user", "a"), ("assistant", "B!")),
        },
    )
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["a", "B!"]


def test_a_session_with_a_known_phone_joins_that_contact(client, brain, workspace_a):
    known = contact_make(workspace_a, phone="8187405020", name="Known", source="intake")
    post(client, {"bot_id": brain.bot_id, "session_id": "s9", "lead_phone": "+1 818-740-5020"})
    assert Contact.objects.filter(workspace=workspace_a).count() == 1
    assert Conversation.objects.get().contact_id == known.id
    known.refresh_from_db()
    assert known.source == "intake"  # the widget's source applies to contacts it creates only


def test_a_session_with_a_known_email_joins_that_contact(client, brain, workspace_a):
    known = contact_make(workspace_a, email="ada@example.com")
    post(client, {"bot_id": brain.bot_id, "session_id": "s9", "lead_email": "Ada@Example.com"})
    assert Conversation.objects.get().contact_id == known.id


def test_the_same_session_id_in_two_workspaces_stays_apart(client, brain, brain_b, workspace_a, workspace_b):
    post(client, {"bot_id": brain.bot_id, "session_id": "same", "messages": chat(("user", "a"))})
    response = post(client, {"bot_id": brain_b.bot_id, "session_id": "same", "messages": chat(("user", "b"))})
    assert response.status_code == 201
    assert Conversation.objects.filter(workspace=workspace_a).get().messages.get().content == "a"
    assert Conversation.objects.filter(workspace=workspace_b).get().messages.get().content == "b"


def test_an_unknown_bot_id_is_400_bad_request(client):
    error = error_of(post(client, {"bot_id": "bot_nope", "session_id": "s"}), 400, "BAD_REQUEST")
    assert "bot_id" in error["details"]
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"session_id": "s"}, "bot_id"),
        ({"session_id": ""}, "session_id"),
        ({"lead_phone": "12"}, "lead_phone"),
        ({"lead_email": "nope"}, "lead_email"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages"),
        ({"messages": "hi"}, "messages"),
        ({"message_count": -1}, "message_count"),
    ],
)
def test_invalid_fields_are_400_naming_them(client, brain, body, field):
    payload = {"bot_id": brain.bot_id, "session_id": "s", **body}
    if field == "bot_id":
        payload.pop("bot_id")
    error = error_of(post(client, payload), 400, "VALIDATION_ERROR")
    assert field in error["details"]


def test_a_non_object_body_is_400(client):
    error_of(post(client, "[1, 2]"), 400, "VALIDATION_ERROR")
    error_of(client.post(URL, "{", content_type="application/json"), 400, "BAD_REQUEST")


def test_a_plain_text_json_body_is_accepted_so_widgets_can_skip_the_preflight(client, brain):
    import json

    body = json.dumps({"bot_id": brain.bot_id, "session_id": "s1"})
    assert client.post(URL, body, content_type="text/plain").status_code == 201


def test_it_is_limited_per_ip_with_429(client, brain, settings):
    settings.PUBLIC_RATE_PER_MINUTE = 2
    assert post(client, {"bot_id": brain.bot_id, "session_id": "s"}).status_code == 201
    assert post(client, {"bot_id": brain.bot_id, "session_id": "s"}).status_code == 200
    response = post(client, {"bot_id": brain.bot_id, "session_id": "s"})
    error_of(response, 429, "RATE_LIMITED")
    assert int(response["Retry-After"]) >= 1
    other_ip = post(client, {"bot_id": brain.bot_id, "session_id": "s"}, REMOTE_ADDR="10.9.9.9")
    assert other_ip.status_code == 200


def test_cors_allows_only_the_brains_origins(client, brain, brain_b):
    allowed = post(client, {"bot_id": brain.bot_id, "session_id": "s"}, HTTP_ORIGIN=ORIGIN)
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in allowed["Vary"]
    trailing = post(client, {"bot_id": brain.bot_id, "session_id": "s"}, HTTP_ORIGIN="https://www.acme.example")
    assert trailing["Access-Control-Allow-Origin"] == "https://www.acme.example"
    other = post(client, {"bot_id": brain.bot_id, "session_id": "s"}, HTTP_ORIGIN="https://evil.example")
    assert other.status_code == 403
    assert "Access-Control-Allow-Origin" not in other
    wrong_brain = post(client, {"bot_id": brain_b.bot_id, "session_id": "s"}, HTTP_ORIGIN=ORIGIN)
    assert wrong_brain.status_code == 403
    assert "Access-Control-Allow-Origin" not in wrong_brain
    no_origin = post(client, {"bot_id": brain_b.bot_id, "session_id": "s"})
    assert no_origin.status_code == 201  # a server or curl sends none; CORS is for browsers


def test_cors_headers_come_with_errors_of_a_known_brain(client, brain):
    response = post(client, {"bot_id": brain.bot_id, "session_id": "s", "lead_phone": "1"}, HTTP_ORIGIN=ORIGIN)
    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] == ORIGIN


def test_preflight_answers_for_an_allowed_origin_only(client, brain):
    ok = client.options(URL, HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert ok.status_code == 204
    assert ok["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in ok["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok["Access-Control-Allow-Headers"]
    refused = client.options(URL, HTTP_ORIGIN="https://evil.example", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in refused
    by_bot = client.options(f"{URL}?bot_id={brain.bot_id}", HTTP_ORIGIN=ORIGIN)
    assert by_bot["Access-Control-Allow-Origin"] == ORIGIN


def test_it_needs_no_credential_and_ignores_one(client, brain, api_b):
    response = api_b.post(URL, {"bot_id": brain.bot_id, "session_id": "s"}, format="json")
    assert response.status_code == 201
    assert Conversation.objects.get().workspace_id == brain.workspace_id


def test_a_nul_bot_id_on_the_preflight_is_refused_quietly(client):
    response = client.options("/api/save-lead?bot_id=%00", HTTP_ORIGIN="https://example.com")
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response
