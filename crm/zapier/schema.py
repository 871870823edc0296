"""OpenAPI for /api/zapier-webhook, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from ..contacts.serializers import NoteSerializer
from .serializers import ZapierActionSerializer, ZapierLeadSerializer

GET_ACTIONS = ("leads", "hot-leads")
# crm's own POST actions and their scopes; messaging adds send-whatsapp (messaging/outbound/api.py).
POST_ACTIONS = {"create-note": ["contacts:write"]}

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


poll = extend_schema(
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


CREATE_NOTE_EXAMPLE = OpenApiExample(
    "create-note",
    value={"session_id": "s_8f2a", "note": "Asked for a callback via Zapier."},
    request_only=True,
)
NOTE_CREATED_EXAMPLE = OpenApiExample(
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
)


action = extend_schema(
    operation_id="zapier_action",
    summary="Zapier action: add a note",
    description=(
        "`action=create-note` (scope `contacts:write`): `{contact_id or session_id, note}` adds a note to the "
        "lead and answers 201 with it; an unknown lead is 404. Another action answers 400 naming `action`."
    ),
    parameters=[OpenApiParameter("action", str, enum=list(POST_ACTIONS), required=True)],
    request=ZapierActionSerializer,
    responses={
        201: NoteSerializer,
        404: OpenApiResponse(description="No such lead in this workspace."),
    },
    examples=[
        CREATE_NOTE_EXAMPLE,
        NOTE_CREATED_EXAMPLE,
    ],
    tags=["zapier"],
)
