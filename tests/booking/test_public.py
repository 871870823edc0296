"""The widget's /api/book-meeting: slots, booking, requests, errors, CORS, the per-IP limit."""

import datetime as dt

import pytest
from django.test import override_settings

from booking.models import Booking
from crm.models import Contact
from webhooks.models import Event

from .conftest import ORIGIN


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
