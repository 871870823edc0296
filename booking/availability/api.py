"""`/api/v1/availability` (SPEC §8): the workspace's availability rules, read (bookings:read) and
replaced (bookings:write); the workspace comes from the credential."""

from rest_framework.response import Response

from leadhub.api.views import ApiView

from ..api_common import READ, WRITE, validated
from ..models import AvailabilityRules
from . import schema, selectors, services
from .serializers import RulesOutSerializer, RulesSerializer


class AvailabilityView(ApiView):
    required_scopes = {"GET": READ, "PUT": WRITE}

    @schema.availability_retrieve
    def get(self, request):
        workspace = request.workspace
        rules = selectors.rules_get(workspace=workspace) or AvailabilityRules(
            workspace=workspace, timezone=workspace.timezone
        )
        return Response(RulesOutSerializer(rules).data)

    @schema.availability_update
    def put(self, request):
        values = validated(RulesSerializer, request.data)
        values.setdefault("timezone", request.workspace.timezone)
        rules = services.rules_set(workspace=request.workspace, values=dict(values))
        return Response(RulesOutSerializer(rules).data)
