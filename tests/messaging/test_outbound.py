"""Outbound: send-whatsapp stores a queued message, the hand-off gives it to the provider (the
Twilio double records what it received), status callbacks move it forward only, consent is
checked again at hand-off, 21610 opts out."""

import json
from datetime import timedelta
from urllib.parse import urlencode

import pytest
import yaml
from django.test import Client
from django.utils import timezone

from crm.models import Contact, TimelineEntry
from messaging.models import ConsentChange, Conversation, Message
from messaging.outbound.services import message_handoff
from tests.crm.support import contact_make, error_of
from webhooks.models import Event

from .conftest import ACCOUNT_SID, AUTH_TOKEN, LEAD_NUMBER, LINE_NUMBER, TESTSERVER
from .doubles import twilio_signature

URL = "/api/zapier-webhook?action=send-whatsapp"


def _send(api, **body):
    return api.post(URL, {"to": LEAD_NUMBER, "message": "Your viewing is at 3pm.", **body}, format="json")


def _wrote_recently(workspace, line):
    """The lead wrote on WhatsApp an hour ago (the 24-hour window is open)."""
    contact = contact_make(workspace, phone=LEAD_NUMBER)
    Conversation.objects.create(
        workspace=workspace,
        contact=contact,
        channel="whatsapp",
        line=line,
        last_inbound_at=timezone.now() - timedelta(hours=1),
    )
    return contact


def test_send_whatsapp_queues_then_hands_to_the_provider(api_a, workspace_a, line_a, twilio_api, handoff, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    _wrote_recently(workspace_a, line_a)
    response = _send(api_a)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued"
    message = Message.objects.get(uid=body["id"])
    assert str(message.conversation_id) == body["conversation_id"]
    assert (message.status, message.direction, message.channel) == ("queued", "outbound", "whatsapp")
    assert twilio_api.messages == []  # nothing leaves before the worker hands it over

    assert handoff() == ["sent"]
    (sent,) = twilio_api.messages
    assert sent["To"] == f"whatsapp:{LEAD_NUMBER}"
    assert sent["From"] == f"whatsapp:{LINE_NUMBER}"
    assert sent["Body"] == "Your viewing is at 3pm."
    assert sent["StatusCallback"] == f"https://crm.example.com/api/twilio/status?message={message.uid}"
    request = next(r for r in twilio_api.requests if r.path.endswith("/Messages.json"))
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    message.refresh_from_db()
    assert message.status == "sent" and message.provider_sid.startswith("SM")
    event = Event.objects.get(type="message.sent")
    assert event.data["id"] == body["id"] and event.data["provider_sid"] == message.provider_sid


def test_sms_goes_without_the_whatsapp_prefix_and_needs_no_window(api_a, line_a, twilio_api, handoff):
    response = _send(api_a, channel="sms")
    assert response.status_code == 202, response.content
    handoff()
    assert twilio_api.messages[0]["To"] == LEAD_NUMBER and twilio_api.messages[0]["From"] == LINE_NUMBER


def test_whatsapp_free_text_outside_24_hours_is_refused(api_a, line_a, twilio_api):
    error = error_of(_send(api_a), 400, "VALIDATION_ERROR")
    assert "24 hours" in error["details"]["message"][0]
    assert not Message.objects.exists()


def test_a_template_goes_outside_the_window(api_a, line_a, twilio_api, handoff):
    response = _send(api_a, message="", content_sid="HX" + "1" * 32, content_variables={"1": "3pm"})
    assert response.status_code == 202, response.content
    handoff()
    sent = twilio_api.messages[0]
    assert sent["ContentSid"] == "HX" + "1" * 32
    assert sent["ContentVariables"] == '{"1": "3pm"}'
    assert "Body" not in sent


def test_the_24_hour_window_closes(api_a, workspace_a, line_a, twilio_api):
    contact = _wrote_recently(workspace_a, line_a)
    Conversation.objects.filter(contact=contact).update(last_inbound_at=timezone.now() - timedelta(hours=25))
    error_of(_send(api_a), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": "x" * 1601}, "message"),
        ({"to": "8187405020"}, "to"),
        ({"to": "+1 nonsense"}, "to"),
        ({"from_number": "+18185550199"}, "from_number"),
        ({"channel": "fax"}, "channel"),
        ({"to": "whatsapp:" + LEAD_NUMBER, "channel": "sms"}, "channel"),
        ({"message": ""}, "message"),
        ({"priority": "high"}, "priority"),
    ],
)
def test_bad_sends_name_the_field(api_a, line_a, twilio_api, body, field):
    error = error_of(_send(api_a, **body), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert not Message.objects.exists()


def test_without_a_line_it_is_400_on_from_number(api_a, twilio_api):
    error = error_of(_send(api_a, channel="sms"), 400, "VALIDATION_ERROR")
    assert "from_number" in error["details"]


def test_an_opted_out_contact_is_refused_at_the_api(api_a, workspace_a, line_a, twilio_api):
    contact = _wrote_recently(workspace_a, line_a)
    Contact.objects.filter(pk=contact.pk).update(sms_opt_out=True)
    error = error_of(_send(api_a), 400, "VALIDATION_ERROR")
    assert "opted out" in error["details"]["to"][0]
    assert not Message.objects.exists()


def test_an_opt_out_after_queueing_stops_the_message_at_hand_off(api_a, workspace_a, line_a, twilio_api, handoff):
    contact = _wrote_recently(workspace_a, line_a)
    assert _send(api_a).status_code == 202
    Contact.objects.filter(pk=contact.pk).update(sms_opt_out=True)  # STOP arrives meanwhile
    assert handoff() == ["canceled"]
    assert twilio_api.messages == []
    assert Message.objects.get().status == "canceled"


def test_provider_5xx_is_retried_then_sent(api_a, line_a, twilio_api, handoff):
    twilio_api.fail_next = [(503, None), (500, 20500)]
    assert _send(api_a, channel="sms").status_code == 202
    assert handoff() == ["retry"]
    assert handoff() == ["retry"]
    assert handoff() == ["sent"]
    message = Message.objects.get()
    assert message.status == "sent" and message.attempts == 3
    assert len(twilio_api.messages) == 3


def test_a_timeout_is_retried_and_gives_up_after_the_last_attempt(api_a, line_a, twilio_api, handoff, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 1
    settings.MESSAGE_SEND_MAX_ATTEMPTS = 2
    twilio_api.delay = 1.5
    assert _send(api_a, channel="sms").status_code == 202
    assert handoff() == ["retry"]
    assert handoff() == ["failed"]
    assert Message.objects.get().status == "failed"


def test_21610_from_a_send_opts_the_contact_out(api_a, line_a, twilio_api, handoff):
    twilio_api.fail_next = [(400, 21610)]
    assert _send(api_a, channel="sms").status_code == 202
    assert handoff() == ["failed"]
    message = Message.objects.get()
    assert (message.status, message.error_code) == ("failed", 21610)
    contact = Contact.objects.get(phone_number=LEAD_NUMBER)
    assert contact.sms_opt_out is True
    change = ConsentChange.objects.get()
    assert (change.opted_out, change.source, change.keyword, change.message_id) == (
        True,
        "provider",
        "21610",
        message.pk,
    )
    assert TimelineEntry.objects.filter(contact=contact, data__source="consent:provider").exists()
    error_of(_send(api_a, channel="sms"), 400, "VALIDATION_ERROR")


def test_a_handoff_run_twice_sends_once(api_a, line_a, twilio_api):
    assert _send(api_a, channel="sms").status_code == 202
    message = Message.objects.get()
    assert message_handoff(message_id=message.pk) == "sent"
    assert message_handoff(message_id=message.pk) == "skipped"
    assert len(twilio_api.messages) == 1


# --- Status callbacks ---------------------------------------------------------------------


def _callback(sid, status, *, error_code=None, key=AUTH_TOKEN, signature=None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = str(error_code)
    url = TESTSERVER + "/api/twilio/status"
    signature = twilio_signature(url, params, key) if signature is None else signature
    return Client().post(
        "/api/twilio/status",
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=signature,
    )


@pytest.fixture
def sent_message(api_a, line_a, twilio_api, handoff):
    assert _send(api_a, channel="sms").status_code == 202
    handoff()
    return Message.objects.get()


def test_status_callbacks_move_forward(sent_message):
    response = _callback(sent_message.provider_sid, "delivered")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"


def test_late_callbacks_never_move_a_status_back(sent_message):
    assert _callback(sent_message.provider_sid, "delivered").status_code == 200
    for late in ("sent", "queued", "sending"):
        assert _callback(sent_message.provider_sid, late).status_code == 200
    sent_message.refresh_from_db()
    assert sent_message.status == "delivered"


def test_failed_is_final(sent_message):
    assert _callback(sent_message.provider_sid, "failed", error_code=30003).status_code == 200
    assert _callback(sent_message.provider_sid, "delivered").status_code == 200
    sent_message.refresh_from_db()
    assert (sent_message.status, sent_message.error_code) == ("failed", 30003)


def test_a_21610_callback_opts_the_contact_out(sent_message):
    assert _callback(sent_message.provider_sid, "undelivered", error_code=21610).status_code == 200
    assert Contact.objects.get(phone_number=LEAD_NUMBER).sms_opt_out is True
    assert ConsentChange.objects.get().source == "provider"


def test_a_forged_callback_is_403_and_changes_nothing(sent_message):
    error_of(_callback(sent_message.provider_sid, "delivered", key="not-the-token"), 403, "FORBIDDEN")
    error_of(_callback(sent_message.provider_sid, "delivered", signature=""), 403, "FORBIDDEN")
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def test_an_unknown_sid_is_404(sent_message):
    error_of(_callback("SM" + "0" * 32, "delivered"), 404, "NOT_FOUND")


def test_send_whatsapp_needs_messages_send(workspace_a, make_key, client_for, line_a):
    client = client_for(make_key(workspace_a, scopes=["contacts:write"]))
    error_of(_send(client, channel="sms"), 403, "FORBIDDEN")
    assert not Message.objects.exists()


def test_create_note_still_works_through_the_same_url(api_a, workspace_a):
    contact = contact_make(workspace_a, phone=LEAD_NUMBER)
    response = api_a.post(
        "/api/zapier-webhook?action=create-note", {"contact_id": str(contact.id), "note": "hi"}, format="json"
    )
    assert response.status_code == 201


def test_the_zapier_action_is_documented_with_send_whatsapp_and_no_501(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/zapier-webhook"]["post"]
    action = next(p for p in operation["parameters"] if p["name"] == "action")
    assert action["schema"]["enum"] == ["create-note", "send-whatsapp"]
    assert "202" in operation["responses"] and "501" not in operation["responses"]
    assert "NOT_IMPLEMENTED" not in json.dumps(schema)


def test_send_whatsapp_by_get_is_405(api_a):
    error_of(api_a.get("/api/zapier-webhook", {"action": "send-whatsapp"}), 405, "METHOD_NOT_ALLOWED")
