"""Sending SMS campaigns through the Twilio double, with the clock moved: at `schedule_at`, with
the rendered bodies, never to the opted out, never in quiet hours, at the line's pace; the
messages in the contacts' conversations; status callbacks, 21610, replies, cancel; beat's tick."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crm.models import Contact
from messaging import twilio
from messaging.campaigns import tasks
from messaging.campaigns.models import Campaign, LinePace, Recipient
from messaging.models import ConsentChange, Conversation, Message
from tests.messaging.doubles import twilio_signature
from tests.scope_probe import run_as_worker
from webhooks.models import Event

from .conftest import SEND_NUMBER, TESTSERVER, campaign_body, provider_post, run_beat

URL = "/api/v1/campaigns"
ADA, ALAN, GRACE = "+18187405020", "+442071838750", "+18187405021"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def create(api, **overrides) -> dict:
    response = api.post(URL, campaign_body(**overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def counts(api, campaign_id) -> dict:
    return api.get(f"{URL}/{campaign_id}").json()["counts"]


def test_a_campaign_sends_at_schedule_at_with_the_rendered_bodies_and_skips_the_opted_out(
    sender_api, enterprise_a, twilio_api
):
    Contact.objects.create(workspace=enterprise_a, phone_number=GRACE, first_name="Grace", sms_opt_out=True)
    recipients = [
        {"phone": "+1 818-740-5020", "context": {"first_name": "Ada", "time": "10:30"}},
        {"phone": "+442071838750", "context": {"first_name": "Alan", "time": "11:00"}},
        {"phone": GRACE, "context": {"time": "12:00"}},
    ]
    # 18:00 UTC is 10:00 in Los Angeles and 18:00 in London: inside everyone's allowed hours.
    with time_machine.travel(at("2026-12-01T17:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z", recipients=recipients)
        assert run_beat() == []
        assert twilio_api.messages == []
        assert Campaign.objects.get(pk=campaign["id"]).status == "scheduled"

    with time_machine.travel(at("2026-12-01T18:00:01"), tick=True):
        assert sum(run_beat()) == 2  # by the campaign's drivers together

    sent = {message["To"]: message for message in twilio_api.messages}
    assert sorted(sent) == [ADA, ALAN]
    assert sent[ADA]["Body"] == "Hi Ada, see you at 10:30."
    assert sent[ALAN]["Body"] == "Hi Alan, see you at 11:00."
    assert {m["From"] for m in sent.values()} == {SEND_NUMBER}
    # Each names its message, so a status called back before the SID is stored still finds it.
    messages = Message.objects.filter(direction="outbound")
    assert {m["StatusCallback"] for m in sent.values()} == {
        f"{TESTSERVER}/api/twilio/status?message={uid}" for uid in messages.values_list("uid", flat=True)
    }

    body = sender_api.get(f"{URL}/{campaign['id']}").json()
    assert body["status"] == "completed"
    assert body["counts"] == {"queued": 0, "sent": 2, "delivered": 0, "failed": 0, "skipped": 1}
    grace = Recipient.objects.get(campaign_id=campaign["id"], phone=GRACE)
    assert (grace.status, grace.reason, grace.message_id) == ("skipped", "opted_out", None)

    # Each message is in its contact's conversation, linked to its recipient, with no AI reply
    # and no takeover.
    for recipient in Recipient.objects.filter(campaign_id=campaign["id"], status="sent"):
        message = recipient.message
        assert (message.source, message.status, message.direction) == ("campaign", "sent", "outbound")
        assert message.provider_sid == recipient.provider_sid and message.provider_sid.startswith("SM")
        assert message.content == sent[recipient.phone]["Body"]
        conversation = message.conversation
        assert (conversation.contact_id, conversation.channel) == (recipient.contact_id, "sms")
        assert conversation.taken_over_at is None
        assert list(conversation.messages.values_list("source", flat=True)) == ["campaign"]
    assert Event.objects.filter(workspace=enterprise_a, type="message.sent").count() == 2


def test_quiet_hours_hold_los_angeles_while_london_gets_the_message(sender_api, twilio_api):
    # 12:00 UTC is 04:00 in Los Angeles (quiet until 08:00, 16:00 UTC) and noon in London.
    with time_machine.travel(at("2026-12-01T11:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T12:00:00Z")
    with time_machine.travel(at("2026-12-01T12:00:01"), tick=True):
        run_beat()
        assert [m["To"] for m in twilio_api.messages] == [ALAN]
        ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
        assert (ada.status, ada.due_at) == ("queued", at("2026-12-01T16:00:00"))
        assert counts(sender_api, campaign["id"])["queued"] == 1
        assert Campaign.objects.get(pk=campaign["id"]).status == "running"

    with time_machine.travel(at("2026-12-01T15:59:00"), tick=True):
        assert run_beat() == []  # still night in Los Angeles: nothing to drive
    with time_machine.travel(at("2026-12-01T16:00:01"), tick=True):
        run_beat()
    assert [m["To"] for m in twilio_api.messages] == [ALAN, ADA]
    assert Campaign.objects.get(pk=campaign["id"]).status == "completed"


def test_the_line_sends_at_its_pace(sender_api, verified_line, twilio_api):
    verified_line.provider.mps = 10
    verified_line.provider.save(update_fields=["mps"])
    recipients = [{"phone": f"+1818740{5030 + n}", "context": {"first_name": "N", "time": "9"}} for n in range(5)]
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        create(sender_api, schedule_at="2026-12-01T18:00:00Z", recipients=recipients)
        run_beat()
    stamps = [r.at for r in twilio_api.requests if r.path.endswith("/Messages.json")]
    assert len(stamps) == 5
    # Five slots a tenth of a second apart: the last leaves about 0.4 s after the first (unpaced,
    # five posts to the double take a few milliseconds).
    assert stamps[-1] - stamps[0] >= 0.3
    pace = LinePace.objects.get(line=verified_line)
    assert pace.next_slot_at >= at("2026-12-01T18:00:00") + timedelta(seconds=0.5)


def _sent_campaign(api, twilio_api, **overrides) -> dict:
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(api, schedule_at="2026-12-01T18:00:00Z", **overrides)
        run_beat()
    assert len(twilio_api.messages) == 2
    return campaign


def test_status_callbacks_move_the_message_and_its_recipient_and_21610_opts_out(sender_api, enterprise_a, twilio_api):
    campaign = _sent_campaign(sender_api, twilio_api)
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    alan = Recipient.objects.get(campaign_id=campaign["id"], phone=ALAN)

    response = provider_post("/api/twilio/status", {"MessageSid": ada.provider_sid, "MessageStatus": "delivered"})
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.status == "delivered" and ada.message.status == "delivered"
    # A late "sent" never moves it back.
    provider_post("/api/twilio/status", {"MessageSid": ada.provider_sid, "MessageStatus": "sent"})
    ada.refresh_from_db()
    assert ada.status == "delivered"

    provider_post(
        "/api/twilio/status", {"MessageSid": alan.provider_sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
    )
    alan.refresh_from_db()
    assert (alan.status, alan.error_code) == ("failed", "21610")
    assert Contact.objects.get(pk=alan.contact_id).sms_opt_out is True
    assert ConsentChange.objects.get(contact_id=alan.contact_id).keyword == "21610"

    callbacks = Event.objects.filter(type="campaign.callback.received").order_by("created_at")
    assert [(e.data["recipient"]["phone"], e.data["kind"], e.data["value"]) for e in callbacks] == [
        (ADA, "status", "delivered"),
        (ADA, "status", "sent"),
        (ALAN, "status", "undelivered"),
    ]
    assert {e.data["campaign_id"] for e in callbacks} == {campaign["id"]}
    assert counts(sender_api, campaign["id"]) == {"queued": 0, "sent": 0, "delivered": 1, "failed": 1, "skipped": 0}


def test_a_status_callback_with_a_bad_signature_changes_nothing(sender_api, twilio_api):
    campaign = _sent_campaign(sender_api, twilio_api)
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    params = {"MessageSid": ada.provider_sid, "MessageStatus": "delivered"}
    forged = twilio_signature(TESTSERVER + "/api/twilio/status", params, "not-the-token")
    assert provider_post("/api/twilio/status", params, signature=forged).status_code == 403
    ada.refresh_from_db()
    assert ada.status == "sent"
    assert not Event.objects.filter(type="campaign.callback.received").exists()


def test_the_providers_21610_at_send_fails_the_recipient_and_opts_the_contact_out(sender_api, twilio_api):
    twilio_api.fail_next = [(400, 21610)]
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z", recipients=[{"phone": ADA}])
        run_beat()
    ada = Recipient.objects.get(campaign_id=campaign["id"])
    assert (ada.status, ada.error_code, ada.provider_sid) == ("failed", "21610", "")
    assert ada.message.status == "failed" and ada.message.error_code == 21610
    assert Contact.objects.get(pk=ada.contact_id).sms_opt_out is True
    assert not Event.objects.filter(type="message.sent").exists()


def test_a_provider_5xx_at_hand_off_is_retried_later_with_its_message(sender_api, twilio_api):
    twilio_api.fail_next = [(503, None), (500, 20500)]
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z", recipients=[{"phone": ADA}])
        run_beat()
        ada = Recipient.objects.get(campaign_id=campaign["id"])
        # Not failed: queued again, due after the backoff (2 s), its message kept.
        assert (ada.status, ada.attempts, ada.error_code) == ("queued", 1, "503")
        assert ada.due_at > at("2026-12-01T18:00:01")
        message_id = ada.message_id
        assert Message.objects.get(pk=message_id).status == "sending"
        assert run_beat() == []  # not due yet
    for _ in range(2):  # each time when it is due: the second try fails too, the third is sent
        ada.refresh_from_db()
        with time_machine.travel(ada.due_at + timedelta(seconds=0.1), tick=True):
            run_beat()
    ada.refresh_from_db()
    assert (ada.status, ada.attempts, ada.error_code, ada.error) == ("sent", 3, "", "")
    assert ada.message_id == message_id  # one message in the conversation, whatever the tries
    message = Message.objects.get(pk=message_id)
    assert (message.status, message.provider_sid) == ("sent", ada.provider_sid)
    assert Message.objects.filter(source="campaign").count() == 1
    assert len(twilio_api.messages) == 3  # the double records every post, refused ones too
    # Every try names the one message in its StatusCallback (a later try reads it back).
    assert {m["StatusCallback"] for m in twilio_api.messages} == {
        f"{TESTSERVER}/api/twilio/status?message={message.uid}"
    }
    assert Campaign.objects.get(pk=campaign["id"]).status == "completed"


def test_a_timeout_at_hand_off_gives_up_after_the_last_attempt(sender_api, twilio_api, settings):
    settings.TWILIO_TIMEOUT_SECONDS = 1
    settings.MESSAGE_SEND_MAX_ATTEMPTS = 2
    twilio_api.delay = 1.5
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z", recipients=[{"phone": ADA}])
        run_beat()
        assert Recipient.objects.get(campaign_id=campaign["id"]).status == "queued"
    ada = Recipient.objects.get(campaign_id=campaign["id"])
    with time_machine.travel(ada.due_at + timedelta(seconds=0.1), tick=True):
        run_beat()
    ada.refresh_from_db()
    assert (ada.status, ada.attempts) == ("failed", 2)
    assert "did not answer" in ada.error
    assert ada.message.status == "failed"
    assert counts(sender_api, campaign["id"])["failed"] == 1


def test_a_cancelled_campaign_sends_nothing(sender_api, twilio_api):
    with time_machine.travel(at("2026-12-01T17:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z")
        assert sender_api.post(f"{URL}/{campaign['id']}/cancel").status_code == 200
    with time_machine.travel(at("2026-12-01T18:00:01"), tick=True):
        assert run_beat() == []
    assert twilio_api.messages == []
    assert counts(sender_api, campaign["id"])["skipped"] == 2


def test_once_started_cancel_is_409_and_the_campaign_goes_on(sender_api, twilio_api):
    with time_machine.travel(at("2026-12-01T12:00:01"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T12:00:00Z")
        run_beat()  # London now; Los Angeles held until its morning
        assert sender_api.post(f"{URL}/{campaign['id']}/cancel").status_code == 409
    with time_machine.travel(at("2026-12-01T16:00:01"), tick=True):
        run_beat()
    assert sorted(m["To"] for m in twilio_api.messages) == sorted([ADA, ALAN])


def test_a_reply_within_the_window_is_a_callback_and_one_after_it_is_not(sender_api, enterprise_a, twilio_api):
    campaign = _sent_campaign(sender_api, twilio_api)
    inbound = {"From": ADA, "To": SEND_NUMBER, "Body": "C", "NumMedia": "0"}
    with time_machine.travel(at("2026-12-02T09:00:00"), tick=True):
        assert provider_post("/api/whatsapp-inbound", {**inbound, "MessageSid": "SM" + "1" * 32}).status_code == 200
    reply = Event.objects.get(type="campaign.callback.received")
    assert reply.data["kind"] == "reply" and reply.data["value"] == "C"
    assert reply.data["campaign_id"] == campaign["id"]
    assert reply.data["recipient"]["context"] == {"first_name": "Ada", "time": "10:30"}
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    assert at("2026-12-02T09:00:00") <= ada.replied_at < at("2026-12-02T09:01:00")
    # The reply is in the same conversation as the campaign's message.
    assert Conversation.objects.filter(contact_id=ada.contact_id).count() == 1

    # 72 hours (the default window) after the message, an inbound message is not a reply.
    with time_machine.travel(at("2026-12-04T18:00:01"), tick=True):
        provider_post("/api/whatsapp-inbound", {**inbound, "MessageSid": "SM" + "2" * 32, "Body": "Hello?"})
    assert Event.objects.filter(type="campaign.callback.received").count() == 1


def _reply(sid_digit: str, body: str = "C"):
    params = {"From": ADA, "To": SEND_NUMBER, "Body": body, "NumMedia": "0", "MessageSid": "SM" + sid_digit * 32}
    with time_machine.travel(at("2026-12-02T09:00:00"), tick=True):
        response = provider_post("/api/whatsapp-inbound", params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_brain_answers_a_reply_to_a_campaign_by_default(sender_api, twilio_api):
    campaign = _sent_campaign(sender_api, twilio_api)
    assert sender_api.get(f"{URL}/{campaign['id']}").json()["ai_replies"] is True

    assert "<Message>" in _reply("1", "What are your prices?")
    assert Message.objects.filter(source="ai", conversation__contact__phone_number=ADA).count() == 1


def test_with_ai_replies_off_a_reply_is_recorded_and_not_answered(sender_api, twilio_api):
    campaign = _sent_campaign(sender_api, twilio_api, ai_replies=False)
    assert campaign["ai_replies"] is False

    assert _reply("1", "What are your prices?") == twilio.twiml_message(None)  # an empty <Response/>
    reply = Event.objects.get(type="campaign.callback.received")
    assert (reply.data["kind"], reply.data["value"]) == ("reply", "What are your prices?")
    assert not Message.objects.filter(source="ai").exists()
    inbound = Message.objects.get(direction="inbound")
    assert inbound.reply_id is None and inbound.intent == "pricing"  # still classified
    # Consent keywords are still answered: that rule is the law's, not the brain's.
    assert "<Message>" in _reply("2", "STOP")
    assert Contact.objects.get(phone_number=ADA).sms_opt_out is True


def test_ai_replies_must_be_a_boolean(sender_api):
    response = sender_api.post(URL, campaign_body(ai_replies="sometimes"), format="json")
    assert response.status_code == 400
    assert "ai_replies" in response.json()["error"]["details"]


TEMPLATE_SID = "HX" + "a" * 32


def _wrote_on_whatsapp(phone: str, when: str) -> None:
    params = {"From": f"whatsapp:{phone}", "To": f"whatsapp:{SEND_NUMBER}", "Body": "Hi", "NumMedia": "0"}
    with time_machine.travel(at(when), tick=True):
        response = provider_post("/api/whatsapp-inbound", {**params, "MessageSid": "SM" + phone[-4:] * 8})
    assert response.status_code == 200


def test_whatsapp_free_text_inside_the_24_hours_and_the_template_outside(sender_api, twilio_api):
    _wrote_on_whatsapp(ADA, "2026-12-01T09:00:00")  # 9 hours before the campaign
    _wrote_on_whatsapp(ALAN, "2026-11-30T17:00:00")  # 25 hours before
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(
            sender_api,
            channel="whatsapp",
            schedule_at="2026-12-01T18:00:00Z",
            content_sid=TEMPLATE_SID,
            content_variables={"1": "{{ first_name }}", "2": "{{ time }}"},
        )
        assert (campaign["content_sid"], campaign["content_variables"]["2"]) == (TEMPLATE_SID, "{{ time }}")
        run_beat()

    sent = {m["To"]: m for m in twilio_api.messages}
    assert set(sent) == {f"whatsapp:{ADA}", f"whatsapp:{ALAN}"}
    assert sent[f"whatsapp:{ADA}"]["Body"] == "Hi Ada, see you at 10:30."
    assert "ContentSid" not in sent[f"whatsapp:{ADA}"]
    alan = sent[f"whatsapp:{ALAN}"]
    assert alan["ContentSid"] == TEMPLATE_SID
    assert json.loads(alan["ContentVariables"]) == {"1": "Alan", "2": "11:00"}
    assert alan["From"] == f"whatsapp:{SEND_NUMBER}"
    assert counts(sender_api, campaign["id"])["sent"] == 2
    stored = Recipient.objects.get(campaign_id=campaign["id"], phone=ALAN).message
    assert (stored.channel, stored.content_sid, stored.content_variables) == (
        "whatsapp",
        TEMPLATE_SID,
        {"1": "Alan", "2": "11:00"},
    )


def test_whatsapp_without_a_template_fails_those_outside_the_24_hours(sender_api, twilio_api):
    _wrote_on_whatsapp(ADA, "2026-12-01T09:00:00")
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(sender_api, channel="whatsapp", schedule_at="2026-12-01T18:00:00Z")
        run_beat()
    assert [m["To"] for m in twilio_api.messages] == [f"whatsapp:{ADA}"]
    alan = Recipient.objects.get(campaign_id=campaign["id"], phone=ALAN)
    assert (alan.status, alan.reason, alan.message_id) == ("failed", "whatsapp_window", None)
    assert "24 hours" in alan.error
    assert counts(sender_api, campaign["id"]) == {"queued": 0, "sent": 1, "delivered": 0, "failed": 1, "skipped": 0}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "sms", "content_sid": TEMPLATE_SID}, "content_sid"),
        ({"channel": "whatsapp", "content_variables": {"1": "x"}}, "content_variables"),
        ({"channel": "whatsapp", "content_sid": TEMPLATE_SID, "content_variables": {"1": "{% if %}"}}, "1"),
        ({"channel": "whatsapp", "content_sid": TEMPLATE_SID, "content_variables": ["x"]}, "content_variables"),
        ({"channel": "whatsapp", "content_sid": "x" * 65}, "content_sid"),
    ],
)
def test_bad_templates_answer_400_naming_the_field(sender_api, change, field):
    response = sender_api.post(URL, campaign_body(**change), format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert field in details or field in details.get("content_variables", {}), details


def test_beat_gives_a_campaign_one_driver_per_slot(sender_api, twilio_api, monkeypatch, settings):
    settings.CAMPAIGN_DRIVERS = 2
    enqueued = []
    monkeypatch.setattr(tasks.campaign_drive, "delay", lambda *args: enqueued.append(args))
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        campaign = create(sender_api, schedule_at="2026-12-01T18:00:00Z")
        assert run_as_worker(tasks.campaigns_tick) == 2
        assert run_as_worker(tasks.campaigns_tick) == 0  # both slots reserved for the drivers enqueued
        assert {campaign_id for campaign_id, _ in enqueued} == {campaign["id"]}
        (first, first_token), (second, second_token) = enqueued
        assert first_token != second_token
        assert run_as_worker(tasks.campaign_drive, first, first_token) == 2  # what the worker does with it
        assert run_as_worker(tasks.campaign_drive, second, second_token) == 0  # nothing left for the other
        assert run_as_worker(tasks.campaign_drive, first, first_token) == 0  # redelivered: nothing twice
    assert len(twilio_api.messages) == 2
    assert Campaign.objects.get(pk=campaign["id"]).status == "completed"


def test_one_driver_slot_means_one_driver(sender_api, twilio_api, monkeypatch, settings):
    settings.CAMPAIGN_DRIVERS = 1
    enqueued = []
    monkeypatch.setattr(tasks.campaign_drive, "delay", lambda *args: enqueued.append(args))
    with time_machine.travel(at("2026-12-01T18:00:00"), tick=True):
        create(sender_api, schedule_at="2026-12-01T18:00:00Z")
        assert run_as_worker(tasks.campaigns_tick) == 1
        assert run_as_worker(tasks.campaigns_tick) == 0
    assert len(enqueued) == 1


def test_a_status_callback_for_an_unknown_sid_is_404(sender_api, twilio_api):
    params = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered"}
    assert provider_post("/api/twilio/status", params).status_code == 404
