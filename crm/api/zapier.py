"""/api/zapier-webhook (SPEC §5.3): the polling triggers and actions of "Webhooks by Zapier".

One URL, the call chosen by `?action=`: `GET leads` and `GET hot-leads` (triggers: arrays, newest
first, as Zapier's polling expects), `POST create-note` and `POST send-whatsapp` (actions).
Authenticated like the native API (API key or OAuth token). send-whatsapp is messaging's: the
URL is served by messaging.outbound.api.ZapierView, which adds it to these (crm may not import
messaging); this view alone answers it 501.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import MethodNotAllowed, PermissionDenied, ValidationError
from rest_framework.response import Response

from leadhub.api.errors import NotImplementedYet
from leadhub.api.views import ApiView

from .. import selectors, services
from .contacts import NoteSerializer

GET_ACTIONS = ("leads", "hot-leads")
POST_ACTIONS = {"create-note": ["contacts:write"], "send-whatsapp": ["messages:send"]}


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


class SendWhatsappSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=40, help_text="E.164")
    message = serializers.CharField(max_length=1600)
    from_number = serializers.CharField(required=False, max_length=40)


class ZapierActionSerializer(serializers.Serializer):
    """The body of either action: create-note uses contact_id/session_id and note;
    send-whatsapp uses to, message and from_number."""

    contact_id = serializers.UUIDField(required=False)
    session_id = serializers.CharField(required=False)
    note = serializers.CharField(required=False)
    to = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    from_number = serializers.CharField(required=False)


_LEAD_EXAMPLE = {
    "id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "session_id": "s_8f2a",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+18187405020",
    "business": "Analytical Engines",
    "message_count": 6,
    "source": "widget",
    "created_at": "2026-11-20T10:00:00Z",
}


def _action(request, allowed) -> str:
    action = request.query_params.get("action")
    if action is None and request.method == "POST" and hasattr(request.data, "get"):
        action = request.data.get("action")
    if not action:
        raise ValidationError({"action": ["Give ?action=: " + ", ".join([*GET_ACTIONS, *POST_ACTIONS]) + "."]})
    if action in GET_ACTIONS or action in POST_ACTIONS:
        if action not in allowed:
            raise MethodNotAllowed(request.method, detail=f"The action {action} takes a different method.")
        return action
    raise ValidationError({"action": [f"Unknown action {str(action)[:50]!r}."]})


class ZapierView(ApiView):
    required_scopes = {"GET": ["contacts:read"]}  # POST: per action, below

    @extend_schema(
        operation_id="zapier_poll",
        summary="Zapier trigger: recent leads",
        description=(
            "Scope `contacts:read`. `action=leads`: the 10 most recent leads; `action=hot-leads`: the 10 most "
            "recent with 5 or more messages. An array, newest first (Zapier deduplicates on `id`). "
            "Another action answers 400 naming `action`."
        ),
        parameters=[OpenApiParameter("action", str, enum=list(GET_ACTIONS), required=True)],
        responses={200: ZapierLeadSerializer(many=True)},
        examples=[OpenApiExample("Leads", value=[_LEAD_EXAMPLE], response_only=True)],
        tags=["zapier"],
    )
    def get(self, request):
        action = _action(request, GET_ACTIONS)
        leads = selectors.contacts_recent(workspace=request.workspace, hot=action == "hot-leads")
        return Response(ZapierLeadSerializer(leads, many=True).data)

    @extend_schema(
        operation_id="zapier_action",
        summary="Zapier action: add a note, or send a WhatsApp message",
        description=(
            "`action=create-note` (scope `contacts:write`): `{contact_id or session_id, note}` adds a note to the "
            "lead and answers 201 with it; an unknown lead is 404. `action=send-whatsapp` (scope `messages:send`): "
            "`{to, message, from_number?}`; sending is not available yet, so it answers **501 NOT_IMPLEMENTED** "
            "and sends nothing. Another action answers 400 naming `action`."
        ),
        parameters=[OpenApiParameter("action", str, enum=list(POST_ACTIONS), required=True)],
        request=ZapierActionSerializer,
        responses={
            201: NoteSerializer,
            404: OpenApiResponse(description="No such lead in this workspace."),
            501: OpenApiResponse(description="send-whatsapp: messaging is not available yet."),
        },
        examples=[
            OpenApiExample(
                "create-note",
                value={"session_id": "s_8f2a", "note": "Asked for a callback via Zapier."},
                request_only=True,
            ),
            OpenApiExample(
                "Note created",
                value={
                    "id": "0b7f0a52-8d7c-4c55-b0a4-0b4d2f6b1f00",
                    "contact_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
                    "body": "Asked for a callback via Zapier.",
                    "author_id": None,
                    "created_at": "2026-11-21T08:30:00Z",
                },
                response_only=True,
                status_codes=["201"],
            ),
            OpenApiExample(
                "send-whatsapp",
                value={
                    "error": {
                        "code": "NOT_IMPLEMENTED",
                        "message": "Sending WhatsApp and SMS messages is not available yet; nothing was sent.",
                        "details": {},
                    }
                },
                response_only=True,
                status_codes=["501"],
            ),
        ],
        tags=["zapier"],
    )
    def post(self, request):
        action = _action(request, POST_ACTIONS)
        missing = [scope for scope in POST_ACTIONS[action] if scope not in request.auth.scopes]
        if missing:
            raise PermissionDenied(f"This credential lacks the scope {', '.join(missing)}.")
        if action == "send-whatsapp":
            raise NotImplementedYet("Sending WhatsApp and SMS messages is not available yet; nothing was sent.")
        serializer = CreateNoteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workspace = request.workspace
        if data.get("contact_id"):
            contact = selectors.contact_get(workspace=workspace, contact_id=data["contact_id"])
        else:
            contact = selectors.contact_get_by_session(workspace=workspace, session_id=data["session_id"])
        note = services.note_create(contact=contact, body=data["note"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)
