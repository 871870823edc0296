"""/api/v1/conversations (SPEC §7): list (filters contact, channel, status), retrieve with its
messages, a person's message (takes the conversation over) and handback."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import twilio
from ..api_common import StrictSerializer, TextField, check_query, field_errors
from ..models import Conversation, Message
from ..outbound.services import MAX_BODY, conversation_agent_send
from . import selectors, services


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


_MESSAGE = {
    "id": "7d2f4f8e-9c1b-4a53-9d0e-2f4c1c7a9b10",
    "role": "user",
    "direction": "inbound",
    "content": "Hi, what time do you open?",
    "status": "received",
    "source": "inbound",
    "channel": "whatsapp",
    "error_code": None,
    "created_at": "2026-11-20T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List conversations",
        description="Newest first; filters `contact` (id), `channel`, `status`. Scope `conversations:read`.",
        parameters=[
            OpenApiParameter("contact", str, description="A contact's id"),
            OpenApiParameter("channel", str, enum=[c for c, _ in Conversation.Channel.choices]),
            OpenApiParameter("status", str, enum=[s for s, _ in Conversation.Status.choices]),
        ],
        tags=["conversations"],
    ),
    retrieve=extend_schema(
        summary="Retrieve a conversation with its messages",
        description="Scope `conversations:read`.",
        responses={200: ConversationDetailSerializer},
        tags=["conversations"],
    ),
)
class ConversationViewSet(ApiViewSet):
    serializer_class = ConversationSerializer
    queryset = Conversation.objects.none()
    lookup_field = "id"
    filter_backends: list = []
    required_scopes = {"GET": ["conversations:read"], "POST": ["conversations:write"]}

    def get_queryset(self):
        return selectors.conversations_list(workspace=self.request.workspace)

    def list(self, request):
        check_query(request, ("cursor", "limit", "contact", "channel", "status"))
        filters = FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        conversations = selectors.conversations_list(workspace=request.workspace, **filters.validated_data)
        page = self.paginate_queryset(conversations)
        return self.get_paginated_response(ConversationSerializer(page, many=True).data)

    def retrieve(self, request, id=None):
        check_query(request, ())
        conversation = selectors.conversation_get(workspace=request.workspace, conversation_id=id)
        return Response(ConversationDetailSerializer(conversation).data)

    @extend_schema(
        summary="Write in a conversation (takes it over)",
        description=(
            "Scope `messages:send`. A person's message, sent from the conversation's line (stored `queued`, handed "
            "to the provider by a worker): 202 with the message. The first such message takes the conversation "
            "over: the brain stays quiet there until handback. Refused like send-whatsapp (400): an opted-out "
            "contact (`to`), WhatsApp free text outside 24 hours (`message`), a widget conversation (`content`)."
        ),
        request=AgentMessageSerializer,
        responses={202: MessageSerializer},
        examples=[OpenApiExample("Write", value={"content": "Hi, this is Sam from the office."}, request_only=True)],
        tags=["conversations"],
    )
    @action(detail=True, methods=["post"], url_path="messages", required_scopes={"POST": ["messages:send"]})
    def messages(self, request, id=None):
        check_query(request, ())
        conversation = selectors.conversation_get(workspace=request.workspace, conversation_id=id)
        serializer = AgentMessageSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = request.user if getattr(request.user, "is_authenticated", False) else None
        with field_errors():
            message = conversation_agent_send(
                conversation=conversation,
                content=serializer.validated_data["content"],
                user=user,
                callback_base=twilio.public_base_url(request),
            )
        return Response(MessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Hand the conversation back to the brain",
        description="Scope `conversations:write`. The brain answers again from the next message on.",
        request=None,
        responses={200: ConversationSerializer},
        tags=["conversations"],
    )
    @action(detail=True, methods=["post"], url_path="handback")
    def handback(self, request, id=None):
        check_query(request, ())
        HandbackSerializer(data=request.data or {}).is_valid(raise_exception=True)
        conversation = selectors.conversation_get(workspace=request.workspace, conversation_id=id)
        return Response(ConversationSerializer(services.conversation_handback(conversation=conversation)).data)
