"""The hand-off of many queued messages at once (outbound/handoff.py): a batch claims, sends
and records its messages together with the rules of one (consent at hand-off, retries with
their own task, message.sent each, in order per conversation), and with Redis the drain task
empties the hand-off list a batch at a time."""

import pytest
from django.conf import settings as django_settings
from django.db import connection

from crm.models import Contact
from messaging.models import Message
from messaging.outbound import handoff
from webhooks.models import Event

from .conftest import LINE_NUMBER

URL = "/api/zapier-webhook?action=send-whatsapp"
LEADS = ["+18187405061", "+18187405062", "+18187405063"]


def _queue(api, to, text):
    response = api.post(URL, {"to": to, "message": text, "channel": "sms"}, format="json")
    assert response.status_code == 202, response.content
    return Message.objects.get(uid=response.json()["id"])


def test_a_batch_hands_each_message_over_once_by_the_rules_of_one(api_a, line_a, twilio_api, _no_broker):
    first = _queue(api_a, LEADS[0], "one")
    second = _queue(api_a, LEADS[0], "two")  # the same conversation: sent after "one"
    other = _queue(api_a, LEADS[1], "three")
    opted_out = _queue(api_a, LEADS[2], "four")
    Contact.objects.filter(phone_number=LEADS[2]).update(sms_opt_out=True)  # STOP meanwhile
    twilio_api.fail_next = [(503, None)]  # the first send answers 503: retried by its own task
    ids = [first.pk, second.pk, other.pk, opted_out.pk]

    outcomes = handoff.messages_handoff(message_ids=[*ids, first.pk + 10_000])

    assert outcomes[opted_out.pk] == "canceled" and outcomes[first.pk + 10_000] == "skipped"
    assert sorted(outcomes[pk] for pk in (first.pk, second.pk, other.pk)) == ["retry", "sent", "sent"]
    received = [(m["To"], m["Body"]) for m in twilio_api.messages]
    assert len(received) == 3 and ("+18187405063", "four") not in received
    assert [body for to, body in received if to == LEADS[0]] == ["one", "two"]  # in order
    assert all(m["From"] == LINE_NUMBER for m in twilio_api.messages)
    statuses = dict(Message.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses[opted_out.pk] == "canceled"
    retried = next(pk for pk in (first.pk, second.pk, other.pk) if outcomes[pk] == "retry")
    assert statuses[retried] == "queued"
    assert [k.get("countdown") for a, k in _no_broker if a and a[0] == handoff.HANDOFF_TASK] == [2.0]
    sent = Message.objects.filter(status="sent")
    assert sent.count() == 2 and all(m.provider_sid.startswith("SM") and m.sent_at for m in sent)
    events = Event.objects.filter(type="message.sent")
    assert sorted(e.data["provider_sid"] for e in events) == sorted(m.provider_sid for m in sent)
    assert all(e.data["status"] == "sent" for e in events)

    # Run again: only the one put back to queued is handed over.
    assert handoff.messages_handoff(message_ids=ids) == {
        first.pk: "sent" if retried == first.pk else "skipped",
        second.pk: "sent" if retried == second.pk else "skipped",
        other.pk: "sent" if retried == other.pk else "skipped",
        opted_out.pk: "skipped",
    }
    assert len(twilio_api.messages) == 4
    assert Event.objects.filter(type="message.sent").count() == 3


@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the hand-off list lives in Redis")
@pytest.mark.django_db(transaction=True)
def test_with_redis_the_drain_task_hands_over_what_was_queued(api_a, line_a, twilio_api, _no_broker, monkeypatch):
    from django.core.cache import cache
    from django_redis import get_redis_connection

    get_redis_connection("default").delete(handoff.PENDING_KEY)
    cache.delete(handoff.DRAIN_QUEUED_KEY)
    monkeypatch.setattr(handoff, "BATCH", 2)  # three messages: two batches; the first asks for another drain
    try:
        messages = [_queue(api_a, lead, f"hello {n}") for n, lead in enumerate(LEADS)]
        # Each commit put its id on the list; one drain task was queued for all three.
        assert [a[0] for a, k in _no_broker] == [handoff.DRAIN_TASK]
        assert handoff.handoff_drain() == 3
    finally:
        connection.close()
    assert sorted(m["Body"] for m in twilio_api.messages) == ["hello 0", "hello 1", "hello 2"]
    assert set(Message.objects.filter(pk__in=[m.pk for m in messages]).values_list("status", flat=True)) == {"sent"}
    assert [a[0] for a, k in _no_broker] == [handoff.DRAIN_TASK, handoff.DRAIN_TASK]
