"""A campaign message's status callback that comes before the chunk has recorded the provider's
answer (its URL names the message): the message and its recipient keep the later status, and
the chunk's record of `sent` never moves either back."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

import time_machine

from leadhub import tenancy
from messaging.campaigns import engine
from messaging.campaigns.models import Recipient
from messaging.models import Message

from .conftest import campaign_body, provider_post, run_beat

ADA, ALAN = "+18187405020", "+442071838750"


def test_callbacks_before_the_chunks_record_are_kept(sender_api, twilio_api, monkeypatch):
    real_keep = engine._keep_called_back
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
        real_keep(rows)

    monkeypatch.setattr(engine, "_keep_called_back", provider_calls_back_first)
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
