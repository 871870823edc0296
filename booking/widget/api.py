"""`/api/book-meeting` (SPEC §8): the chat widget asks for free slots and books one.

Public: the widget sends its brain's bot_id (not a secret), no credential. Limited per client
address and brain (PUBLIC_RATE_PER_MINUTE, 100/min); with the cache down a booking is refused
(503), availability answered. CORS as save-lead's: answers name an allowed Origin
of the brain back, and a POST from an Origin the brain does not allow is refused (403).
Answers have the widget's own shape, derived from the API's envelope by `public_exception_handler`:
`{"ok": true, ...}`, and `{"ok": false, "errors": {field: [...]}}` or `{"ok": false, "error": "..."}`.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response

from leadhub.api.errors import exception_handler
from messaging.widget.public import WidgetPublicView

from ..bookings import services
from ..bookings.api import booking_errors
from ..bookings.serializers import AvailabilityQuery, BookMeetingSerializer, validated
from . import services as widget


def public_exception_handler(exc, context):
    """The API's answer to an exception, in the widget's `{ok: false, ...}` shape."""
    response = exception_handler(exc, context)
    error = response.data["error"]
    if error["code"] in {"VALIDATION_ERROR", "BAD_REQUEST"}:
        response.data = {"ok": False, "errors": error["details"] or {"body": [error["message"]]}}
    else:
        response.data = {"ok": False, "error": error["message"]}
    return response


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


class BookMeetingView(WidgetPublicView):
    limit_group = "book-meeting"
    origin_refused = "This site may not book meetings with this bot (its origin is not allowed)."

    def get_exception_handler(self):
        return public_exception_handler

    @extend_schema(
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
    def get(self, request):
        query = validated(AvailabilityQuery, request.query_params.dict())
        brain = self.brain_for(request, query["bot_id"])
        return Response(widget.availability(brain=brain))

    @extend_schema(
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
    def post(self, request):
        if not hasattr(request.data, "get"):
            raise exceptions.ValidationError({"body": ["Send a JSON object."]})
        bot_id = request.data.get("bot_id")
        if not isinstance(bot_id, str) or not bot_id:
            raise exceptions.ValidationError({"bot_id": ["This field is required."]})
        brain = self.brain_for(request, bot_id)
        workspace = brain.workspace
        data = validated(BookMeetingSerializer, request.data, context={"workspace": workspace})
        invitee = services.Invitee(name=data["name"], email=data["email"], phone=data.get("phone"))
        with booking_errors():
            answer = widget.book(
                brain=brain,
                invitee=invitee,
                start=data.get("start"),
                message=data["message"],
                preferred_time=data["preferred_time"],
                brain_slug=data["brain_slug"],
            )
        return Response(answer, status=status.HTTP_201_CREATED)
