"""Zapier's serializers: the polled lead, the actions' bodies."""

from rest_framework import serializers


class ZapierLeadSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    session_id = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    phone = serializers.CharField(source="phone_number", allow_null=True, help_text="E.164")
    business = serializers.CharField(source="company_name")
    message_count = serializers.IntegerField()
    source = serializers.CharField()
    created_at = serializers.DateTimeField()


class CreateNoteSerializer(serializers.Serializer):
    contact_id = serializers.UUIDField(required=False, help_text="The lead's id (or give session_id)")
    session_id = serializers.CharField(required=False, max_length=100, help_text="The widget session of the lead")
    note = serializers.CharField(max_length=10000)

    def validate(self, attrs):
        if not attrs.get("contact_id") and not attrs.get("session_id"):
            raise serializers.ValidationError({"contact_id": ["Give contact_id or session_id."]})
        return attrs


class ZapierActionSerializer(serializers.Serializer):
    """The body of crm's action, create-note (messaging's subclass adds send-whatsapp's fields)."""

    contact_id = serializers.UUIDField(required=False)
    session_id = serializers.CharField(required=False)
    note = serializers.CharField(required=False)
