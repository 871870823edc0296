"""OpenAPI of the Calendly connection's API and of Calendly's webhook, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from .serializers import ConnectionSerializer, ConnectSerializer

_CONNECTION = {
    "connected": True,
    "event_type_uri": "https://api.calendly.com/event_types/AAAAAAAAAAAAAAAA",
    "event_type_name": "30 Minute Meeting",
    "duration_minutes": 30,
    "scheduling_url": "https://calendly.com/acme/30min",
    "has_signing_key": True,
    "updated_at": "2026-11-30T10:00:00Z",
}


calendly_retrieve = extend_schema(
    operation_id="calendly_retrieve",
    summary="The Calendly connection",
    description="`connected: false` until connected. Token and signing key are never shown. Needs bookings:read.",
    responses={200: ConnectionSerializer},
    examples=[OpenApiExample("Connected", value=_CONNECTION, response_only=True)],
    tags=["booking"],
)

calendly_connect = extend_schema(
    operation_id="calendly_connect",
    summary="Connect Calendly",
    description=(
        "A personal access token and the event type to offer; the token must open the event type (checked "
        "with Calendly now: 400 on `token` or `event_type_uri` otherwise). Then the widget's slots come "
        "from Calendly, a booking gets a single-use scheduling link, and Calendly's invitee webhooks, sent "
        "to `/api/calendly/webhook` and signed with `signing_key`, record the bookings. Needs bookings:write."
    ),
    request=ConnectSerializer,
    responses={200: ConnectionSerializer},
    examples=[
        OpenApiExample(
            "Connect",
            value={
                "token": "eyJraWQiOi…",
                "event_type_uri": _CONNECTION["event_type_uri"],
                "signing_key": "a-long-random-key",
            },
            request_only=True,
        ),
        OpenApiExample("Connected", value=_CONNECTION, response_only=True),
    ],
    tags=["booking"],
)

calendly_disconnect = extend_schema(
    operation_id="calendly_disconnect",
    summary="Disconnect Calendly",
    description="Forgets the token and key; bookings made through Calendly stay. Needs bookings:write.",
    responses={204: None},
    tags=["booking"],
)

calendly_webhook = extend_schema(
    operation_id="calendly_webhook",
    summary="Calendly webhook",
    description=(
        "For Calendly only. `Calendly-Webhook-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "
        '"<t>.<body>">` with the signing key given at connection; a missing, wrong or older than 5 minutes '
        "signature is 403 and nothing is recorded. `invitee.created` records a confirmed booking, "
        "`invitee.canceled` cancels it; deduplicated on the invitee's URI (a reschedule is a cancel plus a create)."
    ),
    auth=[],
    request=None,
    responses={
        200: OpenApiResponse(
            inline_serializer(
                "CalendlyWebhookAnswer", {"ok": serializers.BooleanField(), "result": serializers.CharField()}
            )
        ),
        403: OpenApiResponse(description="Not signed by Calendly with the workspace's key."),
    },
    tags=["booking"],
)
