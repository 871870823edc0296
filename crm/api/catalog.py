"""What organises contacts, over the native API: /api/v1/tags, /ring-groups, /sequences and
/lines, each a list and a create (scopes contacts:read / contacts:write)."""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import selectors, services
from ..fields import PhoneField
from ..models import Line, RingGroup, RingGroupMember, Sequence, SequenceStep, Tag
from .common import WorkspacePkField, conflict

READ = ["contacts:read"]
WRITE = ["contacts:write"]


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "created_at"]
        read_only_fields = fields


class TagCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Line
        fields = ["id", "name", "phone_number", "created_at"]
        read_only_fields = fields


class LineCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    phone_number = PhoneField(help_text="Any written form; stored as E.164. A number is a line of one workspace only.")


class RingGroupMemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField()

    class Meta:
        model = RingGroupMember
        fields = ["user_id", "is_available"]
        read_only_fields = fields


class RingGroupSerializer(serializers.ModelSerializer):
    members = RingGroupMemberSerializer(many=True)

    class Meta:
        model = RingGroup
        fields = ["id", "name", "members", "created_at"]
        read_only_fields = fields


class RingGroupMemberInSerializer(serializers.Serializer):
    user_id = WorkspacePkField(
        scope=selectors.workspace_users,
        queryset=get_user_model().objects.none(),
        required=True,
        allow_null=False,
        help_text="A user of the workspace",
    )
    is_available = serializers.BooleanField(required=False, default=True)


class RingGroupCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    members = RingGroupMemberInSerializer(many=True, required=False, max_length=200)


class SequenceStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = SequenceStep
        fields = ["position", "delay_minutes", "message"]
        read_only_fields = fields


class SequenceSerializer(serializers.ModelSerializer):
    steps = SequenceStepSerializer(many=True)

    class Meta:
        model = Sequence
        fields = ["id", "name", "is_active", "steps", "created_at"]
        read_only_fields = fields


class SequenceStepInSerializer(serializers.Serializer):
    delay_minutes = serializers.IntegerField(
        min_value=0, max_value=525_600, required=False, default=0, help_text="Wait after the previous step"
    )
    message = serializers.CharField(max_length=1600)


class SequenceCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    is_active = serializers.BooleanField(required=False, default=True)
    steps = SequenceStepInSerializer(many=True, required=False, max_length=50, help_text="In order; numbered 1, 2, …")


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


@_views(
    "tags",
    {"id": 4, "name": "vip", "created_at": "2026-11-20T10:00:00Z"},
    {"name": "vip"},
    TagSerializer,
    TagCreateSerializer,
    " A name is unique in the workspace: a repeat answers 409 CONFLICT with the existing tag's id.",
)
class TagViewSet(_CatalogViewSet):
    queryset = Tag.objects.none()
    serializer_class = TagSerializer
    output_serializer = TagSerializer
    input_serializer = TagCreateSerializer

    def get_queryset(self):
        return selectors.tags_list(workspace=self.request.workspace)

    def perform(self, workspace, data):
        try:
            return services.tag_create(workspace=workspace, name=data["name"])
        except services.AlreadyExists as exc:
            raise conflict("A tag with this name exists already.", existing=exc.existing, field=exc.field) from None


@_views(
    "lines",
    {"id": 3, "name": "Main", "phone_number": "+18187405020", "created_at": "2026-11-20T10:00:00Z"},
    {"name": "Main", "phone_number": "(818) 740 5020"},
    LineSerializer,
    LineCreateSerializer,
    " A number is a line of one workspace only (inbound messages find the workspace by it): a number "
    "in use answers 409 CONFLICT.",
)
class LineViewSet(_CatalogViewSet):
    queryset = Line.objects.none()
    serializer_class = LineSerializer
    output_serializer = LineSerializer
    input_serializer = LineCreateSerializer

    def get_queryset(self):
        return selectors.lines_list(workspace=self.request.workspace)

    def perform(self, workspace, data):
        try:
            return services.line_create(workspace=workspace, name=data["name"], phone=data["phone_number"])
        except services.AlreadyExists as exc:
            raise conflict("This phone number is a line already.", existing=exc.existing, field=exc.field) from None


@_views(
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


@_views(
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
