"""A driver that dies between handing messages to the provider and recording its answers: the
next driver asks the provider (the Twilio double's Messages and Calls lists, through the SDK)
and marks each recipient sent with the provider's sid, or queues it again, or, when the
provider cannot be asked, fails it as `interrupted`. Never a second message to anyone.

The death is injected in the sender: an exception no `except Exception` catches, raised where
a SIGKILL could land (tests/campaigns/test_sending_postgres.py kills a real process)."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from messaging.campaigns import engine, leases, sending
from messaging.campaigns.models import Campaign, Recipient
from messaging.models import Message
from webhooks.models import Event

from .conftest import SEND_NUMBER, campaign_body, run_beat

URL = "/api/v1/campaigns"
ADA, ALAN = "+18187405020", "+442071838750"
T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles, 18:00 in London
LATER = T0 + timedelta(minutes=3)  # past STALE_SENDING: what the dead driver left is stale


class WorkerDied(BaseException):
    """What a SIGKILL looks like from the inside: nothing after it runs."""


class DiesAfterHandOff(sending.CampaignSender):
    """The provider accepted every message of the chunk; the worker died before recording."""

    def record(self, handed):
        raise WorkerDied


class DiesBeforeHandOff(sending.CampaignSender):
    """The messages are stored and the recipients `sending`; the worker died before any reached
    the provider."""

    def hand_off(self, item):
        raise WorkerDied


def _campaign(api, **overrides) -> str:
    response = api.post(URL, campaign_body(**{"schedule_at": "2026-12-01T18:00:00Z"} | overrides), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def _dies(campaign_id: str, sender_class) -> None:
    leases.campaigns_start_due()
    with pytest.raises(WorkerDied):
        engine.campaign_drive(campaign_id=campaign_id, sender_for=sender_class)
    statuses = Counter(Recipient.objects.filter(campaign_id=campaign_id).values_list("status", flat=True))
    assert statuses == {"sending": 2}


def _recipients(campaign_id) -> dict[str, Recipient]:
    return {r.phone: r for r in Recipient.objects.filter(campaign_id=campaign_id).select_related("message")}


def test_messages_the_provider_accepted_are_marked_sent_with_its_sids(api, twilio_api):
    with time_machine.travel(T0, tick=True):
        campaign_id = _campaign(api)
        _dies(campaign_id, DiesAfterHandOff)
        assert sum(run_beat()) == 0  # not stale yet: the dead driver may still be handing them over
        assert set(Recipient.objects.filter(campaign_id=campaign_id).values_list("status", flat=True)) == {"sending"}
    accepted = {message["to"]: message["sid"] for message in twilio_api.accepted}
    assert sorted(accepted) == [ADA, ALAN]

    with time_machine.travel(LATER, tick=True):
        run_beat()

    lists = [r for r in twilio_api.requests if r.method == "GET" and r.path.endswith("/Messages.json")]
    assert sorted(r.query["To"][0] for r in lists) == [ADA, ALAN]
    assert {(r.query["From"][0], r.query["DateSent>"][0][:10]) for r in lists} == {(SEND_NUMBER, "2026-12-01")}
    assert len(twilio_api.messages) == 2  # nothing sent again
    for phone, recipient in _recipients(campaign_id).items():
        assert (recipient.status, recipient.provider_sid, recipient.reason) == ("sent", accepted[phone], "")
        assert (recipient.message.status, recipient.message.provider_sid) == ("sent", accepted[phone])
    # What a send emits: message.sent for each, with the provider's sid known.
    assert Event.objects.filter(type="message.sent").count() == 2
    body = api.get(f"{URL}/{campaign_id}").json()
    assert body["status"] == "completed"
    assert body["counts"] == {"queued": 0, "sent": 2, "delivered": 0, "failed": 0, "skipped": 0}


def test_messages_the_provider_never_got_are_sent_once_with_their_stored_message(api, twilio_api):
    with time_machine.travel(T0, tick=True):
        first = _campaign(api, recipients=[{"phone": ADA, "context": {"first_name": "Ada", "time": "9"}}])
        run_beat()  # Ada got a message from this line earlier today: it is not this one
    with time_machine.travel(T0 + timedelta(minutes=10), tick=True):
        campaign_id = _campaign(api, schedule_at="2026-12-01T18:10:00Z")
        _dies(campaign_id, DiesBeforeHandOff)
        stored = {r.phone: r.message_id for r in _recipients(campaign_id).values()}
    assert len(twilio_api.messages) == 1

    with time_machine.travel(LATER + timedelta(minutes=10), tick=True):
        run_beat()

    assert Counter(message["To"] for message in twilio_api.messages) == {ADA: 2, ALAN: 1}  # Ada: one a campaign
    recipients = _recipients(campaign_id)
    assert {r.status for r in recipients.values()} == {"sent"}
    assert {phone: r.message_id for phone, r in recipients.items()} == stored  # one message each, reused
    assert Recipient.objects.get(campaign_id=first).provider_sid != recipients[ADA].provider_sid
    assert Message.objects.filter(source="campaign").count() == 3
    assert Campaign.objects.get(pk=campaign_id).status == "completed"


def test_when_the_provider_cannot_be_asked_they_fail_as_interrupted_and_say_why(api, twilio_api):
    with time_machine.travel(T0, tick=True):
        campaign_id = _campaign(api)
        _dies(campaign_id, DiesAfterHandOff)
    twilio_api.list_status = 500

    with time_machine.travel(LATER, tick=True):
        run_beat()

    assert len(twilio_api.messages) == 2  # never sent again
    for recipient in _recipients(campaign_id).values():
        assert (recipient.status, recipient.reason) == ("failed", Recipient.INTERRUPTED)
        assert "the provider could not be asked whether it arrived" in recipient.error
        assert recipient.message.status == "failed" and recipient.message.error_message == recipient.error
    assert not Event.objects.filter(type="message.sent").exists()
    assert Campaign.objects.get(pk=campaign_id).status == "completed"


def test_a_voice_campaign_asks_the_calls_list(api, twilio_api):
    with time_machine.travel(T0, tick=True):
        campaign_id = _campaign(api, channel="voice", recipients=[{"phone": ADA}, {"phone": ALAN}])
        _dies(campaign_id, DiesAfterHandOff)
    placed = {call["to"]: call["sid"] for call in twilio_api.accepted}
    twilio_api.accepted = [call for call in twilio_api.accepted if call["to"] == ADA]  # Alan's never arrived

    with time_machine.travel(LATER, tick=True):
        run_beat()

    lists = [r for r in twilio_api.requests if r.method == "GET" and r.path.endswith("/Calls.json")]
    assert {(r.query["From"][0], r.query["StartTime>"][0][:10]) for r in lists} == {(SEND_NUMBER, "2026-12-01")}
    recipients = _recipients(campaign_id)
    assert (recipients[ADA].status, recipients[ADA].provider_sid) == ("sent", placed[ADA])
    assert recipients[ALAN].status == "sent" and recipients[ALAN].provider_sid != placed[ALAN]
    assert Counter(call["To"] for call in twilio_api.calls) == {ADA: 1, ALAN: 2}
