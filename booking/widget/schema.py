"""OpenAPI of the widget's `/api/book-meeting`, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from .serializers import BookMeetingSerializer

_SLOTS = {
    "ok": True,
    "method": "native",
    "slots": [
        {"start": "2026-12-01T14:00:00Z", "end": "2026-12-01T14:30:00Z", "status": "available"},
        {"start": "2026-12-01T14:30:00Z", "end": "2026-12-01T15:00:00Z", "status": "available"},
    ],
}
_BOOKED = {
    "ok": True,
    "booking_id": "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    "status": "confirmed",
    "start": "2026-12-01T14:00:00Z",
    "end": "2026-12-01T14:30:00Z",
    "message": "You're booked for Tuesday 01 December 2026, 09:00 (America/New_York). An invite is on its way.",
}


widget_availability = extend_schema(
    operation_id="widget_availability",
    summary="Widget: free slots",
    description=(
        "Public. `action=availability` and the brain's `bot_id`. Free slots from now to now + the horizon: "
        "from Calendly when the workspace has connected it (`method: calendly`), else from the availability "
        "rules (`method: native`); when neither can answer, `method: link` with the brain's `booking_url`. "
        "100 requests per minute per IP."
    ),
    auth=[],
    parameters=[
        OpenApiParameter("action", str, enum=["availability"], required=True),
        OpenApiParameter("bot_id", str, required=True),
    ],
    responses={200: OpenApiResponse(description="Slots, or the booking link.")},
    examples=[
        OpenApiExample("Slots", value=_SLOTS, response_only=True),
        OpenApiExample(
            "Link",
            value={"ok": True, "method": "link", "booking_url": "https://cal.example.com/acme"},
            response_only=True,
        ),
    ],
    tags=["widget"],
)

widget_book_meeting = extend_schema(
    operation_id="widget_book_meeting",
    summary="Widget: book a meeting",
    description=(
        "Public. `name` and `email` required. With `start` equal to a free slot: 201 `confirmed`; a `start` "
        "that is not free: 409. Without `start`: 201 `requested`, kept with `preferred_time` for the owner "
        "to arrange. With Calendly connected, the answer carries a single-use scheduling link "
        "(`booking_url`). Invalid fields, an unknown `bot_id` included: 400 `{ok: false, errors}`. A POST "
        "from an Origin the brain does not allow: 403. 100 requests per minute per IP."
    ),
    auth=[],
    request=BookMeetingSerializer,
    responses={
        201: OpenApiResponse(description="Booked or requested."),
        409: OpenApiResponse(description="The time is not free."),
    },
    examples=[
        OpenApiExample(
            "Book a slot",
            value={
                "bot_id": "bot_Q2x9aB1cD3eF4gH5",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "start": "2026-12-01T14:00:00Z",
            },
            request_only=True,
        ),
        OpenApiExample("Booked", value=_BOOKED, response_only=True, status_codes=["201"]),
        OpenApiExample(
            "Taken",
            value={"ok": False, "error": "This time is no longer available. Pick another slot."},
            response_only=True,
            status_codes=["409"],
        ),
    ],
    tags=["widget"],
)
