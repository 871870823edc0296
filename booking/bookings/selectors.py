"""Reads of bookings: the filtered list and the access gate (one 404 for missing, foreign and
malformed ids)."""

import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Workspace

from ..models import Booking


def bookings_list(*, workspace: Workspace, filters: dict[str, Any] | None = None) -> QuerySet[Booking]:
    filters = filters or {}
    bookings = Booking.objects.filter(workspace=workspace)
    if filters.get("from"):
        bookings = bookings.filter(start__gte=filters["from"])
    if filters.get("to"):
        bookings = bookings.filter(start__lt=filters["to"])
    if filters.get("status"):
        bookings = bookings.filter(status=filters["status"])
    if filters.get("contact"):
        bookings = bookings.filter(contact_id=filters["contact"])
    return bookings


def booking_get(*, workspace: Workspace, booking_id: Any) -> Booking:
    """The workspace's booking; a missing, foreign or malformed id is the same 404."""
    try:
        pk = uuid.UUID(str(booking_id))
    except (TypeError, ValueError, AttributeError):
        raise Http404("No such booking.") from None
    booking = Booking.objects.filter(workspace=workspace, pk=pk).first()
    if booking is None:
        raise Http404("No such booking.")
    return booking
