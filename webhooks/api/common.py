"""What every webhooks view shares: scopes, the plan gate, the workspace, the services'
refusals as the API's errors, request helpers and the documentation's examples."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission

from leadhub.api.authentication import credential_of

from .. import selectors, services
from ..events import EVENT_TYPES
from ..models import Delivery, Endpoint

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
def field_errors():
    """A service's refusals as the API's errors: field errors are 400 VALIDATION_ERROR, the
    plan's endpoint limit 403 FORBIDDEN, a replay still running or a delivery that is not
    pending 409 CONFLICT."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None
    except services.EndpointLimitReached as exc:
        raise PermissionDenied(str(exc)) from None


def event_type_field(**kwargs) -> serializers.ChoiceField:
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

    def _endpoint(self, pk) -> Endpoint:
        return selectors.endpoint_get(workspace=self.workspace, endpoint_id=pk)


def valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def status_param(request) -> str | None:
    value = request.query_params.get("status") or None
    if value is not None and value not in Delivery.Status.values:
        raise ValidationError({"status": [f"One of {', '.join(Delivery.Status.values)}."]})
    return value


def actor(request) -> str:
    credential = credential_of(request)
    return f"{credential.kind}:{credential.label}" if credential else ""


# --- Examples ----------------------------------------------------------------------------------

ENDPOINT = {
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
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DELIVERY = {
    "id": "9b1f0c2e-1d3a-4c6b-8e7f-5a4b3c2d1e0f",
    "event_id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "event_type": "lead.qualified",
    "endpoint_id": ENDPOINT["id"],
    "status": "pending",
    "attempt_count": 1,
    "next_attempt_at": "2026-11-22T09:30:31Z",
    "last_status_code": 503,
    "last_error": "",
    "succeeded_at": None,
    "replay_of": None,
    "created_at": "2026-11-22T09:30:00Z",
}
ATTEMPT = {
    "attempted_at": "2026-11-22T09:30:01Z",
    "status_code": 503,
    "response_excerpt": "Service Unavailable",
    "duration_ms": 41,
    "error": "",
}
EVENT = {
    "id": "0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a",
    "type": "lead.qualified",
    "created_at": "2026-11-22T09:30:00Z",
    "workspace_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "bot_id": None,
    "data": {"id": "c0ffee00-0000-4000-8000-000000000001", "name": "Ada Lovelace", "phone": "+18187405020"},
}


def example(name: str, value, **kwargs) -> OpenApiExample:
    return OpenApiExample(name, value=value, response_only=True, **kwargs)
