"""/api/v1/brains (conversations:read / conversations:write) and /api/v1/knowledge
(knowledge:read / knowledge:write), SPEC §7."""

from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from leadhub.api.permissions import crud_scopes
from leadhub.api.views import ApiViewSet

from ..api_common import check_query, field_errors
from ..models import Brain, KnowledgeDocument
from . import schema, selectors, services
from .serializers import (
    BrainInSerializer,
    BrainPatchSerializer,
    BrainSerializer,
    KnowledgeInSerializer,
    KnowledgePatchSerializer,
    KnowledgeSerializer,
)

_LIST_PARAMS = ("cursor", "limit")


@schema.brains
class BrainViewSet(ApiViewSet):
    serializer_class = BrainSerializer
    queryset = Brain.objects.none()
    lookup_field = "id"
    filter_backends: list = []
    required_scopes = crud_scopes("conversations:read", "conversations:write")

    def get_queryset(self):
        return selectors.brains_list(workspace=self.request.workspace)

    def list(self, request):
        check_query(request, (*_LIST_PARAMS, "slug"))
        brains = selectors.brains_list(workspace=request.workspace, slug=request.query_params.get("slug"))
        page = self.paginate_queryset(brains)
        return self.get_paginated_response(BrainSerializer(page, many=True).data)

    def retrieve(self, request, id=None):
        check_query(request, ())
        return Response(BrainSerializer(selectors.brain_get(workspace=request.workspace, brain_id=id)).data)

    def create(self, request):
        check_query(request, ())
        serializer = BrainInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        brain = services.brain_create(
            workspace=request.workspace,
            name=data.pop("name"),
            slug=data.pop("slug", None),
            is_default=data.pop("is_default", False),
            **data,
        )
        return Response(BrainSerializer(brain).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, id=None):
        check_query(request, ())
        brain = selectors.brain_get(workspace=request.workspace, brain_id=id)
        serializer = BrainPatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        with field_errors():
            brain = services.brain_update(brain=brain, data=dict(serializer.validated_data))
        return Response(BrainSerializer(brain).data)

    def destroy(self, request, id=None):
        check_query(request, ())
        brain = selectors.brain_get(workspace=request.workspace, brain_id=id)
        services.brain_delete(brain=brain)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _brain_of(workspace, slug: str | None) -> Brain:
    brain = selectors.brain_by_slug(workspace=workspace, slug=slug)
    if brain is None:
        raise ValidationError(
            {"brain": ["No brain with this slug." if slug else "The workspace has no default brain."]}
        )
    return brain


@schema.knowledge
class KnowledgeViewSet(ApiViewSet):
    serializer_class = KnowledgeSerializer
    queryset = KnowledgeDocument.objects.none()
    lookup_field = "id"
    filter_backends: list = []
    required_scopes = crud_scopes("knowledge:read", "knowledge:write")

    def get_queryset(self):
        return selectors.knowledge_list(workspace=self.request.workspace)

    def list(self, request):
        check_query(request, (*_LIST_PARAMS, "brain"))
        slug = request.query_params.get("brain")
        brain = None
        if slug is not None:
            brain = selectors.brain_by_slug(workspace=request.workspace, slug=slug)
            if brain is None:
                raise ValidationError({"brain": ["No brain with this slug."]})
        page = self.paginate_queryset(selectors.knowledge_list(workspace=request.workspace, brain=brain))
        return self.get_paginated_response(KnowledgeSerializer(page, many=True).data)

    def retrieve(self, request, id=None):
        check_query(request, ())
        return Response(KnowledgeSerializer(selectors.knowledge_get(workspace=request.workspace, document_id=id)).data)

    def create(self, request):
        check_query(request, ())
        serializer = KnowledgeInSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        document = services.knowledge_create(
            workspace=request.workspace,
            brain=_brain_of(request.workspace, data.get("brain")),
            title=data["title"],
            content=data["content"],
        )
        return Response(KnowledgeSerializer(document).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, id=None):
        check_query(request, ())
        document = selectors.knowledge_get(workspace=request.workspace, document_id=id)
        serializer = KnowledgePatchSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "brain" in data:
            data["brain"] = _brain_of(request.workspace, data["brain"])
        document = services.knowledge_update(document=document, data=data)
        return Response(KnowledgeSerializer(document).data)

    def destroy(self, request, id=None):
        check_query(request, ())
        services.knowledge_delete(document=selectors.knowledge_get(workspace=request.workspace, document_id=id))
        return Response(status=status.HTTP_204_NO_CONTENT)
