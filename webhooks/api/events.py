"""The outbox as the API shows it: /events, newest first, by type."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import selectors
from ..events import EVENT_TYPES, PING
from ..models import Event
from .common import EVENT, WebhooksApi, example


class EventSerializer(serializers.ModelSerializer):
    workspace_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "workspace_id", "bot_id", "data"]
        read_only_fields = fields


@extend_schema(tags=["webhooks"])
class EventViewSet(WebhooksApi, ApiViewSet):
    """The outbox: every event of the workspace, as it is delivered."""

    serializer_class = EventSerializer
    queryset = Event.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        if self._fake():
            return Event.objects.none()
        return selectors.events_list(workspace=self.workspace)

    @extend_schema(
        operation_id="events_list",
        summary="List events",
        description="Newest first, optionally by type. Needs webhooks:read.",
        parameters=[OpenApiParameter("type", str, enum=[*EVENT_TYPES, PING], required=False)],
        examples=[example("Events", [EVENT])],
    )
    def list(self, request):
        event_type = request.query_params.get("type") or None
        if event_type is not None and event_type not in (*EVENT_TYPES, PING):
            raise ValidationError({"type": [f"Unknown event type {event_type!r}."]})
        page = self.paginate_queryset(selectors.events_list(workspace=self.workspace, type=event_type))
        return self.get_paginated_response(EventSerializer(page, many=True).data)

    @extend_schema(
        operation_id="events_retrieve",
        summary="Retrieve an event",
        description="The event as its deliveries' body carries it. Needs webhooks:read.",
        examples=[example("Event", EVENT)],
    )
    def retrieve(self, request, pk=None):
        return Response(EventSerializer(selectors.event_get(workspace=self.workspace, event_id=pk)).data)
