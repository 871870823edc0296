"""OpenAPI of the conversations API: summaries, descriptions and examples, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view

from ..models import Conversation
from .serializers import AgentMessageSerializer, ConversationDetailSerializer, ConversationSerializer, MessageSerializer

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


conversations = extend_schema_view(
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

agent_message = extend_schema(
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

handback = extend_schema(
    summary="Hand the conversation back to the brain",
    description="Scope `conversations:write`. The brain answers again from the next message on.",
    request=None,
    responses={200: ConversationSerializer},
    tags=["conversations"],
)
