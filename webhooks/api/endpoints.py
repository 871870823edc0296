"""Webhook endpoints (SPEC §6): create, list, change, delete, secret rotation and test pings.
An endpoint's delivery log and bulk replay (deliveries.py) and its figures (figures.py) are
actions of the same routes, /webhooks/{id}/..."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import selectors, services
from ..events import PING
from ..models import Endpoint
from .common import DELIVERY, ENDPOINT, SECRET, WebhooksApi, event_type_field, example, field_errors, valid
from .deliveries import DeliverySerializer, EndpointDeliveries
from .figures import EndpointFigures


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=event_type_field(), help_text="Subscribed event types; empty: all.")

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "data_filter",
            "enabled",
            "disabled_at",
            "disabled_reason",
            "is_rest_hook",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="whsec_ + base64; shown only on create and on rotation.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class EndpointCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="https:// only; the host must resolve to public addresses.")
    event_types = serializers.ListField(child=event_type_field(), required=False, default=list)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    secret = serializers.CharField(
        max_length=120,
        required=False,
        help_text="Your own whsec_ + base64 of 24-64 bytes; generated when left out.",
    )
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(child=event_type_field(), required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="true re-enables a disabled endpoint and resumes.")


class RotateSerializer(serializers.Serializer):
    secret = serializers.CharField(max_length=120, required=False, help_text="Your own new secret; else generated.")


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(EndpointDeliveries, EndpointFigures, WebhooksApi, ApiViewSet):
    """Webhook endpoints (subscriptions) of the workspace."""

    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        if self._fake():
            return Endpoint.objects.none()
        return selectors.endpoints_list(workspace=self.workspace)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        description="Newest first. Needs webhooks:read. Secrets are never listed.",
        examples=[example("Endpoints", [ENDPOINT])],
    )
    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(EndpointSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        summary="Create a webhook endpoint",
        description=(
            "The URL must be https:// and its host must resolve only to public addresses (checked now and at "
            "every delivery). The secret is generated unless you supply one (whsec_ + base64 of 24-64 bytes) and "
            "is shown only in this response. Needs webhooks:write."
        ),
        request=EndpointCreateSerializer,
        responses={201: EndpointWithSecretSerializer},
        examples=[
            OpenApiExample(
                "Create",
                value={"url": "https://hooks.example.com/leadhub", "event_types": ["lead.created", "lead.qualified"]},
                request_only=True,
            ),
            example("Created", ENDPOINT | {"secret": SECRET}, status_codes=["201"]),
        ],
    )
    def create(self, request):
        data = valid(EndpointCreateSerializer, request.data)
        with field_errors():
            new = services.endpoint_create(workspace=self.workspace, **data)
        return Response(_with_secret(new), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Retrieve a webhook endpoint",
        description="Needs webhooks:read.",
        examples=[example("Endpoint", ENDPOINT)],
    )
    def retrieve(self, request, pk=None):
        return Response(EndpointSerializer(self._endpoint(pk)).data)

    @extend_schema(
        operation_id="webhooks_update",
        summary="Change a webhook endpoint",
        description=(
            "Any of url, event_types, description, enabled. enabled=true re-enables a disabled endpoint: its "
            "kept deliveries resume. Needs webhooks:write."
        ),
        request=EndpointUpdateSerializer,
        responses={200: EndpointSerializer},
        examples=[
            OpenApiExample("Re-enable", value={"enabled": True}, request_only=True),
            example("Endpoint", ENDPOINT),
        ],
    )
    def partial_update(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = valid(EndpointUpdateSerializer, request.data)
        with field_errors():
            endpoint = services.endpoint_update(workspace=self.workspace, endpoint=endpoint, **data)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint with its deliveries. Needs webhooks:write.",
        responses={204: None},
    )
    def destroy(self, request, pk=None):
        services.endpoint_delete(workspace=self.workspace, endpoint=self._endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate the signing secret",
        description=(
            "A new secret (generated, or yours). For 24 hours the old one signs too: webhook-signature carries "
            "two v1 signatures, so consumers switch without losing a delivery. Needs webhooks:write."
        ),
        request=RotateSerializer,
        responses={200: EndpointWithSecretSerializer},
        examples=[example("Rotated", ENDPOINT | {"secret": SECRET})],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = valid(RotateSerializer, request.data)
        with field_errors():
            new = services.endpoint_rotate_secret(workspace=self.workspace, endpoint=endpoint, **data)
        return Response(_with_secret(new))

    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description=f"Sends a `{PING}` event to this endpoint through the delivery engine. Needs webhooks:write.",
        request=None,
        responses={202: DeliverySerializer},
        examples=[example("Queued", DELIVERY | {"event_type": PING, "attempt_count": 0}, status_codes=["202"])],
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.endpoint_test(workspace=self.workspace, endpoint=self._endpoint(pk))
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


def _with_secret(new: services.NewEndpoint) -> dict:
    return EndpointSerializer(new.endpoint).data | {"secret": new.secret}
