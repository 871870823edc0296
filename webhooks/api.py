"""The webhooks API (SPEC §6): endpoints, secret rotation, test pings, the delivery log,
replays, events, and Zapier's REST hooks. Scopes webhooks:read and webhooks:write; the plan
must include webhooks."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from leadhub.api.authentication import credential_of
from leadhub.api.errors import Conflict
from leadhub.api.views import ApiView, ApiViewSet

from . import selectors, services
from .events import EVENT_TYPES, PING
from .models import Attempt, Delivery, Endpoint, Event

PLAN_WITHOUT_WEBHOOKS = "Webhooks are not available on your current plan."
READ = {"GET": ["webhooks:read"]}
WRITE = {method: ["webhooks:write"] for method in ("POST", "PATCH", "PUT", "DELETE")}


class PlanAllowsWebhooks(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None and not credential.workspace.plan.webhooks:
            raise PermissionDenied(PLAN_WITHOUT_WEBHOOKS)
        return True


@contextmanager
def _field_errors():
    """A service's refusals as the API's errors: field errors are 400 VALIDATION_ERROR, the
    plan's endpoint limit 403 FORBIDDEN, a replay still running or a delivery that is not
    pending 409 CONFLICT."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None
    except services.EndpointLimitReached as exc:
        raise PermissionDenied(str(exc)) from None
    except (services.ReplayRunning, services.DeliveryNotPending) as exc:
        raise Conflict(str(exc)) from None


def _event_type_field(**kwargs) -> serializers.ChoiceField:
    # A wrong type is answered with the list of valid ones (leadhub.api.strict adds them).
    return serializers.ChoiceField(choices=EVENT_TYPES, **kwargs)


class WebhooksApi:
    """What every webhooks view shares: scopes, the plan gate, the workspace."""

    required_scopes = READ | WRITE

    def get_permissions(self):
        return [*super().get_permissions(), PlanAllowsWebhooks()]

    @property
    def workspace(self):
        return self.request.workspace

    def _fake(self) -> bool:
        return getattr(self, "swagger_fake_view", False)


# --- Serializers -------------------------------------------------------------------------------


class EndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=_event_type_field(), help_text="Subscribed event types; empty: all.")

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
    event_types = serializers.ListField(child=_event_type_field(), required=False, default=list)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    secret = serializers.CharField(
        max_length=120,
        required=False,
        help_text="Your own whsec_ + base64 of 24-64 bytes; generated when left out.",
    )
    enabled = serializers.BooleanField(required=False, default=True)


class EndpointUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = serializers.ListField(child=_event_type_field(), required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="true re-enables a disabled endpoint and resumes.")


class RotateSerializer(serializers.Serializer):
    secret = serializers.CharField(max_length=120, required=False, help_text="Your own new secret; else generated.")


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


class EventSerializer(serializers.ModelSerializer):
    workspace_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "workspace_id", "bot_id", "data"]
        read_only_fields = fields


class BulkReplaySerializer(serializers.Serializer):
    since = serializers.DateTimeField(help_text="Replay the endpoint's failed deliveries created at or after this.")


class EndpointFiguresSerializer(serializers.Serializer):
    window_hours = serializers.IntegerField(help_text="The attempts counted: those of the last 24 hours.")
    attempts = serializers.IntegerField(help_text="Attempts in the window (at most the latest 1,000).")
    success_rate = serializers.FloatField(allow_null=True, help_text="Share of those attempts answered 2xx.")
    latency_p50_ms = serializers.IntegerField(allow_null=True)
    latency_p95_ms = serializers.IntegerField(allow_null=True)
    in_flight = serializers.IntegerField(help_text="Attempts being made right now.")
    pending = serializers.IntegerField(help_text="Deliveries not yet acknowledged (due or waiting for a retry).")
    failed = serializers.IntegerField(help_text="Deliveries that ran out of retries or were given up: replayable.")
    next_retry_at = serializers.DateTimeField(allow_null=True)
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    backoff_until = serializers.DateTimeField(
        allow_null=True, help_text="Set while the endpoint is backed off for timing out: no attempts until then."
    )


BULK_REPLAYED = inline_serializer(
    "BulkReplayResult",
    {"replayed": serializers.IntegerField(), "delivery_ids": serializers.ListField(child=serializers.UUIDField())},
)

# --- Examples ----------------------------------------------------------------------------------

_ENDPOINT = {
    "id": "3d5c7a64-8a43-4b0e-9c6e-0f3f7c2a1b10",
    "url": "https://hooks.example.com/leadhub",
    "description": "CRM sync",
    "event_types": ["lead.created", "lead.qualified"],
    "enabled": True,
    "disabled_at": None,
    "disabled_reason": "",
    "is_rest_hook": False,
    "created_at": "2026-11-22T09:30:00Z",
    "updated_at": "2026-11-22T09:30:00Z",
}
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
_DELIVERY = {
    "id": "9b1f0c2e-1d3a-4c6b-8e7f-5a4b3c2d1e0f",
    "event_id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "event_type": "lead.qualified",
    "endpoint_id": _ENDPOINT["id"],
    "status": "pending",
    "attempt_count": 1,
    "next_attempt_at": "2026-11-22T09:30:31Z",
    "last_status_code": 503,
    "last_error": "",
    "succeeded_at": None,
    "replay_of": None,
    "created_at": "2026-11-22T09:30:00Z",
}
_ATTEMPT = {
    "attempted_at": "2026-11-22T09:30:01Z",
    "status_code": 503,
    "response_excerpt": "Service Unavailable",
    "duration_ms": 41,
    "error": "",
}
_EVENT = {
    "id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "type": "lead.qualified",
    "created_at": "2026-11-22T09:30:00Z",
    "workspace_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "bot_id": None,
    "data": {"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Ada Lovelace", "phone": "+18187405020"},
}


def _example(name: str, value, **kwargs) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, **kwargs)


# --- Views -------------------------------------------------------------------------------------


@extend_schema(tags=["webhooks"])
class WebhookEndpointViewSet(WebhooksApi, ApiViewSet):
    """Webhook endpoints (subscriptions) of the workspace."""

    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.none()
    lookup_value_converter = "uuid"

    def get_queryset(self):
        if self._fake():
            return Endpoint.objects.none()
        return selectors.endpoints_list(workspace=self.workspace)

    def _endpoint(self, pk) -> Endpoint:
        return selectors.endpoint_get(workspace=self.workspace, endpoint_id=pk)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        description="Newest first. Needs webhooks:read. Secrets are never listed.",
        examples=[_example("Endpoints", [_ENDPOINT])],
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
            _example("Created", _ENDPOINT | {"secret": _SECRET}, status_codes=["201"]),
        ],
    )
    def create(self, request):
        data = _valid(EndpointCreateSerializer, request.data)
        with _field_errors():
            new = services.endpoint_create(workspace=self.workspace, **data)
        return Response(_with_secret(new), status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Retrieve a webhook endpoint",
        description="Needs webhooks:read.",
        examples=[_example("Endpoint", _ENDPOINT)],
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
            _example("Endpoint", _ENDPOINT),
        ],
    )
    def partial_update(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = _valid(EndpointUpdateSerializer, request.data)
        with _field_errors():
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
        examples=[_example("Rotated", _ENDPOINT | {"secret": _SECRET})],
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = _valid(RotateSerializer, request.data)
        with _field_errors():
            new = services.endpoint_rotate_secret(workspace=self.workspace, endpoint=endpoint, **data)
        return Response(_with_secret(new))

    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description=f"Sends a `{PING}` event to this endpoint through the delivery engine. Needs webhooks:write.",
        request=None,
        responses={202: DeliverySerializer},
        examples=[_example("Queued", _DELIVERY | {"event_type": PING, "attempt_count": 0}, status_codes=["202"])],
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.endpoint_test(workspace=self.workspace, endpoint=self._endpoint(pk))
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=delivery.pk)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        operation_id="webhooks_deliveries",
        summary="An endpoint's delivery log",
        description="Newest first, optionally by status. Each delivery's attempts: GET /deliveries/{id}.",
        parameters=[
            OpenApiParameter("status", str, enum=[choice for choice, _ in Delivery.Status.choices], required=False)
        ],
        responses={200: DeliverySerializer(many=True)},
        examples=[_example("Deliveries", [_DELIVERY])],
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        endpoint = self._endpoint(pk)
        status_filter = _status_param(request)
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
            _example("Replayed", {"replayed": 1, "delivery_ids": [_DELIVERY["id"]]}, status_codes=["202"]),
        ],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        endpoint = self._endpoint(pk)
        data = _valid(BulkReplaySerializer, request.data)
        with _field_errors():
            replays = services.deliveries_replay_failed(
                workspace=self.workspace, endpoint=endpoint, since=data["since"], actor=_actor(request)
            )
        return Response(
            {"replayed": len(replays), "delivery_ids": [str(replay.id) for replay in replays]},
            status=status.HTTP_202_ACCEPTED,
        )

    @extend_schema(
        operation_id="webhooks_figures",
        summary="An endpoint's figures",
        description=(
            "Success rate and p50/p95 latency of the last 24 hours' attempts, attempts in flight, pending and "
            "failed deliveries, the next retry, and why the endpoint is disabled or backed off: what to look at "
            "before replaying. Needs webhooks:read."
        ),
        responses={200: EndpointFiguresSerializer},
        examples=[
            _example(
                "Figures",
                {
                    "window_hours": 24,
                    "attempts": 1200,
                    "success_rate": 0.9825,
                    "latency_p50_ms": 84,
                    "latency_p95_ms": 412,
                    "in_flight": 3,
                    "pending": 21,
                    "failed": 4,
                    "next_retry_at": "2026-11-22T09:35:00Z",
                    "enabled": True,
                    "disabled_reason": "",
                    "failing_since": None,
                    "last_success_at": "2026-11-22T09:30:00Z",
                    "backoff_until": None,
                },
            )
        ],
    )
    @action(detail=True, methods=["get"])
    def figures(self, request, pk=None):
        figures = selectors.endpoint_figures(workspace=self.workspace, endpoint=self._endpoint(pk))
        return Response(EndpointFiguresSerializer(figures).data)


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
        examples=[_example("Deliveries", [_DELIVERY])],
    )
    def list(self, request):
        endpoint = None
        if "endpoint" in request.query_params:
            endpoint = selectors.endpoint_get(workspace=self.workspace, endpoint_id=request.query_params["endpoint"])
        deliveries = selectors.deliveries_list(
            workspace=self.workspace, endpoint=endpoint, status=_status_param(request)
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        operation_id="deliveries_retrieve",
        summary="A delivery with its attempts",
        description="Needs webhooks:read.",
        responses={200: DeliveryDetailSerializer},
        examples=[_example("Delivery", _DELIVERY | {"attempts": [_ATTEMPT]})],
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
        examples=[_example("Replay", _DELIVERY | {"attempt_count": 0}, status_codes=["202"])],
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=pk)
        replay = services.delivery_replay(workspace=self.workspace, delivery=delivery, actor=_actor(request))
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
            _example(
                "Given up",
                _DELIVERY | {"status": "failed", "next_attempt_at": None, "last_error": "Given up by api_key:CRM."},
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="give-up")
    def give_up(self, request, pk=None):
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=pk)
        with _field_errors():
            delivery = services.delivery_give_up(workspace=self.workspace, delivery=delivery, actor=_actor(request))
        delivery = selectors.delivery_get(workspace=self.workspace, delivery_id=delivery.pk)
        return Response(DeliverySerializer(delivery).data)


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
        examples=[_example("Events", [_EVENT])],
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
        examples=[_example("Event", _EVENT)],
    )
    def retrieve(self, request, pk=None):
        return Response(EventSerializer(selectors.event_get(workspace=self.workspace, event_id=pk)).data)


class RestHookSerializer(serializers.Serializer):
    target_url = serializers.CharField(max_length=2000)
    event = _event_type_field()


HOOK_CREATED = inline_serializer("RestHookCreated", {"id": serializers.UUIDField()})


@extend_schema(tags=["zapier"])
class RestHooksView(WebhooksApi, ApiView):
    @extend_schema(
        operation_id="hooks_subscribe",
        summary="Subscribe a REST hook (Zapier)",
        description=(
            "A webhook endpoint with one event type, signed like every webhook. A 410 answer from the target "
            "unsubscribes it. Needs webhooks:write."
        ),
        request=RestHookSerializer,
        responses={201: HOOK_CREATED},
        examples=[
            OpenApiExample(
                "Subscribe",
                value={"target_url": "https://hooks.zapier.com/hooks/standard/1/abc/", "event": "lead.created"},
                request_only=True,
            ),
            _example("Subscribed", {"id": _ENDPOINT["id"]}, status_codes=["201"]),
        ],
    )
    def post(self, request):
        data = _valid(RestHookSerializer, request.data)
        try:
            new = services.endpoint_create(
                workspace=request.workspace,
                url=data["target_url"],
                event_types=[data["event"]],
                description="Zapier REST hook",
                is_rest_hook=True,
            )
        except DjangoValidationError as exc:  # the URL is target_url here
            raise ValidationError(
                {"target_url" if field == "url" else field: errors for field, errors in exc.message_dict.items()}
            ) from None
        except services.EndpointLimitReached as exc:
            raise PermissionDenied(str(exc)) from None
        return Response({"id": str(new.endpoint.id)}, status=status.HTTP_201_CREATED)


@extend_schema(tags=["zapier"])
class RestHookView(WebhooksApi, ApiView):
    @extend_schema(
        operation_id="hooks_unsubscribe",
        summary="Unsubscribe a REST hook (Zapier)",
        description="Needs webhooks:write.",
        responses={204: None},
    )
    def delete(self, request, hook_id):
        hook = selectors.rest_hook_get(workspace=request.workspace, hook_id=hook_id)
        services.endpoint_delete(workspace=request.workspace, endpoint=hook)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Helpers -----------------------------------------------------------------------------------


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _with_secret(new: services.NewEndpoint) -> dict:
    return EndpointSerializer(new.endpoint).data | {"secret": new.secret}


def _status_param(request) -> str | None:
    value = request.query_params.get("status") or None
    if value is not None and value not in Delivery.Status.values:
        raise ValidationError({"status": [f"One of {', '.join(Delivery.Status.values)}."]})
    return value


def _actor(request) -> str:
    credential = credential_of(request)
    return f"{credential.kind}:{credential.label}" if credential else ""
