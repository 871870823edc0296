"""A brain offers free slots in a WhatsApp conversation and books the one the lead picks (issue
#10 item 6, booking/conversation/skill.py), end to end through the signed inbound webhook, the Twilio
double and the offline responder (or the Anthropic double), with the clock set."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine

from booking.availability.services import rules_set
from booking.bookings.services import Invitee, booking_create
from booking.models import Booking, SlotOffer
from booking.notifications import booking_notify_send
from crm.models import Contact
from messaging.models import Conversation, Message
from messaging.transcript import conversation_takeover
from webhooks.models import Event

from .conftest import LEAD_NUMBER

# Tuesday 1 December 2026, 07:00 in New York, 04:00 in Los Angeles (the lead's zone: 818).
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
WORKDAY = {day: [["09:00", "17:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
OFFER = (
    "Here are the next free times (America/Los_Angeles):\n"
    "1. Tue 1 Dec, 06:00\n"
    "2. Tue 1 Dec, 06:30\n"
    "3. Tue 1 Dec, 07:00\n"
    "4. Tue 1 Dec, 07:30\n"
    "5. Tue 1 Dec, 08:00\n"
    "Reply with the number of the time you'd like."
)


def _reply_of(response) -> str | None:
    assert response.status_code == 200, response.content
    messages = ET.fromstring(response.content).findall("Message")
    return messages[0].text if messages else None


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def offline(settings):
    settings.ANTHROPIC_API_KEY = ""


@pytest.fixture
def rules(workspace_a):
    return rules_set(
        workspace=workspace_a,
        values={"timezone": "America/New_York", "weekly": WORKDAY, "slot_minutes": 30, "min_notice_minutes": 60},
    )


def test_book_meeting_offers_slots_in_the_leads_zone_and_a_number_books_one(
    line_a, brain_a, rules, offline, clock, send_inbound
):
    assert _reply_of(send_inbound("Hi, can I book an appointment?")) == OFFER
    contact = Contact.objects.get(phone_number=LEAD_NUMBER)
    assert contact.timezone == "America/Los_Angeles"
    assert Event.objects.get(type="intent.detected").data["intent"] == "book_meeting"
    offer = SlotOffer.objects.get()
    assert offer.starts[0] == "2026-12-01T14:00:00+00:00" and offer.time_zone == "America/Los_Angeles"

    assert _reply_of(send_inbound("2")) == "You're booked for Tue 1 Dec, 06:30 (America/Los_Angeles). See you then!"
    booking = Booking.objects.get()
    assert (booking.status, booking.source, booking.contact_id) == ("confirmed", "conversation", contact.pk)
    assert (booking.start, booking.end) == (
        dt.datetime(2026, 12, 1, 14, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC),
    )
    assert booking.brain_slug == brain_a.slug
    contact.refresh_from_db()
    assert contact.status == "booked"
    assert Event.objects.filter(type="booking.created").count() == 1
    assert Event.objects.get(type="lead.booked").data["booking"]["id"] == str(booking.id)
    assert not SlotOffer.objects.exists()
    # The transcript holds it all, in order.
    assert list(Message.objects.order_by("position").values_list("direction", flat=True)) == [
        "inbound",
        "outbound",
        "inbound",
        "outbound",
    ]
    # A later "2" is just a message again: no second booking.
    send_inbound("2")
    assert Booking.objects.count() == 1


def test_a_time_picks_the_slot_too(line_a, rules, offline, clock, send_inbound):
    send_inbound("I'd like to schedule a consultation")
    assert _reply_of(send_inbound("7:30am works for me")).startswith("You're booked for Tue 1 Dec, 07:30")
    assert Booking.objects.get().start == dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)


def test_a_slot_taken_meanwhile_offers_the_others(line_a, rules, offline, clock, send_inbound, workspace_a):
    send_inbound("Can I book an appointment?")
    booking_create(
        workspace=workspace_a,
        invitee=Invitee(name="Someone Else", email="else@example.com"),
        start=dt.datetime(2026, 12, 1, 14, 0, tzinfo=dt.UTC),
    )
    reply = _reply_of(send_inbound("1"))
    assert reply.startswith("Sorry, that time was just taken. Here are the next free times (America/Los_Angeles):\n")
    assert "1. Tue 1 Dec, 06:30\n" in reply and "06:00" not in reply
    assert Booking.objects.filter(contact__phone_number=LEAD_NUMBER).count() == 0
    assert _reply_of(send_inbound("1")).startswith("You're booked for Tue 1 Dec, 06:30")


def test_a_message_that_picks_nothing_goes_to_the_brain(line_a, rules, offline, clock, send_inbound):
    send_inbound("Can I book an appointment?")
    reply = _reply_of(send_inbound("How much does teeth whitening cost?"))
    assert "$299" in reply
    assert not Booking.objects.exists()
    assert SlotOffer.objects.exists()  # the offer still stands
    assert _reply_of(send_inbound("9")) is not None  # no slot 9: not a pick
    assert not Booking.objects.exists()


def test_an_offer_expires(line_a, rules, offline, clock, send_inbound):
    send_inbound("Can I book an appointment?")
    clock.shift(dt.timedelta(hours=25))
    send_inbound("2")
    assert not Booking.objects.exists()


def test_without_rules_the_reply_is_the_brains_own(line_a, offline, clock, send_inbound, brain_a):
    brain_a.booking_url = "https://cal.example.com/acme"
    brain_a.save(update_fields=["booking_url"])
    reply = _reply_of(send_inbound("Can I book an appointment?"))
    assert "https://cal.example.com/acme" in reply and "free times" not in reply
    assert not SlotOffer.objects.exists()


def test_with_the_model_its_words_come_first_and_a_pick_costs_no_model_call(
    line_a, rules, model_api, clock, send_inbound
):
    model_api.reply, model_api.intent = "Happy to set that up!", "book_meeting"
    assert _reply_of(send_inbound("Could we meet this week?")) == "Happy to set that up!\n\n" + OFFER
    assert len(model_api.calls) == 1
    assert _reply_of(send_inbound("3")).startswith("You're booked for Tue 1 Dec, 07:00")
    assert len(model_api.calls) == 1
    assert [e.data["intent"] for e in Event.objects.filter(type="intent.detected").order_by("created_at")] == [
        "book_meeting",
        "book_meeting",
    ]


def test_the_brain_stays_quiet_during_a_takeover_even_for_a_pick(line_a, rules, offline, clock, send_inbound):
    send_inbound("Can I book an appointment?")
    conversation_takeover(conversation=Conversation.objects.get(), user=None)
    assert _reply_of(send_inbound("2")) is None
    assert not Booking.objects.exists()


def test_the_invite_goes_to_the_owner_when_the_lead_gave_no_email(
    line_a, rules, offline, clock, send_inbound, owner_a, mailoutbox
):
    owner_a.email = "owner@acme.example"
    owner_a.save(update_fields=["email"])
    send_inbound("Can I book an appointment?")
    send_inbound("1")
    booking = Booking.objects.get()
    assert booking.email == ""
    assert booking_notify_send(booking_id=str(booking.id)) == 1
    (mail,) = mailoutbox
    assert mail.to == ["owner@acme.example"]
    calendar = mail.alternatives[0][0]
    assert "METHOD:REQUEST" in calendar and "ATTENDEE" not in calendar
