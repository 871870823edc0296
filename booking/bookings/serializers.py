"""Serializers of the bookings API: a booking in and out, the list's query, a cancellation."""

from rest_framework import serializers

from crm.fields import LowerEmailField, PhoneField

from ..api_common import ChoiceField, StorableCharField, UtcDateTimeField
from ..models import Booking


class BookingSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Booking
        fields = [
            "id",
            "status",
            "source",
            "start",
            "end",
            "contact_id",
            "name",
            "email",
            "phone",
            "message",
            "preferred_time",
            "brain_slug",
            "scheduling_url",
            "cancel_reason",
            "cancelled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


def _max(name: str) -> int:
    return Booking._meta.get_field(name).max_length


class BookingCreateSerializer(serializers.Serializer):
    name = StorableCharField(max_length=_max("name"))
    email = LowerEmailField(max_length=_max("email"))
    phone = PhoneField(required=False, allow_null=True, help_text="Any written form, in the workspace's country")
    start = UtcDateTimeField(required=False, allow_null=True, help_text="A free slot's start; leave out to request")
    end = UtcDateTimeField(required=False, allow_null=True, help_text="Defaults to start + the slot length")
    message = StorableCharField(max_length=_max("message"), required=False, allow_blank=True, default="")
    preferred_time = StorableCharField(max_length=_max("preferred_time"), required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if attrs.get("end") and not attrs.get("start"):
            raise serializers.ValidationError({"end": ["Give start with end."]})
        return attrs


class BookingListQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)
    status = ChoiceField(choices=Booking.Status.choices, required=False)
    contact = serializers.UUIDField(required=False, help_text="A contact's id")
    to = UtcDateTimeField(required=False, help_text="Bookings starting before this")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = UtcDateTimeField(required=False, help_text="Bookings starting at or after this")
        return fields


class CancelSerializer(serializers.Serializer):
    reason = StorableCharField(max_length=_max("cancel_reason"), required=False, allow_blank=True, default="")
