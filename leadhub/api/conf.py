"""The API's framework settings (DRF and drf-spectacular), read by leadhub/settings.py as
REST_FRAMEWORK and SPECTACULAR_SETTINGS. Nothing here depends on the environment."""

API_REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "leadhub.api.authentication.BearerApiKeyAuthentication",
        "leadhub.api.authentication.HeaderApiKeyAuthentication",
        "leadhub.api.authentication.OAuthTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "leadhub.api.permissions.IsCredential",
        "leadhub.api.permissions.PlanAllowsApi",
        "leadhub.api.permissions.HasScopes",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["leadhub.api.ratelimit.CredentialRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "leadhub.api.negotiation.JsonFirstNegotiation",
    "DEFAULT_PARSER_CLASSES": ["leadhub.api.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "leadhub.api.pagination.CursorPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "leadhub.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
}

API_SPECTACULAR_SETTINGS = {
    "TITLE": "LeadHub API",
    "DESCRIPTION": (
        "The LeadHub REST API. Authenticate with an API key (`Authorization: Bearer lh_…` or "
        "`X-LeadHub-Key`) or an OAuth 2.0 client-credentials token from `POST /o/token/`. "
        'Errors share one envelope: `{"error": {"code", "message", "details"}}`. '
        "Every POST accepts `Idempotency-Key`. Responses carry `RateLimit-Limit`, "
        "`RateLimit-Remaining` and `RateLimit-Reset`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name for the webhook event types wherever a field offers them.
    "ENUM_NAME_OVERRIDES": {
        "WebhookEventTypeEnum": "webhooks.events.EVENT_TYPES",
        "ContactStatusEnum": "crm.models.Contact.Status",
        "DeliveryStatusEnum": "webhooks.models.Delivery.Status",
        "ConversationStatusEnum": "messaging.models.Conversation.Status",
        "MessageStatusEnum": "messaging.models.Message.Status",
        "ConversationChannelEnum": "messaging.models.Conversation.Channel",
        "SendChannelEnum": "messaging.models.SEND_CHANNELS",
        "CampaignChannelEnum": "messaging.campaigns.models.Campaign.Channel",
        "CampaignStatusEnum": "messaging.campaigns.models.Campaign.Status",
        "CampaignRecipientStatusEnum": "messaging.campaigns.models.Recipient.Status",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "leadhub.api.schema.add_standard_responses",
    ],
}
