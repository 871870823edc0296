"""`POST /api/zapier-webhook?action=send-whatsapp` (SPEC §5.3, §7): send a WhatsApp or SMS
message, 202 `{id, status: "queued", conversation_id}`. The other Zapier calls are crm's; this
view adds the sending action to them (crm may not import messaging, so the URL routes here)."""

from rest_framework import status
from rest_framework.response import Response

from crm.zapier import api as zapier

from .. import twilio
from ..api_common import field_errors
from ..lines.selectors import line_to_send_from
from . import schema, services
from .serializers import SendWhatsappSerializer

# The actions with their scopes: crm's, and send-whatsapp (schema.py documents them).
SEND_ACTION = schema.SEND_ACTION
POST_ACTIONS = schema.POST_ACTIONS


class ZapierView(zapier.ZapierView):
    post_actions = POST_ACTIONS

    @schema.zapier_action
    def post(self, request):
        if self.post_action(request) != SEND_ACTION:
            return self.create_note(request)
        serializer = SendWhatsappSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from_number = data.get("from_number")
        with field_errors():
            line = line_to_send_from(
                workspace=request.workspace, phone_number=from_number[0].e164 if from_number else ""
            )
            message = services.number_send(
                workspace=request.workspace,
                to=data["to"],
                channel=data["channel"],
                body=data.get("message") or "",
                content_sid=data.get("content_sid"),
                content_variables=data.get("content_variables"),
                line=line,
                callback_base=twilio.public_base_url(request),
            )
        return Response(
            {"id": str(message.uid), "status": message.status, "conversation_id": str(message.conversation_id)},
            status=status.HTTP_202_ACCEPTED,
        )
