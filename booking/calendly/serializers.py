"""Serializers of the Calendly connection's API: what a connect sends, and the connection as
answered (never its token or signing key)."""

from rest_framework import serializers

from ..api_common import StorableCharField
from ..models import CalendlyConnection


class ConnectSerializer(serializers.Serializer):
    token = StorableCharField(max_length=2000, write_only=True, help_text="A Calendly personal access token")
    event_type_uri = StorableCharField(max_length=500, help_text="https://api.calendly.com/event_types/…")
    signing_key = StorableCharField(
        max_length=500,
        required=False,
        write_only=True,
        help_text="The signing key of your Calendly webhook subscription; left out, the stored one is kept",
    )

    def validate_event_type_uri(self, value: str) -> str:
        if not value.startswith("https://") or "/event_types/" not in value:
            raise serializers.ValidationError("An event type URI: https://api.calendly.com/event_types/<uuid>.")
        return value


class ConnectionSerializer(serializers.ModelSerializer):
    connected = serializers.SerializerMethodField()
    has_signing_key = serializers.SerializerMethodField()

    class Meta:
        model = CalendlyConnection
        fields = [
            "connected",
            "event_type_uri",
            "event_type_name",
            "duration_minutes",
            "scheduling_url",
            "has_signing_key",
            "updated_at",
        ]
        read_only_fields = fields

    def get_connected(self, connection) -> bool:
        return connection.pk is not None

    def get_has_signing_key(self, connection) -> bool:
        return bool(connection.signing_key)
