"""OpenAPI of the campaigns API and of the voice gather webhook: summaries, descriptions and
examples, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from ..provider_webhooks import TWIML
from .models import Campaign, Recipient
from .serializers import CampaignCreatedSerializer, CampaignCreateSerializer, CampaignSerializer, RecipientSerializer

CAMPAIGN = {
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
    "content_sid": "",
    "content_variables": {},
    "ai_replies": True,
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
CREATE = {
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


campaigns = extend_schema(tags=["campaigns"])

campaigns_list = extend_schema(
    operation_id="campaigns_list",
    summary="List campaigns",
    description="Newest first, with their counts. Filter by `status`. Needs campaigns:read.",
    parameters=[OpenApiParameter("status", enum=Campaign.Status.values)],
    responses={200: CampaignSerializer(many=True)},
    examples=[OpenApiExample("Campaigns", value=[CAMPAIGN], response_only=True)],
)

campaigns_create = extend_schema(
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
        OpenApiExample("Create", value=CREATE, request_only=True),
        OpenApiExample(
            "Created",
            value=CAMPAIGN | {"webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
            response_only=True,
            status_codes=["201"],
        ),
    ],
)

campaigns_retrieve = extend_schema(
    operation_id="campaigns_retrieve",
    summary="Retrieve a campaign",
    description=(
        "With `counts` of its recipients: queued (not yet handed to the provider), sent, delivered, failed, "
        "skipped (opted out, cancelled). Each recipient's outcome: GET .../recipients. Needs campaigns:read."
    ),
    examples=[OpenApiExample("Campaign", value=CAMPAIGN, response_only=True)],
)

campaigns_cancel = extend_schema(
    operation_id="campaigns_cancel",
    summary="Cancel a scheduled campaign",
    description=(
        "Only before it starts: once it has started (or ended) the answer is 409 CONFLICT. Its recipients are "
        "skipped with reason `cancelled`. Needs campaigns:write."
    ),
    request=None,
    responses={200: CampaignSerializer},
)

campaigns_recipients = extend_schema(
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


voice_gather = extend_schema(
    operation_id="provider_voice_gather",
    summary="Provider webhook: the key pressed on a voice campaign's call",
    description=(
        'The `action` of the `<Gather numDigits="1">` in a voice campaign\'s TwiML: LeadHub builds this URL '
        "with the recipient's id. The signature is checked with the token of the campaign's line; a missing or "
        "bad signature, or an unknown recipient, is 403 and nothing is recorded. `Digits` is recorded as the "
        "recipient's key press (`campaign.callback.received`, kind `keypress`); the campaign's opt-out digit "
        "(9 by default) also opts the contact out. The answer is TwiML that thanks and hangs up."
    ),
    auth=[],
    parameters=[OpenApiParameter("recipient", int, required=True, description="Set by LeadHub")],
    request={"application/x-www-form-urlencoded": OpenApiTypes.OBJECT},
    responses={
        (200, TWIML): OpenApiResponse(OpenApiTypes.STR, description="TwiML"),
        403: OpenApiResponse(description="Missing or bad signature, or no such recipient; nothing recorded."),
    },
    examples=[
        OpenApiExample(
            "Thanks",
            value='<?xml version="1.0" encoding="UTF-8"?><Response><Say>Thank you. Goodbye.</Say><Hangup /></Response>',
            response_only=True,
            media_type=TWIML,
        )
    ],
    tags=["providers"],
)
