"""/api/zapier-webhook (SPEC §5.3): the polling triggers and actions of "Webhooks by Zapier".

One URL, the call chosen by `?action=`: `GET leads` and `GET hot-leads` (triggers: arrays, newest
first, as Zapier's polling expects) and `POST create-note` (an action). Authenticated like the
native API (API key or OAuth token).

`send-whatsapp` is messaging's: crm may not import messaging (SPEC §2), so messaging subclasses
this view, adds its action to `post_actions`, and the URL routes to that subclass
(messaging/outbound/api.py). An action this class does not list is a 400 naming `action`.
"""

from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, PermissionDenied, ValidationError
from rest_framework.response import Response

from leadhub.api.views import ApiView

from ..contacts import selectors, services
from ..contacts.serializers import NoteSerializer
from . import schema
from .serializers import CreateNoteSerializer, ZapierLeadSerializer

GET_ACTIONS = schema.GET_ACTIONS
POST_ACTIONS = schema.POST_ACTIONS


def _action(request, allowed, known) -> str:
    action = request.query_params.get("action")
    if action is None and request.method == "POST" and hasattr(request.data, "get"):
        action = request.data.get("action")
    if action is not None and not isinstance(action, str):  # a list or an object in a JSON body
        raise ValidationError({"action": ["Give the action as a string: " + ", ".join(known) + "."]})
    if not action:
        raise ValidationError({"action": ["Give ?action=: " + ", ".join(known) + "."]})
    if action in known:
        if action not in allowed:
            raise MethodNotAllowed(request.method, detail=f"The action {action} takes a different method.")
        return action
    raise ValidationError({"action": [f"Unknown action {str(action)[:50]!r}."]})


class ZapierView(ApiView):
    required_scopes = {"GET": ["contacts:read"]}  # POST: per action, in post_actions
    # POST actions and the scopes each needs; a subclass in an app above crm adds its own.
    post_actions: dict[str, list[str]] = POST_ACTIONS

    @schema.poll
    def get(self, request):
        action = _action(request, GET_ACTIONS, [*GET_ACTIONS, *self.post_actions])
        leads = selectors.contacts_recent(workspace=request.workspace, hot=action == "hot-leads")
        return Response(ZapierLeadSerializer(leads, many=True).data)

    def post_action(self, request) -> str:
        """The POST's action, once the credential is known to hold the scopes it needs."""
        action = _action(request, self.post_actions, [*GET_ACTIONS, *self.post_actions])
        missing = [scope for scope in self.post_actions[action] if scope not in request.auth.scopes]
        if missing:
            raise PermissionDenied(f"This credential lacks the scope {', '.join(missing)}.")
        return action

    @schema.action
    def post(self, request):
        self.post_action(request)  # create-note is crm's only action
        return self.create_note(request)

    def create_note(self, request):
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
