"""OpenAPI of the widget's public endpoints, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from .serializers import SaveLeadSerializer

# A CORS preflight is no operation of the API.
preflight = extend_schema(exclude=True)

_ANSWER = inline_serializer(
    "SaveLeadAnswer",
    {
        "ok": serializers.BooleanField(),
        "status": serializers.IntegerField(),
        "session_token": serializers.CharField(required=False, help_text="On the session's first post only"),
    },
)


save_lead = extend_schema(
    operation_id="widget_save_lead",
    summary="Widget: save the conversation and its lead",
    description=(
        "Public (no credential): `bot_id` names the brain and so the workspace. Creates or updates the "
        "widget conversation keyed by (workspace, `session_id`) and its lead; a session whose phone or "
        "e-mail matches an existing contact joins that contact. Because anyone can call it, it never "
        "overwrites a contact: it creates one, or fills an existing one's blank name and company, never "
        "its phone, e-mail or session; what the visitor claimed is kept on the conversation and the "
        "contact's timeline, and `message_count` is counted from stored messages (the field is ignored).\n\n"
        "The first post of a session answers a `session_token`. `messages` is the whole transcript so far: "
        "messages already stored are kept and new ones appended, so re-posting never duplicates; where the "
        "posted transcript differs from the stored one, the stored tail is replaced only when the post "
        "carries the `session_token` (without it, such a post adds no messages). With the token, a phone or "
        "e-mail given later also reaches the session's own contact, or links the session to the contact "
        "it names; without it the conversation keeps its contact.\n\n"
        "Answers 201 on create, 200 on update. An unknown `bot_id` is 400 BAD_REQUEST; invalid fields 400 "
        "VALIDATION_ERROR (at most 200 messages, 256 KB); an `Origin` outside the brain's allowed origins "
        "403 FORBIDDEN, with nothing stored. 100 requests per minute per IP. CORS: allowed from the "
        "brain's allowed origins."
    ),
    auth=[],
    request=SaveLeadSerializer,
    responses={
        201: OpenApiResponse(_ANSWER, description="A new conversation."),
        200: OpenApiResponse(_ANSWER, description="The session's conversation, updated."),
    },
    examples=[
        OpenApiExample(
            "A chat",
            value={
                "bot_id": "bot_Q2x9aB1cD3eF4gH5",
                "session_id": "s_8f2a",
                "page_url": "https://acme.example/pricing",
                "messages": [
                    {"role": "assistant", "content": "Hi! How can I help?"},
                    {"role": "user", "content": "I'd like a quote. I'm Ada, (818) 740 5020."},
                ],
                "lead_name": "Ada Lovelace",
                "lead_phone": "(818) 740 5020",
                "message_count": 2,
            },
            request_only=True,
        ),
        OpenApiExample(
            "Created",
            value={"ok": True, "status": 201, "session_token": "Wm9lX3Nlc3Npb25fdG9rZW5fZXhhbXBsZQ"},
            response_only=True,
            status_codes=["201"],
        ),
        OpenApiExample("Updated", value={"ok": True, "status": 200}, response_only=True, status_codes=["200"]),
    ],
    tags=["widget"],
)
