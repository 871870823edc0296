"""/api/v1/conversations (SPEC §7): list (filters contact, channel, status), retrieve with its
messages, a person's message (takes the conversation over) and handback."""

from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import twilio
from ..api_common import check_query, field_errors
from ..models import Conversation
from ..outbound.services import conversation_agent_send
from . import schema, selectors, services
from .serializers import (
    AgentMessageSerializer,
    ConversationDetailSerializer,
    ConversationSerializer,
    FilterSerializer,
    HandbackSerializer,
    MessageSerializer,
)


@schema.conversations
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

    @schema.agent_message
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

    @schema.handback
    @action(detail=True, methods=["post"], url_path="handback")
    def handback(self, request, id=None):
        check_query(request, ())
        HandbackSerializer(data=request.data or {}).is_valid(raise_exception=True)
        conversation = selectors.conversation_get(workspace=request.workspace, conversation_id=id)
        return Response(ConversationSerializer(services.conversation_handback(conversation=conversation)).data)
