"""`/api/v1/bookings` (SPEC §8): list, retrieve, book, cancel. Scopes bookings:read and
bookings:write; the workspace comes from the credential."""

from contextlib import contextmanager

from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from ..api_common import READ, WRITE, validated
from ..models import Booking
from . import schema, selectors, services
from .serializers import BookingCreateSerializer, BookingListQuery, BookingSerializer, CancelSerializer

NO_CALENDAR = "This workspace has no availability rules yet (PUT /api/v1/availability); leave out start to request."


@contextmanager
def booking_errors():
    """The service's domain exceptions as the API's answers."""
    try:
        yield
    except services.NoCalendar:
        raise ValidationError({"start": [NO_CALENDAR]}) from None


@schema.bookings
class BookingViewSet(ApiViewSet):
    queryset = Booking.objects.none()
    serializer_class = BookingSerializer
    required_scopes = {"GET": READ, "POST": WRITE}
    lookup_value_converter = "str"

    def _booking(self, pk) -> Booking:
        return selectors.booking_get(workspace=self.request.workspace, booking_id=pk)

    @schema.bookings_list
    def list(self, request):
        filters = validated(BookingListQuery, request.query_params.dict())
        bookings = selectors.bookings_list(workspace=request.workspace, filters=filters)
        page = self.paginate_queryset(bookings)
        return self.get_paginated_response(BookingSerializer(page, many=True).data)

    @schema.bookings_retrieve
    def retrieve(self, request, pk=None):
        return Response(BookingSerializer(self._booking(pk)).data)

    @schema.bookings_create
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

    @schema.bookings_cancel
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        booking = self._booking(pk)
        data = validated(CancelSerializer, request.data)
        booking = services.booking_cancel(workspace=request.workspace, booking=booking, reason=data["reason"])
        return Response(BookingSerializer(booking).data)
