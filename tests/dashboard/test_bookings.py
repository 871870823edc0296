"""Bookings in the dashboard: the list, a lead's bookings on its page, and cancel (the API's
booking_cancel: booking.cancelled)."""

import datetime

import pytest
from django.utils import timezone

from booking.bookings.services import Invitee, booking_create
from booking.models import Booking
from webhooks.models import Event

from .conftest import logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def request_a(workspace_a):
    """A booking request (no time yet) made as the widget makes it."""
    return booking_create(
        workspace=workspace_a,
        invitee=Invitee(name="Ada Lovelace", email="ada@example.com"),
        start=None,
        preferred_time="Tuesday morning",
        message="About implants",
    )


def test_the_list_shows_requests_and_bookings(owner_client, workspace_a, request_a):
    page = owner_client.get(f"/w/{workspace_a.pk}/bookings/", {"when": "all"}).content.decode()
    assert "Ada Lovelace" in page and "Tuesday morning" in page and "requested" in page


def test_no_booking_yet_is_an_empty_state(owner_client, workspace_a):
    assert b"No upcoming bookings" in owner_client.get(f"/w/{workspace_a.pk}/bookings/").content


def test_cancel_goes_through_booking_cancel(agent_client, workspace_a, request_a):
    start = timezone.now() + datetime.timedelta(days=2)
    Booking.objects.filter(pk=request_a.pk).update(
        status="confirmed",
        start=start,
        end=start + datetime.timedelta(minutes=30),
        blocked_from=start,
        blocked_until=start + datetime.timedelta(minutes=30),
    )
    response = agent_client.post(f"/w/{workspace_a.pk}/bookings/{request_a.pk}/cancel", {"reason": "moved"})
    assert response.status_code == 302
    request_a.refresh_from_db()
    assert (request_a.status, request_a.cancel_reason) == ("cancelled", "moved")
    assert Event.objects.filter(workspace=workspace_a, type="booking.cancelled").exists()


def test_a_leads_bookings_show_on_its_page(owner_client, workspace_a, request_a):
    response = owner_client.get(f"/w/{workspace_a.pk}/leads/{request_a.contact_id}/bookings")
    assert response.status_code == 200
    assert b"Tuesday morning" in response.content
    lead_page = owner_client.get(f"/w/{workspace_a.pk}/leads/{request_a.contact_id}/").content.decode()
    assert f"/w/{workspace_a.pk}/leads/{request_a.contact_id}/bookings" in lead_page


def test_an_outsider_cannot_cancel(outsider, workspace_a, request_a):
    response = logged_in(outsider).post(f"/w/{workspace_a.pk}/bookings/{request_a.pk}/cancel")
    assert response.status_code == 404
    request_a.refresh_from_db()
    assert request_a.status == Booking.Status.REQUESTED
