"""A sequence's enrollments over the API, in and out."""

from rest_framework import serializers

from ..models import Enrollment


class EnrollmentSerializer(serializers.ModelSerializer):
    sequence_id = serializers.IntegerField(read_only=True)
    contact_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Enrollment
        fields = ["id", "sequence_id", "contact_id", "status", "enrolled_at", "stopped_at"]
        read_only_fields = fields


class ContactIdField(serializers.UUIDField):
    """A contact's id as the API writes it: a UUID string (DRF's UUIDField would also take an
    integer and make a UUID of it)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class EnrollmentCreateSerializer(serializers.Serializer):
    contact_id = ContactIdField(help_text="A contact of the workspace (404 otherwise)")


class EnrollmentsQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Enrollment.Status.choices, required=False)
