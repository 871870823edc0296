"""The campaigns API's input and output: the create request (its head by serializers, its
recipients by plain Python, fast and by index), the campaign and its recipients as answered,
and the list queries."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm.fields import json_storable, text_storable
from crm.normalize import InvalidValue, parse_phone

from . import rendering, selectors, services
from .models import Campaign, Recipient

MAX_RECIPIENTS = 100_000
# A create names at most this many bad recipients (and says how many more there are).
MAX_RECIPIENT_ERRORS = 100
MAX_CONTENT_VARIABLES = 20
DIGITS = [*"0123456789", "*", "#"]


def valid(serializer_class, data) -> dict:
    """Validate (unknown fields were refused already, by leadhub.api.strict, from the schema)."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="A verified line of the workspace; else the default line (400 otherwise)",
    )
    webhook_url = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, help_text="Gets this campaign's callbacks, signed"
    )
    quiet_hours = QuietHoursSerializer(required=False, help_text="Default 21:00-08:00 in each recipient's zone")
    reply_window_hours = serializers.IntegerField(
        min_value=1, max_value=720, required=False, help_text="An inbound message this soon after is a reply (72)"
    )
    content_sid = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="WhatsApp: an approved template for recipients outside the 24-hour window",
    )
    content_variables = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True, trim_whitespace=False),
        required=False,
        help_text='The template\'s variables, each rendered like message_template: {"1": "{{ time }}"}',
    )
    ai_replies = serializers.BooleanField(
        required=False,
        help_text="Whether the brain answers a reply within the reply window (true); false: recorded, not answered",
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

    def validate_content_variables(self, value):
        if len(value) > MAX_CONTENT_VARIABLES:
            raise serializers.ValidationError(f"At most {MAX_CONTENT_VARIABLES} variables.")
        errors = {}
        for key, source in value.items():
            if len(key) > 20:
                errors[key] = ["A variable's name is at most 20 characters."]
                continue
            try:
                rendering.template_compile(text_storable(source))
            except rendering.InvalidTemplate as exc:
                errors[key] = [f"The template does not compile: {exc}"]
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate(self, attrs):
        if attrs.get("content_sid") and attrs.get("channel") != Campaign.Channel.WHATSAPP:
            raise serializers.ValidationError({"content_sid": ["Templates are for WhatsApp campaigns."]})
        if attrs.get("content_variables") and not attrs.get("content_sid"):
            raise serializers.ValidationError({"content_variables": ["Give the template's content_sid too."]})
        return attrs


class HeadSerializer(CampaignCreateSerializer):
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
            "content_sid",
            "content_variables",
            "ai_replies",
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
            "attempts",
            "updated_at",
        ]
        read_only_fields = fields


class ListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Campaign.Status.choices, required=False)
    cursor = serializers.CharField(required=False)
    limit = serializers.CharField(required=False)


class RecipientsQuery(ListQuery):
    status = serializers.ChoiceField(choices=Recipient.Status.choices, required=False)


def query(serializer_class, params) -> dict:
    return valid(serializer_class, {key: params.get(key) for key in params})


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
