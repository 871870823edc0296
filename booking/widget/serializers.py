"""Serializers of the widget's `/api/book-meeting`: the availability query and the booking."""

from rest_framework import serializers

from ..api_common import ChoiceField, StorableCharField
from ..bookings.serializers import BookingCreateSerializer
from ..models import Booking


class BookMeetingSerializer(BookingCreateSerializer):
    """The widget's booking (SPEC §8): the API's fields without `end`, plus the bot and brain."""

    bot_id = serializers.CharField(max_length=40, help_text="The brain's public bot id")
    brain_slug = StorableCharField(
        max_length=Booking._meta.get_field("brain_slug").max_length, required=False, allow_blank=True, default=""
    )
    end = None


class AvailabilityQuery(serializers.Serializer):
    action = ChoiceField(choices=["availability"])
    bot_id = serializers.CharField(max_length=40)
