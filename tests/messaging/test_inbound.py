"""POST /api/whatsapp-inbound: signed provider webhooks answered with the brain's reply as
TwiML (the Anthropic double plays the model), stored once per MessageSid, consent keywords,
guardrails."""

import threading
import xml.etree.ElementTree as ET

from crm.models import Contact
from messaging.brains.services import brain_create, knowledge_create
from messaging.consent import OPTED_IN_REPLY, OPTED_OUT_REPLY
from messaging.lines.services import line_update
from messaging.models import ConsentChange, Conversation, Message
from messaging.transcript import conversation_takeover
from tests.crm.support import error_of
from webhooks.models import Event

from .conftest import ACCOUNT_SID, AUTH_TOKEN, LEAD_NUMBER


def _reply_of(response) -> str | None:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "Response"
    messages = root.findall("Message")
    return messages[0].text if messages else None


def test_a_valid_inbound_gets_the_models_reply_and_the_model_got_prompt_knowledge_and_message(
    line_a, model_api, send_inbound, workspace_a
):
    model_api.reply = "We open at 9am, Monday to Friday."
    response = send_inbound("What are your opening hours on Monday?")
    assert _reply_of(response) == "We open at 9am, Monday to Friday."
    (call,) = model_api.calls
    assert "You are the assistant of Acme Dental" in call["system"]
    assert "We are open Monday to Friday from 9am to 6pm" in call["system"]  # the relevant document
    assert "$299" not in call["system"]  # not the irrelevant one
    assert call["messages"][-1] == {"role": "user", "content": "What are your opening hours on Monday?"}
    assert call["tool_choice"] == {"type": "tool", "name": "reply"}
    assert call["max_tokens"] == 400
    contact = Contact.objects.get(phone_number=LEAD_NUMBER)
    assert contact.source == "whatsapp"
    conversation = Conversation.objects.get()
    assert (conversation.channel, conversation.contact_id, conversation.line_id) == ("whatsapp", contact.pk, line_a.pk)
    inbound, reply = Message.objects.order_by("position")
    assert (inbound.direction, inbound.status, inbound.role, inbound.channel) == (
        "inbound",
        "received",
        "user",
        "whatsapp",
    )
    assert (reply.direction, reply.role, reply.source) == ("outbound", "assistant", "ai")
    assert Event.objects.filter(type="message.received").count() == 1
    assert Event.objects.get(type="message.received").data["content"] == "What are your opening hours on Monday?"
    # The TwiML answer is the provider's copy of the reply: sent, and told so once.
    (sent,) = Event.objects.filter(type="message.sent")
    assert (sent.data["id"], sent.data["content"], sent.data["status"]) == (str(reply.uid), reply.content, "sent")
    assert (sent.data["direction"], sent.data["conversation_id"]) == ("outbound", str(conversation.id))


def test_the_conversation_so_far_goes_to_the_model(line_a, model_api, send_inbound):
    model_api.reply = "Hello!"
    send_inbound("Hi")
    model_api.reply = "Teeth whitening costs $299."
    assert _reply_of(send_inbound("How much is whitening?")) == "Teeth whitening costs $299."
    second = model_api.calls[1]
    assert second["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How much is whitening?"},
    ]
    assert "$299" in second["system"]


def test_a_forged_signature_is_403_and_nothing_is_stored(line_a, model_api, send_inbound):
    error_of(send_inbound("Hi", key="not-the-token"), 403, "FORBIDDEN")
    error_of(send_inbound("Hi", signature=""), 403, "FORBIDDEN")
    assert not Message.objects.exists() and not Contact.objects.exists() and not Conversation.objects.exists()
    assert model_api.calls == []


def test_a_signature_over_another_url_is_403(line_a, send_inbound):
    error_of(send_inbound("Hi", base="https://attacker.example"), 403, "FORBIDDEN")
    assert not Message.objects.exists()


def test_behind_a_proxy_the_public_base_url_is_what_is_signed(line_a, send_inbound, settings):
    settings.PUBLIC_BASE_URL = "https://crm.example.com"
    assert _reply_of(send_inbound("Hi", base="https://crm.example.com")) is not None
    error_of(send_inbound("Hi again"), 403, "FORBIDDEN")  # signed over http://testserver


def test_an_unknown_number_is_404(line_a, send_inbound):
    error_of(send_inbound("Hi", to="+18185550111"), 404, "NOT_FOUND")
    assert not Message.objects.exists()


def test_the_same_message_sid_twice_is_one_message_and_one_model_call(line_a, model_api, send_inbound):
    model_api.reply = "Hello there"
    first = send_inbound("Hi", sid="SM" + "1" * 32)
    second = send_inbound("Hi", sid="SM" + "1" * 32)
    assert _reply_of(first) == _reply_of(second) == "Hello there"
    assert Message.objects.filter(direction="inbound").count() == 1
    assert len(model_api.calls) == 1
    assert Event.objects.filter(type="message.received").count() == 1


def test_a_failing_model_gives_a_holding_reply_and_keeps_the_message(line_a, model_api, send_inbound):
    model_api.status = 500
    reply = _reply_of(send_inbound("Do you take walk-ins?"))
    assert reply and "get back to you" in reply
    assert Message.objects.filter(direction="inbound", content="Do you take walk-ins?").exists()


def test_a_hanging_model_gives_a_holding_reply_in_time(line_a, model_api, send_inbound, settings):
    # The model answers only when the test opens the gate, after the webhook has answered: a
    # reply at all, and the holding one, means the time limit answered without the model.
    settings.AI_TIMEOUT_SECONDS = 1
    model_api.gate, model_api.hang_seconds = threading.Event(), 60
    try:
        reply = _reply_of(send_inbound("Hello?"))
    finally:
        model_api.gate.set()
    assert reply and "get back to you" in reply
    assert Message.objects.filter(direction="inbound", content="Hello?").exists()


def test_without_a_key_the_offline_responder_answers_from_knowledge(line_a, send_inbound, settings):
    settings.ANTHROPIC_API_KEY = ""
    reply = _reply_of(send_inbound("How much does teeth whitening cost?"))
    assert "$299" in reply


def test_the_offline_responder_says_a_sentence_two_documents_share_once(
    line_a, brain_a, send_inbound, settings, workspace_a
):
    settings.ANTHROPIC_API_KEY = ""
    knowledge_create(
        workspace=workspace_a,
        brain=brain_a,
        title="Price list",
        content="Teeth whitening costs $299 per session.  Cleaning costs $89.",
    )
    reply = _reply_of(send_inbound("How much does teeth whitening cost?"))
    assert reply.count("Teeth whitening costs $299 per session.") == 1, reply
    assert reply.count("Cleaning costs $89.") == 1, reply


def test_stop_opts_out_with_a_ledger_row_and_stops_everything_outbound(line_a, model_api, send_inbound, api_a, handoff):
    send_inbound("Hi")
    calls = len(model_api.calls)
    assert _reply_of(send_inbound("  stop ")) == OPTED_OUT_REPLY
    assert len(model_api.calls) == calls  # no AI reply to a keyword
    contact = Contact.objects.get(phone_number=LEAD_NUMBER)
    assert contact.sms_opt_out is True
    change = ConsentChange.objects.get()
    assert (change.opted_out, change.source, change.keyword) == (True, "keyword", "STOP")
    assert change.message.content == "  stop "
    assert contact.timeline.filter(data__source="consent:keyword", data__fields=["sms_opt_out"]).exists()
    # The API refuses, and the brain stays quiet to anything else the contact writes.
    error = error_of(
        api_a.post("/api/zapier-webhook?action=send-whatsapp", {"to": LEAD_NUMBER, "message": "x"}, format="json"),
        400,
        "VALIDATION_ERROR",
    )
    assert "to" in error["details"]
    assert _reply_of(send_inbound("are you there?")) is None
    assert len(model_api.calls) == calls


def test_start_opts_back_in(line_a, model_api, send_inbound):
    send_inbound("STOP")
    assert _reply_of(send_inbound("Start")) == OPTED_IN_REPLY
    assert Contact.objects.get().sms_opt_out is False
    assert list(ConsentChange.objects.order_by("created_at", "id").values_list("opted_out", "keyword")) == [
        (True, "STOP"),
        (False, "START"),
    ]


def test_help_answers_the_help_text(line_a, brain_a, send_inbound):
    brain_a.help_text = "Acme Dental: call 818-555-0100. Reply STOP to opt out."
    brain_a.save()
    assert _reply_of(send_inbound("HELP")) == "Acme Dental: call 818-555-0100. Reply STOP to opt out."


def test_a_takeover_silences_the_brain(line_a, model_api, send_inbound):
    send_inbound("Hi")
    conversation = Conversation.objects.get()
    conversation_takeover(conversation=conversation, user=None)
    assert _reply_of(send_inbound("Is anyone there?")) is None
    assert len(model_api.calls) == 1
    assert Message.objects.filter(content="Is anyone there?").exists()


def test_a_bot_answering_every_reply_is_cut_off_by_the_hourly_cap(line_a, model_api, send_inbound, settings):
    settings.AI_MAX_REPLIES_PER_HOUR = 3
    replies = [_reply_of(send_inbound(f"Auto-reply number {n}")) for n in range(5)]
    assert replies[:3] == ["Thanks for writing!"] * 3
    assert replies[3:] == [None, None]
    assert len(model_api.calls) == 3
    assert Message.objects.filter(direction="inbound").count() == 5


def test_intent_from_the_same_model_call_is_emitted(line_a, model_api, send_inbound):
    model_api.intent, model_api.confidence = "pricing", 0.93
    send_inbound("how much for a cleaning?")
    (event,) = Event.objects.filter(type="intent.detected")
    inbound = Message.objects.get(direction="inbound")
    assert event.data["intent"] == "pricing" and event.data["confidence"] == 0.93
    assert event.data["message_id"] == str(inbound.uid)
    assert event.data["conversation_id"] == str(inbound.conversation_id)
    assert len(model_api.calls) == 1


def test_an_opt_out_in_the_leads_words_opts_out(line_a, model_api, send_inbound):
    model_api.intent = "opt_out"
    assert _reply_of(send_inbound("please never text me again")) == OPTED_OUT_REPLY
    assert Contact.objects.get().sms_opt_out is True
    assert ConsentChange.objects.get().source == "intent"


def test_offline_intents_are_detected_too(line_a, send_inbound, settings):
    settings.ANTHROPIC_API_KEY = ""
    send_inbound("Can I book an appointment for Tuesday?")
    assert Event.objects.get(type="intent.detected").data["intent"] == "book_meeting"


def test_extra_form_parameters_are_accepted(line_a, model_api, send_inbound):
    response = send_inbound("Hi", extra={"ProfileName": "Ada", "WaId": "18187405020", "SomethingNew2027": "x"})
    assert _reply_of(response) == "Thanks for writing!"


def test_sms_works_the_same(line_a, model_api, send_inbound):
    assert _reply_of(send_inbound("Hi", channel="sms")) == "Thanks for writing!"
    assert Conversation.objects.get().channel == "sms"
    assert Contact.objects.get().source == "sms"


def test_brain_query_parameter_picks_the_brain(line_a, model_api, send_inbound, workspace_a):
    brain_create(workspace=workspace_a, name="Realty", slug="realty", system_prompt="You sell houses.")
    send_inbound("Hi", path="/api/whatsapp-inbound?brain=realty")
    assert "You sell houses." in model_api.calls[0]["system"]


def test_signalwire_lines_are_checked_with_the_signing_key(line_a, model_api, send_inbound, twilio_api):
    line_update(
        line=line_a,
        data={
            "provider": "signalwire",
            "signalwire_space": "example.signalwire.com",
            "signing_key": "PSK-signing-key",
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
        },
    )
    ok = send_inbound("Hi", key="PSK-signing-key", header="HTTP_X_SIGNALWIRE_SIGNATURE")
    assert _reply_of(ok) == "Thanks for writing!"
    error_of(send_inbound("Hi", key=AUTH_TOKEN, header="HTTP_X_SIGNALWIRE_SIGNATURE"), 403, "FORBIDDEN")


def test_messages_of_a_conversation_are_in_order(line_a, model_api, send_inbound):
    for n in range(3):
        send_inbound(f"message {n}")
    contents = list(Message.objects.order_by("position").values_list("content", flat=True))
    assert contents == [
        "message 0",
        "Thanks for writing!",
        "message 1",
        "Thanks for writing!",
        "message 2",
        "Thanks for writing!",
    ]


def test_a_new_leads_message_reads_no_campaign_reply_or_enrollments_and_is_counted_and_answered(
    line_a, model_api, send_inbound
):
    """A contact this message creates has no campaign message to answer and no sequence to stop:
    neither is read. The next message of the same (now existing) contact reads both. Either way
    the contact's message_count counts the message and its reply, and the message is answered."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    model_api.reply = "Hello!"
    with CaptureQueriesContext(connection) as first:
        assert _reply_of(send_inbound("Hi")) == "Hello!"
    with CaptureQueriesContext(connection) as second:
        assert _reply_of(send_inbound("Hi again")) == "Hello!"

    def reads(captured, table):
        return [q["sql"] for q in captured.captured_queries if table in q["sql"]]

    assert reads(first, "campaigns_recipient") == reads(first, "crm_enrollment") == []
    assert reads(second, "campaigns_recipient") and reads(second, "crm_enrollment")
    assert Contact.objects.get(phone_number=LEAD_NUMBER).message_count == 4
    assert not Message.objects.filter(direction="inbound", answered_at__isnull=True).exists()
    assert Message.objects.filter(direction="inbound", reply__isnull=False).count() == 2
