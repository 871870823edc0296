"""/api/v1/conversations: list with filters, retrieve with messages, a person's message (takes the
conversation over: the brain stays quiet) and handback; completion of idle conversations by beat
(`conversation.completed`, the clock moved); `intent.detected` on inbound; tenancy and scopes on
every route."""

import datetime as dt
import uuid
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.utils import timezone

from messaging import tasks
from messaging.conversations import services as conversations
from messaging.models import Conversation, Message
from tests.crm.support import contact_make, error_of
from tests.scope_probe import record_scopes, run_as_worker
from webhooks.models import Event

from .conftest import LEAD_NUMBER, LINE_NUMBER

URL = "/api/v1/conversations"
OTHER_LEAD = "+18187405021"


def _reply_of(response) -> str | None:
    assert response.status_code == 200, response.content
    messages = ET.fromstring(response.content).findall("Message")
    return messages[0].text if messages else None


@pytest.fixture
def conversation(line_a, model_api, send_inbound):
    model_api.reply = "Hello! How can we help?"
    assert _reply_of(send_inbound("Hi there")) == "Hello! How can we help?"
    return Conversation.objects.get()


# --- List and retrieve --------------------------------------------------------------------


def test_retrieve_shows_the_messages_in_order(api_a, conversation):
    body = api_a.get(f"{URL}/{conversation.id}").json()
    assert body["id"] == str(conversation.id)
    assert (body["channel"], body["status"], body["taken_over"]) == ("whatsapp", "open", False)
    assert body["contact_id"] == str(conversation.contact_id)
    assert [(m["role"], m["direction"], m["content"], m["status"]) for m in body["messages"]] == [
        ("user", "inbound", "Hi there", "received"),
        ("assistant", "outbound", "Hello! How can we help?", "sent"),
    ]
    assert body["messages"][0]["id"] == str(Message.objects.get(position=0).uid)


def test_the_list_filters_by_contact_channel_and_status(api_a, workspace_a, conversation, send_inbound):
    send_inbound("Hi by SMS", sender=OTHER_LEAD, channel="sms")
    sms = Conversation.objects.get(channel="sms")
    widget = Conversation.objects.create(workspace=workspace_a, channel="widget", session_id="s-1")
    Conversation.objects.filter(pk=widget.pk).update(status="completed")

    def ids(**params):
        response = api_a.get(URL, params)
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids() == [str(widget.id), str(sms.id), str(conversation.id)]
    assert ids(channel="whatsapp") == [str(conversation.id)]
    assert ids(channel="sms") == [str(sms.id)]
    assert ids(status="completed") == [str(widget.id)]
    assert ids(status="open", channel="widget") == []
    assert ids(contact=str(conversation.contact_id)) == [str(conversation.id)]
    assert ids(contact=str(uuid.uuid4())) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"channel": "fax"}, "channel"),
        ({"status": "closed"}, "status"),
        ({"contact": "not-a-uuid"}, "contact"),
        ({"contct": "x"}, "contct"),
    ],
)
def test_bad_filters_are_400_naming_them(api_a, params, field):
    error = error_of(api_a.get(URL, params), 400, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_the_list_takes_a_bounded_number_of_queries(api_a, workspace_a, django_assert_max_num_queries):
    for n in range(6):
        Conversation.objects.create(
            workspace=workspace_a,
            channel="widget",
            session_id=f"s{n}",
            contact=contact_make(workspace_a, email=f"{n}@x.example"),
        )
    with django_assert_max_num_queries(8):
        assert len(api_a.get(URL).json()["results"]) == 6


# --- Takeover and handback ----------------------------------------------------------------


def test_a_persons_message_takes_over_and_silences_the_brain_until_handback(
    api_a, conversation, model_api, send_inbound, twilio_api, handoff
):
    response = api_a.post(f"{URL}/{conversation.id}/messages", {"content": "Hi, this is Sam."}, format="json")
    assert response.status_code == 202, response.content
    sent = response.json()
    assert (sent["content"], sent["status"], sent["source"], sent["direction"]) == (
        "Hi, this is Sam.",
        "queued",
        "agent",
        "outbound",
    )
    assert handoff() == ["sent"]
    assert twilio_api.messages[-1]["Body"] == "Hi, this is Sam."
    assert twilio_api.messages[-1]["To"] == f"whatsapp:{LEAD_NUMBER}"
    assert twilio_api.messages[-1]["From"] == f"whatsapp:{LINE_NUMBER}"
    detail = api_a.get(f"{URL}/{conversation.id}").json()
    assert detail["taken_over"] is True and detail["taken_over_at"]

    calls = len(model_api.calls)
    assert _reply_of(send_inbound("Thanks Sam, what time do you open?")) is None
    assert len(model_api.calls) == calls  # the brain stayed quiet
    assert Message.objects.filter(content="Thanks Sam, what time do you open?", direction="inbound").exists()

    back = api_a.post(f"{URL}/{conversation.id}/handback", format="json")
    assert back.status_code == 200, back.content
    assert back.json()["taken_over"] is False
    model_api.reply = "We open at 9am."
    assert _reply_of(send_inbound("And on Saturday?")) == "We open at 9am."
    assert len(model_api.calls) == calls + 1


def test_a_second_persons_message_keeps_the_first_takeover(api_a, conversation, handoff):
    for text in ("First", "Second"):
        assert api_a.post(f"{URL}/{conversation.id}/messages", {"content": text}, format="json").status_code == 202
    assert Message.objects.filter(source="agent").count() == 2
    assert Conversation.objects.get().taken_over_at is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "content"), ({"content": "x" * 1601}, "content"), ({"content": "hi", "to": "+1"}, "to")],
)
def test_bad_agent_messages_are_400_naming_the_field(api_a, conversation, body, field):
    error = error_of(api_a.post(f"{URL}/{conversation.id}/messages", body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert Conversation.objects.get().taken_over_at is None


def test_an_agent_message_to_an_opted_out_contact_is_refused_and_takes_nothing_over(api_a, conversation, send_inbound):
    send_inbound("STOP")
    error = error_of(
        api_a.post(f"{URL}/{conversation.id}/messages", {"content": "Hi"}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "opted out" in error["details"]["to"][0]
    assert Conversation.objects.get().taken_over_at is None
    assert not Message.objects.filter(source="agent").exists()


def test_a_widget_conversation_cannot_be_written_to(api_a, workspace_a):
    widget = Conversation.objects.create(workspace=workspace_a, channel="widget", session_id="s-1")
    error = error_of(
        api_a.post(f"{URL}/{widget.id}/messages", {"content": "Hi"}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "content" in error["details"]


def test_handback_takes_no_body(api_a, conversation):
    error = error_of(
        api_a.post(f"{URL}/{conversation.id}/handback", {"force": True}, format="json"), 400, "VALIDATION_ERROR"
    )
    assert "force" in error["details"]


# --- Idle completion by beat --------------------------------------------------------------


def test_an_idle_conversation_is_completed_by_beat_once(conversation, settings, send_inbound, model_api):
    settings.CONVERSATION_IDLE_MINUTES = 30
    last = Conversation.objects.get().last_message_at
    with time_machine.travel(last + dt.timedelta(minutes=29), tick=False):
        assert run_as_worker(tasks.conversations_complete_idle) == 0
    assert not Event.objects.filter(type="conversation.completed").exists()
    with time_machine.travel(last + dt.timedelta(minutes=31), tick=False):
        assert run_as_worker(tasks.conversations_complete_idle) == 1
        assert run_as_worker(tasks.conversations_complete_idle) == 0
    completed = Conversation.objects.get()
    assert completed.status == "completed" and completed.completed_at == last + dt.timedelta(minutes=31)
    (event,) = Event.objects.filter(type="conversation.completed")
    assert event.data["id"] == str(completed.id) and event.data["status"] == "completed"
    assert event.data["contact_id"] == str(completed.contact_id)
    # The lead writes again: a new conversation, the completed one stays as it was.
    send_inbound("Hello again")
    assert list(Conversation.objects.order_by("created_at").values_list("status", flat=True)) == ["completed", "open"]


def test_a_message_keeps_a_conversation_open(conversation, settings, send_inbound):
    settings.CONVERSATION_IDLE_MINUTES = 30
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        send_inbound("Still there?")
    with time_machine.travel(start + dt.timedelta(minutes=40), tick=False):
        assert run_as_worker(tasks.conversations_complete_idle) == 0
    with time_machine.travel(start + dt.timedelta(minutes=51), tick=False):
        assert run_as_worker(tasks.conversations_complete_idle) == 1


@pytest.mark.django_db(transaction=True)  # Celery's task_prerun closes old connections
def test_beat_completes_each_workspaces_idle_conversations_in_its_own_scope(
    workspace_a, workspace_b, settings, monkeypatch
):
    settings.CONVERSATION_IDLE_MINUTES = 30
    for workspace in (workspace_a, workspace_b):
        Conversation.objects.create(workspace=workspace, channel="widget", session_id=f"s-{workspace.pk}")
    completed = record_scopes(
        monkeypatch, conversations, "conversation_complete", key=lambda conversation: str(conversation.workspace_id)
    )
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31), tick=False):
        assert tasks.conversations_complete_idle.apply().get() == 2  # Celery's own path, its signals
    a, b = str(workspace_a.pk), str(workspace_b.pk)
    assert sorted(completed) == sorted([(a, (a, "")), (b, (b, ""))])
    events = Event.objects.filter(type="conversation.completed").values_list("workspace_id", flat=True)
    assert sorted(map(str, events)) == sorted([a, b])


def test_idle_widget_conversations_are_completed_by_their_last_change(workspace_a, settings):
    settings.CONVERSATION_IDLE_MINUTES = 30
    widget = Conversation.objects.create(workspace=workspace_a, channel="widget", session_id="s-1")
    with time_machine.travel(widget.updated_at + dt.timedelta(minutes=31), tick=False):
        assert run_as_worker(tasks.conversations_complete_idle) == 1
    assert Conversation.objects.get().status == "completed"


# --- Intent detection ---------------------------------------------------------------------


def test_intent_detected_names_the_message_conversation_and_contact(line_a, model_api, send_inbound):
    model_api.intent, model_api.confidence = "callback_request", 0.81
    send_inbound("Can someone call me back tomorrow?")
    (event,) = Event.objects.filter(type="intent.detected")
    inbound = Message.objects.get(direction="inbound")
    assert event.data == {
        "intent": "callback_request",
        "confidence": 0.81,
        "message_id": str(inbound.uid),
        "conversation_id": str(inbound.conversation_id),
        "contact_id": str(inbound.conversation.contact_id),
    }
    assert inbound.intent == "callback_request"


def test_no_intent_no_event(line_a, model_api, send_inbound):
    model_api.intent = "none"
    send_inbound("Nice weather today")
    assert not Event.objects.filter(type="intent.detected").exists()


def test_intent_is_detected_while_the_brain_is_silent(api_a, conversation, model_api, send_inbound, handoff):
    assert api_a.post(f"{URL}/{conversation.id}/messages", {"content": "Sam here"}, format="json").status_code == 202
    calls = len(model_api.calls)
    send_inbound("How much does whitening cost?")
    assert len(model_api.calls) == calls  # offline classifier, no model call for a silent turn
    assert Event.objects.get(type="intent.detected").data["intent"] == "pricing"


# --- Tenancy and scopes, every route --------------------------------------------------------


def _routes(conversation_id):
    return [
        ("get", f"{URL}/{conversation_id}", None, "conversations:read"),
        ("post", f"{URL}/{conversation_id}/messages", {"content": "Hi"}, "messages:send"),
        ("post", f"{URL}/{conversation_id}/handback", None, "conversations:write"),
    ]


def test_the_outsider_gets_404_on_every_route_and_changes_nothing(api_b, conversation, workspace_a):
    Conversation.objects.filter(pk=conversation.pk).update(taken_over_at=timezone.now())
    for method, path, data, _ in _routes(conversation.id):
        error_of(getattr(api_b, method)(path, data, format="json"), 404, "NOT_FOUND")
    assert api_b.get(URL).json()["results"] == []
    assert api_b.get(URL, {"contact": str(conversation.contact_id)}).json()["results"] == []
    assert Conversation.objects.get().taken_over_at is not None
    assert not Message.objects.filter(source="agent").exists()


def test_a_missing_or_malformed_id_is_404(api_a):
    for conversation_id in (uuid.uuid4(), "nope", 12):
        for method, path, data, _ in _routes(conversation_id):
            error_of(getattr(api_a, method)(path, data, format="json"), 404, "NOT_FOUND")


def test_a_credential_without_the_scope_gets_403_and_changes_nothing(workspace_a, make_key, client_for, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(taken_over_at=timezone.now())
    routes = [*_routes(conversation.id), ("get", URL, None, "conversations:read")]
    for method, path, data, scope in routes:
        others = [
            s for s in ("conversations:read", "conversations:write", "messages:send", "contacts:write") if s != scope
        ]
        client = client_for(make_key(workspace_a, scopes=others))
        error = error_of(getattr(client, method)(path, data, format="json"), 403, "FORBIDDEN")
        assert scope in error["message"], (method, path, error)
    assert Conversation.objects.get().taken_over_at is not None
    assert not Message.objects.filter(source="agent").exists()
