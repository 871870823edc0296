"""OpenAPI of the lines API: summaries, descriptions and examples, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view

from .serializers import LineInSerializer, LinePatchSerializer, LineSerializer

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


lines = extend_schema_view(
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
