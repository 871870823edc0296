"""The inbound webhook under real concurrency (PostgreSQL): a MessageSid delivered several times
at once is one message and one model call; messages of one conversation are answered one at a
time, in order (the turn's lock), each seeing the replies before it, while a slow model holds up
nothing else."""

import threading
import time
import uuid

import pytest
from django.db import connection

from crm.models import Contact
from messaging import tasks
from messaging.models import Conversation, Message
from messaging.transcript import conversation_takeover
from webhooks.models import Event

from .test_inbound_late_answer import age, unanswered

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _concurrently(calls):
    """Run the callables at once (a barrier), each in its own thread and connection."""
    barrier, results, errors = threading.Barrier(len(calls)), [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # reported below, never swallowed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


def test_the_same_message_sid_posted_concurrently_is_one_message_and_one_model_call(line_a, model_api, send_inbound):
    model_api.reply, model_api.delay = "We open at 9am.", 0.3  # the first holds the turn a while
    sid = "SM" + uuid.uuid4().hex
    responses = _concurrently([lambda: send_inbound("When do you open?", sid=sid)] * 8)
    assert [r.status_code for r in responses] == [200] * 8
    assert {r.content for r in responses} == {responses[0].content}
    assert b"We open at 9am." in responses[0].content
    assert len(model_api.calls) == 1
    assert Message.objects.filter(direction="inbound").count() == 1
    assert Message.objects.filter(direction="outbound").count() == 1
    assert Contact.objects.count() == 1 and Conversation.objects.count() == 1
    assert Event.objects.filter(type="message.received").count() == 1


def test_first_messages_of_many_leads_at_once_each_get_their_conversation(line_a, model_api, send_inbound):
    leads = [f"+1818740{5030 + n:04d}" for n in range(6)]
    responses = _concurrently([lambda lead=lead: send_inbound("Hi", sender=lead) for lead in leads] * 2)
    assert [r.status_code for r in responses] == [200] * 12
    assert Conversation.objects.count() == 6 and Contact.objects.count() == 6
    assert Message.objects.filter(direction="inbound").count() == 12
    assert len(model_api.calls) == 12


def test_messages_of_one_conversation_are_answered_in_order(line_a, model_api, send_inbound):
    model_api.reply = lambda request: "Re: " + request["messages"][-1]["content"].split("\n")[-1]
    send_inbound("hello")  # the conversation exists
    model_api.delay = 1.0
    first_started = threading.Event()
    results = {}

    def first():
        first_started.set()
        results["first"] = send_inbound("first")

    def second():
        # Arrives while the model is still answering "first".
        first_started.wait()
        deadline = time.monotonic() + 5
        while len(model_api.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        results["second"] = send_inbound("second")

    _concurrently([first, second])
    assert b"Re: first" in results["first"].content and b"Re: second" in results["second"].content
    assert len(model_api.calls) == 3
    # The second's model call was made after the first's turn ended: it saw the first's reply.
    assert model_api.calls[2]["messages"][-3:] == [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "Re: first"},
        {"role": "user", "content": "second"},
    ]
    contents = list(Message.objects.order_by("position").values_list("content", flat=True))
    assert contents == ["hello", "Re: hello", "first", "Re: first", "second", "Re: second"]


def test_a_takeover_while_the_model_answers_is_not_held_up_and_silences_the_brain(
    line_a, model_api, send_inbound, settings
):
    model_api.reply = "We open at 9am."
    send_inbound("hello")  # the conversation exists
    conversation = Conversation.objects.get()
    # The model answers when the test opens the gate (the limit only bounds a test gone wrong).
    settings.AI_TIMEOUT_SECONDS, model_api.gate = 8, threading.Event()
    results = {}

    def lead_writes():
        try:
            results["answer"] = send_inbound("When do you open?")
        finally:
            connection.close()

    thread = threading.Thread(target=lead_writes)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(model_api.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(model_api.calls) == 2  # the model is answering: no lock of the turn is held now
        # An agent takes over: the conversation's row is free, the update does not wait for the model.
        assert conversation_takeover(conversation=conversation, user=None)
        still_answering = thread.is_alive()
    finally:
        model_api.gate.set()
    thread.join()
    assert still_answering
    assert results["answer"].status_code == 200
    assert b"<Message>" not in results["answer"].content
    inbound = Message.objects.get(content="When do you open?")
    assert inbound.reply_id is None
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == [
        "hello",
        "We open at 9am.",
        "When do you open?",
    ]


def test_a_slow_model_in_one_conversation_holds_up_no_other(line_a, model_api, send_inbound, settings):
    slow_lead, quick_lead = "+18187405031", "+18187405032"
    model_api.reply = lambda request: "Re: " + request["messages"][-1]["content"].split("\n")[-1]
    send_inbound("hello", sender=slow_lead)
    send_inbound("hello", sender=quick_lead)
    # The model answers when the test opens the gate: a fixed delay let a loaded machine finish
    # it before the other lead's turn (a failed full pass), proving nothing.
    settings.AI_TIMEOUT_SECONDS, model_api.gate = 8, threading.Event()
    results = {}

    def slow():
        try:
            results["slow"] = send_inbound("slow", sender=slow_lead)
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while len(model_api.calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        # The other lead's turn (a STOP: answered by the consent rule, no model call) is done while
        # the first is still waiting on the model.
        quick = send_inbound("STOP", sender=quick_lead)
        still_answering = thread.is_alive()
    finally:
        model_api.gate.set()
    thread.join()
    assert still_answering
    assert b"unsubscribed" in quick.content
    assert Contact.objects.get(phone_number=quick_lead).sms_opt_out
    assert b"Re: slow" in results["slow"].content


def test_two_sweeps_racing_answer_a_message_whose_turn_died_once(
    line_a, model_api, send_inbound, monkeypatch, settings, twilio_api, handoff
):
    model_api.reply, model_api.delay = "We open at 9am.", 0.3  # the first sweep holds the turn a while
    message = unanswered(monkeypatch, send_inbound, "When do you open?")
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert sorted(_concurrently([tasks.inbound_unanswered_sweep] * 2)) == [0, 1]
    assert len(model_api.calls) == 1
    message.refresh_from_db()
    assert message.answered_at is not None and message.reply.content == "We open at 9am."
    assert Message.objects.filter(direction="outbound").count() == 1
    assert handoff() == ["sent"]
    assert [sent["Body"] for sent in twilio_api.messages] == ["We open at 9am."]
