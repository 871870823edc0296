"""OpenAPI of the provider webhooks (an inbound message, a delivery status), kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from ..provider_webhooks import TWIML

inbound = extend_schema(
    operation_id="provider_inbound_message",
    summary="Provider webhook: an inbound WhatsApp or SMS message",
    description=(
        "Point a Twilio or SignalWire number's *A message comes in* webhook here (HTTP POST). The `To` number "
        "finds the line (unknown or unverified: 404); the signature is checked with the line's auth token "
        "(SignalWire: its signing key), 403 when missing or wrong, nothing stored. The answer is TwiML with the "
        "brain's reply, or an empty `<Response/>` when the brain stays quiet (takeover, opted out, hourly cap). "
        "`?brain=slug` picks the brain; else the line's, else the workspace's default."
    ),
    auth=[],
    parameters=[OpenApiParameter("brain", str, description="A brain's slug")],
    request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
    responses={
        (200, TWIML): OpenApiResponse(OpenApiTypes.STR, description="TwiML"),
        403: OpenApiResponse(description="Missing or bad signature; nothing stored."),
        404: OpenApiResponse(description="No verified line has this To number."),
    },
    examples=[
        OpenApiExample(
            "Reply",
            value='<?xml version="1.0" encoding="UTF-8"?><Response><Message>We open at 9am.</Message></Response>',
            response_only=True,
            media_type=TWIML,
        )
    ],
    tags=["providers"],
)

status_callback = extend_schema(
    operation_id="provider_status_callback",
    summary="Provider webhook: a message's delivery status",
    description=(
        "LeadHub gives this URL as `StatusCallback` with every message it sends, naming the message "
        "(`?message=<id>`). The message is found by `MessageSid`, or, when the callback comes before the "
        "provider's answer to the send has been stored, by the message the URL names if it has no other "
        "`MessageSid` (unknown: 404); the signature is checked with the token of the line that sent it (403). "
        "`MessageStatus` moves the message forward only (queued → sent → delivered; undelivered and failed are "
        "final); `ErrorCode` 21610 (the recipient unsubscribed) opts the contact out. A campaign's message moves "
        "its recipient too (`campaign.callback.received`, kind `status`). A voice campaign's call status callback "
        "(`CallSid`, `CallStatus`, no `MessageSid`) finds the recipient by `CallSid` instead, or before that is "
        "stored by the recipient its URL names (`?recipient=<id>`)."
    ),
    auth=[],
    request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
    responses={(200, TWIML): OpenApiResponse(OpenApiTypes.STR), 403: None, 404: None},
    tags=["providers"],
)
