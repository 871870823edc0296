"""The provider webhooks (SPEC §7): `POST /api/whatsapp-inbound` (an inbound WhatsApp or SMS
message, answered with TwiML) and `POST /api/twilio/status` (delivery status callbacks).

Public, form-encoded, authenticated only by the provider's signature (X-Twilio-Signature or
X-SignalWire-Signature over the URL and every form parameter, checked with the line's key):
a missing or bad signature is 403 and nothing is stored. Parameters LeadHub does not know
are accepted (providers add some; the signature covers them). Not limited per IP: providers
post from a few addresses. Errors use the §4 envelope.
"""

import uuid

from django.db import IntegrityError, transaction
from django.db.models import Q
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


def _message_named(value, sid: str) -> Message | None:
    """The outbound message a status callback's URL names (`?message=<uid>`, see
    twilio.status_callback_url) whose MessageSid is not stored yet, or is this one."""
    try:
        uid = uuid.UUID(value) if isinstance(value, str) and len(value) <= 36 else None
    except ValueError:
        uid = None
    if uid is None or "\x00" in sid:
        return None
    with found_scope("message_by_uid", str(uid)) as found:
        if not found:
            return None
        return (
            Message.objects.filter(
                Q(provider_sid__isnull=True) | Q(provider_sid__in=("", sid)),
                uid=uid,
                direction=Message.Direction.OUTBOUND,
                line__isnull=False,
            )
            .select_related("line", "line__provider", "conversation", "conversation__contact")
            .first()
        )


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
        named = message is None and 0 < len(sid) <= 64
        if named:
            message = _message_named(request.query_params.get("message"), sid)
        if message is None or getattr(message.line, "provider", None) is None:
            raise exceptions.NotFound("No message has this MessageSid.")
        enter_workspace(message.workspace_id)
        verify(request, message.line)
        if named and not message.provider_sid:
            # The callback came before the send's answer was stored; the hand-off stores the same SID.
            try:
                with transaction.atomic():
                    Message.objects.filter(Q(provider_sid__isnull=True) | Q(provider_sid=""), pk=message.pk).update(
                        provider_sid=sid
                    )
            except IntegrityError:  # another message of the line has this SID: not this one's callback
                raise exceptions.NotFound("No message has this MessageSid.") from None
            message.provider_sid = sid
        raw_code = (form.get("ErrorCode") or "").strip()
        error_code = int(raw_code) if raw_code.isascii() and raw_code.isdigit() and len(raw_code) < 9 else None
        status = form.get("MessageStatus") or ""
        message_status_update(message=message, provider_status=status, error_code=error_code)
        recipient_status_for_message(message=message, provider_status=status, error_code=error_code)
        return HttpResponse(twilio.twiml_message(None), content_type=TWIML)
