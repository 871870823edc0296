"""Calendly's endpoints: the connection (`/api/v1/calendly`, bookings:read / bookings:write)
and Calendly's webhook (`POST /api/calendly/webhook`, authenticated by its signature)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.api.errors import exception_handler
from leadhub.api.views import ApiView

from ..bookings.api import READ, WRITE
from ..bookings.serializers import StorableCharField, validated
from ..models import CalendlyConnection
from . import services as calendly_services


class ConnectSerializer(serializers.Serializer):
    token = StorableCharField(max_length=2000, write_only=True, help_text="A Calendly personal access token")
    event_type_uri = StorableCharField(max_length=500, help_text="https://api.calendly.com/event_types/…")
    signing_key = StorableCharField(
        max_length=500,
        required=False,
        write_only=True,
        help_text="The signing key of your Calendly webhook subscription; left out, the stored one is kept",
    )

    def validate_event_type_uri(self, value: str) -> str:
        if not value.startswith("https://") or "/event_types/" not in value:
            raise serializers.ValidationError("An event type URI: https://api.calendly.com/event_types/<uuid>.")
        return value


class ConnectionSerializer(serializers.ModelSerializer):
    connected = serializers.SerializerMethodField()
    has_signing_key = serializers.SerializerMethodField()

    class Meta:
        model = CalendlyConnection
        fields = [
            "connected",
            "event_type_uri",
            "event_type_name",
            "duration_minutes",
            "scheduling_url",
            "has_signing_key",
            "updated_at",
        ]
        read_only_fields = fields

    def get_connected(self, connection) -> bool:
        return connection.pk is not None

    def get_has_signing_key(self, connection) -> bool:
        return bool(connection.signing_key)


_CONNECTION = {
    "connected": True,
    "event_type_uri": "https://api.calendly.com/event_types/AAAAAAAAAAAAAAAA",
    "event_type_name": "30 Minute Meeting",
    "duration_minutes": 30,
    "scheduling_url": "https://calendly.com/acme/30min",
    "has_signing_key": True,
    "updated_at": "2026-11-30T10:00:00Z",
}


class CalendlyConnectionView(ApiView):
    required_scopes = {"GET": READ, "PUT": WRITE, "DELETE": WRITE}

    @extend_schema(
        operation_id="calendly_retrieve",
        summary="The Calendly connection",
        description="`connected: false` until connected. Token and signing key are never shown. Needs bookings:read.",
        responses={200: ConnectionSerializer},
        examples=[OpenApiExample("Connected", value=_CONNECTION, response_only=True)],
        tags=["booking"],
    )
    def get(self, request):
        connection = CalendlyConnection.objects.filter(workspace=request.workspace).first()
        return Response(ConnectionSerializer(connection or CalendlyConnection(duration_minutes=0)).data)

    @extend_schema(
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
    def put(self, request):
        data = validated(ConnectSerializer, request.data)
        try:
            connection = calendly_services.calendly_connect(workspace=request.workspace, **data)
        except calendly_services.ConnectionInvalid as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(
        operation_id="calendly_disconnect",
        summary="Disconnect Calendly",
        description="Forgets the token and key; bookings made through Calendly stay. Needs bookings:write.",
        responses={204: None},
        tags=["booking"],
    )
    def delete(self, request):
        calendly_services.calendly_disconnect(workspace=request.workspace)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _plain_exception_handler(exc, context):
    response = exception_handler(exc, context)
    response.data = {"ok": False, "error": response.data["error"]["message"]}
    return response


class CalendlyWebhookView(APIView):
    """Calendly's `invitee.created` and `invitee.canceled`. Authenticated by the signature
    alone (checked with the connection's signing key; timestamps older than 5 minutes
    refused), not limited per IP (Calendly posts from a few addresses), unknown fields
    accepted. A redelivered invitee is recorded once and answered 200 all the same."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes: list = []  # the raw body is what the signature covers

    def get_exception_handler(self):
        return _plain_exception_handler

    @extend_schema(
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
    def post(self, request):
        signature = request.META.get("HTTP_CALENDLY_WEBHOOK_SIGNATURE")
        try:
            result = calendly_services.calendly_webhook_receive(body=request.body, signature=signature)
        except calendly_services.SignatureInvalid:
            return Response({"ok": False, "error": "The signature is missing, wrong or too old."}, status=403)
        except calendly_services.PayloadInvalid as exc:
            return Response({"ok": False, "error": str(exc)}, status=400)
        return Response({"ok": True, "result": result})
