"""The widget's /api/book-meeting: slots, booking, requests, errors, CORS, the per-IP limit."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from booking.availability.selectors import rules_of
from booking.availability.services import rules_set
from booking.models import Booking
from booking.slots import candidate_slots, day_slots_cache
from crm.models import Contact
from tests.crm.support import contact_make
from webhooks.models import Event

from .conftest import ALL_DAY, ORIGIN


def slots(client, brain) -> list[dict]:
    response = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id})
    assert response.status_code == 200
    return response.json()["slots"]


def book(client, body, **extra):
    return client.post("/api/book-meeting", body, content_type="application/json", **extra)


def test_availability_lists_native_slots(client, brain, open_rules):
    response = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["method"] == "native"
    first = body["slots"][0]
    assert first["status"] == "available"
    assert first["start"].endswith("Z")
    start = dt.datetime.fromisoformat(first["start"].replace("Z", "+00:00"))
    assert start.minute in (0, 30)
    assert dt.datetime.fromisoformat(first["end"].replace("Z", "+00:00")) - start == dt.timedelta(minutes=30)


def test_without_rules_or_calendly_the_answer_is_the_link(client, brain):
    response = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id})
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["method"] == "link"
    assert "booking_url" in response.json()


def test_booking_a_free_slot_confirms_201(client, brain, open_rules, workspace_a):
    start = slots(client, brain)[2]["start"]
    response = book(
        client,
        {
            "bot_id": brain.bot_id,
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "(818) 740 5020",
            "start": start,
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ok"] is True
    assert body["status"] == "confirmed"
    assert body["start"] == start
    assert body["booking_id"]
    assert "America/New_York" in body["message"]
    booking = Booking.objects.get(pk=body["booking_id"])
    assert booking.contact.phone_number == "+18187405020"
    assert booking.contact.status == "booked"
    assert booking.source == "widget"
    assert booking.brain_slug == brain.slug
    assert Event.objects.get(type="booking.created").bot_id == brain.bot_id
    assert Event.objects.filter(type="lead.booked").count() == 1
    assert start not in [s["start"] for s in slots(client, brain)]


def test_a_second_visitor_cannot_take_the_same_time_409(client, brain, open_rules):
    start = slots(client, brain)[0]["start"]
    assert (
        book(client, {"bot_id": brain.bot_id, "name": "A", "email": "a@example.com", "start": start}).status_code == 201
    )
    second = book(client, {"bot_id": brain.bot_id, "name": "B", "email": "b@example.com", "start": start})
    assert second.status_code == 409
    assert second.json()["ok"] is False
    assert second.json()["error"]
    assert Booking.objects.count() == 1


def test_without_start_the_request_is_saved_201(client, brain):
    response = book(
        client,
        {
            "bot_id": brain.bot_id,
            "name": "A",
            "email": "a@example.com",
            "preferred_time": "Friday afternoon",
            "message": "Hi",
        },
    )
    assert response.status_code == 201
    assert response.json()["status"] == "requested"
    booking = Booking.objects.get(pk=response.json()["booking_id"])
    assert (booking.preferred_time, booking.message, booking.start) == ("Friday afternoon", "Hi", None)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A"}, "email"),
        ({"email": "a@example.com"}, "name"),
        ({"name": "A", "email": "not-an-email"}, "email"),
        ({"name": "A", "email": "a@example.com", "start": "tomorrow"}, "start"),
        ({"name": "A", "email": "a@example.com", "phone": "12"}, "phone"),
        ({"name": "A", "email": "a@example.com", "colour": "red"}, "colour"),
    ],
)
def test_invalid_fields_are_400_naming_the_field(client, brain, body, field):
    response = book(client, {"bot_id": brain.bot_id, **body})
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert field in response.json()["errors"]
    assert Booking.objects.count() == 0


def test_an_unknown_bot_id_is_400_on_bot_id(client, db):
    for response in (
        book(client, {"bot_id": "bot_nope", "name": "A", "email": "a@example.com"}),
        book(client, {"name": "A", "email": "a@example.com"}),
        client.get("/api/book-meeting", {"action": "availability", "bot_id": "bot_nope"}),
    ):
        assert response.status_code == 400
        assert response.json() == {"ok": False, "errors": {"bot_id": [response.json()["errors"]["bot_id"][0]]}}


def test_get_needs_the_availability_action_and_no_unknown_params(client, brain):
    assert client.get("/api/book-meeting", {"bot_id": brain.bot_id}).json()["errors"].keys() == {"action"}
    response = client.get("/api/book-meeting", {"action": "slots", "bot_id": brain.bot_id})
    assert response.status_code == 400
    assert "availability" in response.json()["errors"]["action"][0]
    response = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id, "x": "1"})
    assert response.status_code == 400
    assert "x" in response.json()["errors"]


def test_malformed_json_is_400(client, brain):
    response = client.post("/api/book-meeting", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["ok"] is False
    response = client.post("/api/book-meeting", "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_cors_echoes_an_allowed_origin_and_refuses_a_foreign_post_403(client, brain, open_rules):
    preflight = client.options(f"/api/book-meeting?bot_id={brain.bot_id}", HTTP_ORIGIN=ORIGIN)
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == ORIGIN
    got = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}, HTTP_ORIGIN=ORIGIN)
    assert got["Access-Control-Allow-Origin"] == ORIGIN
    foreign = client.get(
        "/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}, HTTP_ORIGIN="https://evil.example"
    )
    assert "Access-Control-Allow-Origin" not in foreign
    refused = book(
        client, {"bot_id": brain.bot_id, "name": "A", "email": "a@example.com"}, HTTP_ORIGIN="https://evil.example"
    )
    assert refused.status_code == 403
    assert refused.json()["ok"] is False
    assert Booking.objects.count() == 0
    allowed = book(client, {"bot_id": brain.bot_id, "name": "A", "email": "a@example.com"}, HTTP_ORIGIN=ORIGIN)
    assert allowed.status_code == 201
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN


@override_settings(PUBLIC_RATE_PER_MINUTE=3)
def test_the_per_ip_limit_answers_429_with_retry_after(client, brain):
    for _ in range(3):
        assert client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}).status_code == 200
    limited = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id})
    assert limited.status_code == 429
    assert limited.json()["ok"] is False
    assert int(limited["Retry-After"]) >= 1
    assert limited["RateLimit-Limit"] == "3"


def test_a_public_booking_never_overwrites_an_existing_contact(client, brain, workspace_a):
    from crm.contacts.services import contact_upsert
    from crm.normalize import parse_phone

    contact_upsert(
        workspace=workspace_a,
        phone=parse_phone("+18187405020", default_region="US"),
        email="real@example.com",
        values={"name": "Real Name"},
        source="api",
        update_existing=False,
    )
    response = book(
        client, {"bot_id": brain.bot_id, "name": "Impostor", "email": "fake@example.com", "phone": "+18187405020"}
    )
    assert response.status_code == 201
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.name, contact.email) == ("Real Name", "real@example.com")
    assert Booking.objects.get().name == "Impostor"


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_a_booking_leaves_the_next_answer_at_once_and_its_cancel_returns_it(client, brain, open_rules, api_a):
    before = slots(client, brain)
    taken = before[2]
    made = book(client, {"bot_id": brain.bot_id, "name": "Ada", "email": "ada@example.com", "start": taken["start"]})
    assert made.status_code == 201
    after = slots(client, brain)
    assert taken not in after
    assert before[3] in after
    cancelled = api_a.post(f"/api/v1/bookings/{made.json()['booking_id']}/cancel", {}, format="json")
    assert cancelled.status_code == 200
    assert taken in slots(client, brain)


def test_a_rules_change_shows_in_the_next_answer(client, brain, open_rules, api_a):
    assert {_instant(s["end"]) - _instant(s["start"]) for s in slots(client, brain)} == {dt.timedelta(minutes=30)}
    mornings = {day: [["10:00", "12:00"]] for day in ALL_DAY}
    put = api_a.put(
        "/api/v1/availability",
        {"timezone": "Asia/Tokyo", "weekly": mornings, "slot_minutes": 60, "min_notice_minutes": 0, "horizon_days": 3},
        format="json",
    )
    assert put.status_code == 200
    answer = client.get("/api/book-meeting", {"action": "availability", "bot_id": brain.bot_id}).json()
    assert answer["timezone"] == "Asia/Tokyo"
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    assert answer["slots"]
    assert {_instant(s["start"]).astimezone(tokyo).strftime("%H:%M") for s in answer["slots"]} <= {"10:00", "11:00"}
    assert {_instant(s["end"]) - _instant(s["start"]) for s in answer["slots"]} == {dt.timedelta(hours=1)}


def test_notice_and_horizon_follow_the_clock(client, brain, workspace_a):
    row = rules_set(
        workspace=workspace_a,
        values={"timezone": "America/New_York", "weekly": ALL_DAY, "min_notice_minutes": 90, "horizon_days": 1},
    )
    # From 23:50 EDT the night New York falls back, by steps that cross a slot, the repeated
    # hour and local midnight: each answer (from slots kept since an earlier step) is the one
    # made afresh at that moment, and keeps to now + notice and now + horizon.
    with time_machine.travel(dt.datetime(2026, 11, 1, 3, 50, tzinfo=dt.UTC), tick=False) as traveller:
        for step in (0, 20, 45, 120, 24 * 60, 7):
            traveller.shift(dt.timedelta(minutes=step))
            now = timezone.now()
            answer = [(_instant(s["start"]), _instant(s["end"])) for s in slots(client, brain)]
            day_slots_cache.clear()
            assert answer == [(s.start, s.end) for s in candidate_slots(rules_of(row), now=now)], now
            assert answer[0][0] >= now + dt.timedelta(minutes=90)
            assert answer[-1][1] <= now + dt.timedelta(days=1)


def test_a_new_lead_who_books_is_created_booked_and_its_events_say_the_state_after_the_request(
    client, brain, open_rules
):
    # lead.created carries the state after the whole request (issue #8), as the intake's does:
    # booked, not qualified followed by a lead.updated for the same request.
    start = slots(client, brain)[2]["start"]
    body = {"bot_id": brain.bot_id, "name": "Ada Lovelace", "email": "ada@example.com", "start": start}
    assert book(client, body).status_code == 201
    types = list(Event.objects.order_by("created_at", "id").values_list("type", flat=True))
    assert sorted(types) == ["booking.created", "lead.booked", "lead.created", "lead.qualified"]
    assert Event.objects.get(type="lead.created").data["status"] == "booked"
    contact = Contact.objects.get()
    assert contact.status == "booked" and contact.qualified_at is not None
    statuses = [entry.data for entry in contact.timeline.filter(kind="status").order_by("created_at", "id")]
    assert statuses == [{"from": "new", "to": "qualified"}, {"from": "qualified", "to": "booked"}]


def test_an_existing_lead_who_books_gets_lead_updated_and_lead_booked(client, brain, open_rules, workspace_a):
    known = contact_make(workspace_a, email="ada@example.com", name="Ada")
    Event.objects.all().delete()
    start = slots(client, brain)[2]["start"]
    body = {"bot_id": brain.bot_id, "name": "Ada Lovelace", "email": "ada@example.com", "start": start}
    assert book(client, body).status_code == 201
    types = list(Event.objects.order_by("created_at", "id").values_list("type", flat=True))
    assert sorted(types) == ["booking.created", "lead.booked", "lead.updated"]
    known.refresh_from_db()
    assert known.status == "booked"
