"""What organises contacts, over the native API: /api/v1/tags, /ring-groups and /sequences,
each a list and a create (scopes contacts:read / contacts:write); /api/v1/lines is messaging's
(its credentials are verified there). A name that exists already is the services'
AlreadyExists: 409 CONFLICT with the existing id."""

from rest_framework import serializers, status
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from ..models import RingGroup, Sequence, Tag
from . import schema, selectors, services
from .serializers import (
    RingGroupCreateSerializer,
    RingGroupSerializer,
    SequenceCreateSerializer,
    SequenceSerializer,
    TagCreateSerializer,
    TagSerializer,
)

READ = ["contacts:read"]
WRITE = ["contacts:write"]


class _CatalogViewSet(ApiViewSet):
    required_scopes = {"GET": READ, "POST": WRITE}
    filter_backends: list = []
    output_serializer: type[serializers.Serializer]
    input_serializer: type[serializers.Serializer]

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.output_serializer(page, many=True).data)

    def create(self, request):
        serializer = self.input_serializer(data=request.data, context={"workspace": request.workspace})
        serializer.is_valid(raise_exception=True)
        created = self.perform(request.workspace, serializer.validated_data)
        created = self.get_queryset().get(pk=created.pk)  # with what its representation reads
        return Response(self.output_serializer(created).data, status=status.HTTP_201_CREATED)

    def perform(self, workspace, data):
        raise NotImplementedError


@schema.tags
class TagViewSet(_CatalogViewSet):
    queryset = Tag.objects.none()
    serializer_class = TagSerializer
    output_serializer = TagSerializer
    input_serializer = TagCreateSerializer

    def get_queryset(self):
        return selectors.tags_list(workspace=self.request.workspace)

    def perform(self, workspace, data):
        return services.tag_create(workspace=workspace, name=data["name"])


@schema.ring_groups
class RingGroupViewSet(_CatalogViewSet):
    queryset = RingGroup.objects.none()
    serializer_class = RingGroupSerializer
    output_serializer = RingGroupSerializer
    input_serializer = RingGroupCreateSerializer

    def get_queryset(self):
        return selectors.ring_groups_list(workspace=self.request.workspace)

    def perform(self, workspace, data):
        members = [(member["user_id"], member["is_available"]) for member in data.get("members", [])]
        return services.ring_group_create(workspace=workspace, name=data["name"], members=members)


@schema.sequences
class SequenceViewSet(_CatalogViewSet):
    queryset = Sequence.objects.none()
    serializer_class = SequenceSerializer
    output_serializer = SequenceSerializer
    input_serializer = SequenceCreateSerializer

    def get_queryset(self):
        return selectors.sequences_list(workspace=self.request.workspace)

    def perform(self, workspace, data):
        return services.sequence_create(
            workspace=workspace, name=data["name"], is_active=data["is_active"], steps=data.get("steps", [])
        )
