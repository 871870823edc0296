"""Voice campaigns through the Twilio double: calls whose TwiML says the message inside a one-key
gather with a fallback; the signed gather records the key press, which reaches the campaign's
webhook receiver verified with standardwebhooks; the opt-out digit; call status callbacks."""

from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
import time_machine
from standardwebhooks import Webhook

from crm.models import Contact
from messaging.campaigns.models import Recipient
from messaging.models import ConsentChange, Message
from tests.messaging.doubles import twilio_signature
from webhooks.models import Delivery, Event
from webhooks.tasks import deliveries_sweep

from .conftest import SEND_NUMBER, TESTSERVER, campaign_body, provider_post, run_beat

URL = "/api/v1/campaigns"
ADA = "+18187405020"
SCHEDULE = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles, 18:00 in London


@pytest.fixture
def called(sender_api, twilio_api, receiver):
    """A voice campaign to Ada and Alan, with a webhook receiver, and its calls placed."""
    with time_machine.travel(SCHEDULE, tick=True):
        response = sender_api.post(
            URL,
            campaign_body(
                channel="voice",
                schedule_at="2026-12-01T18:00:00Z",
                message_template="Hi {{ first_name }}, your appointment is at {{ time }}. Press 1 to confirm.",
                no_input_message="We will call you back.",
                webhook_url=receiver.url,
            ),
            format="json",
        )
        assert response.status_code == 201, response.json()
        run_beat()
    return response.json()


def _ada(campaign) -> Recipient:
    return Recipient.objects.select_related("campaign").get(campaign_id=campaign["id"], phone=ADA)


def test_a_call_says_the_message_inside_a_one_key_gather_with_a_fallback(called, twilio_api):
    calls = {call["To"]: call for call in twilio_api.calls}
    assert sorted(calls) == [ADA, "+442071838750"]
    assert twilio_api.messages == []
    ada = _ada(called)
    call = calls[ADA]
    assert call["From"] == SEND_NUMBER
    assert call["StatusCallback"] == f"{TESTSERVER}/api/twilio/status?recipient={ada.pk}"
    twiml = ElementTree.fromstring(call["Twiml"])
    gather, fallback = list(twiml)
    assert gather.tag == "Gather"
    assert gather.attrib == {
        "action": f"{TESTSERVER}/api/twilio/gather?recipient={ada.pk}",
        "method": "POST",
        "numDigits": "1",
        "timeout": "5",
    }
    assert [(say.tag, say.text) for say in gather] == [
        ("Say", "Hi Ada, your appointment is at 10:30. Press 1 to confirm.")
    ]
    assert (fallback.tag, fallback.text) == ("Say", "We will call you back.")
    assert ada.status == "sent" and ada.provider_sid.startswith("CA")
    assert ada.message_id is None and not Message.objects.exists()  # calls are not messages


def test_a_key_press_reaches_the_receiver_verified_with_standardwebhooks(called, receiver):
    ada = _ada(called)
    path = f"/api/twilio/gather?recipient={ada.pk}"
    response = provider_post(path, {"CallSid": ada.provider_sid, "Digits": "1", "From": SEND_NUMBER, "To": ADA})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert b"<Say>Thank you. Goodbye.</Say>" in response.content
    ada.refresh_from_db()
    assert ada.keypress == "1"
    assert Contact.objects.get(pk=ada.contact_id).sms_opt_out is False

    while deliveries_sweep():
        pass
    receiver.wait_for(Delivery.objects.count())
    (item,) = receiver.received
    payload = Webhook(called["webhook_secret"]).verify(item.body, item.headers)
    assert payload["type"] == "campaign.callback.received"
    assert payload["data"] == {
        "campaign_id": called["id"],
        "recipient": {
            "index": 0,
            "phone": ADA,
            "contact_id": str(ada.contact_id),
            "context": {"first_name": "Ada", "time": "10:30"},
        },
        "kind": "keypress",
        "value": "1",
    }


def test_the_opt_out_digit_opts_the_contact_out(called):
    ada = _ada(called)
    response = provider_post(f"/api/twilio/gather?recipient={ada.pk}", {"CallSid": ada.provider_sid, "Digits": "9"})
    assert response.status_code == 200
    assert b"You will not be contacted again" in response.content
    assert Contact.objects.get(pk=ada.contact_id).sms_opt_out is True
    assert ConsentChange.objects.get(contact_id=ada.contact_id).keyword == "keypress 9"


@pytest.mark.parametrize(
    ("query", "signature"),
    [
        ("ada", ""),  # no signature
        ("ada", "forged"),  # signed with another key
        ("999999999", None),  # no such recipient (signed as if it were)
        ("x", None),
        ("%C2%B2", None),  # "²": a digit to str.isdigit, not to int()
        ("%D9%A3", None),  # an Arabic-Indic three
    ],
)
def test_the_gather_fails_closed_with_403_and_records_nothing(called, query, signature):
    ada = _ada(called)
    recipient = str(ada.pk) if query == "ada" else query
    path = f"/api/twilio/gather?recipient={recipient}"
    params = {"CallSid": ada.provider_sid, "Digits": "1"}
    if signature == "forged":
        signature = twilio_signature(TESTSERVER + path, params, "not-the-token")
    response = provider_post(path, params, signature=signature)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    ada.refresh_from_db()
    assert ada.keypress == ""
    assert not Event.objects.filter(type="campaign.callback.received").exists()


def test_a_gather_about_another_call_is_403(called):
    ada = _ada(called)
    response = provider_post(f"/api/twilio/gather?recipient={ada.pk}", {"CallSid": "CA" + "0" * 32, "Digits": "1"})
    assert response.status_code == 403


def test_call_status_callbacks_move_the_recipient(called):
    ada = _ada(called)
    response = provider_post("/api/twilio/status", {"CallSid": ada.provider_sid, "CallStatus": "completed"})
    assert response.status_code == 200
    ada.refresh_from_db()
    assert ada.status == "delivered"
    event = Event.objects.get(type="campaign.callback.received")
    assert (event.data["kind"], event.data["value"]) == ("status", "completed")

    assert provider_post("/api/twilio/status", {"CallSid": "CA" + "0" * 32, "CallStatus": "busy"}).status_code == 404
    params = {"CallSid": ada.provider_sid, "CallStatus": "busy"}
    forged = twilio_signature(TESTSERVER + "/api/twilio/status", params, "not-the-token")
    assert provider_post("/api/twilio/status", params, signature=forged).status_code == 403
