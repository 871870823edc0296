"""POST /api/save-lead (SPEC §5.2): the chat widget saves its conversation and its lead.

Public: the widget sends its brain's bot_id (public, not secret), no credential. Limited per
client address and brain (PUBLIC_RATE_PER_MINUTE, 100/min; with the cache down, refused: 503).
CORS: a browser may call it from the origins in the brain's `allowed_origins`; the answer
echoes an allowed Origin and nothing otherwise, and a POST that carries an Origin outside them
is refused (403) before anything is stored, since CORS only hides the answer from the page.
Besides JSON, a `text/plain` body holding JSON is read too, so that a widget can post without a
preflight.
"""

from rest_framework import status
from rest_framework.response import Response

from . import schema, services
from .public import WidgetPublicView
from .serializers import BotIdSerializer, SaveLeadSerializer


class SaveLeadView(WidgetPublicView):
    limit_group = "save-lead"
    origin_refused = "This origin may not post to this widget: add it to the brain's allowed origins."

    @schema.save_lead
    def post(self, request):
        head = BotIdSerializer(data=request.data)
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
