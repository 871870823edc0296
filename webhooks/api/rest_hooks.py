"""Zapier's REST hooks: /hooks subscribes a one-event endpoint, /hooks/{id} unsubscribes it."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from leadhub.api.views import ApiView

from .. import selectors, services
from .common import ENDPOINT, WebhooksApi, event_type_field, example, valid


class RestHookSerializer(serializers.Serializer):
    target_url = serializers.CharField(max_length=2000)
    event = event_type_field()


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
            example("Subscribed", {"id": ENDPOINT["id"]}, status_codes=["201"]),
        ],
    )
    def post(self, request):
        data = valid(RestHookSerializer, request.data)
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
