"""A campaign message's status callback that comes before the chunk has recorded the provider's
answer (its URL names the message): the message and its recipient keep the later status, and
the chunk's record of `sent` never moves either back."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import time_machine

from leadhub import tenancy
from messaging import twilio
from messaging.campaigns import engine
from messaging.campaigns.models import Recipient
from messaging.models import Message
from webhooks.models import Event

from .conftest import campaign_body, provider_post, run_beat

ADA, ALAN = "+18187405020", "+442071838750"


def test_callbacks_before_the_chunks_record_are_kept(sender_api, twilio_api, monkeypatch):
    real_heard = engine.heard
    answers = []

    def provider_calls_back_first(rows):
        # The provider called back between accepting the messages and the chunk's record.
        for sent, accepted, status in zip(
            twilio_api.messages, twilio_api.accepted, ("delivered", "failed"), strict=True
        ):
            params = {"MessageSid": accepted["sid"], "MessageStatus": status}
            if status == "failed":
                params["ErrorCode"] = "30003"
            parts = urlsplit(sent["StatusCallback"])
            with tenancy.no_scope():
                answers.append(provider_post(f"{parts.path}?{parts.query}", params))
        return real_heard(rows)

    monkeypatch.setattr(engine, "heard", provider_calls_back_first)
    with time_machine.travel(datetime(2026, 12, 1, 18, 0, tzinfo=UTC), tick=True):
        body = campaign_body(schedule_at="2026-12-01T18:00:00Z", recipients=[{"phone": ADA}, {"phone": ALAN}])
        response = sender_api.post("/api/v1/campaigns", body, format="json")
        assert response.status_code == 201, response.json()
        run_beat()
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    by_sid = {accepted["sid"]: accepted["to"] for accepted in twilio_api.accepted}
    for recipient in Recipient.objects.filter(campaign_id=response.json()["id"]).select_related("message"):
        message = recipient.message
        assert recipient.provider_sid == message.provider_sid and by_sid[message.provider_sid] == recipient.phone
        assert recipient.status == message.status
    statuses = sorted(Recipient.objects.values_list("status", "error_code"))
    assert statuses == [("delivered", ""), ("failed", "30003")]
    assert sorted(Message.objects.filter(direction="outbound").values_list("status", "error_code")) == [
        ("delivered", None),
        ("failed", 30003),
    ]


def _voice_campaign(sender_api):
    with time_machine.travel(datetime(2026, 12, 1, 18, 0, tzinfo=UTC), tick=True):
        body = campaign_body(
            channel="voice",
            schedule_at="2026-12-01T18:00:00Z",
            message_template="Hi, press 1 to confirm.",
            recipients=[{"phone": ADA}, {"phone": ALAN}],
        )
        response = sender_api.post("/api/v1/campaigns", body, format="json")
        assert response.status_code == 201, response.json()
        run_beat()
    return response.json()


def _call_callback(call, sid, status):
    parts = urlsplit(call["StatusCallback"])
    with tenancy.no_scope():
        return provider_post(f"{parts.path}?{parts.query}", {"CallSid": sid, "CallStatus": status})


def test_a_call_that_fails_at_once_is_called_back_before_its_sid_is_stored(sender_api, twilio_api, monkeypatch):
    real_heard = engine.heard
    answers = []

    def provider_calls_back_first(rows):
        for call, accepted in zip(twilio_api.calls, twilio_api.accepted, strict=True):
            answers.append(_call_callback(call, accepted["sid"], "busy" if call["To"] == ADA else "completed"))
        return real_heard(rows)

    monkeypatch.setattr(engine, "heard", provider_calls_back_first)
    campaign = _voice_campaign(sender_api)
    assert [a.status_code for a in answers] == [200, 200], [a.content for a in answers]
    recipients = {r.phone: r for r in Recipient.objects.filter(campaign_id=campaign["id"])}
    by_to = {accepted["to"]: accepted["sid"] for accepted in twilio_api.accepted}
    assert (recipients[ADA].status, recipients[ADA].provider_sid) == ("failed", by_to[ADA])
    assert (recipients[ALAN].status, recipients[ALAN].provider_sid) == ("delivered", by_to[ALAN])


def test_a_named_call_callback_is_not_taken_for_another_call(sender_api, twilio_api):
    campaign = _voice_campaign(sender_api)
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    call = next(c for c in twilio_api.calls if c["To"] == ADA)
    assert _call_callback(call, "CA" + "0" * 32, "busy").status_code == 403
    ada.refresh_from_db()
    assert ada.status == "sent"


def test_a_call_callback_naming_a_recipient_tells_an_unsigned_caller_nothing(sender_api, twilio_api):
    campaign = _voice_campaign(sender_api)
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    Recipient.objects.filter(pk=ada.pk).update(provider_sid="")  # as before the chunk stored it
    params = {"CallSid": "CA" + "1" * 32, "CallStatus": "busy"}
    for named in (ada.pk, ada.pk + 1000, "x"):
        path = f"/api/twilio/status?recipient={named}"
        with tenancy.no_scope():
            assert provider_post(path, params, signature="forged").status_code == 403
            assert provider_post(path, params, signature="").status_code == 403
    ada.refresh_from_db()
    assert (ada.status, ada.provider_sid) == ("sent", "")


def test_a_message_timed_out_on_its_last_try_but_taken_is_recorded_sent(sender_api, twilio_api, monkeypatch, settings):
    settings.MESSAGE_SEND_MAX_ATTEMPTS = 1
    real_send = twilio.send_message
    later = []

    def sent_then_timed_out(*args, **kwargs):
        sent = real_send(*args, **kwargs)
        later.append((kwargs["status_callback"], sent.sid))
        raise twilio.ProviderError("Timed out", retryable=True)

    real_heard = engine.heard

    def provider_calls_back_first(rows):
        for url, sid in later:
            parts = urlsplit(url)
            with tenancy.no_scope():
                answer = provider_post(f"{parts.path}?{parts.query}", {"MessageSid": sid, "MessageStatus": "delivered"})
            assert answer.status_code == 200, answer.content
        return real_heard(rows)

    monkeypatch.setattr("messaging.campaigns.sending.twilio.send_message", sent_then_timed_out)
    monkeypatch.setattr(engine, "heard", provider_calls_back_first)
    with time_machine.travel(datetime(2026, 12, 1, 18, 0, tzinfo=UTC), tick=True):
        body = campaign_body(schedule_at="2026-12-01T18:00:00Z", recipients=[{"phone": ADA}])
        assert sender_api.post("/api/v1/campaigns", body, format="json").status_code == 201
        run_beat()
    ada = Recipient.objects.select_related("message").get()
    sid = twilio_api.accepted[0]["sid"]
    assert (ada.status, ada.provider_sid, ada.error) == ("delivered", sid, "")
    assert (ada.message.status, ada.message.provider_sid) == ("delivered", sid)
    assert ada.message.sent_at is not None
    assert Event.objects.filter(type="message.sent", data__provider_sid=sid).count() == 1


def test_a_timed_out_call_the_provider_placed_is_not_placed_again(sender_api, twilio_api, monkeypatch):
    real_place = twilio.place_call

    def placed_then_timed_out(*args, **kwargs):
        sent = real_place(*args, **kwargs)
        if kwargs["to"] == ADA:
            url = kwargs["status_callback"]
            provider_post_later.append((url, sent.sid))
            raise twilio.ProviderError("Timed out", retryable=True)
        return sent

    provider_post_later = []
    real_heard = engine.heard

    def provider_calls_back_first(rows):
        for url, sid in provider_post_later:
            assert _call_callback({"StatusCallback": url}, sid, "completed").status_code == 200
        return real_heard(rows)

    monkeypatch.setattr("messaging.campaigns.sending.twilio.place_call", placed_then_timed_out)
    monkeypatch.setattr(engine, "heard", provider_calls_back_first)
    campaign = _voice_campaign(sender_api)
    ada = Recipient.objects.get(campaign_id=campaign["id"], phone=ADA)
    placed = next(a["sid"] for a in twilio_api.accepted if a["to"] == ADA)
    assert (ada.status, ada.error, ada.provider_sid) == ("delivered", "", placed)  # not queued again
    with time_machine.travel(datetime(2026, 12, 1, 18, 5, tzinfo=UTC), tick=True):
        run_beat()
    assert [c["To"] for c in twilio_api.calls].count(ADA) == 1
