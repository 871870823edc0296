"""The dashboard's conversations: the live list, a conversation's page, taking over, handing
back and writing (to the Twilio double, through the real SDK), and a lead's conversation panel
with its consent state."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from crm.catalog.services import line_create
from crm.normalize import parse_phone
from messaging.consent import consent_change
from messaging.inbound.services import inbound_receive
from messaging.models import ConsentChange, Conversation, Message
from messaging.tasks import message_handoff
from messaging.transcript import conversation_open_for, message_append
from tests.crm.support import contact_make
from tests.scope_probe import run_as_worker

from .conftest import inbound

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(workspace, path=""):
    return f"/w/{workspace.pk}/{path}"


def hand_off_all():
    """What the worker does with each queued message: hand it to the provider (its task, run as a
    worker runs it)."""
    queued = Message.objects.filter(status="queued").values_list("pk", flat=True)
    return [run_as_worker(message_handoff, message_id=pk) for pk in queued]


# --- The list -----------------------------------------------------------------------------------


def test_the_list_shows_each_conversation_with_its_last_message(owner_client, workspace_a, conversation_a, lead_a):
    response = owner_client.get(url(workspace_a, "conversations/"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Ada Lovelace" in page
    assert f"conversations/{conversation_a.pk}/" in page
    last = Message.objects.filter(conversation=conversation_a).order_by("-position").first()
    assert last.direction == "outbound"  # the brain's answer came last
    assert escape(last.content[:40]) in page
    assert "every 5s" in page  # the first page refreshes itself


def test_the_list_costs_the_same_queries_for_2_and_12_conversations(owner_client, workspace_a, line_a):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(url(workspace_a, "conversations/")).status_code == 200
        return len(queries)

    for n in range(2):
        inbound(line_a, f"+1818740{6000 + n}", "Hello")
    few = count()
    for n in range(2, 12):
        inbound(line_a, f"+1818740{6000 + n}", "Hello")
    assert count() == few
    assert few <= 12


def test_polling_gets_the_list_alone_and_filters_apply(owner_client, workspace_a, conversation_a):
    response = owner_client.get(
        url(workspace_a, "conversations/?status=completed"), HTTP_HX_TARGET="conversation-list", **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="conversation-list"' in body
    assert "No conversation matches" in body
    body = owner_client.get(url(workspace_a, "conversations/?status=open&channel=whatsapp")).content.decode()
    assert f"conversations/{conversation_a.pk}/" in body


def test_an_empty_workspace_says_how_conversations_start(owner_client, workspace_a):
    response = owner_client.get(url(workspace_a, "conversations/"))
    assert b"No conversations yet" in response.content


def test_a_bad_filter_is_ignored_not_an_error(owner_client, workspace_a, conversation_a):
    response = owner_client.get(url(workspace_a, "conversations/?status=nonsense&cursor=%%%"))
    assert response.status_code == 200
    assert f"conversations/{conversation_a.pk}/".encode() in response.content


# --- A conversation -----------------------------------------------------------------------------


def test_the_page_shows_the_transcript_and_offers_the_takeover(owner_client, workspace_a, conversation_a):
    response = owner_client.get(url(workspace_a, f"conversations/{conversation_a.pk}/"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hi, how much is teeth whitening?" in page
    assert 'id="take-over"' in page
    assert "the assistant answers" in page


def test_polling_gets_the_transcript_alone(owner_client, workspace_a, conversation_a):
    response = owner_client.get(
        url(workspace_a, f"conversations/{conversation_a.pk}/?place=lead"), HTTP_HX_TARGET="conversation-live", **HTMX
    )
    body = response.content.decode()
    assert "<html" not in body and body.lstrip().startswith('<div id="conversation-live"')
    assert "teeth whitening" in body


def test_writing_takes_the_conversation_over_and_reaches_the_provider(
    owner_client, owner_a, workspace_a, conversation_a, twilio_api
):
    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/messages"),
        {"content": "Hi Ada, whitening is $299. When would suit you?", "place": "conversation"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Hi Ada, whitening is $299" in response.content.decode()
    assert 'id="held-by"' in response.content.decode()
    conversation_a.refresh_from_db()
    assert conversation_a.taken_over_at is not None and conversation_a.taken_over_by == owner_a
    sent = Message.objects.get(conversation=conversation_a, source="agent")
    assert (sent.status, sent.author, sent.direction) == ("queued", owner_a, "outbound")

    assert hand_off_all() == ["sent"]
    [posted] = twilio_api.messages
    assert posted["Body"] == "Hi Ada, whitening is $299. When would suit you?"
    assert posted["To"] == "whatsapp:+18187405020"
    sent.refresh_from_db()
    assert sent.status == "sent"


def test_while_taken_over_the_brain_stays_quiet_until_handed_back(
    owner_client, workspace_a, conversation_a, line_a, lead_a
):
    response = owner_client.post(url(workspace_a, f"conversations/{conversation_a.pk}/takeover"))
    assert response.status_code == 302
    assert response["Location"] == url(workspace_a, f"conversations/{conversation_a.pk}/")
    quiet = inbound_receive(
        line=line_a,
        params={"From": "whatsapp:" + lead_a.phone_number, "Body": "Are you there?", "MessageSid": "SM-quiet"},
    )
    assert quiet.reply is None

    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/handback"), {"place": "conversation"}, **HTMX
    )
    assert response.status_code == 200
    assert 'id="take-over"' in response.content.decode()
    conversation_a.refresh_from_db()
    assert conversation_a.taken_over_at is None
    answered = inbound_receive(
        line=line_a,
        params={"From": "whatsapp:" + lead_a.phone_number, "Body": "What are your hours?", "MessageSid": "SM-back"},
    )
    assert answered.reply


def test_an_empty_message_is_a_400_naming_content(owner_client, workspace_a, conversation_a):
    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/messages"), {"content": ""}, **HTMX
    )
    assert response.status_code == 400
    assert 'data-field="content"' in response.content.decode()
    assert not Message.objects.filter(source="agent").exists()
    conversation_a.refresh_from_db()
    assert conversation_a.taken_over_at is None


def test_whatsapp_free_text_after_24_hours_is_refused_on_message(owner_client, workspace_a, conversation_a, twilio_api):
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=25)):
        response = owner_client.post(
            url(workspace_a, f"conversations/{conversation_a.pk}/messages"), {"content": "Still there?"}, **HTMX
        )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'data-field="message"' in body and "24 hours" in body
    assert "Still there?" in body  # the draft is kept
    assert not Message.objects.filter(source="agent").exists()


def test_a_refused_plain_post_goes_back_with_the_reason(owner_client, workspace_a, conversation_a, lead_a):
    consent_change(contact=lead_a, opted_out=True, source=ConsentChange.Source.API, keyword="test")
    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/messages"), {"content": "Hello"}, follow=True
    )
    assert response.redirect_chain[-1][0] == url(workspace_a, f"conversations/{conversation_a.pk}/")
    assert "Not sent (to)" in response.content.decode()
    assert not Message.objects.filter(source="agent").exists()


def test_a_conversation_of_another_workspace_is_404_inside_ones_own(owner_client, workspace_a, workspace_b, lead_b):
    line = line_create(workspace=workspace_b, name="B", phone=parse_phone("+18187409999", default_region="US"))
    foreign = conversation_open_for(workspace=workspace_b, contact=lead_b, channel="sms", line=line, brain=None)
    message_append(conversation=foreign, role="user", content="secret", direction="inbound", status="received")
    for path in (f"conversations/{foreign.pk}/", "conversations/not-a-uuid/"):
        response = owner_client.get(url(workspace_a, path))
        assert response.status_code == 404
        assert b"secret" not in response.content
    for action in ("messages", "takeover", "handback"):
        response = owner_client.post(url(workspace_a, f"conversations/{foreign.pk}/{action}"), {"content": "x"})
        assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.taken_over_at is None
    assert Message.objects.filter(conversation=foreign).count() == 1


# --- A lead's panel ------------------------------------------------------------------------------


def test_the_lead_panel_shows_the_transcript_and_writes_into_the_open_conversation(
    owner_client, workspace_a, conversation_a, lead_a, twilio_api
):
    response = owner_client.get(url(workspace_a, f"leads/{lead_a.pk}/conversation"), **HTMX)
    body = response.content.decode()
    assert "teeth whitening" in body
    assert f"conversations/{conversation_a.pk}/messages" in body  # the send box writes into it
    assert 'id="consent-state"' not in body

    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/messages"),
        {"content": "Booked you in!", "place": "lead"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Booked you in!" in response.content.decode()
    assert "Open the conversation" in response.content.decode()  # the lead page's panel again


def test_a_lead_without_a_conversation_is_written_to_on_the_default_line(owner_client, workspace_a, line_a, twilio_api):
    grace = contact_make(workspace_a, phone="+18187405030", name="Grace Hopper")
    body = owner_client.get(url(workspace_a, f"leads/{grace.pk}/conversation"), **HTMX).content.decode()
    assert 'id="no-conversation"' in body and f"leads/{grace.pk}/messages" in body

    response = owner_client.post(
        url(workspace_a, f"leads/{grace.pk}/messages"), {"content": "Hi Grace", "channel": "sms", "place": "lead"}
    )
    assert response.status_code == 302
    assert response["Location"] == url(workspace_a, f"leads/{grace.pk}/")
    conversation = Conversation.objects.get(contact=grace)
    assert (conversation.channel, conversation.line_id) == ("sms", line_a.pk)
    assert hand_off_all() == ["sent"]
    assert twilio_api.messages[-1]["To"] == "+18187405030"
    assert twilio_api.messages[-1]["Body"] == "Hi Grace"


def test_an_opted_out_lead_shows_it_and_nothing_is_sent(owner_client, workspace_a, conversation_a, lead_a, twilio_api):
    consent_change(contact=lead_a, opted_out=True, source=ConsentChange.Source.API, keyword="test")
    body = owner_client.get(url(workspace_a, f"leads/{lead_a.pk}/conversation"), **HTMX).content.decode()
    assert 'id="consent-state"' in body and "opted out" in body
    assert "disabled" in body.split('id="send-box"')[1]  # the send box is switched off

    # A post made anyway (an old page, another tab) is refused by the send itself.
    response = owner_client.post(
        url(workspace_a, f"conversations/{conversation_a.pk}/messages"), {"content": "Hello?", "place": "lead"}, **HTMX
    )
    assert response.status_code == 400
    assert 'data-field="to"' in response.content.decode()
    response = owner_client.post(
        url(workspace_a, f"leads/{lead_a.pk}/messages"), {"content": "Hello?", "channel": "sms"}, **HTMX
    )
    assert response.status_code == 400
    assert not Message.objects.filter(source="agent").exists()
    assert hand_off_all() == []
    assert twilio_api.messages == []


def test_a_bad_channel_is_a_400_naming_channel(owner_client, workspace_a, lead_a, line_a):
    response = owner_client.post(
        url(workspace_a, f"leads/{lead_a.pk}/messages"), {"content": "Hi", "channel": "pigeon"}, **HTMX
    )
    assert response.status_code == 400
    assert 'data-field="channel"' in response.content.decode()
