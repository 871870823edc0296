"""The campaigns API (SPEC §7): /api/v1/campaigns create, list, retrieve with counts, the
recipients' outcomes, cancel. Scopes campaigns:read and campaigns:write; the plan must include
campaigns. Idempotency-Key is honoured on every POST (leadhub.api). Input and output are in
serializers.py, the OpenAPI (descriptions and examples) in schema.py."""

import datetime
from io import BytesIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
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
from .models import Campaign
from .serializers import (
    CampaignCreatedSerializer,
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


@schema.campaigns
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

    @schema.campaigns_list
    def list(self, request):
        params = query(ListQuery, request.query_params)
        page = self.paginate_queryset(selectors.campaigns_list(workspace=self.workspace, status=params.get("status")))
        return self.get_paginated_response(self._serialize_many(page))

    @schema.campaigns_create
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

    @schema.campaigns_retrieve
    def retrieve(self, request, pk=None):
        return Response(self._serialize(selectors.campaign_get(workspace=self.workspace, campaign_id=pk)))

    @schema.campaigns_cancel
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        campaign = selectors.campaign_get(workspace=self.workspace, campaign_id=pk)
        campaign = services.campaign_cancel(workspace=self.workspace, campaign=campaign)
        return Response(self._serialize(campaign))

    @schema.campaigns_recipients
    @action(detail=True, methods=["get"], pagination_class=RecipientPagination)
    def recipients(self, request, pk=None):
        params = query(RecipientsQuery, request.query_params)
        campaign = selectors.campaign_get(workspace=self.workspace, campaign_id=pk)
        page = self.paginate_queryset(selectors.recipients_list(campaign=campaign, status=params.get("status")))
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)


def _public_base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"
