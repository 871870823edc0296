"""OpenAPI of the availability rules' API: descriptions and examples, kept out of the view."""

from drf_spectacular.utils import OpenApiExample, extend_schema

from .serializers import RulesOutSerializer, RulesSerializer

_RULES = {
    "timezone": "America/New_York",
    "slot_minutes": 30,
    "buffer_minutes": 10,
    "min_notice_minutes": 120,
    "horizon_days": 14,
    "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "tue": [["09:00", "17:00"]]},
    "overrides": [{"date": "2026-12-24", "hours": []}],
}


availability_retrieve = extend_schema(
    operation_id="availability_retrieve",
    summary="The availability rules",
    description=(
        "Weekly hours are wall-clock times in `timezone`, so a slot keeps its local time across DST. "
        "`configured` is false until the rules are first set (the defaults are shown). Needs bookings:read."
    ),
    responses={200: RulesOutSerializer},
    examples=[OpenApiExample("Rules", value=_RULES | {"configured": True}, response_only=True)],
    tags=["booking"],
)

availability_update = extend_schema(
    operation_id="availability_update",
    summary="Set the availability rules",
    description=(
        "Replaces the rules; fields left out take their defaults (slot 30, buffer 0, notice 60 minutes, "
        "horizon 7 days, Monday to Friday 09:00-17:00, the workspace's zone). `overrides` give a date its own "
        "hours (`[]`: closed). Needs bookings:write."
    ),
    request=RulesSerializer,
    responses={200: RulesOutSerializer},
    examples=[OpenApiExample("Rules", value=_RULES, request_only=True)],
    tags=["booking"],
)
