"""OpenAPI of the bookings API: descriptions and examples, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from ..models import Booking
from .serializers import BookingCreateSerializer, BookingSerializer, CancelSerializer

_BOOKING = {
    "id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "status": "confirmed",
    "source": "api",
    "start": "2026-12-01T14:00:00Z",
    "end": "2026-12-01T14:30:00Z",
    "contact_id": "c0ffee00-0000-4000-8000-000000000001",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+18187405020",
    "message": "About the quote",
    "preferred_time": "",
    "brain_slug": "",
    "scheduling_url": "",
    "cancel_reason": "",
    "cancelled_at": None,
    "created_at": "2026-11-30T10:00:00Z",
    "updated_at": "2026-11-30T10:00:00Z",
}


bookings = extend_schema(tags=["booking"])

bookings_list = extend_schema(
    operation_id="bookings_list",
    summary="List bookings",
    description="Newest first. Filters: `from`/`to` (start), `status`, `contact`. Needs bookings:read.",
    parameters=[
        OpenApiParameter("from", str, description="Bookings starting at or after this (ISO 8601)"),
        OpenApiParameter("to", str, description="Bookings starting before this (ISO 8601)"),
        OpenApiParameter("status", str, enum=Booking.Status.values),
        OpenApiParameter("contact", str, description="A contact's id"),
    ],
    examples=[OpenApiExample("Bookings", value=[_BOOKING], response_only=True)],
)

bookings_retrieve = extend_schema(
    operation_id="bookings_retrieve",
    summary="Retrieve a booking",
    description="Needs bookings:read.",
    examples=[OpenApiExample("Booking", value=_BOOKING, response_only=True)],
)

bookings_create = extend_schema(
    operation_id="bookings_create",
    summary="Book a meeting",
    description=(
        "The same rules as the widget: `start` must be a free slot (409 CONFLICT otherwise), `end` defaults "
        "to start + the slot length and the whole time, buffer included, must be free; without `start` the "
        "request is saved as `requested`. The contact is found or created by e-mail/phone; the contact "
        "becomes `booked`; `booking.created` and `lead.booked` are emitted; both sides get an invite. "
        "Needs bookings:write."
    ),
    request=BookingCreateSerializer,
    responses={201: BookingSerializer},
    examples=[
        OpenApiExample(
            "Book",
            value={"name": "Ada Lovelace", "email": "ada@example.com", "start": "2026-12-01T14:00:00Z"},
            request_only=True,
        ),
        OpenApiExample("Booked", value=_BOOKING, response_only=True, status_codes=["201"]),
    ],
)

bookings_cancel = extend_schema(
    operation_id="bookings_cancel",
    summary="Cancel a booking",
    description=(
        "Frees the time, emits `booking.cancelled` and sends both sides a METHOD:CANCEL of the same UID "
        "with a higher SEQUENCE. Cancelling a cancelled booking changes nothing. Needs bookings:write."
    ),
    request=CancelSerializer,
    responses={200: BookingSerializer},
    examples=[
        OpenApiExample(
            "Cancelled",
            value=_BOOKING | {"status": "cancelled", "cancelled_at": "2026-11-30T11:00:00Z"},
            response_only=True,
        )
    ],
)
