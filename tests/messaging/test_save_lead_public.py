"""POST /api/save-lead is public: a post never overwrites a contact it did not create, and
only the session's token links a later phone or conversation (SPEC §5.2). Split from
test_save_lead.py."""

import pytest

from crm.models import Contact
from messaging.models import Conversation, Message
from tests.crm.support import contact_make, error_of
from tests.messaging.save_lead_support import ORIGIN, chat, post
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def test_a_post_never_renames_an_existing_contact_or_changes_its_company(client, brain, workspace_a):
    known = contact_make(workspace_a, phone="8187405020", name="Grace Hopper", company_name="Navy", source="intake")
    Event.objects.all().delete()
    response = post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s9",
            "lead_phone": "8187405020",
            "lead_name": "Forged Name",
            "lead_business": "Evil Corp",
        },
    )
    assert response.status_code == 201
    known.refresh_from_db()
    assert (known.name, known.company_name) == ("Grace Hopper", "Navy")
    conversation = Conversation.objects.get()
    assert conversation.contact_id == known.id
    # What the visitor claimed is kept, on the conversation and on the contact's timeline.
    assert conversation.claims == {
        "lead_phone": "+18187405020",
        "lead_name": "Forged Name",
        "lead_business": "Evil Corp",
    }
    claim = known.timeline.get(kind="intake")
    assert claim.data["source"] == "widget"
    assert claim.data["claimed"]["lead_name"] == "Forged Name"
    assert not Event.objects.filter(type="lead.updated").exists()


def test_a_post_fills_an_existing_contacts_blank_name_and_company(client, brain, workspace_a):
    known = contact_make(workspace_a, phone="8187405020", source="intake")
    Event.objects.all().delete()
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s9",
            "lead_phone": "8187405020",
            "lead_name": "Ada",
            "lead_business": "Engines",
        },
    )
    known.refresh_from_db()
    assert (known.name, known.company_name) == ("Ada", "Engines")
    assert Event.objects.filter(type="lead.updated").get().data["name"] == "Ada"


def test_a_post_never_adds_an_email_or_a_phone_to_an_existing_contact(client, brain, workspace_a):
    by_phone = contact_make(workspace_a, phone="8187405020")
    by_email = contact_make(workspace_a, email="grace@example.com")
    post(
        client,
        {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020", "lead_email": "evil@example.com"},
    )
    post(
        client,
        {"bot_id": brain.bot_id, "session_id": "s2", "lead_email": "grace@example.com", "lead_phone": "2125550123"},
    )
    by_phone.refresh_from_db()
    by_email.refresh_from_db()
    assert by_phone.email is None
    assert by_email.phone_number is None
    assert Contact.objects.filter(email="evil@example.com").count() == 0


def test_message_count_is_counted_from_stored_messages_never_taken_from_the_body(client, brain, workspace_a):
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "messages": chat(("user", "hi"), ("assistant", "hello")),
            "message_count": 999,
        },
    )
    contact = Contact.objects.get()
    assert contact.message_count == 2
    assert not contact.is_hot
    known = contact_make(workspace_a, phone="8187405020")
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s2",
            "lead_phone": "8187405020",
            "messages": chat(("user", "a")),
            "message_count": 999,
        },
    )
    known.refresh_from_db()
    assert known.message_count == 1


def test_a_post_never_moves_an_existing_contacts_session(client, brain, workspace_a):
    first = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020"})
    assert first.status_code == 201
    contact = Contact.objects.get()
    assert contact.session_id == "s1"
    post(client, {"bot_id": brain.bot_id, "session_id": "s2", "lead_phone": "8187405020"})
    contact.refresh_from_db()
    assert contact.session_id == "s1"
    assert set(Conversation.objects.values_list("contact_id", flat=True)) == {contact.id}


def test_the_first_post_of_a_session_answers_a_session_token_and_later_ones_do_not(client, brain):
    first = post(client, {"bot_id": brain.bot_id, "session_id": "s1"})
    body = first.json()
    assert body["ok"] is True and body["status"] == 201
    assert isinstance(body["session_token"], str) and len(body["session_token"]) >= 32
    again = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "session_token": body["session_token"]})
    assert again.json() == {"ok": True, "status": 200}
    # Stored as a hash only.
    assert body["session_token"] not in str(Conversation.objects.values().get())


def test_without_the_token_a_post_only_appends_to_the_transcript(client, brain):
    token = post(
        client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": chat(("user", "a"), ("assistant", "b"))}
    ).json()["session_token"]
    forged = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": chat(("user", "x"))})
    assert forged.status_code == 200
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["a", "b"]
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "messages": chat(("user", "a"), ("assistant", "b"), ("user", "c")),
        },
    )
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["a", "b", "c"]
    wrong = post(
        client, {"bot_id": brain.bot_id, "session_id": "s1", "session_token": "x" * 43, "messages": chat(("user", "z"))}
    )
    assert wrong.status_code == 200
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["a", "b", "c"]
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "session_token": token,
            "messages": chat(("user", "a"), ("assistant", "B!")),
        },
    )
    assert list(Message.objects.order_by("position").values_list("content", flat=True)) == ["a", "B!"]


def test_without_the_token_a_post_never_relinks_the_conversation(client, brain, workspace_a):
    other = contact_make(workspace_a, phone="2125550123", name="Other")
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020"})
    mine = Conversation.objects.get().contact
    post(
        client, {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "2125550123", "lead_email": "x@example.com"}
    )
    conversation = Conversation.objects.get()
    assert conversation.contact_id == mine.id
    assert conversation.claims["lead_phone"] == "+12125550123"
    mine.refresh_from_db()
    assert (mine.phone_number, mine.email) == ("+18187405020", None)
    assert not other.conversations.exists()


def test_with_the_token_the_sessions_own_contact_takes_the_phone_given_later(client, brain, workspace_a):
    token = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": chat(("user", "hi"))}).json()[
        "session_token"
    ]
    anonymous = Contact.objects.get()
    # Without the token the claim is kept, the contact is not changed.
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020"})
    anonymous.refresh_from_db()
    assert anonymous.phone_number is None
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "session_token": token,
            "lead_phone": "8187405020",
            "lead_name": "Ada",
        },
    )
    anonymous.refresh_from_db()
    assert (anonymous.phone_number, anonymous.name) == ("+18187405020", "Ada")
    assert Contact.objects.count() == 1


def test_with_the_token_a_known_phone_joins_that_contact(client, brain, workspace_a):
    token = post(client, {"bot_id": brain.bot_id, "session_id": "s1"}).json()["session_token"]
    known = contact_make(workspace_a, phone="8187405020", name="Known")
    post(client, {"bot_id": brain.bot_id, "session_id": "s1", "session_token": token, "lead_phone": "8187405020"})
    assert Conversation.objects.get().contact_id == known.id
    known.refresh_from_db()
    assert known.name == "Known"


def test_a_post_from_an_origin_outside_the_brains_is_403_and_stores_nothing(client, brain, workspace_a):
    body = {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020", "messages": chat(("user", "hi"))}
    error_of(post(client, body, HTTP_ORIGIN="https://evil.example"), 403, "FORBIDDEN")
    assert not Conversation.objects.exists()
    assert not Contact.objects.exists()
    assert post(client, body, HTTP_ORIGIN=ORIGIN).status_code == 201


def test_a_transcript_over_200_messages_or_256_kb_is_400_and_stores_nothing(client, brain):
    many = chat(*[("user", f"m{n}") for n in range(201)])
    error = error_of(
        post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": many}), 400, "VALIDATION_ERROR"
    )
    assert "messages" in error["details"]
    big = chat(*[("user", "x" * 20000) for _ in range(14)])  # 280,000 bytes
    error = error_of(
        post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": big}), 400, "VALIDATION_ERROR"
    )
    assert "256 KB" in error["details"]["messages"][0]
    assert not Conversation.objects.exists()
    assert post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": many[:200]}).status_code == 201


def _lead_events():
    return list(
        Event.objects.filter(type__startswith="lead.").order_by("created_at", "id").values_list("type", flat=True)
    )


def test_a_restarted_chat_never_un_hots_its_lead(client, brain):
    """A lead is hot when it has exchanged 5 messages (SPEC §5): a chat the visitor restarts
    replaces the stored tail, but the messages were exchanged, and a public post takes nothing
    from a contact (§5.2), so the count stays (and no lead event is owed)."""
    six = chat(*[("user" if i % 2 == 0 else "assistant", f"m{i}") for i in range(6)])
    token = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "messages": six}).json()["session_token"]
    contact = Contact.objects.get()
    assert (contact.message_count, contact.is_hot) == (6, True)
    Event.objects.all().delete()
    restarted = post(
        client,
        {"bot_id": brain.bot_id, "session_id": "s1", "session_token": token, "messages": chat(("user", "again"))},
    )
    assert restarted.status_code == 200
    assert list(Message.objects.values_list("content", flat=True)) == ["again"]
    contact.refresh_from_db()
    assert (contact.message_count, contact.is_hot) == (6, True)
    assert _lead_events() == []


def test_a_strangers_post_never_un_hots_a_contact(client, brain, workspace_a):
    """A session that moved to another contact leaves its first contact's count (its messages
    were exchanged); a later public post naming that contact's phone may not lower it."""
    six = chat(*[("user" if i % 2 == 0 else "assistant", f"m{i}") for i in range(6)])
    first = post(client, {"bot_id": brain.bot_id, "session_id": "s1", "lead_phone": "8187405020", "messages": six})
    token = first.json()["session_token"]
    ada = Contact.objects.get(phone_number="+18187405020")
    assert ada.is_hot
    contact_make(workspace_a, phone="2125550123")
    post(
        client,
        {
            "bot_id": brain.bot_id,
            "session_id": "s1",
            "session_token": token,
            "lead_phone": "2125550123",
            "messages": six,
        },
    )
    assert Conversation.objects.get(session_id="s1").contact.phone_number == "+12125550123"
    Event.objects.all().delete()
    stranger = post(
        client,
        {"bot_id": brain.bot_id, "session_id": "s2", "lead_phone": "8187405020", "messages": chat(("user", "x"))},
    )
    assert stranger.status_code == 201
    ada.refresh_from_db()
    assert (ada.message_count, ada.is_hot) == (6, True)
    assert _lead_events() == []
