"""An endpoint's figures, GET /webhooks/{id}/figures: what an admin looks at before replaying
(the selector, webhooks.selectors.endpoint_figures, also feeds the Django admin)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from .. import selectors
from .common import example


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


class EndpointFigures:
    """The figures action of /webhooks/{id}."""

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
            example(
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
