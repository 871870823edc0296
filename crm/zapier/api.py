"""/api/zapier-webhook (SPEC §5.3): the polling triggers and actions of "Webhooks by Zapier".

One URL, the call chosen by `?action=`: `GET leads` and `GET hot-leads` (triggers: arrays, newest
first, as Zapier's polling expects), `POST create-note` and `POST send-whatsapp` (actions).
Authenticated like the native API (API key or OAuth token). Sending messages is not built yet:
send-whatsapp answers 501 NOT_IMPLEMENTED, never a pretended success.
"""

from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, PermissionDenied, ValidationError
from rest_framework.response import Response

from leadhub.api.errors import NotImplementedYet
from leadhub.api.views import ApiView

from ..contacts import selectors, services
from ..contacts.serializers import NoteSerializer
from . import schema
from .serializers import CreateNoteSerializer, ZapierLeadSerializer

GET_ACTIONS = schema.GET_ACTIONS
POST_ACTIONS = schema.POST_ACTIONS


def _action(request, allowed) -> str:
    action = request.query_params.get("action")
    if action is None and request.method == "POST" and hasattr(request.data, "get"):
        action = request.data.get("action")
    if action is not None and not isinstance(action, str):  # a list or an object in a JSON body
        raise ValidationError({"action": ["Give the action as a string: " + ", ".join(allowed) + "."]})
    if not action:
        raise ValidationError({"action": ["Give ?action=: " + ", ".join([*GET_ACTIONS, *POST_ACTIONS]) + "."]})
    if action in GET_ACTIONS or action in POST_ACTIONS:
        if action not in allowed:
            raise MethodNotAllowed(request.method, detail=f"The action {action} takes a different method.")
        return action
    raise ValidationError({"action": [f"Unknown action {str(action)[:50]!r}."]})


class ZapierView(ApiView):
    required_scopes = {"GET": ["contacts:read"]}  # POST: per action, below

    @schema.poll
    def get(self, request):
        action = _action(request, GET_ACTIONS)
        leads = selectors.contacts_recent(workspace=request.workspace, hot=action == "hot-leads")
        return Response(ZapierLeadSerializer(leads, many=True).data)

    @schema.action
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
