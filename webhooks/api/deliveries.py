"""Deliveries and replays (SPEC §6): the delivery log (/deliveries, and an endpoint's at
/webhooks/{id}/deliveries), a delivery with its attempts, replay one or an endpoint's failed
ones in bulk, and giving up."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import selectors, services
from ..models import Attempt, Delivery
from .common import ATTEMPT, DELIVERY, WebhooksApi, actor, example, field_errors, status_param, valid

__all__ = ["DeliverySerializer", "DeliveryViewSet", "EndpointDeliveries"]


class AttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attempt
        fields = ["attempted_at", "status_code", "response_excerpt", "duration_ms", "error"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.UUIDField(read_only=True)
    event_type = serializers.CharField(source="event.type", read_only=True)
    endpoint_id = serializers.UUIDField(read_only=True)
    replay_of = serializers.UUIDField(source="replay_of_id", read_only=True, allow_null=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "endpoint_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "succeeded_at",
            "replay_of",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempts"]
        read_only_fields = fields


class BulkReplaySerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Replay the endpoint's failed deliveries created at or after this.")


BULK_REPLAYED = inline_serializer(
    "BulkReplayResult",
    {"replayed": serializers.IntegerField(), "delivery_ids": serializers.ListField(child=serializers.UUIDField())},
)


class EndpointDeliveries:
    """The actions of /webhooks/{id} on its deliveries: the log and the bulk replay."""

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="An endpoint's delivery log",
        description="Newest first, optionally by status. Each delivery's attempts: GET /deliveries/{id}.",
        parameters=[
            OpenApiParameter("status", str, enum=[choice for choice, _ in Delivery.Status.choices], required=False)
        ],
        responses={200: DeliverySerializer(many=True)},
        examples=[example("Deliveries", [DELIVERY])],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self._endpoint(pk)
        status_filter = status_param(request)
        deliveries = selectors.deliveries_list(workspace=self.workspace, endpoint=endpoint, status=status_filter)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_replay",
        summary="Replay an endpoint's failed deliveries",
        description=(
            "Every failed delivery of this endpoint created at or after `since` gets a new attempt series of the "
            "same event (the same webhook-id): each event once, none that already has a pending delivery to this "
            "endpoint, at most 10,000. One replay runs per endpoint: while replayed deliveries are still pending, "
            "another is refused with 409 CONFLICT. Needs webhooks:write."
        ),
        request=BulkReplaySerializer,
        responses={202: BULK_REPLAYED},
        examples=[
            OpenApiExample("Since", value={"since": "2026-11-21T00:00:00Z"}, request_only=True),
            example("Replayed", {"replayed": 1, "delivery_ids": [DELIVERY["id"]]}, status_codes=["202"]),
        ],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = valid(BulkReplaySerializer, request.data)
        with field_errors():
            replays = services.deliveries_replay_failed(
                workspace=self.workspace, endpoint=endpoint, since=data["since"], actor=actor(request)
            )
        return Response(
            {"replayed": len(replays), "delivery_ids": [str(replay.id) for replay in replays]},
            status=status.HTTP_202_ACCEPTED,
        )


@extend_schema(tags=["webhooks"])
class DeliveryViewSet(WebhooksApi, ApiViewSet):
    """Deliveries: one per event and endpoint (and per replay), with their attempts."""

    serializer_class = DeliverySerializer
    queryset = Delivery.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        if self._fake():
            return Delivery.objects.none()
        return selectors.deliveries_list(workspace=self.workspace)

    @extend_schema(
        operation_id="deliveries_list",
        summary="List deliveries",
        description="Newest first, by endpoint and status. Needs webhooks:read.",
        parameters=[
            OpenApiParameter("endpoint", OpenApiTypes.UUID, required=False),
            OpenApiParameter("status", str, enum=[choice for choice, _ in Delivery.Status.choices], required=False),
        ],
        examples=[example("Deliveries", [DELIVERY])],
    )
    def list(self, request):
        endpoint = None
        if "endpoint" in request.query_params:
            endpoint = selectors.endpoint_get(workspace=self.workspace, endpoint_id=request.query_params["endpoint"])
        deliveries = selectors.deliveries_list(
            workspace=self.workspace, endpoint=endpoint, status=status_param(request)
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        operation_id="deliveries_retrieve",
        summary="A delivery with its attempts",
        description="Needs webhooks:read.",
        responses={200: DeliveryDetailSerializer},
        examples=[example("Delivery", DELIVERY | {"attempts": [ATTEMPT]})],
    )
    def retrieve(self, request, pk=None):
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=pk)
        return Response(DeliveryDetailSerializer(delivery).data)

    @extend_schema(
        operation_id="deliveries_replay",
        summary="Replay a delivery",
        description=(
            "A new attempt series of the same event to the same endpoint: the same webhook-id, so consumers "
            "deduplicate. Any delivery may be replayed; the original keeps its history. Needs webhooks:write."
        ),
        request=None,
        responses={202: DeliverySerializer},
        examples=[example("Replay", DELIVERY | {"attempt_count": 0}, status_codes=["202"])],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=pk)
        replay = services.delivery_replay(workspace=self.workspace, delivery=delivery, actor=actor(request))
        replay = selectors.delivery_get(workspace=self.workspace, delivery_id=replay.pk)
        return Response(DeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="deliveries_give_up",
        summary="Give up on a delivery",
        description=(
            "Stops a pending delivery's retries and marks it failed at once, so it can be replayed when the "
            "endpoint is fixed (instead of waiting out the retry schedule). A delivery that is not pending is "
            "409 CONFLICT. An attempt already in flight may still succeed, and is then recorded. Needs "
            "webhooks:write."
        ),
        request=None,
        responses={200: DeliverySerializer},
        examples=[
            example(
                "Given up",
                DELIVERY | {"status": "failed", "next_attempt_at": None, "last_error": "Given up by api_key:CRM."},
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="give-up")
    def give_up(self, request, pk=None):
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=pk)
        with field_errors():
            delivery = services.delivery_give_up(workspace=self.workspace, delivery=delivery, actor=actor(request))
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=delivery.pk)
        return Response(DeliverySerializer(delivery).data)
