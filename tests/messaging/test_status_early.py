"""A status callback that comes before the hand-off has stored the MessageSid (the provider
calls back as soon as it accepts; the hand-off stores the SID with its batch after the
provider's answer): the callback URL names the message, so the status is kept, not lost to a
404, and the hand-off's own record never moves it back."""

import threading
import uuid
from urllib.parse import urlencode, urlsplit

import pytest
from django.db import connection
from django.test import Client

from leadhub import tenancy
from messaging import twilio
from messaging.models import Message
from messaging.outbound import handoff as handoff_module
from tests.crm.support import error_of
from webhooks.models import Event

from .conftest import ACCOUNT_SID, AUTH_TOKEN, LEAD_NUMBER
from .doubles import twilio_signature

URL = "/api/zapier-webhook?action=send-whatsapp"
BASE = "https://crm.example.com"


@pytest.fixture(autouse=True)
def _public_base(settings):
    settings.PUBLIC_BASE_URL = BASE


def _queue(api):
    response = api.post(URL, {"to": LEAD_NUMBER, "message": "Your viewing is at 3pm.", "channel": "sms"}, format="json")
    assert response.status_code == 202, response.content
    return Message.objects.get(uid=response.json()["id"])


def _callback(url, sid, status, *, error_code=None, key=AUTH_TOKEN):
    """POST the provider's status callback to the URL it was given, signed over that URL."""
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01"}
    if error_code:
        params["ErrorCode"] = str(error_code)
    parts = urlsplit(url)
    with tenancy.no_scope():  # the provider's request, not the worker's
        return Client().post(
            f"{parts.path}?{parts.query}",
            urlencode(params),
            content_type="application/x-www-form-urlencoded",
            HTTP_X_TWILIO_SIGNATURE=twilio_signature(url, params, key),
        )


def test_every_message_names_itself_in_its_status_callback(api_a, line_a, twilio_api, handoff):
    message = _queue(api_a)
    assert handoff() == ["sent"]
    (sent,) = twilio_api.messages
    assert sent["StatusCallback"] == f"{BASE}/api/twilio/status?message={message.uid}"


def test_a_failure_called_back_before_the_sid_is_stored_is_kept(api_a, line_a, twilio_api, handoff, monkeypatch):
    message = _queue(api_a)
    real_send = twilio.send_message
    answers = []

    def send_then_provider_calls_back(*args, **kwargs):
        sent = real_send(*args, **kwargs)  # accepted by the provider (the double)
        assert Message.objects.get(pk=message.pk).provider_sid is None  # not stored yet
        answers.append(_callback(kwargs["status_callback"], sent.sid, "failed", error_code=30003))
        return sent

    monkeypatch.setattr("messaging.outbound.handoff.twilio.send_message", send_then_provider_calls_back)
    assert handoff() == ["sent"]
    assert answers[0].status_code == 200, answers[0].content
    message.refresh_from_db()
    # The callback found the message by its URL and stored the SID; the hand-off's record,
    # after it, kept the final status (forward only).
    assert message.provider_sid == twilio_api.accepted[0]["sid"]
    assert (message.status, message.error_code) == ("failed", 30003)
    # Later callbacks find it by its SID as usual.
    assert _callback(f"{BASE}/api/twilio/status", message.provider_sid, "delivered").status_code == 200


def test_a_delivery_called_back_before_the_sid_is_stored_moves_it_forward(
    api_a, line_a, twilio_api, handoff, monkeypatch
):
    message = _queue(api_a)
    real_send = twilio.send_message

    def send_then_provider_calls_back(*args, **kwargs):
        sent = real_send(*args, **kwargs)
        assert _callback(kwargs["status_callback"], sent.sid, "delivered").status_code == 200
        return sent

    monkeypatch.setattr("messaging.outbound.handoff.twilio.send_message", send_then_provider_calls_back)
    assert handoff() == ["sent"]
    message.refresh_from_db()
    assert message.status == "delivered" and message.provider_sid == twilio_api.accepted[0]["sid"]


def test_the_named_message_is_not_taken_for_another_sid(api_a, line_a, twilio_api, handoff):
    message = _queue(api_a)
    handoff()
    message.refresh_from_db()
    url = f"{BASE}/api/twilio/status?message={message.uid}"
    error_of(_callback(url, "SM" + "0" * 32, "failed"), 404, "NOT_FOUND")
    message.refresh_from_db()
    assert message.status == "sent"


def test_a_named_callback_is_checked_with_the_messages_line(api_a, line_a, twilio_api):
    message = _queue(api_a)
    url = f"{BASE}/api/twilio/status?message={message.uid}"
    error_of(_callback(url, "SM" + "1" * 32, "delivered", key="not-the-token"), 403, "FORBIDDEN")
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("queued", None)


@pytest.mark.parametrize("named", ["", "not-a-uuid", "0" * 400, str(uuid.uuid4()), "\x00", "%00"])
def test_a_callback_naming_nothing_known_is_404(api_a, line_a, named):
    error_of(_callback(f"{BASE}/api/twilio/status?message={named}", "SM" + "2" * 32, "delivered"), 404, "NOT_FOUND")


def test_an_inbound_message_cannot_be_named(send_inbound, line_a):
    assert send_inbound("Hi", base=BASE).status_code == 200
    inbound = Message.objects.get(direction="inbound")
    url = f"{BASE}/api/twilio/status?message={inbound.uid}"
    error_of(_callback(url, "SM" + "3" * 32, "delivered"), 404, "NOT_FOUND")


def test_a_send_that_timed_out_after_the_provider_took_it_is_not_sent_twice(
    api_a, line_a, twilio_api, handoff, monkeypatch, _no_broker
):
    message = _queue(api_a)
    real_send = twilio.send_message

    def accepted_then_timed_out(*args, **kwargs):
        sent = real_send(*args, **kwargs)  # the provider has it ...
        # Its first callback says only "queued", which moves no status but stores the SID.
        assert _callback(kwargs["status_callback"], sent.sid, "queued").status_code == 200
        raise twilio.ProviderError("Timed out", retryable=True)  # ... but its answer never came

    monkeypatch.setattr("messaging.outbound.handoff.twilio.send_message", accepted_then_timed_out)
    assert handoff() == ["sent"]
    message.refresh_from_db()
    assert (message.status, message.provider_sid) == ("sent", twilio_api.accepted[0]["sid"])
    assert message.sent_at is not None
    assert Event.objects.filter(type="message.sent", data__provider_sid=message.provider_sid).count() == 1
    assert _no_broker == []  # no retry enqueued
    monkeypatch.undo()
    assert handoff() == []  # nothing queued: one copy reached the lead
    assert len(twilio_api.messages) == 1


@pytest.mark.postgres  # row locks: SQLite's test database refuses a second writer at once
@pytest.mark.django_db(transaction=True)
def test_a_callback_during_the_record_waits_for_it_and_then_moves_forward(
    api_a, line_a, twilio_api, handoff, monkeypatch
):
    """The record locks the messages it decides about: a callback that comes meanwhile (in a
    thread of its own, as the provider's request is) waits, then moves forward from the record."""
    message = _queue(api_a)
    real_send, real_heard = twilio.send_message, handoff_module._sids_heard
    calls, answers = [], []

    def accepted_then_timed_out(*args, **kwargs):
        sent = real_send(*args, **kwargs)
        calls.append((kwargs["status_callback"], sent.sid))
        raise twilio.ProviderError("Timed out", retryable=True)

    def heard_then_provider_calls_back(message_ids):
        heard = real_heard(message_ids)  # the rows are locked now
        url, sid = calls[0]

        def provider():
            try:
                answers.append(_callback(url, sid, "delivered"))
            finally:
                connection.close()  # the thread's own connection

        thread = threading.Thread(target=provider)
        thread.start()
        thread.join(0.5)  # it waits for the record's transaction
        assert thread.is_alive()
        threads.append(thread)
        return heard

    threads = []
    monkeypatch.setattr("messaging.outbound.handoff.twilio.send_message", accepted_then_timed_out)
    monkeypatch.setattr(handoff_module, "_sids_heard", heard_then_provider_calls_back)
    assert handoff() == ["retry"]  # nothing was heard before the record
    threads[0].join(10)
    assert answers and answers[0].status_code == 200, answers and answers[0].content
    message.refresh_from_db()
    # The callback found the message by its URL after the record and moved it on: the queued
    # retry is not handed over again.
    assert (message.status, message.provider_sid) == ("delivered", calls[0][1])
    monkeypatch.undo()
    assert handoff() == []
    assert len(twilio_api.messages) == 1
