"""/api/v1/lines (SPEC §7): the workspace's numbers with their provider credentials. Scopes
contacts:read / contacts:write (lines are part of the CRM's catalog). `auth_token` and
`signing_key` are write-only: never answered back, stored encrypted."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.fields import PhoneField
from crm.models import Line
from leadhub.api.permissions import crud_scopes
from leadhub.api.views import ApiViewSet

from ..api_common import StrictSerializer, TextField, check_query, field_errors
from ..brains.selectors import brain_by_slug
from ..models import LineProvider
from . import selectors, services


class LineSerializer(serializers.ModelSerializer):
    provider = serializers.SerializerMethodField()
    account_sid = serializers.CharField(source="provider.account_sid", default=None)
    signalwire_space = serializers.CharField(source="provider.signalwire_space", default=None)
    messaging_service_sid = serializers.CharField(source="provider.messaging_service_sid", default=None)
    brain = serializers.CharField(source="provider.brain.slug", default=None)
    is_default = serializers.BooleanField(source="provider.is_default", default=False)
    mps = serializers.IntegerField(source="provider.mps", default=None)
    verified = serializers.SerializerMethodField()
    verified_at = serializers.DateTimeField(source="provider.verified_at", default=None)

    class Meta:
        model = Line
        fields = [
            "id",
            "name",
            "phone_number",
            "provider",
            "account_sid",
            "signalwire_space",
            "messaging_service_sid",
            "brain",
            "is_default",
            "mps",
            "verified",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields

    def _provider(self, line):
        try:
            return line.provider
        except LineProvider.DoesNotExist:
            return None

    def get_provider(self, line) -> str | None:
        provider = self._provider(line)
        return provider.provider if provider else None

    def get_verified(self, line) -> bool:
        provider = self._provider(line)
        return bool(provider and provider.verified_at)


def _char(name: str, **kwargs):
    return TextField(max_length=LineProvider._meta.get_field(name).max_length, **kwargs)


class LineInSerializer(StrictSerializer):
    name = TextField(max_length=100)
    phone_number = PhoneField(help_text="Any written form; stored as E.164. Must be a number of the provider account.")
    provider = serializers.ChoiceField(choices=LineProvider.Provider.choices, default=LineProvider.Provider.TWILIO)
    account_sid = _char("account_sid")
    auth_token = TextField(max_length=200, write_only=True, help_text="Write-only; stored encrypted")
    signalwire_space = _char("signalwire_space", required=False, allow_blank=True, default="")
    signing_key = TextField(
        max_length=200, write_only=True, required=False, allow_blank=True, default="", help_text="SignalWire only"
    )
    messaging_service_sid = _char("messaging_service_sid", required=False, allow_blank=True, default="")
    brain = serializers.SlugField(max_length=80, required=False, allow_null=True, default=None)
    is_default = serializers.BooleanField(required=False, default=False)
    mps = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)


class LinePatchSerializer(StrictSerializer):
    name = TextField(max_length=100, required=False)
    provider = serializers.ChoiceField(choices=LineProvider.Provider.choices, required=False)
    account_sid = _char("account_sid", required=False)
    auth_token = TextField(max_length=200, write_only=True, required=False)
    signalwire_space = _char("signalwire_space", required=False, allow_blank=True)
    signing_key = TextField(max_length=200, write_only=True, required=False, allow_blank=True)
    messaging_service_sid = _char("messaging_service_sid", required=False, allow_blank=True)
    brain = serializers.SlugField(max_length=80, required=False, allow_null=True)
    is_default = serializers.BooleanField(required=False)
    mps = serializers.IntegerField(min_value=1, max_value=1000, required=False)


def _brain(workspace, slug):
    if slug is None:
        return None
    brain = brain_by_slug(workspace=workspace, slug=slug)
    if brain is None:
        raise ValidationError({"brain": ["No brain with this slug."]})
    return brain


_LINE = {
    "id": 3,
    "name": "Main",
    "phone_number": "+18187405020",
    "provider": "twilio",
    "account_sid": "AC0123456789abcdef0123456789abcdef",
    "signalwire_space": "",
    "messaging_service_sid": "",
    "brain": "default",
    "is_default": True,
    "mps": 1,
    "verified": True,
    "verified_at": "2026-11-20T10:00:00Z",
    "created_at": "2026-11-20T10:00:00Z",
}


@extend_schema_view(
    list=extend_schema(
        summary="List lines",
        description="Newest first. Scope `contacts:read`. Credentials are never answered back.",
        examples=[OpenApiExample("Lines", value=[_LINE], response_only=True)],
        tags=["lines"],
    ),
    retrieve=extend_schema(
        summary="Retrieve a line",
        description="Scope `contacts:read`.",
        examples=[OpenApiExample("Line", value=_LINE, response_only=True)],
        tags=["lines"],
    ),
    create=extend_schema(
        summary="Connect a number",
        description=(
            "Scope `contacts:write`. The number must be one of the provider account's incoming numbers: LeadHub "
            "asks the provider (IncomingPhoneNumbers) with the credentials given before storing anything; an "
            "unverifiable number is a 400 on `phone_number`. `auth_token` and `signing_key` are write-only and "
            "stored encrypted. The workspace's first line is its default; `is_default: true` moves the default. "
            "A number that is a line of this workspace already answers 409 CONFLICT."
        ),
        request=LineInSerializer,
        responses={201: LineSerializer, 409: OpenApiResponse(description="A line of this workspace already.")},
        examples=[
            OpenApiExample(
                "Twilio",
                value={
                    "name": "Main",
                    "phone_number": "+1 818 740 5020",
                    "provider": "twilio",
                    "account_sid": "AC0123456789abcdef0123456789abcdef",
                    "auth_token": "your-auth-token",
                },
                request_only=True,
            ),
            OpenApiExample(
                "SignalWire",
                value={
                    "name": "Support",
                    "phone_number": "+18187405021",
                    "provider": "signalwire",
                    "account_sid": "a1b2c3d4-project-id",
                    "auth_token": "PTxxxxxxxx",
                    "signalwire_space": "example.signalwire.com",
                    "signing_key": "PSKxxxxxxxx",
                },
                request_only=True,
            ),
            OpenApiExample("Created", value=_LINE, response_only=True, status_codes=["201"]),
        ],
        tags=["lines"],
    ),
    partial_update=extend_schema(
        summary="Change a line",
        description="Scope `contacts:write`. New credentials are verified again before they are stored.",
        request=LinePatchSerializer,
        examples=[
            OpenApiExample("Rotate the token", value={"auth_token": "new-token"}, request_only=True),
            OpenApiExample("Changed", value=_LINE, response_only=True),
        ],
        tags=["lines"],
    ),
    destroy=extend_schema(
        summary="Delete a line",
        description=(
            "Scope `contacts:write`. A line that campaigns were sent from is kept with them: 409 CONFLICT with "
            "`details.campaigns` (their ids)."
        ),
        responses={204: None, 409: OpenApiResponse(description="Campaigns were sent from it (details.campaigns).")},
        tags=["lines"],
    ),
)
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
