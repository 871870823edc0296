"""Test-only endpoints that exercise the API plumbing the way real resources will."""

import time

from django.db import connection
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts.models import ApiKey
from accounts.selectors import api_key_get
from accounts.services import api_key_create
from leadhub.api.views import ApiView, ApiViewSet
from leadhub.postgresql.rls import tenant_tables
from leadhub.urls import handler400, handler403, handler404, handler500  # noqa: F401  (same error pages)
from leadhub.urls import urlpatterns as project_urlpatterns

executions = {"count": 0}


class KeyInSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    delay = serializers.FloatField(required=False, min_value=0, max_value=5)
    explode = serializers.BooleanField(required=False)


class ScopedView(ApiView):
    required_scopes = {"GET": ["contacts:read"], "POST": ["contacts:write"]}

    def get(self, request):
        return Response({"ok": True})

    @extend_schema(request=KeyInSerializer)  # what it accepts: strict input refuses anything else
    def post(self, request):
        """Creates a key (a real write) so tests can count executions in the database."""
        data = KeyInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        executions["count"] += 1
        if data.validated_data.get("delay"):
            time.sleep(data.validated_data["delay"])
        if data.validated_data.get("explode"):
            raise RuntimeError("boom: this must never reach the client")
        created = api_key_create(workspace=request.workspace, name=data.validated_data["name"], scopes=["stats:read"])
        # It answers the new key's secret, as creating a key or a webhook endpoint does.
        return Response(
            {"id": str(created.api_key.id), "name": created.api_key.name, "secret": created.secret}, status=201
        )


class KeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at"]


class KeyViewSet(ApiViewSet):
    serializer_class = KeySerializer

    def get_queryset(self):
        return ApiKey.objects.filter(workspace=self.request.workspace)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, pk=None):
        return Response(self.get_serializer(api_key_get(workspace=request.workspace, api_key_id=pk)).data)


class TenantRowsView(ApiView):
    """Raw SQL with no workspace filter, inside the request: which workspaces' rows each tenant
    table shows (tests/leadhub/test_tenancy.py; row-level security decides, nothing else)."""

    required_scopes = {"GET": ["contacts:read"]}

    def get(self, request):
        qn = connection.ops.quote_name
        seen = {}
        with connection.cursor() as cursor:
            for table in tenant_tables():
                cursor.execute(f"SELECT DISTINCT workspace_id::text FROM {qn(table)}")
                seen[table] = sorted(row[0] for row in cursor.fetchall())
        return Response(seen)


urlpatterns = [
    path("tests/tenant-rows", TenantRowsView.as_view()),
    path("api/v1/test/scoped", ScopedView.as_view()),
    path("api/v1/test/keys", KeyViewSet.as_view({"get": "list"})),
    path("api/v1/test/keys/<str:pk>", KeyViewSet.as_view({"get": "retrieve"})),
    *project_urlpatterns,
]
