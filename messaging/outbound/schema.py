"""OpenAPI of send-whatsapp, Zapier's action beside crm's create-note, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from crm.contacts.serializers import NoteSerializer
from crm.zapier import schema as zapier_schema

from .serializers import ZapierActionInSerializer

SEND_ACTION = "send-whatsapp"
POST_ACTIONS = {**zapier_schema.POST_ACTIONS, SEND_ACTION: ["messages:send"]}

_ANSWER = inline_serializer(
    "SendWhatsappAnswer",
    {"id": serializers.UUIDField(), "status": serializers.CharField(), "conversation_id": serializers.UUIDField()},
)


zapier_action = extend_schema(
    operation_id="zapier_action",
    summary="Zapier action: add a note, or send a WhatsApp or SMS message",
    description=(
        "`action=create-note` (scope `contacts:write`): `{contact_id or session_id, note}` adds a note to the "
        "lead and answers 201 with it; an unknown lead is 404.\n\n`action=send-whatsapp` (scope `messages:send`): "
        "`{to, message, from_number?, channel?, content_sid?, content_variables?}`. `to` is E.164 (a "
        "`whatsapp:` prefix is allowed); `channel` `whatsapp` (default) or `sms`; `from_number` one of the "
        "workspace's verified lines (400 on `from_number` otherwise), else the default line; `message` at most "
        "1600 characters. The message is stored `queued` and handed to the provider by a worker; it answers "
        "202 `{id, status, conversation_id}`. An opted-out recipient is a 400 on `to`; WhatsApp free text to a "
        "contact who has not written in 24 hours is a 400 on `message` (send an approved template: "
        "`content_sid` and `content_variables`)."
    ),
    parameters=[OpenApiParameter("action", str, enum=list(POST_ACTIONS), required=True)],
    request=ZapierActionInSerializer,
    responses={
        201: NoteSerializer,
        202: OpenApiResponse(_ANSWER, description="send-whatsapp: queued."),
        404: OpenApiResponse(description="No such lead in this workspace."),
    },
    examples=[
        zapier_schema.CREATE_NOTE_EXAMPLE,
        zapier_schema.NOTE_CREATED_EXAMPLE,
        OpenApiExample(
            "send-whatsapp",
            value={"to": "+18187405020", "message": "Your viewing is confirmed for 3pm."},
            request_only=True,
        ),
        OpenApiExample(
            "Queued",
            value={
                "id": "7d2f4f8e-9c1b-4a53-9d0e-2f4c1c7a9b10",
                "status": "queued",
                "conversation_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
            },
            response_only=True,
            status_codes=["202"],
        ),
    ],
    tags=["zapier"],
)
