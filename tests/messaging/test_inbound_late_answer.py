"""Inbound messages whose turn died between storing the message and answering it: beat's sweep
answers each once, by the provider's REST API (the webhook's TwiML answer is gone), after
INBOUND_ANSWER_AFTER_SECONDS; answered ones, quiet ones and recent ones are left alone."""

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import tasks
from messaging.models import Conversation, Message
from messaging.transcript import conversation_takeover
from messaging.turns import TurnLost
from tests.scope_probe import run_as_worker

from .conftest import LEAD_NUMBER, LINE_NUMBER


class WorkerKilled(BaseException):  # not an error a handler answers: the process is gone
    """Stands for the process dying after the message's transaction committed."""


def _dies_before_answering(monkeypatch):
    def die(**kwargs):
        raise WorkerKilled()

    monkeypatch.setattr("messaging.inbound.services.inbound_answer", die)


def age(message: Message, seconds: int) -> None:
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(seconds=seconds))


def unanswered(monkeypatch, send_inbound, body: str) -> Message:
    with monkeypatch.context() as patch:
        _dies_before_answering(patch)
        with pytest.raises(WorkerKilled):
            send_inbound(body)
    message = Message.objects.get(direction="inbound", content=body)
    assert message.answered_at is None and message.reply_id is None
    return message


def test_a_message_whose_turn_died_is_answered_once_by_rest(
    line_a, model_api, send_inbound, monkeypatch, twilio_api, handoff, settings
):
    model_api.reply = "We open at 9am."
    message = unanswered(monkeypatch, send_inbound, "When do you open?")
    assert model_api.calls == []

    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS - 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0  # its turn may still be running: left alone
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 1
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0

    message.refresh_from_db()
    reply = message.reply
    assert message.answered_at is not None and reply is not None
    assert (reply.content, reply.direction, reply.source, reply.status) == (
        "We open at 9am.",
        "outbound",
        "ai",
        "queued",
    )
    assert model_api.calls[0]["messages"][-1] == {"role": "user", "content": "When do you open?"}

    assert handoff() == ["sent"]
    (sent,) = twilio_api.messages
    assert (sent["To"], sent["From"], sent["Body"]) == (
        f"whatsapp:{LEAD_NUMBER}",
        f"whatsapp:{LINE_NUMBER}",
        "We open at 9am.",
    )
    reply.refresh_from_db()
    assert reply.status == "sent"
    assert Message.objects.filter(direction="outbound").count() == 1
    assert len(model_api.calls) == 1


def test_a_redelivery_answers_a_message_whose_turn_died_itself(
    line_a, model_api, send_inbound, monkeypatch, settings, twilio_api
):
    # The provider redelivers a webhook that got no answer: the turn that died is over, so the
    # redelivery takes the turn and answers as TwiML rather than leaving the lead to beat.
    model_api.reply = "We open at 9am."
    sid = "SM" + "5" * 32
    with monkeypatch.context() as patch:
        _dies_before_answering(patch)
        with pytest.raises(WorkerKilled):
            send_inbound("When do you open?", sid=sid)
    response = send_inbound("When do you open?", sid=sid)
    assert response.status_code == 200
    assert b"<Message>We open at 9am.</Message>" in response.content
    message = Message.objects.get(direction="inbound")
    assert message.answered_at is not None
    assert (message.reply.content, message.reply.status) == ("We open at 9am.", "sent")
    assert len(model_api.calls) == 1

    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0  # answered once: nothing left for beat
    assert send_inbound("When do you open?", sid=sid).content == response.content
    assert Message.objects.filter(direction="outbound").count() == 1
    assert twilio_api.messages == []  # nothing by REST
    assert len(model_api.calls) == 1


def test_answered_messages_are_left_alone(line_a, send_inbound, settings):
    response = send_inbound("When do you open?")
    assert response.status_code == 200 and b"<Message>" in response.content
    message = Message.objects.get(direction="inbound")
    assert message.answered_at is not None
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0
    assert Message.objects.filter(direction="outbound").count() == 1


def test_a_quiet_turn_counts_as_answered(line_a, model_api, send_inbound, settings):
    send_inbound("Hi")
    conversation_takeover(conversation=Conversation.objects.get(), user=None)
    response = send_inbound("Is anyone there?")
    assert response.status_code == 200 and b"<Message>" not in response.content
    message = Message.objects.get(content="Is anyone there?")
    assert message.answered_at is not None and message.reply_id is None
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0
    assert len(model_api.calls) == 1


def test_a_late_answer_keeps_the_guardrails(line_a, model_api, send_inbound, monkeypatch, settings, twilio_api):
    send_inbound("Hi")
    message = unanswered(monkeypatch, send_inbound, "Still there?")
    conversation_takeover(conversation=Conversation.objects.get(), user=None)  # meanwhile, a person took over
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 1  # answered: by silence
    message.refresh_from_db()
    assert message.answered_at is not None and message.reply_id is None
    assert len(model_api.calls) == 1
    assert not Message.objects.filter(direction="outbound", status="queued").exists()


def test_a_stop_whose_turn_died_is_answered_by_the_consent_rule_and_the_handoff_sends_nothing(
    line_a, send_inbound, monkeypatch, settings, twilio_api, handoff
):
    message = unanswered(monkeypatch, send_inbound, "STOP")
    contact = message.conversation.contact
    contact.refresh_from_db()
    assert contact.sms_opt_out  # the keyword's consent change was in the message's transaction
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 1
    message.refresh_from_db()
    assert message.reply.source == "consent"
    handoff()
    assert twilio_api.messages == []  # opted out: the hand-off's consent check holds it back


def test_messages_older_than_the_whatsapp_window_are_not_answered(line_a, model_api, send_inbound, monkeypatch):
    message = unanswered(monkeypatch, send_inbound, "Hello?")
    age(message, 25 * 3600)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 0
    assert model_api.calls == []


def _twiml_messages(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [message.text for message in ET.fromstring(response.content).findall("Message")]


def _answered_late_by_rest(model_api, send_inbound, monkeypatch, settings, *, sid: str) -> str:
    """A message whose turn died before answering, answered later by beat's sweep (its reply
    queued for the REST API, not handed off yet): its MessageSid."""
    model_api.reply = "We open at 9am."
    with monkeypatch.context() as patch:
        _dies_before_answering(patch)
        with pytest.raises(WorkerKilled):
            send_inbound("When do you open?", sid=sid)
    message = Message.objects.get(direction="inbound")
    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 1
    return sid


def test_a_redelivery_after_beat_answered_by_rest_answers_empty_twiml(
    line_a, model_api, send_inbound, monkeypatch, settings, twilio_api, handoff
):
    # The lead got the late answer through the REST API: a redelivery of the same MessageSid
    # must not send it again as TwiML.
    sid = _answered_late_by_rest(model_api, send_inbound, monkeypatch, settings, sid="SM" + "6" * 32)
    assert handoff() == ["sent"]
    assert _twiml_messages(send_inbound("When do you open?", sid=sid)) == []
    assert [sent["Body"] for sent in twilio_api.messages] == ["We open at 9am."]  # once, by REST
    assert Message.objects.filter(direction="outbound").count() == 1
    assert len(model_api.calls) == 1


def test_a_redelivery_while_the_late_answer_waits_for_its_hand_off_answers_empty_twiml(
    line_a, model_api, send_inbound, monkeypatch, settings, twilio_api, handoff
):
    # Queued for REST but not handed over yet: the hand-off will send it, so the redelivery
    # answers nothing, and the lead gets the answer once.
    sid = _answered_late_by_rest(model_api, send_inbound, monkeypatch, settings, sid="SM" + "7" * 32)
    assert _twiml_messages(send_inbound("When do you open?", sid=sid)) == []
    assert handoff() == ["sent"]
    assert [sent["Body"] for sent in twilio_api.messages] == ["We open at 9am."]
    assert len(model_api.calls) == 1


def test_a_redelivery_of_a_message_answered_as_twiml_gets_the_same_twiml(line_a, send_inbound, twilio_api):
    sid = "SM" + "8" * 32
    first = _twiml_messages(send_inbound("When do you open?", sid=sid))
    assert first and first[0]
    assert _twiml_messages(send_inbound("When do you open?", sid=sid)) == first
    assert twilio_api.messages == []


def test_a_turn_that_lost_its_lease_stores_no_reply_and_beat_answers_it(
    line_a, model_api, send_inbound, monkeypatch, handoff, settings
):
    """A live turn skipped as dead (its lease ran out) may be overtaken by the next turn: its
    reply is not stored out of order; the message, stored in order, is answered by beat."""
    model_api.reply = "We open at 9am."

    def lost(conversation_id):
        raise TurnLost(conversation_id)

    with monkeypatch.context() as patch:
        patch.setattr("messaging.inbound.services.turn_keep", lost)
        response = send_inbound("When do you open?")
    assert response.status_code == 200
    assert "<Message>" not in response.content.decode()
    message = Message.objects.get(direction="inbound", content="When do you open?")
    assert message.answered_at is None and message.reply_id is None
    assert not Message.objects.filter(direction="outbound").exists()

    age(message, settings.INBOUND_ANSWER_AFTER_SECONDS + 5)
    assert run_as_worker(tasks.inbound_unanswered_sweep) == 1
    message.refresh_from_db()
    assert message.reply.content == "We open at 9am." and message.reply.status == "queued"
