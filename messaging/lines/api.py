"""/api/v1/lines (SPEC §7): the workspace's numbers with their provider credentials. Scopes
contacts:read / contacts:write (lines are part of the CRM's catalog). `auth_token` and
`signing_key` are write-only: never answered back, stored encrypted."""

from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.models import Line
from leadhub.api.permissions import crud_scopes
from leadhub.api.views import ApiViewSet

from ..api_common import check_query, field_errors
from ..brains.selectors import brain_by_slug
from . import schema, selectors, services
from .serializers import LineInSerializer, LinePatchSerializer, LineSerializer


def _brain(workspace, slug):
    if slug is None:
        return None
    brain = brain_by_slug(workspace=workspace, slug=slug)
    if brain is None:
        raise ValidationError({"brain": ["No brain with this slug."]})
    return brain


@schema.lines
class LineViewSet(ApiViewSet):
    serializer_class = LineSerializer
    queryset = Line.objects.none()
    lookup_field = "id"
    filter_backends: list = []
    required_scopes = crud_scopes("contacts:read", "contacts:write")

    def get_queryset(self):
        return selectors.lines_list(workspace=self.request.workspace)

    def list(self, request):
        check_query(request, ("cursor", "limit"))
        page = self.paginate_queryset(selectors.lines_list(workspace=request.workspace))
        return self.get_paginated_response(LineSerializer(page, many=True).data)

    def retrieve(self, request, id=None):
        check_query(request, ())
        return Response(LineSerializer(selectors.line_get(workspace=request.workspace, line_id=id)).data)

    def create(self, request):
        check_query(request, ())
        serializer = LineInSerializer(data=request.data, context={"workspace": request.workspace})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with field_errors():
            line = services.line_connect(
                workspace=request.workspace,
                name=data["name"],
                phone=data["phone_number"],
                credentials=services.Credentials(
                    provider=data["provider"],
                    account_sid=data["account_sid"],
                    auth_token=data["auth_token"],
                    signalwire_space=data["signalwire_space"],
                    signing_key=data["signing_key"],
                ),
                messaging_service_sid=data["messaging_service_sid"],
                brain=_brain(request.workspace, data["brain"]),
                is_default=data["is_default"],
                mps=data["mps"],
            )
        line = selectors.line_get(workspace=request.workspace, line_id=line.pk)
        return Response(LineSerializer(line).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, id=None):
        check_query(request, ())
        line = selectors.line_get(workspace=request.workspace, line_id=id)
        serializer = LinePatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "brain" in data:
            data["brain"] = _brain(request.workspace, data["brain"])
        with field_errors():
            services.line_update(line=line, data=data)
        return Response(LineSerializer(selectors.line_get(workspace=request.workspace, line_id=id)).data)

    def destroy(self, request, id=None):
        check_query(request, ())
        services.line_delete(line=selectors.line_get(workspace=request.workspace, line_id=id))
        return Response(status=status.HTTP_204_NO_CONTENT)
