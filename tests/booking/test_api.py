"""The native booking API: rules, bookings, cancel; tenancy and scopes on every route."""

import datetime as dt

import pytest

from booking.availability.selectors import native_slots, rules_get
from booking.models import AvailabilityRules, Booking
from crm.models import Contact
from webhooks.models import Event

from .conftest import ALL_DAY


def slots_of(workspace):
    return native_slots(workspace=workspace, rules=rules_get(workspace=workspace))


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def test_rules_default_until_set_then_replaced_by_put(api_a, workspace_a):
    workspace_a.timezone = "Europe/Paris"
    workspace_a.save(update_fields=["timezone"])
    got = api_a.get("/api/v1/availability")
    assert got.status_code == 200
    assert got.json()["configured"] is False
    assert got.json()["timezone"] == "Europe/Paris"
    assert got.json()["weekly"]["mon"] == [["09:00", "17:00"]]

    body = {
        "timezone": "America/New_York",
        "slot_minutes": 45,
        "buffer_minutes": 15,
        "weekly": {"tue": [["13:00", "17:00"], ["09:00", "12:00"]]},
        "overrides": [{"date": "2026-12-24", "hours": []}],
    }
    put = api_a.put("/api/v1/availability", body, format="json")
    assert put.status_code == 200, put.json()
    data = put.json()
    assert data["configured"] is True
    assert data["weekly"] == {"tue": [["09:00", "12:00"], ["13:00", "17:00"]]}  # sorted
    assert (data["slot_minutes"], data["buffer_minutes"], data["min_notice_minutes"], data["horizon_days"]) == (
        45,
        15,
        60,
        7,
    )
    assert AvailabilityRules.objects.get(workspace=workspace_a).timezone == "America/New_York"
    # A second PUT replaces: what it leaves out returns to its default.
    api_a.put("/api/v1/availability", {"timezone": "UTC"}, format="json")
    assert api_a.get("/api/v1/availability").json()["slot_minutes"] == 30
    assert AvailabilityRules.objects.filter(workspace=workspace_a).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"slot_minutes": 0}, "slot_minutes"),
        ({"weekly": {"monday": [["09:00", "17:00"]]}}, "weekly"),
        ({"weekly": {"mon": [["17:00", "09:00"]]}}, "weekly"),
        ({"weekly": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "weekly"),
        ({"weekly": {"mon": [["9am", "17:00"]]}}, "weekly"),
        ({"overrides": [{"date": "2026-02-30", "hours": []}]}, "overrides"),
        ({"overrides": [{"date": "2026-12-24"}]}, "overrides"),
        ({"slot_minute": 30}, "slot_minute"),
    ],
)
def test_bad_rules_are_400_naming_the_field(api_a, body, field):
    response = api_a.put("/api/v1/availability", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert field in response.json()["error"]["details"]


def test_create_confirms_a_free_slot_and_marks_the_contact_booked(api_a, workspace_a, open_rules):
    slot = slots_of(workspace_a)[3]
    response = api_a.post(
        "/api/v1/bookings",
        {"name": "Ada Lovelace", "email": "Ada@Example.com", "start": iso(slot.start)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "confirmed"
    assert data["start"] == iso(slot.start)
    assert data["end"] == iso(slot.start + dt.timedelta(minutes=30))
    contact = Contact.objects.get(workspace=workspace_a, email="ada@example.com")
    assert data["contact_id"] == str(contact.id)
    assert contact.status == "booked"
    types = list(Event.objects.filter(workspace=workspace_a).order_by("created_at").values_list("type", flat=True))
    assert "booking.created" in types
    assert "lead.booked" in types
    booked = Event.objects.get(type="lead.booked")
    assert booked.data["booking"]["id"] == data["id"]
    assert booked.data["status"] == "booked"
    # The slot is gone from the availability.
    assert slot.start not in [s.start for s in slots_of(workspace_a)]


def test_create_of_a_taken_slot_is_409_and_changes_nothing(api_a, workspace_a, open_rules):
    slot = slots_of(workspace_a)[0]
    first = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slot.start)}, format="json"
    )
    assert first.status_code == 201
    again = api_a.post(
        "/api/v1/bookings", {"name": "B", "email": "b@example.com", "start": iso(slot.start)}, format="json"
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "CONFLICT"
    assert Booking.objects.count() == 1
    assert not Contact.objects.filter(email="b@example.com").exists()


def test_a_longer_meeting_may_not_cover_a_booked_slot(api_a, workspace_a, open_rules):
    slots = slots_of(workspace_a)
    api_a.post("/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slots[1].start)}, format="json")
    long = api_a.post(
        "/api/v1/bookings",
        {
            "name": "B",
            "email": "b@example.com",
            "start": iso(slots[0].start),
            "end": iso(slots[0].start + dt.timedelta(hours=1)),
        },
        format="json",
    )
    assert long.status_code == 409


def test_off_grid_and_past_starts_are_409(api_a, workspace_a, open_rules):
    slot = slots_of(workspace_a)[0]
    for start in (slot.start + dt.timedelta(minutes=7), dt.datetime(2020, 1, 1, tzinfo=dt.UTC)):
        response = api_a.post(
            "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(start)}, format="json"
        )
        assert response.status_code == 409
    assert Booking.objects.count() == 0


def test_a_start_without_offset_is_400(api_a, open_rules):
    response = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": "2026-12-01T10:00:00"}, format="json"
    )
    assert response.status_code == 400
    assert "start" in response.json()["error"]["details"]


def test_without_start_the_request_is_saved_as_requested(api_a, workspace_a):
    response = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "preferred_time": "Tuesday morning"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["status"] == "requested"
    assert response.json()["preferred_time"] == "Tuesday morning"
    assert Contact.objects.get(email="a@example.com").status != "booked"
    assert not Event.objects.filter(type="lead.booked").exists()
    assert Event.objects.filter(type="booking.created").count() == 1


def test_a_requested_booking_can_be_cancelled(api_a, workspace_a):
    booking_id = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "preferred_time": "Friday"}, format="json"
    ).json()["id"]
    cancel = api_a.post(f"/api/v1/bookings/{booking_id}/cancel", {"reason": "Found another"}, format="json")
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    assert cancel.json()["start"] is None
    assert Event.objects.filter(type="booking.cancelled").count() == 1


def test_a_start_without_rules_is_400_on_start(api_a):
    response = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": "2026-12-01T10:00:00Z"}, format="json"
    )
    assert response.status_code == 400
    assert "start" in response.json()["error"]["details"]


def test_cancel_frees_the_slot_and_emits_once(api_a, workspace_a, open_rules):
    slot = slots_of(workspace_a)[0]
    booking_id = api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slot.start)}, format="json"
    ).json()["id"]
    cancel = api_a.post(f"/api/v1/bookings/{booking_id}/cancel", {"reason": "Ill"}, format="json")
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    assert cancel.json()["cancel_reason"] == "Ill"
    assert api_a.post(f"/api/v1/bookings/{booking_id}/cancel", {}, format="json").status_code == 200
    assert Event.objects.filter(type="booking.cancelled").count() == 1
    assert slot.start in [s.start for s in slots_of(workspace_a)]
    again = api_a.post(
        "/api/v1/bookings", {"name": "B", "email": "b@example.com", "start": iso(slot.start)}, format="json"
    )
    assert again.status_code == 201


def test_list_filters_and_retrieve(api_a, workspace_a, open_rules):
    slots = slots_of(workspace_a)
    ids = [
        api_a.post(
            "/api/v1/bookings",
            {"name": f"P{i}", "email": f"p{i}@example.com", "start": iso(slots[i * 3].start)},
            format="json",
        ).json()["id"]
        for i in range(3)
    ]
    api_a.post(f"/api/v1/bookings/{ids[0]}/cancel", {}, format="json")
    listed = api_a.get("/api/v1/bookings")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()["results"]] == ids[::-1]
    confirmed = api_a.get("/api/v1/bookings", {"status": "confirmed"}).json()["results"]
    assert {row["id"] for row in confirmed} == set(ids[1:])
    later = api_a.get("/api/v1/bookings", {"from": iso(slots[3].start)}).json()["results"]
    assert {row["id"] for row in later} == set(ids[1:])
    earlier = api_a.get("/api/v1/bookings", {"to": iso(slots[3].start)}).json()["results"]
    assert [row["id"] for row in earlier] == [ids[0]]
    contact_id = api_a.get(f"/api/v1/bookings/{ids[2]}").json()["contact_id"]
    assert [row["id"] for row in api_a.get("/api/v1/bookings", {"contact": contact_id}).json()["results"]] == [ids[2]]
    assert api_a.get("/api/v1/bookings", {"status": "maybe"}).status_code == 400
    assert api_a.get("/api/v1/bookings", {"statuss": "confirmed"}).status_code == 400


def test_list_queries_do_not_grow_with_rows(api_a, workspace_a, open_rules, django_assert_max_num_queries):
    slots = slots_of(workspace_a)
    for i in range(5):
        api_a.post(
            "/api/v1/bookings",
            {"name": f"P{i}", "email": f"p{i}@example.com", "start": iso(slots[i].start)},
            format="json",
        )
    with django_assert_max_num_queries(8):
        assert len(api_a.get("/api/v1/bookings").json()["results"]) == 5


# --- Tenancy and scopes, every route --------------------------------------------------------


def _routes(booking_id):
    return [
        ("get", "/api/v1/availability", None, "bookings:read"),
        ("put", "/api/v1/availability", {"timezone": "UTC"}, "bookings:write"),
        ("get", "/api/v1/bookings", None, "bookings:read"),
        ("post", "/api/v1/bookings", {"name": "X", "email": "x@example.com"}, "bookings:write"),
        ("get", f"/api/v1/bookings/{booking_id}", None, "bookings:read"),
        ("post", f"/api/v1/bookings/{booking_id}/cancel", {}, "bookings:write"),
    ]


@pytest.fixture
def booking_a(api_a, workspace_a, open_rules):
    slot = slots_of(workspace_a)[0]
    return api_a.post(
        "/api/v1/bookings", {"name": "A", "email": "a@example.com", "start": iso(slot.start)}, format="json"
    ).json()["id"]


def test_an_outsider_gets_404_for_a_booking_of_another_workspace(api_b, booking_a):
    for method, path, body, _ in _routes(booking_a):
        if booking_a not in path:
            continue
        response = getattr(api_b, method)(path, body, format="json")
        assert response.status_code == 404, path
    assert Booking.objects.get(pk=booking_a).status == "confirmed"
    assert api_b.get("/api/v1/bookings").json()["results"] == []
    assert api_b.get("/api/v1/bookings/not-a-uuid").status_code == 404


def test_every_route_needs_its_scope(workspace_a, make_key, client_for, booking_a):
    for method, path, body, scope in _routes(booking_a):
        other = "bookings:write" if scope == "bookings:read" else "bookings:read"
        client = client_for(make_key(workspace_a, scopes=[other, "contacts:read"]))
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "FORBIDDEN"
    assert Booking.objects.get(pk=booking_a).status == "confirmed"
    assert Booking.objects.count() == 1


def test_all_day_rules_offer_slots(workspace_a, open_rules):
    assert open_rules.weekly == ALL_DAY
    assert slots_of(workspace_a)
