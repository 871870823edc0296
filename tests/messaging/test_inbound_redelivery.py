"""A MessageSid redelivered while its first delivery still waits on the model (SPEC §7: stored
once, the same reply, no second model call). The first delivery has stored the message and
holds the conversation's turn; the redelivery waits for that turn and answers its reply.

Real concurrency on both backends: two threads post the webhook, the model double answers only
when the test opens its gate. On PostgreSQL the turn is a ticket lock on the conversation's row,
on SQLite (the embedded default, one web process) a lock in the process; on both the test sees
the redelivery waiting for the turn (messaging.turns.turn_waiters)."""

import threading
import uuid
import xml.etree.ElementTree as ET

import pytest
from django.db import connection
from django.db.models import F

from leadhub import tenancy
from messaging import transcript, turns
from messaging.inbound import services
from messaging.models import Conversation, Message
from tests.polling import until
from webhooks.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def _reply_of(response) -> str | None:
    assert response.status_code == 200, response.content
    messages = ET.fromstring(response.content).findall("Message")
    return messages[0].text if messages else None


def _waiting_for_the_turn(conversation_id) -> bool:
    """True once one turn or redelivery waits for the conversation's turn."""
    return until(lambda: turns.turn_waiters(conversation_id) == 1)


def _deliver(send_inbound, results, name, sid):
    def run():
        try:
            results[name] = send_inbound("When do you open?", sid=sid)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_redelivery_while_the_first_waits_on_the_model_gets_the_same_reply(line_a, model_api, send_inbound, settings):
    settings.AI_TIMEOUT_SECONDS = 8  # the gate, not the time limit, decides when the model answers
    model_api.reply, model_api.gate = "We open at 9am.", threading.Event()
    sid, results = "SM" + uuid.uuid4().hex, {}
    first = _deliver(send_inbound, results, "first", sid)
    try:
        # The model has the call: the message is stored, its reply is not.
        assert until(lambda: len(model_api.calls) == 1)
        assert Message.objects.get(provider_sid=sid).answered_at is None
        redelivery = _deliver(send_inbound, results, "redelivery", sid)
        assert _waiting_for_the_turn(Message.objects.get(provider_sid=sid).conversation_id)
    finally:
        model_api.gate.set()
    first.join()
    redelivery.join()
    assert _reply_of(results["first"]) == _reply_of(results["redelivery"]) == "We open at 9am."
    assert len(model_api.calls) == 1
    assert Message.objects.filter(direction="inbound").count() == 1
    assert Message.objects.filter(direction="outbound").count() == 1
    assert Event.objects.filter(type="message.received").count() == 1
    assert Event.objects.filter(type="message.sent").count() == 1


def test_a_redelivery_waits_for_the_turn_no_longer_than_its_limit(line_a, model_api, send_inbound, monkeypatch):
    monkeypatch.setattr(services, "REDELIVERY_WAIT_SECONDS", 0.2)
    model_api.reply, model_api.gate = "We open at 9am.", threading.Event()
    sid, results = "SM" + uuid.uuid4().hex, {}
    first = _deliver(send_inbound, results, "first", sid)
    try:
        assert until(lambda: len(model_api.calls) == 1)
        redelivery = _deliver(send_inbound, results, "redelivery", sid)
        redelivery.join(10)
        # Its wait ran out while the model still had the first: an empty answer, nothing stored.
        assert not redelivery.is_alive()
        assert _reply_of(results["redelivery"]) is None
    finally:
        model_api.gate.set()
    first.join()
    assert _reply_of(results["first"]) == "We open at 9am."
    assert len(model_api.calls) == 1
    assert Message.objects.filter(direction="inbound").count() == 1
    # The first delivery's answer is the message's, for any later redelivery.
    assert _reply_of(send_inbound("When do you open?", sid=sid)) == "We open at 9am."


def _turn_locks_left() -> int:
    """Turns still held or waited for once every turn has ended: on PostgreSQL conversations
    whose tickets drawn are not all served, on SQLite the process's entries."""
    if connection.vendor == "postgresql":
        return Conversation.objects.exclude(turn_next=F("turn_serving")).count()
    return len(turns._process_locks)


def test_turns_that_ended_leave_no_lock_behind(line_a, model_api, send_inbound):
    model_api.reply = "We open at 9am."
    for number in ("+18187405020", "+18187405021", "+18187405022"):
        sid = "SM" + uuid.uuid4().hex
        assert _reply_of(send_inbound("When do you open?", sid=sid, sender=number)) == "We open at 9am."
        assert _reply_of(send_inbound("When do you open?", sid=sid, sender=number)) == "We open at 9am."
    assert Conversation.objects.count() == 3
    assert _turn_locks_left() == 0


def test_a_turn_queued_behind_another_keeps_the_lock_they_share(line_a, model_api, send_inbound):
    """The lock is removed by the last turn to leave it, never under one still waiting: a third
    arrival finds the second turn holding it."""
    model_api.reply = "We open at 9am."
    send_inbound("When do you open?")
    conversation = Conversation.objects.get()
    conversation_id = conversation.pk
    first_holds, second_holds, release_second = threading.Event(), threading.Event(), threading.Event()
    release_first = threading.Event()

    def turn(holds, release):
        try:
            # A thread of its own: in the conversation's workspace, as the webhook's is.
            with tenancy.tenant_scope(conversation.workspace_id), transcript.conversation_turn(conversation):
                holds.set()
                release.wait(10)
        finally:
            connection.close()

    first = threading.Thread(target=turn, args=(first_holds, release_first))
    first.start()
    assert first_holds.wait(10)
    second = threading.Thread(target=turn, args=(second_holds, release_second))
    second.start()
    try:
        assert _waiting_for_the_turn(conversation_id)
        release_first.set()
        first.join()
        assert second_holds.wait(10)
        with tenancy.tenant_scope(conversation.workspace_id):
            assert transcript.conversation_turn_wait(conversation_id, seconds=0.2) is False  # the second's
    finally:
        release_first.set()
        release_second.set()
        first.join()
        second.join()
    with tenancy.tenant_scope(conversation.workspace_id):
        assert transcript.conversation_turn_wait(conversation_id, seconds=0.2) is True
    assert _turn_locks_left() == 0
