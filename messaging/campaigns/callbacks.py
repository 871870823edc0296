"""The provider's callbacks about campaign calls: the voice gather (`POST /api/twilio/gather`,
the key pressed) and call status callbacks (`POST /api/twilio/status` with a CallSid; messages'
callbacks are the outbound ones, which reach their recipient through its message).

Signed like every provider webhook (messaging/provider_webhooks.py) with the key of the
campaign's line. The gather fails closed: a recipient it cannot find is the same 403 as a bad
signature, so the endpoint tells an unsigned caller nothing.
"""

from django.http import HttpResponse
from rest_framework import exceptions

from leadhub.lookups import found_scope
from leadhub.tenancy import enter_workspace

from .. import twilio
from ..provider_webhooks import TWIML, BadSignature, ProviderWebhook, form_of, verify
from . import schema, services
from .models import Campaign, Recipient

DIGITS = frozenset("0123456789*#")
THANKS = "Thank you. Goodbye."
OPTED_OUT = "You will not be contacted again. Goodbye."


def _recipient(value) -> Recipient | None:
    if not isinstance(value, str) or not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    # The named lookup before the workspace is known (row-level security): the recipient by
    # the id LeadHub put in the URL (the gather's, a call's status callback); the request then
    # runs in its workspace.
    with found_scope("recipient_by_id", int(value)) as found:
        recipient = (
            (
                Recipient.objects.filter(pk=int(value), campaign__channel=Campaign.Channel.VOICE)
                .select_related("campaign", "campaign__line", "campaign__line__provider")
                .first()
            )
            if found
            else None
        )
    if recipient is not None:
        enter_workspace(recipient.workspace_id)
    return recipient


class GatherView(ProviderWebhook):
    @schema.voice_gather
    def post(self, request):
        form = form_of(request)
        recipient = _recipient(request.query_params.get("recipient"))
        if recipient is None:
            raise BadSignature()
        verify(request, recipient.campaign.line)
        call_sid = form.get("CallSid") or ""
        if recipient.provider_sid and call_sid and call_sid != recipient.provider_sid:
            raise BadSignature()  # signed, but about another call
        digit = (form.get("Digits") or "").strip()[:1]
        if digit not in DIGITS:
            return HttpResponse(twilio.twiml_say(None), content_type=TWIML)
        opted_out = services.recipient_keypress_receive(recipient=recipient, digit=digit)
        return HttpResponse(twilio.twiml_say(OPTED_OUT if opted_out else THANKS), content_type=TWIML)


def call_status_receive(request, form) -> HttpResponse:
    """A call status callback (`CallSid`, `CallStatus`) for a voice campaign's recipient: 404
    for an unknown call, 403 unless signed with its line's key."""
    sid = form.get("CallSid") or ""
    recipient = None
    if sid and len(sid) <= 64 and "\x00" not in sid:
        with found_scope("recipient_by_call_sid", sid) as found:  # the recipient by its provider SID
            recipient = (
                (
                    Recipient.objects.filter(provider_sid=sid, campaign__channel=Campaign.Channel.VOICE)
                    .select_related("campaign__line__provider")
                    .first()
                )
                if found
                else None
            )
    named = recipient is None and 0 < len(sid) <= 64 and "\x00" not in sid and "recipient" in request.query_params
    if named:
        # Called back before the chunk stored the CallSid (a call that failed at once): the
        # recipient the URL names, unless it has another call's SID. Recipient ids are
        # sequential: like the gather, this fails closed (403), so an unsigned caller learns
        # nothing of which exist.
        recipient = _recipient(request.query_params.get("recipient"))
        if recipient is None or recipient.provider_sid not in ("", sid):
            raise BadSignature()
    if recipient is None:
        raise exceptions.NotFound("No call has this CallSid.")
    enter_workspace(recipient.workspace_id)
    verify(request, recipient.campaign.line)
    if named and not recipient.provider_sid:
        # The chunk that placed the call stores the same SID (campaigns/heard.py reads it).
        Recipient.objects.filter(pk=recipient.pk, provider_sid="").update(provider_sid=sid)
    code = (form.get("ErrorCode") or "").strip()
    services.recipient_status_record(
        recipient=recipient,
        provider_status=services.clean_status(form.get("CallStatus")),
        error_code=code if code.isascii() and code.isdigit() else "",
    )
    return HttpResponse(twilio.twiml_message(None), content_type=TWIML)
