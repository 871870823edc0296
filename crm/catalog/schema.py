"""OpenAPI for the catalog API: descriptions and examples, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view

from .serializers import (
    RingGroupCreateSerializer,
    RingGroupSerializer,
    SequenceCreateSerializer,
    SequenceSerializer,
    TagCreateSerializer,
    TagSerializer,
)


def _views(name: str, item: dict, create: dict, output, input_, extra: str = ""):
    return extend_schema_view(
        list=extend_schema(
            operation_id=f"{name}_list",
            summary=f"List {name.replace('_', ' ')}",
            description="Newest first, cursor-paginated. Scope `contacts:read`.",
            responses={200: output(many=True)},
            examples=[OpenApiExample(name, value=[item], response_only=True)],
            tags=["organise"],
        ),
        create=extend_schema(
            operation_id=f"{name}_create",
            summary=f"Create one of the {name.replace('_', ' ')}",
            description="Scope `contacts:write`." + extra,
            request=input_,
            responses={201: output, 409: OpenApiResponse(description="It exists already (details.id).")},
            examples=[
                OpenApiExample("Create", value=create, request_only=True),
                OpenApiExample("Created", value=item, response_only=True, status_codes=["201"]),
            ],
            tags=["organise"],
        ),
    )


tags = _views(
    "tags",
    {"id": 4, "name": "vip", "created_at": "2026-11-20T10:00:00Z"},
    {"name": "vip"},
    TagSerializer,
    TagCreateSerializer,
    " A name is unique in the workspace: a repeat answers 409 CONFLICT with the existing tag's id.",
)


ring_groups = _views(
    "ring_groups",
    {
        "id": 2,
        "name": "Sales",
        "members": [{"user_id": 7, "is_available": True}, {"user_id": 9, "is_available": False}],
        "created_at": "2026-11-20T10:00:00Z",
    },
    {"name": "Sales", "members": [{"user_id": 7}, {"user_id": 9, "is_available": False}]},
    RingGroupSerializer,
    RingGroupCreateSerializer,
    " Members are users of the workspace (members or agency staff).",
)


sequences = _views(
    "sequences",
    {
        "id": 5,
        "name": "New lead follow-up",
        "is_active": True,
        "steps": [
            {"position": 1, "delay_minutes": 0, "message": "Thanks for reaching out!"},
            {"position": 2, "delay_minutes": 1440, "message": "Any questions?"},
        ],
        "created_at": "2026-11-20T10:00:00Z",
    },
    {
        "name": "New lead follow-up",
        "steps": [{"message": "Thanks for reaching out!"}, {"delay_minutes": 1440, "message": "Any questions?"}],
    },
    SequenceSerializer,
    SequenceCreateSerializer,
    " Steps are numbered in the order given.",
)
