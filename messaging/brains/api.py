"""/api/v1/brains (conversations:read / conversations:write) and /api/v1/knowledge
(knowledge:read / knowledge:write), SPEC §7."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from leadhub.api.permissions import crud_scopes
from leadhub.api.views import ApiViewSet

from ..api_common import StrictSerializer, TextField, check_query, field_errors
from ..models import Brain, KnowledgeDocument
from . import selectors, services

_LIST_PARAMS = ("cursor", "limit")


class BrainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brain
        fields = [
            "id",
            "slug",
            "name",
            "bot_id",
            "system_prompt",
            "model",
            "allowed_origins",
            "booking_url",
            "help_text",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


def _model_field(name: str, **kwargs):
    field = Brain._meta.get_field(name)
    return TextField(max_length=field.max_length, **kwargs)


class OriginsField(serializers.ListField):
    child = serializers.URLField(max_length=300)

    def __init__(self, **kwargs):
        super().__init__(max_length=50, **kwargs)


class BrainInSerializer(StrictSerializer):
    slug = serializers.SlugField(max_length=80, required=False)
    name = _model_field("name")
    system_prompt = _model_field("system_prompt", required=False, allow_blank=True)
    model = _model_field("model", required=False, allow_blank=True)
    allowed_origins = OriginsField(required=False)
    booking_url = serializers.URLField(max_length=500, required=False, allow_blank=True)
    help_text = _model_field("help_text", required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False)


class BrainPatchSerializer(BrainInSerializer):
    slug = serializers.SlugField(max_length=80, required=False)
    name = _model_field("name", required=False)


class KnowledgeSerializer(serializers.ModelSerializer):
    brain = serializers.CharField(source="brain.slug", read_only=True)

    class Meta:
        model = KnowledgeDocument
        fields = ["id", "brain", "title", "content", "created_at", "updated_at"]
        read_only_fields = fields


class KnowledgeInSerializer(StrictSerializer):
    brain = serializers.SlugField(max_length=80, required=False, help_text="A brain's slug; default brain if left out")
    title = TextField(max_length=200)
    content = TextField(max_length=KnowledgeDocument._meta.get_field("content").max_length)


class KnowledgePatchSerializer(KnowledgeInSerializer):
    title = TextField(max_length=200, required=False)
    content = TextField(max_length=KnowledgeDocument._meta.get_field("content").max_length, required=False)


_BRAIN = {
    "id": 3,
    "slug": "real-estate",
    "name": "Realty assistant",
    "bot_id": "bot_Q2x9aB1cD3eF4gH5",
    "system_prompt": "You are the assistant of Sunny Homes. Be brief and kind.",
    "model": "",
    "allowed_origins": ["https://sunnyhomes.example"],
    "booking_url": "https://sunnyhomes.example/book",
    "help_text": "",
    "is_default": False,
    "created_at": "2026-11-20T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List brains",
        description="Newest first; `?slug=` finds one by slug. Scope `conversations:read`.",
        parameters=[OpenApiParameter("slug", str, description="Exact slug")],
        examples=[OpenApiExample("Brains", value=[_BRAIN], response_only=True)],
        tags=["brains"],
    ),
    retrieve=extend_schema(summary="Retrieve a brain", description="Scope `conversations:read`.", tags=["brains"]),
    create=extend_schema(
        summary="Create a brain",
        description=(
            "Scope `conversations:write`. `is_default: true` makes it the workspace's default brain (the previous "
            "default stops being it). A slug in use answers 409 CONFLICT with the existing brain's id."
        ),
        request=BrainInSerializer,
        examples=[
            OpenApiExample(
                "Create",
                value={"slug": "real-estate", "name": "Realty assistant", "system_prompt": "Be brief and kind."},
                request_only=True,
            )
        ],
        tags=["brains"],
    ),
    partial_update=extend_schema(
        summary="Change a brain",
        description="Scope `conversations:write`. `is_default: false` on the default is a 400: make another one it.",
        request=BrainPatchSerializer,
        tags=["brains"],
    ),
    destroy=extend_schema(
        summary="Delete a brain",
        description="Scope `conversations:write`. The default brain cannot be deleted (409 CONFLICT).",
        tags=["brains"],
    ),
)
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


_DOC = {
    "id": "0d3c8f9a-1b2c-4d5e-8f90-123456789abc",
    "brain": "real-estate",
    "title": "Opening hours",
    "content": "We are open Monday to Friday, 9am to 6pm.",
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List knowledge documents",
        description="Newest first; `?brain=slug` filters. Scope `knowledge:read`.",
        parameters=[OpenApiParameter("brain", str, description="A brain's slug")],
        examples=[OpenApiExample("Documents", value=[_DOC], response_only=True)],
        tags=["knowledge"],
    ),
    retrieve=extend_schema(summary="Retrieve a document", description="Scope `knowledge:read`.", tags=["knowledge"]),
    create=extend_schema(
        summary="Add a knowledge document",
        description=(
            "Scope `knowledge:write`. The brain answers from the documents relevant to each message. `brain` is a "
            "slug; left out, the default brain."
        ),
        request=KnowledgeInSerializer,
        examples=[
            OpenApiExample("Create", value={"title": _DOC["title"], "content": _DOC["content"]}, request_only=True)
        ],
        tags=["knowledge"],
    ),
    partial_update=extend_schema(
        summary="Change a document",
        description="Scope `knowledge:write`.",
        request=KnowledgePatchSerializer,
        tags=["knowledge"],
    ),
    destroy=extend_schema(summary="Delete a document", description="Scope `knowledge:write`.", tags=["knowledge"]),
)
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
