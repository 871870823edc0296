"""POST /api/save-lead (SPEC §5.2): the chat widget saves its conversation and its lead.

Public: the widget sends its brain's bot_id (public, not secret), no credential. Limited per
client address and brain (PUBLIC_RATE_PER_MINUTE, 100/min; with the cache down, refused: 503).
CORS: a browser may call it from the origins in the brain's `allowed_origins`; the answer
echoes an allowed Origin and nothing otherwise, and a POST that carries an Origin outside them
is refused (403) before anything is stored, since CORS only hides the answer from the page.
Besides JSON, a `text/plain` body holding JSON is read too, so that a widget can post without a
preflight.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from crm.fields import LowerEmailField, PhoneField

from ..models import Message
from . import services
from .public import WidgetPublicView

MAX_MESSAGES = 200
MAX_TRANSCRIPT_BYTES = 256 * 1024  # the transcript's contents together, UTF-8


class TranscriptMessageSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Message.Role.choices)
    content = serializers.CharField(max_length=20000, allow_blank=True, trim_whitespace=False)


class SaveLeadSerializer(serializers.Serializer):
    bot_id = serializers.CharField(max_length=40, help_text="The brain's public bot id")
    session_id = serializers.CharField(max_length=100, help_text="The widget's session; one conversation each")
    page_url = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2000)
    session_token = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=100,
        help_text="The session_token answered to the session's first post: it lets a post rewrite the transcript",
    )
    messages = TranscriptMessageSerializer(
        many=True,
        required=False,
        max_length=MAX_MESSAGES,
        help_text=f"The whole transcript so far, in order (at most {MAX_MESSAGES} messages, 256 KB)",
    )
    lead_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    lead_email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
    lead_business = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    lead_phone = PhoneField(
        required=False, allow_null=True, help_text="Any written form, parsed in the workspace's country"
    )
    # Accepted for the widgets that send it, and ignored: the count is of stored messages.
    message_count = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=2**31 - 1)

    def validate_messages(self, messages):
        if sum(len(message["content"].encode()) for message in messages) > MAX_TRANSCRIPT_BYTES:
            raise serializers.ValidationError(f"The transcript may hold at most {MAX_TRANSCRIPT_BYTES // 1024} KB.")
        return messages


class _BotIdSerializer(serializers.Serializer):
    bot_id = serializers.CharField(max_length=40)


_ANSWER = inline_serializer(
    "SaveLeadAnswer",
    {
        "ok": serializers.BooleanField(),
        "status": serializers.IntegerField(),
        "session_token": serializers.CharField(required=False, help_text="On the session's first post only"),
    },
)


class SaveLeadView(WidgetPublicView):
    limit_group = "save-lead"
    origin_refused = "This origin may not post to this widget: add it to the brain's allowed origins."

    @extend_schema(
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
    def post(self, request):
        head = _BotIdSerializer(data=request.data)
        head.is_valid(raise_exception=True)
        self.brain_for(request, head.validated_data["bot_id"])
        serializer = SaveLeadSerializer(data=request.data, context={"workspace": self.brain.workspace})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = services.widget_capture(
            brain=self.brain,
            session_id=data["session_id"],
            page_url=data.get("page_url") or "",
            messages=[dict(message) for message in data.get("messages", [])],
            name=data.get("lead_name") or "",
            email=data.get("lead_email") or None,
            business=data.get("lead_business") or "",
            phone=data.get("lead_phone"),
            session_token=data.get("session_token") or None,
        )
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        body = {"ok": True, "status": code}
        if result.session_token:
            body["session_token"] = result.session_token
        return Response(body, status=code)
