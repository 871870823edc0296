"""OpenAPI for the lead intake, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers

from .serializers import IntakeSerializer

_ANSWER = inline_serializer(
    "IntakeAnswer", {"message": serializers.CharField(), "contact_id": serializers.UUIDField(required=False)}
)
_INVALID = inline_serializer(
    "IntakeInvalid",
    {"message": serializers.CharField(), "errors": serializers.DictField(child=serializers.ListField())},
)


intake = extend_schema(
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
