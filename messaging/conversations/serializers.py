"""Serializers of the conversations API: conversations and their messages as answered, a
person's message, handback (no body) and the list's filters."""

from rest_framework import serializers

from ..api_common import StrictSerializer, TextField
from ..models import Conversation, Message
from ..outbound.services import MAX_BODY
from . import selectors


class MessageSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uid", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "role", "direction", "content", "status", "source", "channel", "error_code", "created_at"]
        read_only_fields = fields


class ConversationSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField(read_only=True, allow_null=True)
    brain = serializers.CharField(source="brain.slug", default=None, read_only=True)
    line_id = serializers.IntegerField(read_only=True, allow_null=True)
    taken_over = serializers.SerializerMethodField()

    class Meta:
        model = Conversation
        fields = [
            "id",
            "contact_id",
            "channel",
            "status",
            "brain",
            "line_id",
            "session_id",
            "taken_over",
            "taken_over_at",
            "last_message_at",
            "completed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_taken_over(self, conversation) -> bool:
        return conversation.taken_over_at is not None


class ConversationDetailSerializer(ConversationSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(ConversationSerializer.Meta):
        fields = [*ConversationSerializer.Meta.fields, "messages"]
        read_only_fields = fields

    def get_messages(self, conversation) -> list[dict]:
        return MessageSerializer(selectors.conversation_messages(conversation=conversation), many=True).data


class AgentMessageSerializer(StrictSerializer):
    content = TextField(max_length=MAX_BODY)


class HandbackSerializer(StrictSerializer):
    """Handback takes no body: any field is unknown."""


class FilterSerializer(serializers.Serializer):
    contact = serializers.UUIDField(required=False)
    channel = serializers.ChoiceField(choices=Conversation.Channel.choices, required=False)
    status = serializers.ChoiceField(choices=Conversation.Status.choices, required=False)
