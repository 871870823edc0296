"""Calendly's endpoints: the connection (`/api/v1/calendly`, bookings:read / bookings:write)
and Calendly's webhook (`POST /api/calendly/webhook`, authenticated by its signature)."""

from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.api.errors import exception_handler
from leadhub.api.views import ApiView

from ..api_common import READ, WRITE, validated
from ..models import CalendlyConnection
from . import schema, services
from .serializers import ConnectionSerializer, ConnectSerializer


class CalendlyConnectionView(ApiView):
    required_scopes = {"GET": READ, "PUT": WRITE, "DELETE": WRITE}

    @schema.calendly_retrieve
    def get(self, request):
        connection = CalendlyConnection.objects.filter(workspace=request.workspace).first()
        return Response(ConnectionSerializer(connection or CalendlyConnection(duration_minutes=0)).data)

    @schema.calendly_connect
    def put(self, request):
        data = validated(ConnectSerializer, request.data)
        try:
            connection = services.calendly_connect(workspace=request.workspace, **data)
        except services.ConnectionInvalid as exc:
            raise ValidationError({exc.field: [exc.message]}) from None
        return Response(ConnectionSerializer(connection).data)

    @schema.calendly_disconnect
    def delete(self, request):
        services.calendly_disconnect(workspace=request.workspace)
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

    @schema.calendly_webhook
    def post(self, request):
        signature = request.META.get("HTTP_CALENDLY_WEBHOOK_SIGNATURE")
        try:
            result = services.calendly_webhook_receive(body=request.body, signature=signature)
        except services.SignatureInvalid:
            return Response({"ok": False, "error": "The signature is missing, wrong or too old."}, status=403)
        except services.PayloadInvalid as exc:
            return Response({"ok": False, "error": str(exc)}, status=400)
        return Response({"ok": True, "result": result})
