"""POST /api/v1/webhook/forms: the lead intake webhook for forms and services (SPEC §5.1).

Its answers keep the shape form tools were written against (`{"message": ...}`), not the
native envelope. The contact's data changes only on create or with `force_update`; actions
that add (tag, power dialer, sequence) apply to an existing contact too, actions that
replace (owner, line, disposition) only when its data may change.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from leadhub.api.authentication import (
    BearerApiKeyAuthentication,
    HeaderApiKeyAuthentication,
    TokenParameterAuthentication,
)
from leadhub.api.errors import form_exception_handler
from leadhub.api.parsers import JSONParser
from leadhub.api.permissions import HasScopes, IsCredential
from leadhub.api.ratelimit import IntakeRateThrottle
from leadhub.api.views import ApiView

from .. import selectors, services
from ..fields import LowerEmailField, OtherPhonesField, PhoneField, UsDateField
from ..models import DispositionStatus, Line, RingGroup, Sequence, Tag
from .common import WorkspacePkField


class IntakeSerializer(serializers.Serializer):
    phone_number = PhoneField()
    other_phone_numbers = OtherPhonesField(required=False)
    email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
    date_of_birth = UsDateField(required=False, allow_blank=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    company_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    website = serializers.CharField(required=False, allow_blank=True, max_length=500)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    state = serializers.CharField(required=False, allow_blank=True, max_length=100)
    zipcode = serializers.CharField(required=False, allow_blank=True, max_length=20)
    country = serializers.CharField(required=False, allow_blank=True, max_length=100)
    timezone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    lead_source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    source = serializers.CharField(required=False, allow_blank=True, max_length=100)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    csf1 = serializers.CharField(required=False, allow_blank=True, max_length=500)
    csf2 = serializers.CharField(required=False, allow_blank=True, max_length=500)
    utm_source = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_medium = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_campaign = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_term = serializers.CharField(required=False, allow_blank=True, max_length=200)
    utm_content = serializers.CharField(required=False, allow_blank=True, max_length=200)
    page_url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    referrer = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    user_id = WorkspacePkField(scope=selectors.workspace_users, queryset=get_user_model().objects.none())
    distribute_to_ring_group = serializers.BooleanField(required=False, default=False)
    ring_group_id = WorkspacePkField(scope=selectors.ring_groups_list, queryset=RingGroup.objects.none())
    check_available_users = serializers.BooleanField(required=False, default=False)
    add_to_powerdialer = serializers.BooleanField(required=False, default=False)
    powerdialer_position = serializers.ChoiceField(choices=["top", "bottom"], required=False, default="top")
    sequence_id = WorkspacePkField(scope=selectors.sequences_list, queryset=Sequence.objects.none())
    force_update_sequence = serializers.BooleanField(required=False, default=False)
    force_update = serializers.BooleanField(required=False, default=False)
    line_id = WorkspacePkField(scope=selectors.lines_list, queryset=Line.objects.none())
    campaign_id = WorkspacePkField(scope=selectors.lines_list, queryset=Line.objects.none())
    tag_id = WorkspacePkField(scope=selectors.tags_list, queryset=Tag.objects.none())
    disposition_status_id = WorkspacePkField(
        scope=selectors.dispositions_list, queryset=DispositionStatus.objects.none()
    )

    def validate(self, attrs):
        line, campaign = attrs.get("line_id"), attrs.get("campaign_id")
        if line and campaign and line != campaign:
            raise serializers.ValidationError(
                {"campaign_id": ["campaign_id is the older name of line_id: they differ."]}
            )
        if attrs.get("distribute_to_ring_group") and not attrs.get("ring_group_id"):
            raise serializers.ValidationError({"ring_group_id": ["Required with distribute_to_ring_group."]})
        return attrs


_VALUE_KEYS = (*services.TEXT_FIELDS, "date_of_birth", "other_phone_numbers")

_ANSWER = inline_serializer(
    "IntakeAnswer", {"message": serializers.CharField(), "contact_id": serializers.UUIDField(required=False)}
)
_INVALID = inline_serializer(
    "IntakeInvalid",
    {"message": serializers.CharField(), "errors": serializers.DictField(child=serializers.ListField())},
)


class IntakeView(ApiView):
    authentication_classes = [BearerApiKeyAuthentication, HeaderApiKeyAuthentication, TokenParameterAuthentication]
    permission_classes = [IsCredential, HasScopes]
    throttle_classes = [IntakeRateThrottle]
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    required_scopes = {"POST": ["intake"]}
    strict_input = False  # SPEC §5.1: form tools post whole forms; unknown fields are ignored

    def get_exception_handler(self):
        return form_exception_handler

    @extend_schema(
        operation_id="lead_intake",
        summary="Post a lead from a form",
        description=(
            "For external forms and services. JSON or form-encoded. Authenticate with `api_token` in the body "
            "or query, or the API-key headers; the key needs the `intake` scope (`contacts:write` implies it). "
            "Limited per token (1000/min by default). Answers keep this endpoint's own shape."
        ),
        request=IntakeSerializer,
        responses={
            201: OpenApiResponse(_ANSWER, description="Contact created."),
            202: OpenApiResponse(_ANSWER, description="The contact already existed; no change unless force_update."),
            200: OpenApiResponse(_ANSWER, description="Existed and force_update was true: updated."),
            400: OpenApiResponse(_INVALID, description="Any invalid field."),
        },
        examples=[
            OpenApiExample(
                "A form post",
                value={"phone_number": "(818) 740 5020", "name": "Ada Lovelace", "email": "ada@example.com"},
                request_only=True,
            ),
            OpenApiExample(
                "Created", value={"message": "Contact created.", "contact_id": "5f0c6f8e-…"}, response_only=True
            ),
        ],
        tags=["intake"],
    )
    def post(self, request):
        workspace = request.workspace
        serializer = IntakeSerializer(data=request.data, context={"workspace": workspace})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        force = data["force_update"]
        attribution = {key: data[key] for key in services.ATTRIBUTION_FIELDS if data.get(key)}
        with transaction.atomic():
            result = services.contact_upsert(
                workspace=workspace,
                phone=data["phone_number"],
                email=data.get("email"),
                values={key: data[key] for key in _VALUE_KEYS if key in data},
                attribution=attribution,
                source="intake",
                update_existing=force,
                # Only fields the intake knows: other names are the client's, unchecked.
                submitted=[key for key in request.data if key in serializer.fields],
            )
            contact = result.contact
            _apply_actions(contact, data, may_replace=result.created or force)
        if result.created:
            return Response({"message": "Contact created.", "contact_id": contact.id}, status=status.HTTP_201_CREATED)
        if force:
            return Response({"message": "Contact updated.", "contact_id": contact.id}, status=status.HTTP_200_OK)
        return Response({"message": "Contact created.", "contact_id": contact.id}, status=status.HTTP_202_ACCEPTED)


def _apply_actions(contact, data: dict, *, may_replace: bool) -> None:
    if may_replace:
        owner = data.get("user_id")
        if data["distribute_to_ring_group"]:
            # The ring group overrides user_id; with check_available_users and nobody
            # available, the contact is not distributed.
            owner = services.ring_group_pick(
                ring_group=data["ring_group_id"], only_available=data["check_available_users"]
            )
        if owner is not None:
            services.contact_set_owner(contact=contact, owner=owner)
        line = data.get("line_id") or data.get("campaign_id")
        if line is not None:
            services.contact_set_line(contact=contact, line=line)
        if data.get("disposition_status_id") is not None:
            services.contact_set_disposition(contact=contact, disposition=data["disposition_status_id"])
    if data.get("tag_id") is not None:
        services.contact_add_tag(contact=contact, tag=data["tag_id"])
    if data["add_to_powerdialer"] and contact.owner is not None:
        services.power_dialer_add(contact=contact, owner=contact.owner, position=data["powerdialer_position"])
    if data.get("sequence_id") is not None:
        services.sequence_enroll(
            contact=contact, sequence=data["sequence_id"], leave_others=data["force_update_sequence"]
        )
