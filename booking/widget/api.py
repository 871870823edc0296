"""`/api/book-meeting` (SPEC §8): the chat widget asks for free slots and books one.

Public: the widget sends its brain's bot_id (not a secret), no credential. Limited per client
address and brain (PUBLIC_RATE_PER_MINUTE, 100/min); with the cache down a booking is refused
(503), availability answered. CORS as save-lead's: answers name an allowed Origin
of the brain back, and a POST from an Origin the brain does not allow is refused (403).
Answers have the widget's own shape, derived from the API's envelope by `public_exception_handler`:
`{"ok": true, ...}`, and `{"ok": false, "errors": {field: [...]}}` or `{"ok": false, "error": "..."}`.
"""

from rest_framework import exceptions, status
from rest_framework.response import Response

from leadhub.api.errors import exception_handler
from messaging.widget.public import WidgetPublicView

from ..api_common import validated
from ..bookings.api import booking_errors
from ..bookings.services import Invitee
from . import schema, services
from .serializers import AvailabilityQuery, BookMeetingSerializer


def public_exception_handler(exc, context):
    """The API's answer to an exception, in the widget's `{ok: false, ...}` shape."""
    response = exception_handler(exc, context)
    error = response.data["error"]
    if error["code"] in {"VALIDATION_ERROR", "BAD_REQUEST"}:
        response.data = {"ok": False, "errors": error["details"] or {"body": [error["message"]]}}
    else:
        response.data = {"ok": False, "error": error["message"]}
    return response


class BookMeetingView(WidgetPublicView):
    limit_group = "book-meeting"
    origin_refused = "This site may not book meetings with this bot (its origin is not allowed)."

    def get_exception_handler(self):
        return public_exception_handler

    @schema.widget_availability
    def get(self, request):
        query = validated(AvailabilityQuery, request.query_params.dict())
        brain = self.brain_for(request, query["bot_id"])
        return Response(services.availability(brain=brain))

    @schema.widget_book_meeting
    def post(self, request):
        if not hasattr(request.data, "get"):
            raise exceptions.ValidationError({"body": ["Send a JSON object."]})
        bot_id = request.data.get("bot_id")
        if not isinstance(bot_id, str) or not bot_id:
            raise exceptions.ValidationError({"bot_id": ["This field is required."]})
        brain = self.brain_for(request, bot_id)
        workspace = brain.workspace
        data = validated(BookMeetingSerializer, request.data, context={"workspace": workspace})
        invitee = Invitee(name=data["name"], email=data["email"], phone=data.get("phone"))
        with booking_errors():
            answer = services.book(
                brain=brain,
                invitee=invitee,
                start=data.get("start"),
                message=data["message"],
                preferred_time=data["preferred_time"],
                brain_slug=data["brain_slug"],
            )
        return Response(answer, status=status.HTTP_201_CREATED)
