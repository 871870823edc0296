"""The native booking API (SPEC §8): availability rules and bookings. Scopes bookings:read and
bookings:write; the workspace comes from the credential."""

from contextlib import contextmanager

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from leadhub.api.views import ApiView, ApiViewSet

from ..availability import selectors
from ..models import AvailabilityRules, Booking
from . import services
from .serializers import (
    BookingCreateSerializer,
    BookingListQuery,
    BookingSerializer,
    CancelSerializer,
    RulesOutSerializer,
    RulesSerializer,
    validated,
)

READ = ["bookings:read"]
WRITE = ["bookings:write"]
NO_CALENDAR = "This workspace has no availability rules yet (PUT /api/v1/availability); leave out start to request."


@contextmanager
def booking_errors():
    """The service's domain exceptions as the API's answers."""
    try:
        yield
    except services.NoCalendar:
        raise ValidationError({"start": [NO_CALENDAR]}) from None


_RULES = {
    "timezone": "America/New_York",
    "slot_minutes": 30,
    "buffer_minutes": 10,
    "min_notice_minutes": 120,
    "horizon_days": 14,
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["09:00", "17:00"]]},
    "overrides": [{"date": "2026-12-24", "hours": []}],
}
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


class AvailabilityView(ApiView):
    required_scopes = {"GET": READ, "PUT": WRITE}

    @extend_schema(
        operation_id="availability_retrieve",
        summary="The availability rules",
        description=(
            "Weekly hours are wall-clock times in `timezone`, so a slot keeps its local time across DST. "
            "`configured` is false until the rules are first set (the defaults are shown). Needs bookings:read."
        ),
        responses={200: RulesOutSerializer},
        examples=[OpenApiExample("Rules", value=_RULES | {"configured": True}, response_only=True)],
        tags=["booking"],
    )
    def get(self, request):
        workspace = request.workspace
        rules = selectors.rules_get(workspace=workspace) or AvailabilityRules(
            workspace=workspace, timezone=workspace.timezone
        )
        return Response(RulesOutSerializer(rules).data)

    @extend_schema(
        operation_id="availability_update",
        summary="Set the availability rules",
        description=(
            "Replaces the rules; fields left out take their defaults (slot 30, buffer 0, notice 60 minutes, "
            "horizon 7 days, Monday to Friday 09:00-17:00, the workspace's zone). `overrides` give a date its own "
            "hours (`[]`: closed). Needs bookings:write."
        ),
        request=RulesSerializer,
        responses={200: RulesOutSerializer},
        examples=[OpenApiExample("Rules", value=_RULES, request_only=True)],
        tags=["booking"],
    )
    def put(self, request):
        values = validated(RulesSerializer, request.data)
        values.setdefault("timezone", request.workspace.timezone)
        rules = services.rules_set(workspace=request.workspace, values=dict(values))
        return Response(RulesOutSerializer(rules).data)


@extend_schema(tags=["booking"])
class BookingViewSet(ApiViewSet):
    queryset = Booking.objects.none()
    serializer_class = BookingSerializer
    required_scopes = {"GET": READ, "POST": WRITE}
    lookup_value_converter = "str"

    def _booking(self, pk) -> Booking:
        return selectors.booking_get(workspace=self.request.workspace, booking_id=pk)

    @extend_schema(
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
    def list(self, request):
        filters = validated(BookingListQuery, request.query_params.dict())
        bookings = selectors.bookings_list(workspace=request.workspace, filters=filters)
        page = self.paginate_queryset(bookings)
        return self.get_paginated_response(BookingSerializer(page, many=True).data)

    @extend_schema(
        operation_id="bookings_retrieve",
        summary="Retrieve a booking",
        description="Needs bookings:read.",
        examples=[OpenApiExample("Booking", value=_BOOKING, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(BookingSerializer(self._booking(pk)).data)

    @extend_schema(
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
    def create(self, request):
        data = validated(BookingCreateSerializer, request.data, context={"workspace": request.workspace})
        with booking_errors():
            booking = services.booking_create(
                workspace=request.workspace,
                invitee=services.Invitee(name=data["name"], email=data["email"], phone=data.get("phone")),
                start=data.get("start"),
                end=data.get("end"),
                message=data["message"],
                preferred_time=data["preferred_time"],
                source=Booking.Source.API,
            )
        return Response(BookingSerializer(booking).data, status=status.HTTP_201_CREATED)

    @extend_schema(
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
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = self._booking(pk)
        data = validated(CancelSerializer, request.data)
        booking = services.booking_cancel(workspace=request.workspace, booking=booking, reason=data["reason"])
        return Response(BookingSerializer(booking).data)
