"""The provider webhooks (SPEC §7): `POST /api/whatsapp-inbound` (an inbound WhatsApp or SMS
message, answered with TwiML) and `POST /api/twilio/status` (delivery status callbacks).

Public, form-encoded, authenticated only by the provider's signature (X-Twilio-Signature or
X-SignalWire-Signature over the URL and every form parameter, checked with the line's key):
a missing or bad signature is 403 and nothing is stored. Parameters LeadHub does not know
are accepted (providers add some; the signature covers them). Not limited per IP: providers
post from a few addresses. Errors use the §4 envelope.
"""

from django.http import HttpResponse
from rest_framework import exceptions

from leadhub.lookups import found_scope
from leadhub.tenancy import enter_workspace

from .. import twilio
from ..campaigns.callbacks import call_status_receive
from ..campaigns.services import recipient_status_for_message
from ..lines.selectors import line_for_inbound
from ..models import Message
from ..outbound.services import message_status_update
from ..provider_webhooks import TWIML, ProviderWebhook, form_of, verify
from . import schema
from .services import InboundRejected, inbound_receive


class InboundView(ProviderWebhook):
    @schema.inbound
    def post(self, request):
        form = form_of(request)
        number, _ = twilio.strip_address(form.get("To") or "")
        # The named lookup before the workspace is known (row-level security): the line by the
        # number called; the request then runs in the line's workspace.
        with found_scope("line_by_number", number) as found:
            line = line_for_inbound(phone_number=number) if number and found else None
        if line is None:
            raise exceptions.NotFound("No line has this number.")
        enter_workspace(line.workspace_id)
        verify(request, line)
        brain = request.query_params.get("brain")
        try:
            result = inbound_receive(line=line, params=form, brain_slug=brain if isinstance(brain, str) else None)
        except InboundRejected as exc:
            raise exceptions.ValidationError({exc.field: [str(exc)]}) from None
        return HttpResponse(twilio.twiml_message(result.reply), content_type=TWIML)


class StatusCallbackView(ProviderWebhook):
    @schema.status_callback
    def post(self, request):
        form = form_of(request)
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if not sid and form.get("CallSid"):
            return call_status_receive(request, form)  # a voice campaign's call
        message = None
        if sid and len(sid) <= 64 and "\x00" not in sid:
            # The named lookup before the workspace is known: the message by its provider SID.
            with found_scope("message_by_provider_sid", sid) as found:
                message = (
                    (
                        Message.objects.filter(
                            provider_sid=sid, direction=Message.Direction.OUTBOUND, line__isnull=False
                        )
                        .select_related("line", "line__provider", "conversation", "conversation__contact")
                        .first()
                    )
                    if found
                    else None
                )
        if message is None or getattr(message.line, "provider", None) is None:
            raise exceptions.NotFound("No message has this MessageSid.")
        enter_workspace(message.workspace_id)
        verify(request, message.line)
        raw_code = (form.get("ErrorCode") or "").strip()
        error_code = int(raw_code) if raw_code.isascii() and raw_code.isdigit() and len(raw_code) < 9 else None
        status = form.get("MessageStatus") or ""
        message_status_update(message=message, provider_status=status, error_code=error_code)
        recipient_status_for_message(message=message, provider_status=status, error_code=error_code)
        return HttpResponse(twilio.twiml_message(None), content_type=TWIML)
