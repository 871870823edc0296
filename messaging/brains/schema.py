"""OpenAPI of the brains and knowledge API: summaries, descriptions and examples, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view

from .serializers import BrainInSerializer, BrainPatchSerializer, KnowledgeInSerializer, KnowledgePatchSerializer

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


brains = extend_schema_view(
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


_DOC = {
    "id": "0d3c8f9a-1b2c-4d5e-8f90-123456789abc",
    "brain": "real-estate",
    "title": "Opening hours",
    "content": "We are open Monday to Friday, 9am to 6pm.",
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-20T10:00:00Z",
}


knowledge = extend_schema_view(
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
