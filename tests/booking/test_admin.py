"""The booking admin: rules checked like the API, bookings cancelled through the service."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from booking.availability.selectors import native_slots
from booking.bookings.services import Invitee, booking_create
from booking.models import AvailabilityRules, Booking
from webhooks.models import Event


@pytest.fixture
def admin_client(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "root-pass-123")
    client = Client()
    client.force_login(user)
    return client


def _form(workspace, **overrides):
    return {
        "workspace": str(workspace.pk),
        "timezone": "Europe/Paris",
        "slot_minutes": "30",
        "buffer_minutes": "0",
        "min_notice_minutes": "60",
        "horizon_days": "7",
        "weekly": '{"mon": [["09:00", "17:00"]]}',
        "overrides": "[]",
        **overrides,
    }


def test_admin_saves_valid_rules_and_refuses_bad_hours(admin_client, workspace_a):
    bad = admin_client.post(
        "/admin/booking/availabilityrules/add/", _form(workspace_a, weekly='{"mon": [["17:00", "09:00"]]}')
    )
    assert bad.status_code == 200
    assert not AvailabilityRules.objects.exists()
    good = admin_client.post("/admin/booking/availabilityrules/add/", _form(workspace_a))
    assert good.status_code == 302
    assert AvailabilityRules.objects.get(workspace=workspace_a).weekly == {"mon": [["09:00", "17:00"]]}


def test_admin_cancel_action_cancels_through_the_service(admin_client, workspace_a, open_rules):
    slot = native_slots(workspace=workspace_a, rules=open_rules)[0]
    booking = booking_create(workspace=workspace_a, invitee=Invitee(name="A", email="a@example.com"), start=slot.start)
    assert admin_client.get("/admin/booking/booking/").status_code == 200
    assert admin_client.get(f"/admin/booking/booking/{booking.pk}/change/").status_code == 200
    response = admin_client.post(
        "/admin/booking/booking/", {"action": "cancel_bookings", "_selected_action": [str(booking.pk)]}
    )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.status == "cancelled"
    assert Event.objects.filter(type="booking.cancelled").count() == 1
    assert dt.timedelta(0) < booking.end - booking.start
    assert Booking.objects.count() == 1


def test_admin_connects_calendly_checking_the_token_and_never_shows_it(admin_client, workspace_a, settings):
    from booking.models import CalendlyConnection

    from .test_calendly import EVENT_TYPE, TOKEN, CalendlyDouble

    double = CalendlyDouble()
    settings.CALENDLY_API_BASE_URL = double.url
    try:
        form = {"workspace": str(workspace_a.pk), "token": "wrong", "event_type_uri": EVENT_TYPE, "signing_key": "k"}
        assert admin_client.post("/admin/booking/calendlyconnection/add/", form).status_code == 200
        assert not CalendlyConnection.objects.exists()
        form["token"] = TOKEN
        assert admin_client.post("/admin/booking/calendlyconnection/add/", form).status_code == 302
        connection = CalendlyConnection.objects.get(workspace=workspace_a)
        assert (connection.token, connection.signing_key, connection.event_type_name) == (
            TOKEN,
            "k",
            "30 Minute Meeting",
        )
        page = admin_client.get(f"/admin/booking/calendlyconnection/{connection.pk}/change/").content.decode()
        assert TOKEN not in page
        # A change that leaves the secrets blank keeps them.
        form.update(token="", signing_key="")
        assert admin_client.post(f"/admin/booking/calendlyconnection/{connection.pk}/change/", form).status_code == 302
        connection.refresh_from_db()
        assert (connection.token, connection.signing_key) == (TOKEN, "k")
    finally:
        double.server.shutdown()
