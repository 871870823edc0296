"""GET /api/v1/workspace: the caller's workspace, plan, credential scopes and rate limit."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from leadhub.api.ratelimit import WINDOW_SECONDS
from leadhub.api.views import ApiView


class PlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    features = serializers.DictField(child=serializers.BooleanField())
    limits = serializers.DictField(child=serializers.IntegerField())


class CredentialSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["api_key", "oauth"])
    id = serializers.CharField(help_text="The API key's id, or the OAuth client_id")
    label = serializers.CharField(help_text="The key's visible prefix, or the OAuth application's name")
    scopes = serializers.ListField(child=serializers.CharField())


class RateLimitSerializer(serializers.Serializer):
    limit = serializers.IntegerField(help_text="Requests allowed per window")
    remaining = serializers.IntegerField(allow_null=True)
    reset = serializers.IntegerField(allow_null=True, help_text="Seconds until the window resets")
    window_seconds = serializers.IntegerField()


class AgencySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class WorkspaceSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.CharField()
    agency = AgencySerializer(allow_null=True)
    country = serializers.CharField()
    timezone = serializers.CharField()
    created_at = serializers.DateTimeField()
    plan = PlanSerializer()
    credential = CredentialSerializer()
    rate_limit = RateLimitSerializer()


_EXAMPLE = {
    "id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "name": "Acme Dental",
    "slug": "acme-dental",
    "agency": {"id": "0b7f0a52-8d7c-4c55-b0a4-0b4d2f6b1f00", "name": "Bright Agency"},
    "country": "US",
    "timezone": "America/Los_Angeles",
    "created_at": "2026-11-01T09:30:00Z",
    "plan": {
        "code": "business",
        "name": "Business",
        "features": {"api_access": True, "webhooks": True, "campaigns": False},
        "limits": {"api_rate_per_minute": 120, "intake_rate_per_minute": 1000},
    },
    "credential": {"type": "api_key", "id": "9e3b…", "label": "lh_Q2x9aB1c", "scopes": ["contacts:read"]},
    "rate_limit": {"limit": 120, "remaining": 119, "reset": 42, "window_seconds": 60},
}


class WorkspaceView(ApiView):
    @extend_schema(
        operation_id="workspace_retrieve",
        summary="The caller's workspace",
        description=(
            "The workspace the credential belongs to, its plan, the credential's scopes and its rate limit. "
            "Needs no scope."
        ),
        responses={200: WorkspaceSerializer},
        examples=[OpenApiExample("Workspace", value=_EXAMPLE, response_only=True)],
        tags=["workspace"],
    )
    def get(self, request):
        workspace = request.workspace
        plan = workspace.plan
        credential = request.auth
        usage = getattr(request._request, "ratelimit", None)
        data = {
            "id": workspace.id,
            "name": workspace.name,
            "slug": workspace.slug,
            "agency": workspace.agency and {"id": workspace.agency.id, "name": workspace.agency.name},
            "country": workspace.country,
            "timezone": workspace.timezone,
            "created_at": workspace.created_at,
            "plan": {
                "code": plan.code,
                "name": plan.name,
                "features": {"api_access": plan.api_access, "webhooks": plan.webhooks, "campaigns": plan.campaigns},
                "limits": {
                    "api_rate_per_minute": workspace.api_rate_per_minute,
                    "intake_rate_per_minute": workspace.intake_rate_per_minute,
                },
            },
            "credential": {
                "type": credential.kind,
                "id": credential.id,
                "label": credential.label,
                "scopes": sorted(credential.scopes),
            },
            "rate_limit": {
                "limit": workspace.api_rate_per_minute,
                "remaining": usage.remaining if usage else None,
                "reset": usage.reset if usage else None,
                "window_seconds": WINDOW_SECONDS,
            },
        }
        # The dict is the response; WorkspaceSerializer documents it (a test holds the two
        # together) without the cost of building nested serializers on every request.
        return Response(data)
