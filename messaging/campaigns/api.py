"""The campaigns API (SPEC §7): /api/v1/campaigns create, list, retrieve with counts, the
recipients' outcomes, cancel. Scopes campaigns:read and campaigns:write; the plan must include
campaigns. Idempotency-Key is honoured on every POST (leadhub.api)."""

import datetime
from io import BytesIO

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from crm.fields import json_storable, text_storable
from crm.models import Line
from crm.normalize import InvalidValue, parse_phone
from leadhub.api.authentication import credential_of
from leadhub.api.errors import Conflict
from leadhub.api.pagination import CursorPagination
from leadhub.api.views import ApiViewSet

from . import rendering, selectors, services
from .models import Campaign, Recipient

PLAN_WITHOUT_CAMPAIGNS = "Campaigns are not available on your current plan."
MAX_RECIPIENTS = 100_000
# A create names at most this many bad recipients (and says how many more there are).
MAX_RECIPIENT_ERRORS = 100
READ = {"GET": ["campaigns:read"]}
WRITE = {"POST": ["campaigns:write"]}
DIGITS = [*"0123456789", "*", "#"]


class PlanAllowsCampaigns(BasePermission):
    def has_permission(self, request, view) -> bool:
        credential = credential_of(request)
        if credential is not None and not credential.workspace.plan.campaigns:
            raise PermissionDenied(PLAN_WITHOUT_CAMPAIGNS)
        return True


def _valid(serializer_class, data) -> dict:
    """Validate (unknown fields were refused already, by leadhub.api.strict, from the schema)."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Serializers -------------------------------------------------------------------------------


class QuietHoursSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="Local time, e.g. 21:00")
    end = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="Local time, e.g. 08:00")


class CampaignCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    scenario = serializers.CharField(max_length=100, help_text="Your own label, e.g. appointment_reminder")
    channel = serializers.ChoiceField(choices=Campaign.Channel.choices)
    schedule_at = serializers.DateTimeField(help_text="When to start (ISO 8601); a past time starts at once")
    message_template = serializers.CharField(
        max_length=rendering.MAX_BODY,
        trim_whitespace=False,
        help_text="Django template syntax, e.g. `Hi {{ first_name }}`, rendered with each recipient's context",
    )
    recipients = serializers.ListField(
        child=serializers.DictField(),
        help_text=f"[{{phone, context}}], 1 to {MAX_RECIPIENTS:,}; phones in any written form",
    )
    from_number = serializers.CharField(
        max_length=40, required=False, allow_blank=True, help_text="A line of the workspace; else the default line"
    )
    webhook_url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Gets this campaign's callbacks, signed"
    )
    quiet_hours = QuietHoursSerializer(required=False, help_text="Default 21:00-08:00 in each recipient's zone")
    reply_window_hours = serializers.IntegerField(
        min_value=1, max_value=720, required=False, help_text="An inbound message this soon after is a reply (72)"
    )
    opt_out_digit = serializers.ChoiceField(
        choices=[*DIGITS, ""], required=False, help_text="Voice: the key that opts out (9); empty: none"
    )
    no_input_message = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="Voice: said when no key is pressed"
    )

    def validate_name(self, value):
        return text_storable(value)

    def validate_scenario(self, value):
        return text_storable(value)

    def validate_message_template(self, value):
        text_storable(value)
        try:
            rendering.template_compile(value)
        except rendering.InvalidTemplate as exc:
            raise serializers.ValidationError(f"The template does not compile: {exc}") from None
        return value

    def validate_no_input_message(self, value):
        return text_storable(value)


class _HeadSerializer(CampaignCreateSerializer):
    """Everything but the recipients, which are checked apart (fast, and by index)."""

    recipients = None


class CampaignSerializer(serializers.ModelSerializer):
    from_number = serializers.CharField(source="line.phone_number", read_only=True)
    quiet_hours = serializers.SerializerMethodField()
    reply_window_hours = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    webhook_endpoint_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "scenario",
            "channel",
            "status",
            "schedule_at",
            "message_template",
            "from_number",
            "quiet_hours",
            "reply_window_hours",
            "opt_out_digit",
            "no_input_message",
            "webhook_endpoint_id",
            "recipient_count",
            "missing_variables",
            "counts",
            "created_at",
            "started_at",
            "completed_at",
            "cancelled_at",
        ]
        read_only_fields = fields

    def get_quiet_hours(self, campaign) -> dict:
        return {"start": campaign.quiet_start.strftime("%H:%M"), "end": campaign.quiet_end.strftime("%H:%M")}

    def get_reply_window_hours(self, campaign) -> int:
        return int(campaign.reply_window.total_seconds() // 3600)

    def get_counts(self, campaign) -> dict:
        counts = self.context.get("counts") or {}
        return counts.get(campaign.pk) or dict.fromkeys(selectors.COUNTED, 0)


class CampaignCreatedSerializer(CampaignSerializer):
    webhook_secret = serializers.CharField(
        allow_null=True, help_text="The signing secret of the campaign's own endpoint: shown only here"
    )

    class Meta(CampaignSerializer.Meta):
        fields = [*CampaignSerializer.Meta.fields, "webhook_secret"]
        read_only_fields = fields


class RecipientSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Recipient
        fields = [
            "index",
            "phone",
            "contact_id",
            "context",
            "status",
            "reason",
            "body",
            "provider_sid",
            "error_code",
            "error",
            "keypress",
            "replied_at",
            "due_at",
            "handed_off_at",
            "updated_at",
        ]
        read_only_fields = fields


class RecipientPagination(CursorPagination):
    ordering = ("index",)


class _ListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)


class _RecipientsQuery(_ListQuery):
    status = serializers.ChoiceField(choices=Recipient.Status.choices, required=False)


def _query(serializer_class, params) -> dict:
    return _valid(serializer_class, {key: params.get(key) for key in params})


# --- Recipients ----------------------------------------------------------------------------------


def recipients_parse(raw, *, default_region: str) -> list[services.RecipientIn]:
    """The recipients of a create, each checked; errors name the bad ones by index
    (`recipients.17.phone`). Plain Python rather than a serializer per item: 100,000 of them
    must be checked within the request."""
    if not isinstance(raw, list):
        raise ValidationError({"recipients": ["Send a list of {phone, context} objects."]})
    if not raw:
        raise ValidationError({"recipients": ["At least one recipient."]})
    if len(raw) > MAX_RECIPIENTS:
        raise ValidationError({"recipients": [f"At most {MAX_RECIPIENTS:,} recipients in one campaign."]})
    errors: dict[str, list[str]] = {}
    bad = 0
    seen: dict[str, int] = {}
    parsed = []
    for index, item in enumerate(raw):
        item_errors: dict[str, list[str]] = {}
        if not isinstance(item, dict):
            item_errors[f"recipients.{index}"] = ["Send an object with phone and context."]
        else:
            unknown = sorted(set(item) - {"phone", "context"})
            for name in unknown:
                item_errors[f"recipients.{index}.{name}"] = ["Unknown field."]
            phone = item.get("phone")
            if isinstance(phone, bool) or not isinstance(phone, (str, int)) or not str(phone).strip():
                item_errors[f"recipients.{index}.phone"] = ["A phone number is required, as text."]
                phone = None
            else:
                try:
                    phone = parse_phone(str(phone), default_region=default_region)
                except InvalidValue as exc:
                    item_errors[f"recipients.{index}.phone"] = [str(exc)]
                    phone = None
            if phone is not None:
                first = seen.setdefault(phone.e164, index)
                if first != index:
                    item_errors[f"recipients.{index}.phone"] = [f"The same number as recipients.{first}."]
            context = item.get("context")
            if context is None:
                context = {}
            elif not isinstance(context, dict):
                item_errors[f"recipients.{index}.context"] = ["Send an object (the template's variables)."]
            else:
                try:
                    json_storable(context)
                except serializers.ValidationError as exc:
                    item_errors[f"recipients.{index}.context"] = [str(message) for message in exc.detail]
            if not item_errors:
                parsed.append(services.RecipientIn(phone=phone, context=context))
        if item_errors:
            bad += 1
            if bad <= MAX_RECIPIENT_ERRORS:
                errors.update(item_errors)
    if bad:
        if bad > MAX_RECIPIENT_ERRORS:
            errors["recipients"] = [f"{bad} recipients are invalid; the first {MAX_RECIPIENT_ERRORS} are named."]
        raise ValidationError(errors)
    return parsed


def _line_for(*, workspace, from_number: str) -> Line:
    lines = Line.objects.filter(workspace=workspace)
    if from_number:
        try:
            phone = parse_phone(from_number, default_region=workspace.country)
        except InvalidValue as exc:
            raise ValidationError({"from_number": [str(exc)]}) from None
        line = lines.filter(phone_number=phone.e164).first()
        if line is None:
            raise ValidationError({"from_number": ["Not a line of this workspace."]})
        return line
    line = lines.order_by("created_at", "pk").first()
    if line is None:
        raise ValidationError({"from_number": ["This workspace has no line to send from: add one first."]})
    return line


# --- Views -------------------------------------------------------------------------------------

_CAMPAIGN = {
    "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "name": "Reminders for Dec 1",
    "scenario": "appointment_reminder",
    "channel": "sms",
    "status": "scheduled",
    "schedule_at": "2026-12-01T15:00:00Z",
    "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
    "from_number": "+18187405020",
    "quiet_hours": {"start": "21:00", "end": "08:00"},
    "reply_window_hours": 72,
    "opt_out_digit": "9",
    "no_input_message": "",
    "webhook_endpoint_id": "3d5c7a64-8a43-4b0e-9c6e-0f3f7c2a1b10",
    "recipient_count": 2,
    "missing_variables": {},
    "counts": {"queued": 2, "sent": 0, "delivered": 0, "failed": 0, "skipped": 0},
    "created_at": "2026-11-30T09:00:00Z",
    "started_at": None,
    "completed_at": None,
    "cancelled_at": None,
}
_CREATE = {
    "scenario": "appointment_reminder",
    "channel": "sms",
    "schedule_at": "2026-12-01T15:00:00Z",
    "message_template": "Hi {{ first_name }}, see you at {{ time }}. Reply C to confirm.",
    "recipients": [
        {"phone": "+1 818-740-5020", "context": {"first_name": "Ada", "time": "10:30"}},
        {"phone": "+442071838750", "context": {"first_name": "Alan", "time": "11:00"}},
    ],
    "webhook_url": "https://hooks.example.com/leadhub/campaigns",
}


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
        examples=[OpenApiExample("Campaigns", value=[_CAMPAIGN], response_only=True)],
    )
    def list(self, request):
        query = _query(_ListQuery, request.query_params)
        page = self.paginate_queryset(selectors.campaigns_list(workspace=self.workspace, status=query.get("status")))
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
            OpenApiExample("Create", value=_CREATE, request_only=True),
            OpenApiExample(
                "Created",
                value=_CAMPAIGN | {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def create(self, request):
        data = request.data
        head = _valid(
            _HeadSerializer,
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
        examples=[OpenApiExample("Campaign", value=_CAMPAIGN, response_only=True)],
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
        try:
            campaign = services.campaign_cancel(workspace=self.workspace, campaign=campaign)
        except services.CampaignStarted as exc:
            raise Conflict(str(exc), details={"status": [exc.campaign.status]}) from None
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
        query = _query(_RecipientsQuery, request.query_params)
        campaign = selectors.campaign_get(workspace=self.workspace, campaign_id=pk)
        page = self.paginate_queryset(selectors.recipients_list(campaign=campaign, status=query.get("status")))
        return self.get_paginated_response(RecipientSerializer(page, many=True).data)


def _public_base_url(request) -> str:
    return f"{request.scheme}://{request.get_host()}"
