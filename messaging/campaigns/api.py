"""The campaigns API (SPEC §7): /api/v1/campaigns create, list, retrieve with counts, the
recipients' outcomes, cancel. Scopes campaigns:read and campaigns:write; the plan must include
campaigns. Idempotency-Key is honoured on every POST (leadhub.api). Input and output are in
serializers.py, the OpenAPI examples in schema.py."""

import datetime
from io import BytesIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from crm.models import Line
from crm.normalize import InvalidValue, parse_phone
from leadhub.api.authentication import credential_of
from leadhub.api.pagination import CursorPagination
from leadhub.api.views import ApiViewSet

from ..api_common import field_errors
from ..lines.selectors import line_to_send_from
from . import schema, selectors, services
from .models import Campaign, Recipient
from .serializers import (
    CampaignCreatedSerializer,
    CampaignCreateSerializer,
    CampaignSerializer,
    HeadSerializer,
    ListQuery,
    RecipientSerializer,
    RecipientsQuery,
    query,
    recipients_parse,
    valid,
)

PLAN_WITHOUT_CAMPAIGNS = "Campaigns are not available on your current plan."
READ = {"GET": ["campaigns:read"]}
WRITE = {"POST": ["campaigns:write"]}


class PlanAllowsCampaigns(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None and not credential.workspace.plan.campaigns:
            raise PermissionDenied(PLAN_WITHOUT_CAMPAIGNS)
        return True


class RecipientPagination(CursorPagination):
    ordering = ("index",)


def _line_for(*, workspace, from_number: str) -> Line:
    """The line named by `from_number`, else the workspace's default line: a verified line of
    the workspace, checked as send-whatsapp checks it (400 on `from_number` otherwise)."""
    phone_number = ""
    if from_number:
        try:
            phone_number = parse_phone(from_number, default_region=workspace.country).e164
        except InvalidValue as exc:
            raise ValidationError({"from_number": [str(exc)]}) from None
    with field_errors():
        return line_to_send_from(workspace=workspace, phone_number=phone_number)


@extend_schema(tags=["campaigns"])
class CampaignViewSet(ApiViewSet):
    """Campaigns of the workspace."""

    required_scopes = READ | WRITE
    serializer_class = CampaignSerializer
    # leadhub.api.bodylimit: a campaign's body may be larger than any other request's.
    max_request_bytes_setting = "CAMPAIGN_MAX_REQUEST_BYTES"
    queryset = Campaign.objects.none()
    lookup_value_converter = "str"

    def get_permissions(self):
        return [*super().get_permissions(), PlanAllowsCampaigns()]

    @property
    def workspace(self):
        return self.request.workspace

    def initialize_request(self, request, *args, **kwargs):
        # A campaign of 100,000 recipients is a body of several megabytes: read it here under
        # the campaigns' own limit rather than Django's global DATA_UPLOAD_MAX_MEMORY_SIZE.
        if request.method == "POST" and not hasattr(request, "_body"):
            length = int(request.META.get("CONTENT_LENGTH") or 0)
            if length > settings.CAMPAIGN_MAX_REQUEST_BYTES:
                raise RequestDataTooBig(
                    f"A campaign request may be at most {settings.CAMPAIGN_MAX_REQUEST_BYTES} bytes."
                )
            request._body = request.read()
            request._stream = BytesIO(request._body)
        return super().initialize_request(request, *args, **kwargs)

    def _serialize_many(self, campaigns) -> list:
        counts = selectors.campaign_counts(campaign_ids=[campaign.pk for campaign in campaigns])
        return CampaignSerializer(campaigns, many=True, context={"counts": counts}).data

    def _serialize(self, campaign, serializer_class=CampaignSerializer, **extra) -> dict:
        counts = selectors.campaign_counts(campaign_ids=[campaign.pk])
        instance = campaign
        for key, value in extra.items():
            setattr(instance, key, value)
        return serializer_class(instance, context={"counts": counts}).data

    @extend_schema(
        operation_id="campaigns_list",
        summary="List campaigns",
        description="Newest first, with their counts. Filter by `status`. Needs campaigns:read.",
        parameters=[OpenApiParameter("status", enum=Campaign.Status.values)],
        responses={200: CampaignSerializer(many=True)},
        examples=[OpenApiExample("Campaigns", value=[schema.CAMPAIGN], response_only=True)],
    )
    def list(self, request):
        params = query(ListQuery, request.query_params)
        page = self.paginate_queryset(selectors.campaigns_list(workspace=self.workspace, status=params.get("status")))
        return self.get_paginated_response(self._serialize_many(page))

    @extend_schema(
        operation_id="campaigns_create",
        summary="Schedule a campaign",
        description=(
            "One message to up to 100,000 recipients at `schedule_at`, by `sms`, `whatsapp` or `voice` (the "
            "rendered message is said, inside a one-key gather). Each recipient is `{phone, context}`: the phone "
            "in any written form (its contact is found or created), the context the template's variables over "
            "the contact's fields (`first_name`, `last_name`, `name`, `email`, `company_name`, `city`, ...). A "
            "variable missing for a recipient renders empty and is counted in `missing_variables`. Messages go "
            "out at the line's pace, never to an opted-out contact (skipped and counted) and never in the "
            "recipient's quiet hours (21:00-08:00 by default, in the contact's time zone, else the number's): "
            "those wait for the morning. Bad recipients are named by index (`recipients.17.phone`). With "
            "`webhook_url`, the campaign gets its own webhook endpoint for `campaign.callback.received` "
            "(replies, key presses, status callbacks) whose secret is in this answer only. Send an "
            "`Idempotency-Key` to retry safely. Needs campaigns:write."
        ),
        request=CampaignCreateSerializer,
        responses={201: CampaignCreatedSerializer},
        examples=[
            OpenApiExample("Create", value=schema.CREATE, request_only=True),
            OpenApiExample(
                "Created",
                value=schema.CAMPAIGN | {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request):
        data = request.data
        head = valid(
            HeadSerializer,
            {key: value for key, value in data.items() if key != "recipients"} if isinstance(data, dict) else data,
        )
        if "recipients" not in data:
            raise ValidationError({"recipients": ["This field is required."]})
        recipients = recipients_parse(data["recipients"], default_region=self.workspace.country)
        line = _line_for(workspace=self.workspace, from_number=head.get("from_number") or "")
        quiet_hours = head.get("quiet_hours") or {}
        reply_hours = head.get("reply_window_hours")
        try:
            new = services.campaign_create(
                workspace=self.workspace,
                name=head.get("name", ""),
                scenario=head["scenario"],
                channel=head["channel"],
                schedule_at=head["schedule_at"],
                message_template=head["message_template"],
                recipients=recipients,
                line=line,
                public_base_url=_public_base_url(request),
                webhook_url=head.get("webhook_url") or None,
                quiet_start=quiet_hours.get("start"),
                quiet_end=quiet_hours.get("end"),
                reply_window=datetime.timedelta(hours=reply_hours) if reply_hours else None,
                ai_replies=head.get("ai_replies", True),
                content_sid=head.get("content_sid") or "",
                content_variables=head.get("content_variables") or {},
                opt_out_digit=head.get("opt_out_digit"),
                no_input_message=head.get("no_input_message", ""),
            )
        except DjangoValidationError as exc:
            details = exc.message_dict if hasattr(exc, "error_dict") else {"webhook_url": exc.messages}
            raise ValidationError(
                {"webhook_url" if key == "url" else key: value for key, value in details.items()}
            ) from None
        body = self._serialize(new.campaign, CampaignCreatedSerializer, webhook_secret=new.webhook_secret)
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="campaigns_retrieve",
        summary="Retrieve a campaign",
        description=(
            "With `counts` of its recipients: queued (not yet handed to the provider), sent, delivered, failed, "
            "skipped (opted out, cancelled). Each recipient's outcome: GET .../recipients. Needs campaigns:read."
        ),
        examples=[OpenApiExample("Campaign", value=schema.CAMPAIGN, response_only=True)],
    )
    def retrieve(self, request, pk=None):
        return Response(self._serialize(selectors.campaign_get(workspace=self.workspace, campaign_id=pk)))

    @extend_schema(
        operation_id="campaigns_cancel",
        summary="Cancel a scheduled campaign",
        description=(
            "Only before it starts: once it has started (or ended) the answer is 409 CONFLICT. Its recipients are "
            "skipped with reason `cancelled`. Needs campaigns:write."
        ),
        request=None,
        responses={200: CampaignSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        campaign = selectors.campaign_get(workspace=self.workspace, campaign_id=pk)
        campaign = services.campaign_cancel(workspace=self.workspace, campaign=campaign)
        return Response(self._serialize(campaign))

    @extend_schema(
        operation_id="campaigns_recipients",
        summary="The recipients of a campaign and their outcomes",
        description=(
            "In the order they were given (`index`), with their status (queued, sending, sent, delivered, failed, "
            "skipped), the reason of a skip or failure, the rendered body, the provider's sid and error, the key "
            "pressed and when they replied. Filter by `status`. Needs campaigns:read."
        ),
        parameters=[
            OpenApiParameter("status", enum=Recipient.Status.values),
            OpenApiParameter("cursor", str, description="The `next` link's cursor"),
            OpenApiParameter("limit", int, description="1 to 100 (20)"),
        ],
        responses={200: RecipientSerializer(many=True)},
    )
    @action(detail=True, methods=["get"], pagination_class=RecipientPagination)
    def recipients(self, request, pk=None):
        params = query(RecipientsQuery, request.query_params)
        campaign = selectors.campaign_get(workspace=self.workspace, campaign_id=pk)
        page = self.paginate_queryset(selectors.recipients_list(campaign=campaign, status=params.get("status")))
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)


def _public_base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"
